//! The text a group key holds for a column whose own text form is not fixed (0.16.0): an
//! enum's label (which `ALTER TYPE ... RENAME VALUE` can change: the DDL hooks recompute the
//! metrics whose saved labels lost one, `tally._group_enum`), a date's, timestamp's or
//! timestamptz's ISO 8601 form as Postgres writes it into JSON (`2026-12-05`,
//! `2026-12-05T16:00:00`, a timestamptz in UTC: `2026-12-05T16:00:00+00:00`), whatever
//! DateStyle or TimeZone the writer has. Every other group column's key is its text cast
//! (`column::text`), which Postgres must judge immutable (`catalog::define`).

use pgrx::prelude::*;

use crate::error::{SqlResult, TallyError};

/// Whether a group column of base type `base` is keyed by `tally._group_text` rather than
/// by its text cast.
pub fn has_group_text(base: pg_sys::Oid) -> bool {
    matches!(
        base,
        pg_sys::DATEOID | pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID
    ) || crate::ffi::enums::is_enum(base)
}

/// A group column's value as its key's text (`has_group_text`'s types), for the change
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
    if crate::ffi::enums::is_enum(base) {
        let label = crate::ffi::enums::label_of(pg_sys::Oid::from(value.datum().value() as u32));
        return Ok(String::from_utf8_lossy(&label).into_owned());
    }
    if !has_group_text(base) {
        return Err(TallyError::NoGroupText {
            type_name: crate::ffi::datetime::type_name(value.oid()),
        }
        .into());
    }
    Ok(crate::ffi::datetime::json_datetime(
        Some(value.datum()),
        base,
    ))
}
