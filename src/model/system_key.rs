//! The keys of Postgres' own system types (0.20.0): oid (and the reg* types, which are oids),
//! xid, cid, xid8, pg_lsn, "char" and tid, each kept as one unsigned integer that orders and
//! equates as the type's btree (or, for xid and cid, hash) operator class does, and its figure
//! text, which the type's input reads back under any session setting.
//!
//! | type | key | figure text |
//! |---|---|---|
//! | oid, reg* | the oid (`oid_ops`: unsigned) | its decimal digits (the reg* types read back as oid) |
//! | xid, cid | the number (count_distinct only: they have equality, no order) | none |
//! | xid8 | the full transaction id (unsigned 64 bits) | its decimal digits |
//! | pg_lsn | the position (unsigned 64 bits) | `pg_lsn_out`'s `16/B374D848` |
//! | "char" | the byte (`charlt` compares them unsigned) | `charout`'s: itself, `\ooo` past 127, empty for 0 |
//! | tid | block · 2¹⁶ + offset (`tidcmp`: block, then offset) | `(block,offset)` |
//!
//! tsvector is kept by its text (`tsvectorout`'s, which no setting changes: one text per value
//! its text input makes, its lexemes and positions sorted and unique; a value binary input
//! made otherwise is refused, `_tracked_tsvector`), as jsonb is (`value_type`), its min and
//! max picked when read by tsvector's order (`tally._sort_key`). tsquery is not taken: its text
//! does not tell every two queries apart (`'a' & ('b' & 'c')` and `('a' & 'b') & 'c'` are two
//! values to tsquery's comparison, one text to `tsqueryout`; found by a review and a hostile
//! probe before release).

use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::error::{OrderedKind, SqlResult};

/// The text of a pg_lsn at `position`, as `pg_lsn_out` writes it (upper-case hex halves).
pub fn lsn_text(position: u64) -> String {
    format!("{:X}/{:X}", position >> 32, position & 0xFFFF_FFFF)
}

/// The text of a "char" holding `byte`, as `charout` writes it (Postgres 15 on), which
/// `charin` reads back: the byte itself below 128 (none for 0), else `\` and three octal
/// digits.
pub fn char_text(byte: u8) -> String {
    if byte >= 0x80 {
        format!("\\{byte:03o}")
    } else if byte == 0 {
        String::new()
    } else {
        char::from(byte).to_string()
    }
}

/// The key of a tid: its block, then its offset, as `tidcmp` orders them.
pub fn tid_key(block: u32, offset: u16) -> u64 {
    (u64::from(block) << 16) | u64::from(offset)
}

/// The text of the tid whose key is `key` (`tid_key`), as `tidout` writes it.
pub fn tid_text(key: u64) -> Option<String> {
    let block = u32::try_from(key >> 16).ok()?;
    Some(format!("({block},{})", key & 0xFFFF))
}

/// An oid (or a reg* value, cast to oid) of a min, max or count_distinct metric.
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_oid(value: pg_sys::Oid) -> AnyNumeric {
    AnyNumeric::from(value.to_u32())
}

// xid, cid, xid8 and pg_lsn are read as the integers Postgres passes them by (each declared
// with its SQL type): pgrx's own xid reads the datum a tuple gives (a 4-byte value,
// sign-extended) as NULL from 2^31 on (found by this version's regress test).

/// A 4-byte value read as a signed integer, as the unsigned one it is.
fn unsigned32(value: i32) -> AnyNumeric {
    AnyNumeric::from(value as u32)
}

/// An 8-byte value read as a signed integer, as the unsigned one it is.
fn unsigned64(value: i64) -> AnyNumeric {
    AnyNumeric::from(value as u64)
}

/// An xid of a count_distinct metric (no order: xids wrap around).
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value xid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid_wrapper';"
)]
fn tracked_xid(value: i32) -> AnyNumeric {
    unsigned32(value)
}

/// A cid of a count_distinct metric (no order either).
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value cid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_cid_wrapper';"
)]
fn tracked_cid(value: i32) -> AnyNumeric {
    unsigned32(value)
}

/// An xid8 of a min, max or count_distinct metric: unsigned, as `xid8cmp` compares.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value xid8) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid8_wrapper';"
)]
fn tracked_xid8(value: i64) -> AnyNumeric {
    unsigned64(value)
}

