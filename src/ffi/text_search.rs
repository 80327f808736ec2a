//! A tsvector's text, and whether that text reads back as the value itself (0.21.0), read by
//! Postgres' own built-in functions (`tsvectorout`, `tsvectorin`, `tsvector_eq`, none of which
//! reads a setting or runs code a role wrote) from the datum a metric's value expression made
//! once: before, the write's SQL named the value three times (its text, and the text read back
//! and compared), which ran an expression such as `to_tsvector('simple', body)` three times.

use pgrx::pg_sys;

/// A tsvector's text (`tsvectorout`'s bytes) and whether `tsvectorin` reads that text back as an
/// equal value (binary input makes values with repeated or unsorted lexemes, which print as
/// a text that reads back as another value). None for a value of another type. A text the
/// input refuses (a position 0, which binary input takes) raises the input's own error, as
/// the cast in the write's SQL did before.
pub fn tsvector_text(value: &pgrx::AnyElement) -> Option<(Vec<u8>, bool)> {
    if super::datetime::base_type(value.oid()) != pg_sys::TSVECTOROID {
        return None;
    }
    let datum = value.datum();
    // SAFETY: an AnyElement is a non-NULL argument of the call whose base type is tsvector
    // (a domain's representation is its base type's). tsvectorout detoasts it and returns a
    // palloc'd NUL-terminated string, copied here; tsvectorin reads that string (or raises
    // its own ERROR) and returns a palloc'd tsvector; tsvector_eq detoasts both and returns
    // a bool datum. All three are built in; what they palloc lives in the calling function's
    // memory context, the string freed here.
    unsafe {
        let text = pg_sys::OidOutputFunctionCall(pg_sys::Oid::from(pg_sys::F_TSVECTOROUT), datum);
        let owned = std::ffi::CStr::from_ptr(text).to_bytes().to_vec();
        let back = pg_sys::OidInputFunctionCall(
            pg_sys::Oid::from(pg_sys::F_TSVECTORIN),
            text,
            pg_sys::TSVECTOROID,
            -1,
        );
        pg_sys::pfree(text.cast());
        let equal = pg_sys::OidFunctionCall2Coll(
            pg_sys::Oid::from(pg_sys::F_TSVECTOR_EQ),
            pg_sys::InvalidOid,
            datum,
            back,
        );
        Some((owned, equal.value() != 0))
    }
}
