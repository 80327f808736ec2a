//! The text a group key holds for a column whose text cast will not do (0.16.0), written by
//! `tally._group_text`:
//! - a column whose text form is not fixed: an enum's label (which `ALTER TYPE ... RENAME
//!   VALUE` can change: the DDL hooks recompute the metrics whose saved labels lost one,
//!   `tally._group_enum`), a date's, timestamp's or timestamptz's ISO 8601 form as Postgres
//!   writes it into JSON (`2026-12-05`, `2026-12-05T16:00:00`, a timestamptz in UTC:
//!   `2026-12-05T16:00:00+00:00`), whatever DateStyle or TimeZone the writer has;
//! - a column whose text cast writes values Postgres' GROUP BY equates apart: a numeric
//!   without a scale of its own (`1.0` and `1.00`: the shortest form, `1`), a float (`-0`
//!   and `0`: `0`), a jsonb (`{"a": 1.0}` and `{"a": 1}`: its numbers in their shortest
//!   form). Before 0.16.0 such a column was keyed by its cast; the update recomputes the
//!   metrics grouped by one.
//!
//! Every other group column's key is its text cast (`column::text`), which Postgres must
//! judge immutable (`catalog::define`) and which writes equal values alike.

use pgrx::prelude::*;

use crate::error::{SqlResult, TallyError};

/// Whether a group column of base type `base` requires `tally._group_text` to be taken at
/// all (its text cast is not immutable), which needs the 0.16.0 catalog.
pub fn requires_group_text(base: pg_sys::Oid) -> bool {
    matches!(
        base,
        pg_sys::DATEOID | pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID
    ) || crate::ffi::enums::is_enum(base)
}

/// Whether a group column of base type `base` with type modifier `typmod` is keyed by
/// `tally._group_text` on a 0.16.0 catalog (on an older one, only by its text cast). A jsonb
/// only in a UTF8 database (its text is made canonical as UTF-8; elsewhere it keeps its
/// cast, and `1.0` and `1` their own groups).
pub fn keyed_by_group_text(base: pg_sys::Oid, typmod: i32) -> bool {
    requires_group_text(base)
        || (base == pg_sys::NUMERICOID && typmod < 0)
        || matches!(base, pg_sys::FLOAT4OID | pg_sys::FLOAT8OID)
        || (base == pg_sys::JSONBOID && crate::ffi::database_is_utf8())
}

/// A label's or a jsonb's text as UTF-8, never a lossy copy (two texts would share a key):
/// `catalog::define` takes such group columns in UTF8 databases only.
fn utf8(bytes: Vec<u8>, type_oid: pg_sys::Oid) -> Result<String, TallyError> {
    String::from_utf8(bytes).map_err(|_| TallyError::GroupNotUtf8 {
        what: format!(
            "a value of type {}",
            crate::ffi::datetime::type_name(type_oid)
        ),
    })
}

/// A group column's value as its key's text (`keyed_by_group_text`'s types), for the change
/// queries (`Metric::group_sql`). IMMUTABLE as the key must be: an enum label renamed since
/// is followed by recomputing the metric, like an enum's value (`tally._tracked_label`).
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._group_text(value anyelement) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'group_text_wrapper';"
)]
fn group_text(value: pgrx::AnyElement) -> SqlResult<String> {
    let base = crate::ffi::datetime::base_type(value.oid());
    let datum = value.datum();
    if crate::ffi::enums::is_enum(base) {
        let label = crate::ffi::enums::label_of(pg_sys::Oid::from(datum.value() as u32));
        return Ok(utf8(label, value.oid())?);
    }
    let output = || crate::ffi::arrays::builtin_output(&value).unwrap_or_default();
    Ok(match base {
        pg_sys::DATEOID | pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID => {
            crate::ffi::datetime::json_datetime(Some(datum), base)
        }
        pg_sys::NUMERICOID => {
            let text = utf8(output(), value.oid())?;
            crate::model::value_type::shortest_number(&text).to_string()
        }
        pg_sys::FLOAT4OID | pg_sys::FLOAT8OID => {
            let value = crate::ffi::floats::float_of(&value).unwrap_or(f64::NAN);
            // -0 equals 0, and is written as 0.
            let value = if value == 0.0 { 0.0 } else { value };
            crate::model::value_type::float_text(value, base == pg_sys::FLOAT4OID)
        }
        pg_sys::JSONBOID => {
            let text = utf8(output(), value.oid())?;
            utf8(
                crate::model::value_type::canonical_jsonb(&text),
                value.oid(),
            )?
        }
        _ => {
            return Err(TallyError::NoGroupText {
                type_name: crate::ffi::datetime::type_name(value.oid()),
            }
            .into())
        }
    })
}
