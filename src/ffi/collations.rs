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

/// The bytes two texts share exactly when collation `collation` says they are equal
/// (0.22.0, the keys of a count_distinct over text in a nondeterministic collation): the
/// text's own bytes in a deterministic collation (whose equality is byte equality), its ICU
/// sort key in a nondeterministic one (only ICU makes those), the key Postgres hashes such
/// texts by (`hashtext`). Two texts have one key exactly when the collation's `=` holds in
/// the collations `catalog::define` takes (`icu::why_sort_keys_unfaithful`: not in every
/// one, found by a hostile probe). A key changes with the
/// collation's version (a new ICU): Postgres then warns that indexes need a REINDEX, and
/// a metric needs `tally.refresh`.
pub fn equality_key(text: &[u8], collation: pg_sys::Oid) -> Vec<u8> {
    if !exists(collation) {
        pgrx::ereport!(
            ERROR,
            pgrx::PgSqlErrorCode::ERRCODE_INDETERMINATE_COLLATION,
            "could not determine which collation to tell texts apart by"
        );
    }
    let (_, deterministic) = name_and_determinism(collation);
    if deterministic {
        return text.to_vec();
    }
    sort_key(text, collation)
}

#[cfg(not(feature = "pg15"))]
extern "C-unwind" {
    /// utils/pg_locale.h, which pgrx does not bind: the collation's cached locale.
    fn pg_newlocale_from_collation(collation: pg_sys::Oid) -> *mut std::ffi::c_void;
    /// utils/pg_locale.h (PostgreSQL 16 and later): writes the sort key of `src` (`srclen`
    /// bytes: a size_t in 16 and 17, an ssize_t in 18) into `dest` when it fits in
    /// `destsize` bytes with a NUL, and returns its length without the NUL either way.
    #[cfg(any(feature = "pg16", feature = "pg17"))]
    fn pg_strnxfrm(
        dest: *mut std::ffi::c_char,
        destsize: usize,
        src: *const std::ffi::c_char,
        srclen: usize,
        locale: *mut std::ffi::c_void,
    ) -> usize;
    #[cfg(not(any(feature = "pg15", feature = "pg16", feature = "pg17")))]
    fn pg_strnxfrm(
        dest: *mut std::ffi::c_char,
        destsize: usize,
        src: *const std::ffi::c_char,
        srclen: isize,
        locale: *mut std::ffi::c_void,
    ) -> usize;
}

/// The ICU sort key of `text` in nondeterministic collation `collation`, by Postgres' own
/// `pg_strnxfrm` (what `hashtext` hashes).
#[cfg(not(feature = "pg15"))]
fn sort_key(text: &[u8], collation: pg_sys::Oid) -> Vec<u8> {
    let source = text.as_ptr().cast::<std::ffi::c_char>();
    // SAFETY: pg_newlocale_from_collation takes the oid of an existing collation (checked by
    // `equality_key`) and returns its cached locale or raises an ERROR (caught at the
    // boundary); pg_strnxfrm reads `text.len()` bytes of `text` and writes nothing into a
    // null buffer of 0 bytes.
    let (locale, needed) = unsafe {
        pg_sys::ffi::pg_guard_ffi_boundary(|| {
            let locale = pg_newlocale_from_collation(collation);
            let needed = pg_strnxfrm(std::ptr::null_mut(), 0, source, source_length(text), locale);
            (locale, needed)
        })
    };
    let mut key = vec![0u8; needed + 1];
    let (buffer, capacity) = (key.as_mut_ptr().cast(), key.len());
    // SAFETY: as above, with `locale` the collation's cached locale (it lives as long as the
    // backend); pg_strnxfrm writes at most `capacity` bytes into `key`, which has them.
    let written = unsafe {
        pg_sys::ffi::pg_guard_ffi_boundary(|| {
            pg_strnxfrm(buffer, capacity, source, source_length(text), locale)
        })
    };
    if written > needed {
        pgrx::error!("pg_strnxfrm() returned an unexpected length");
    }
    key.truncate(written);
    key
}

