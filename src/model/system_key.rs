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
//! tsvector and tsquery are kept by their text (`tsvectorout`, `tsqueryout`: one text per
//! value, which no setting changes), as jsonb is (`value_type`), and their min and max picked
//! when read by the type's own order (`tally._sort_key`). A tsvector's text is one per
//! equal value (its lexemes and positions are sorted and unique). tsquery's equality
//! ignores its operands' weights and prefix marks (`'a:A' = 'a:*B'`): its count_distinct
//! keeps the text without them (`canonical_tsquery`).

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
// below with its SQL type): pgrx's own xid reads a datum a tuple gave (sign-extended, as any
// 4-byte value) as NULL past 2^31 (found by this version's regress test).
/// An xid of a count_distinct metric (no order: xids wrap around).
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value xid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid_wrapper';"
)]
fn tracked_xid(value: i32) -> AnyNumeric {
    AnyNumeric::from(value as u32)
}

/// A cid of a count_distinct metric, as an xid.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value cid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_cid_wrapper';"
)]
fn tracked_cid(value: i32) -> AnyNumeric {
    AnyNumeric::from(value as u32)
}

#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value xid8) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid8_wrapper';"
)]
fn tracked_xid8(value: i64) -> AnyNumeric {
    AnyNumeric::from(value as u64)
}

#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value pg_lsn) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_pg_lsn_wrapper';"
)]
fn tracked_pg_lsn(value: i64) -> AnyNumeric {
    AnyNumeric::from(value as u64)
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

/// A tsvector of a min or max metric, given as its text (0.20.0): kept as a text is, so one
/// longer than `TEXT_KEPT_BYTES` is refused; ordered when read by tsvector's order.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_tsvector_in_order(metric: &str, value: &str) -> SqlResult<AnyNumeric> {
    Ok(super::value_type::in_order(
        metric,
        OrderedKind::Tsvector,
        value.as_bytes(),
        super::value_type::encode_text,
    )?)
}

/// A tsquery of a min or max metric, given as its text (0.20.0), as a tsvector's.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_tsquery_in_order(metric: &str, value: &str) -> SqlResult<AnyNumeric> {
    Ok(super::value_type::in_order(
        metric,
        OrderedKind::Tsquery,
        value.as_bytes(),
        super::value_type::encode_text,
    )?)
}

/// A tsquery's text (`tsqueryout`'s) without its operands' weights and prefix marks: two
/// tsqueries are equal (`tsquery_cmp`, which compares operands by their lexemes only) exactly
/// when these are. `tsqueryout` writes an operand as `'lexeme'`, a `'` or `\\` inside it
/// doubled, then `:` and its marks (`*`, `A` to `D`) if it has any; nothing else it writes
/// has a quote or follows one with `:`.
pub fn canonical_tsquery(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut canonical = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'\'' {
            canonical.push(bytes[at]);
            at += 1;
            continue;
        }
        // An operand: copied to its closing quote, a doubled quote or backslash inside.
        canonical.push(b'\'');
        at += 1;
        while at < bytes.len() {
            let doubled =
                matches!(bytes[at], b'\'' | b'\\') && bytes.get(at + 1) == Some(&bytes[at]);
            if doubled {
                canonical.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
            } else if bytes[at] == b'\'' {
                break;
            } else {
                canonical.push(bytes[at]);
                at += 1;
            }
        }
        canonical.push(b'\'');
        at += 1;
        if bytes.get(at) == Some(&b':') {
            at += 1;
            while at < bytes.len() && matches!(bytes[at], b'*' | b'A'..=b'D') {
                at += 1;
            }
        }
    }
    canonical
}

/// A tsquery of a count_distinct metric, given as its text (0.20.0): its `canonical_tsquery`,
/// kept as a text is, of any length (past `TEXT_KEPT_BYTES` by digest).
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_tsquery(value: &str) -> AnyNumeric {
    let encoded = super::value_type::encode_text(&canonical_tsquery(value));
    AnyNumeric::try_from(encoded.as_str()).expect("an encoding is a numeric's text")
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

    #[test]
    fn canonical_tsquery_drops_weights_and_prefixes_only() {
        let canonical = |text: &str| String::from_utf8(canonical_tsquery(text)).unwrap();
        assert_eq!(canonical("'a':*AB & !'b':C"), "'a' & !'b'");
        assert_eq!(
            canonical("'a' <-> ( 'b':* | 'c' )"),
            "'a' <-> ( 'b' | 'c' )"
        );
        // Quotes and backslashes doubled inside a lexeme, a colon inside it kept.
        assert_eq!(canonical("'it''s:A':B & 'x\\\\':*"), "'it''s:A' & 'x\\\\'");
        assert_eq!(canonical("'''':D"), "''''");
        assert_eq!(canonical(""), "");
    }
}
