//! Text compared in a collation given by its oid (0.15.0, the min and max of a column's text
//! in a collation that is not byte order): Postgres' own `varstr_cmp`, which `text`'s btree
//! operator class calls, so the order is exactly `min(column)`'s. By oid, never by name: a
//! name would be looked up again, in the newest catalog, where the collation's owner may
//! have renamed it and put another in its place. Also (0.16.0) a collation's name and
//! whether it is deterministic, for a text group column.

use pgrx::pg_sys;
use std::cmp::Ordering;

/// How `left` compares with `right` (UTF-8 bytes of texts) in collation `collation`.
pub fn compare(left: &[u8], right: &[u8], collation: pg_sys::Oid) -> Ordering {
    let length = |text: &[u8]| i32::try_from(text.len()).unwrap_or(i32::MAX);
    // SAFETY: varstr_cmp reads exactly `len` bytes from each pointer, both slices live for
    // the call; an unknown collation raises a Postgres ERROR (pgrx turns it into a Rust
    // panic that unwinds to the function's boundary, where it is raised again).
    let result = unsafe {
        pg_sys::varstr_cmp(
            left.as_ptr().cast(),
            length(left),
            right.as_ptr().cast(),
            length(right),
            collation,
        )
    };
    result.cmp(&0)
}

/// Whether collation `collation` exists in the newest catalog (a REPEATABLE READ snapshot may
/// still show a column's collation that was changed and dropped since: found by a hostile
/// probe, where comparing in it raised "cache lookup failed").
pub fn exists(collation: pg_sys::Oid) -> bool {
    super::cached_by_oid(pg_sys::SysCacheIdentifier::COLLOID, collation)
}

/// The name of collation `collation` (`???` for none) and whether it is deterministic (a
/// collation that is none is not).
pub fn name_and_determinism(collation: pg_sys::Oid) -> (String, bool) {
    if !exists(collation) {
        return ("???".to_string(), false);
    }
    // SAFETY: syscache lookups by the oid of an existing collation: get_collation_name
    // returns a palloc'd NUL-terminated name (NULL for none, handled), and
    // get_collation_isdeterministic reads a flag of the same entry.
    unsafe {
        let name = pg_sys::get_collation_name(collation);
        let name = if name.is_null() {
            "???".to_string()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        };
        (name, pg_sys::get_collation_isdeterministic(collation))
    }
}