/// A pg_lsn of a min, max or count_distinct metric: unsigned, as `pg_lsn_cmp` compares.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value pg_lsn) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_pg_lsn_wrapper';"
)]
fn tracked_pg_lsn(value: i64) -> AnyNumeric {
    unsigned64(value)
}

/// A "char" of a min, max or count_distinct metric: its byte, unsigned, as `charlt` compares.
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_char(value: i8) -> AnyNumeric {
    AnyNumeric::from(value as u8)
}

/// A tid of a min, max or count_distinct metric (`tid_key`).
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_tid(value: pg_sys::ItemPointerData) -> AnyNumeric {
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(value);
    AnyNumeric::from(tid_key(block, offset))
}

/// A tsvector of a min, max or count_distinct metric (0.20.0), given as its text and whether
/// that text reads back as the value itself (`Metric::tracked_sql`): kept as a text is (a
/// min's or max's refused past `TEXT_KEPT_BYTES`, a digest for count_distinct past it). A
/// tsvector only binary input makes (repeated or unsorted lexemes, found by a hostile probe)
/// is another value to Postgres than the one its text reads back as: refused, in the
/// writer's statement, since its key would merge it with that one. Since 0.21.0 the writes
/// over a 0.20.0 catalog only (until its update) call this form.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_tsvector(
    metric: &str,
    text: &str,
    reads_back: bool,
    in_order: bool,
) -> SqlResult<AnyNumeric> {
    Ok(tsvector_key(metric, text.as_bytes(), reads_back, in_order)?)
}

/// A tsvector of a min, max or count_distinct metric (0.21.0), given as itself: read once by
/// `ffi::text_search::tsvector_text` (its text, and whether that reads back as the value),
/// then kept as `_tracked_tsvector` above keeps it. The write's SQL names the value once,
/// where the form above named it three times (a value expression ran three times per row).
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_tsvector(metric text, value tsvector, in_order boolean) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_tsvector_value_wrapper';"
)]
fn tracked_tsvector_value(
    metric: &str,
    value: pgrx::AnyElement,
    in_order: bool,
) -> SqlResult<AnyNumeric> {
    let (text, reads_back) = crate::ffi::text_search::tsvector_text(&value).ok_or_else(|| {
        crate::error::TallyError::EncoderType {
            function: "_tracked_tsvector",
            takes: "a tsvector",
            type_name: crate::ffi::datetime::type_name(value.oid()),
        }
    })?;
    Ok(tsvector_key(metric, &text, reads_back, in_order)?)
}

/// The key of a tsvector whose text is `text`: refused when that text does not read back
/// as the value (its key would merge it with the value it does read back as); kept in
/// order for a min or max (refused past `TEXT_KEPT_BYTES`), by digest past it for a
/// count_distinct.
fn tsvector_key(
    metric: &str,
    text: &[u8],
    reads_back: bool,
    in_order: bool,
) -> crate::error::Result<AnyNumeric> {
    use super::value_type::{encode_text, in_order as keep_in_order};
    if !reads_back {
        return Err(crate::error::TallyError::TsvectorNotNormal {
            metric: metric.to_string(),
        });
    }
    if in_order {
        return keep_in_order(metric, OrderedKind::Tsvector, text, encode_text);
    }
    Ok(super::value_type::numeric(encode_text(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_is_pg_lsn_outs() {
        assert_eq!(lsn_text(0), "0/0");
        assert_eq!(lsn_text(0x16_B374_D848), "16/B374D848");
        assert_eq!(lsn_text(u64::MAX), "FFFFFFFF/FFFFFFFF");
    }

    #[test]
    fn char_text_is_charouts() {
        assert_eq!(char_text(b'a'), "a");
        assert_eq!(char_text(b'\\'), "\\");
        assert_eq!(char_text(0), "");
        assert_eq!(char_text(0x80), "\\200");
        assert_eq!(char_text(0xFF), "\\377");
    }

    #[test]
    fn tid_keys_order_by_block_then_offset() {
        assert!(tid_key(0, 65535) < tid_key(1, 0));
        assert!(tid_key(1, 1) < tid_key(1, 2));
        assert_eq!(
            tid_text(tid_key(4_294_967_295, 65535)).as_deref(),
            Some("(4294967295,65535)")
        );
        assert_eq!(tid_text(tid_key(0, 0)).as_deref(), Some("(0,0)"));
        assert_eq!(tid_text(1 << 48), None);
    }
}