/// `pg_strnxfrm`'s source length: a size_t before PostgreSQL 18, an ssize_t since.
#[cfg(any(feature = "pg16", feature = "pg17"))]
fn source_length(text: &[u8]) -> usize {
    text.len()
}

/// `pg_strnxfrm`'s source length: a size_t before PostgreSQL 18, an ssize_t since.
#[cfg(not(any(feature = "pg15", feature = "pg16", feature = "pg17")))]
fn source_length(text: &[u8]) -> isize {
    isize::try_from(text.len()).unwrap_or(isize::MAX)
}

/// PostgreSQL 15's `struct pg_locale_struct` (utils/pg_locale.h) as far as its ICU collator:
/// a provider byte, the deterministic flag, then a union (pointer-aligned: its locale_t and
/// ICU members hold pointers) whose ICU member is the locale's name and the collator.
#[cfg(feature = "pg15")]
#[repr(C)]
struct Pg15Locale {
    provider: std::ffi::c_char,
    deterministic: bool,
    icu_locale: *const std::ffi::c_char,
    icu_collator: *mut std::ffi::c_void,
}

#[cfg(feature = "pg15")]
extern "C-unwind" {
    fn pg_newlocale_from_collation(collation: pg_sys::Oid) -> *mut Pg15Locale;
}

/// The ICU sort key of `text` (UTF-8: the database's encoding is checked when the metric is
/// defined) in nondeterministic collation `collation`, as PostgreSQL 15's `hashtext` makes
/// it: the text as UTF-16, given to `ucol_getSortKey` with the collation's collator.
#[cfg(feature = "pg15")]
fn sort_key(text: &[u8], collation: pg_sys::Oid) -> Vec<u8> {
    const ICU: std::ffi::c_char = b'i' as std::ffi::c_char;
    let utf16: Vec<u16> = String::from_utf8_lossy(text).encode_utf16().collect();
    let Ok(length) = i32::try_from(utf16.len()) else {
        pgrx::error!("a text of {} bytes is too long for a sort key", text.len());
    };
    // SAFETY: pg_newlocale_from_collation takes the oid of an existing collation and returns
    // its cached locale (an ERROR is caught at the boundary); a nondeterministic collation's
    // locale is ICU's, checked by its provider byte before the collator is read.
    let collator = unsafe {
        pg_sys::ffi::pg_guard_ffi_boundary(|| {
            let locale = pg_newlocale_from_collation(collation);
            if locale.is_null() || (*locale).provider != ICU {
                return std::ptr::null_mut();
            }
            (*locale).icu_collator
        })
    };
    let get_sort_key = match super::icu::icu() {
        Ok(icu) if !collator.is_null() => icu.get_sort_key,
        Ok(_) => pgrx::error!(
            "collation {} has no ICU collator to make sort keys with",
            collation.to_u32()
        ),
        Err(reason) => pgrx::error!("cannot make ICU sort keys: {reason}"),
    };
    let mut key = vec![0u8; text.len() * 4 + 16];
    for _ in 0..2 {
        let capacity = i32::try_from(key.len()).unwrap_or(i32::MAX);
        // SAFETY: `collator` is the collation's live ICU collator; ICU reads `length` UTF-16
        // units of `utf16` and writes at most `capacity` bytes into `key`, returning the
        // key's full length (with its NUL) even when it does not fit.
        let full =
            unsafe { get_sort_key(collator, utf16.as_ptr(), length, key.as_mut_ptr(), capacity) };
        let full = usize::try_from(full).unwrap_or(0);
        if full == 0 {
            pgrx::error!("ICU made no sort key");
        }
        if full <= key.len() {
            key.truncate(full - 1);
            return key;
        }
        key.resize(full, 0);
    }
    pgrx::error!("ICU's sort key kept growing");
}

/// The collation a call of a function was made in (`PG_GET_COLLATION()`): its arguments'.
pub fn call_collation(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Oid {
    // SAFETY: `fcinfo` is the call's own, passed by Postgres, valid for the call.
    unsafe { (*fcinfo).fncollation }
}
