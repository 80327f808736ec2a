//! ICU's collator API, found by name in the server's process (0.22.0): pgrx binds none of
//! it. ICU suffixes its C symbols with its major version (`ucol_open_72`, since ICU 49)
//! unless it was built without renaming; all four functions are taken with one suffix, so
//! they come from one ICU. A library linked with another ICU, loaded into the server with
//! its symbols global, would make that choice ambiguous: then none is taken, and what needs
//! ICU here is refused (a collator of one ICU must never reach another's functions). A server
//! built without ICU has none, and no nondeterministic collation either (only ICU makes
//! those).

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use super::server_symbol as symbol;

/// `UCollator *ucol_open(const char *locale, UErrorCode *status)`.
type Open = unsafe extern "C" fn(*const c_char, *mut i32) -> *mut c_void;
/// `void ucol_close(UCollator *collator)`.
type Close = unsafe extern "C" fn(*mut c_void);
/// `UColAttributeValue ucol_getAttribute(const UCollator *, UColAttribute, UErrorCode *)`.
type GetAttribute = unsafe extern "C" fn(*const c_void, i32, *mut i32) -> i32;
/// `int32_t ucol_getSortKey(const UCollator *, const UChar *source, int32_t length, uint8_t
/// *result, int32_t capacity)`: the key's full length with its NUL, even when it does not
/// fit.
pub type GetSortKey = unsafe extern "C" fn(*const c_void, *const u16, i32, *mut u8, i32) -> i32;

/// ICU's functions this library calls.
pub struct Icu {
    open: Open,
    close: Close,
    get_attribute: GetAttribute,
    /// Called on PostgreSQL 15 only (`collations::sort_key`): 16 and later make the keys
    /// with Postgres' own `pg_strnxfrm`, which calls it.
    #[cfg_attr(not(feature = "pg15"), allow(dead_code))]
    pub get_sort_key: GetSortKey,
}

/// The server's ICU, or why there is none to use: built without it, or more than one ICU
/// loaded. Looked up once per backend (at its first use: a library loaded later cannot
/// change the ICU the backend's keys are made with).
pub fn icu() -> Result<&'static Icu, &'static str> {
    static FOUND: OnceLock<Result<Icu, &'static str>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let suffixes =
                std::iter::once(String::new()).chain((49..=199).map(|major| format!("_{major}")));
            let mut found = suffixes.filter_map(|suffix| icu_with(&suffix));
            match (found.next(), found.next()) {
                (Some(icu), None) => Ok(icu),
                (None, _) => Err("this server's ICU library is not found"),
                (Some(_), Some(_)) => {
                    Err("more than one ICU library is loaded in this server process")
                }
            }
        })
        .as_ref()
        .map_err(|reason| *reason)
}

/// ICU's four functions with symbol suffix `suffix`, None unless all are found.
fn icu_with(suffix: &str) -> Option<Icu> {
    let open = symbol(&format!("ucol_open{suffix}"))?;
    let close = symbol(&format!("ucol_close{suffix}"))?;
    let get_attribute = symbol(&format!("ucol_getAttribute{suffix}"))?;
    let get_sort_key = symbol(&format!("ucol_getSortKey{suffix}"))?;
    // SAFETY: each address is the ICU function of that name, whose C signature the type
    // spells (ICU's stable C API, unchanged since ICU 2.0).
    unsafe {
        Some(Icu {
            open: std::mem::transmute::<*mut c_void, Open>(open),
            close: std::mem::transmute::<*mut c_void, Close>(close),
            get_attribute: std::mem::transmute::<*mut c_void, GetAttribute>(get_attribute),
            get_sort_key: std::mem::transmute::<*mut c_void, GetSortKey>(get_sort_key),
        })
    }
}

// UColAttribute and UColAttributeValue (unicode/ucol.h).
const ALTERNATE_HANDLING: i32 = 1;
const NORMALIZATION_MODE: i32 = 4;
const STRENGTH: i32 = 5;
const NUMERIC_COLLATION: i32 = 7;
const TERTIARY: i32 = 2;
const SHIFTED: i32 = 20;
const ON: i32 = 17;

/// Why ICU's sort keys in the collation of ICU locale `locale` might not tell texts apart as
/// its `=` (`ucol_strcoll`) does, None when they do. A hostile probe found keys that differ
/// where `=` holds, or agree where it does not, with punctuation ignored (alternate
/// handling shifted), at strength identical, with normalization on (Thai, `kk-true`), and
/// with numeric ordering (`kn-true`) in a tailored locale, where ICU's `=` takes the
/// Arabic-Indic `١٠٥` and `١٠٠٥` as equal and their keys do not (a second probe); quaternary
/// strength is refused too, untried, and numeric ordering in every locale. The attributes
/// are read from a collator opened from the locale as Postgres opens the collation's
/// (`ucol_open`; Postgres sets attributes itself only for ICU before 54, which has no such
/// attributes to differ).
pub fn why_sort_keys_unfaithful(locale: &CStr) -> Option<String> {
    let icu = match icu() {
        Ok(icu) => icu,
        Err(reason) => return Some(reason.into()),
    };
    let mut status = 0;
    // SAFETY: ucol_open reads a NUL-terminated locale and sets `status`; any collator it
    // returns is closed below, on failure too, after its attributes are read.
    unsafe {
        let collator = (icu.open)(locale.as_ptr(), &mut status);
        if collator.is_null() || status > 0 {
            if !collator.is_null() {
                (icu.close)(collator);
            }
            return Some(format!("ICU cannot open its locale (error {status})"));
        }
        let attribute = |which| {
            let mut status = 0;
            let value = (icu.get_attribute)(collator, which, &mut status);
            (status <= 0).then_some(value)
        };
        let alternate = attribute(ALTERNATE_HANDLING);
        let normalization = attribute(NORMALIZATION_MODE);
        let strength = attribute(STRENGTH);
        let numeric = attribute(NUMERIC_COLLATION);
        (icu.close)(collator);
        match (alternate, normalization, strength, numeric) {
            (Some(SHIFTED), ..) => Some("it ignores punctuation (alternate shifted)".into()),
            (_, Some(ON), ..) => Some("it normalizes texts (normalization on)".into()),
            (_, _, Some(strength), _) if strength > TERTIARY => {
                Some("its strength is past tertiary (quaternary or identical)".into())
            }
            (.., Some(ON)) => Some("it orders digits as numbers (numeric on)".into()),
            (Some(_), Some(_), Some(_), Some(_)) => None,
            _ => Some("ICU cannot read its attributes".into()),
        }
    }
}
