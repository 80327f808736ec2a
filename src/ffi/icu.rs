//! ICU's collator API, found by name in the server's own ICU (0.22.0): pgrx binds none of
//! it, and a library linked with ICU itself could load a second ICU beside the server's.
//! ICU suffixes its C symbols with its major version (`ucol_open_72`) unless it was built
//! without renaming; all four functions are taken with one suffix, the newest found, so they
//! come from one ICU. A server built without ICU has none, and no nondeterministic
//! collation either (only ICU makes those).

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::OnceLock;

extern "C" {
    /// libc's, with glibc's RTLD_DEFAULT (a null handle): the symbols of the server and the
    /// libraries it was linked with.
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

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

/// The server's ICU, None in a server built without it; looked up once per backend.
pub fn icu() -> Option<&'static Icu> {
    static FOUND: OnceLock<Option<Icu>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let suffixes = std::iter::once(String::new())
                .chain((36..=199).rev().map(|major| format!("_{major}")));
            suffixes.into_iter().find_map(|suffix| {
                let open = symbol(&format!("ucol_open{suffix}"))?;
                let close = symbol(&format!("ucol_close{suffix}"))?;
                let get_attribute = symbol(&format!("ucol_getAttribute{suffix}"))?;
                let get_sort_key = symbol(&format!("ucol_getSortKey{suffix}"))?;
                // SAFETY: each address is the ICU function of that name, whose C signature
                // the type spells (ICU's stable C API, unchanged since ICU 2.0).
                unsafe {
                    Some(Icu {
                        open: std::mem::transmute::<*mut c_void, Open>(open),
                        close: std::mem::transmute::<*mut c_void, Close>(close),
                        get_attribute: std::mem::transmute::<*mut c_void, GetAttribute>(
                            get_attribute,
                        ),
                        get_sort_key: std::mem::transmute::<*mut c_void, GetSortKey>(get_sort_key),
                    })
                }
            })
        })
        .as_ref()
}

/// The address of symbol `name` in the server's process, None when it has none.
fn symbol(name: &str) -> Option<*mut c_void> {
    let name = CString::new(name).ok()?;
    // SAFETY: dlsym with RTLD_DEFAULT reads a NUL-terminated name and returns the symbol's
    // address or null.
    let address = unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) };
    (!address.is_null()).then_some(address)
}

// UColAttribute and UColAttributeValue (unicode/ucol.h).
const ALTERNATE_HANDLING: i32 = 1;
const NORMALIZATION_MODE: i32 = 4;
const STRENGTH: i32 = 5;
const TERTIARY: i32 = 2;
const SHIFTED: i32 = 20;
const ON: i32 = 17;

/// Why ICU's sort keys in the collation of ICU locale `locale` might not tell texts apart as
/// its `=` (`ucol_strcoll`) does, None when they do. A hostile probe found keys that differ
/// where `=` holds, or agree where it does not, with punctuation ignored (alternate
/// handling shifted), at strength quaternary or identical, and with normalization on (Thai,
/// `kk-true`); strengths primary to tertiary, case level, numeric and script reordering
/// held over 150,000 random texts. Postgres opens a collation's collator from its locale as
/// here (`ucol_open`), so the attributes read are the collation's.
pub fn sort_key_doubt(locale: &CStr) -> Option<String> {
    let Some(icu) = icu() else {
        return Some("this server's ICU library is not found".into());
    };
    let mut status = 0;
    // SAFETY: ucol_open reads a NUL-terminated locale and sets `status`; a collator it
    // returns is closed below, after its attributes are read with their own status.
    unsafe {
        let collator = (icu.open)(locale.as_ptr(), &mut status);
        if collator.is_null() || status > 0 {
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
        (icu.close)(collator);
        match (alternate, normalization, strength) {
            (Some(SHIFTED), _, _) => Some("it ignores punctuation (alternate shifted)".into()),
            (_, Some(ON), _) => Some("it normalizes texts (normalization on)".into()),
            (_, _, Some(strength)) if strength > TERTIARY => {
                Some("its strength is past tertiary (quaternary or identical)".into())
            }
            (Some(_), Some(_), Some(_)) => None,
            _ => Some("ICU cannot read its attributes".into()),
        }
    }
}
