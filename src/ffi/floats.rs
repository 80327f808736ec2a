//! Postgres' own texts of floats (`src/common/d2s.c`, `f2s.c`): what `float8out` and
//! `float4out` write whenever `extra_float_digits` is above 0 (its default), the fewest
//! digits that read back as the same float, with Postgres' spelling of `NaN`, `Infinity`,
//! `-Infinity` and its choice among equally short digits. No setting changes them, so a
//! figure's text is the same in every session. Rust's own shortest texts choose otherwise
//! in some cases (`9045319096066.563` where Postgres writes `9045319096066.562`).

use std::os::raw::{c_char, c_int};

extern "C" {
    // src/include/common/shortest_dec.h (Postgres 12 and later), exported by the server.
    fn double_to_shortest_decimal_bufn(f: f64, result: *mut c_char) -> c_int;
    fn float_to_shortest_decimal_bufn(f: f32, result: *mut c_char) -> c_int;
}

/// Longer than any text the two functions write (`DOUBLE_SHORTEST_DECIMAL_LEN` is 25,
/// `FLOAT_SHORTEST_DECIMAL_LEN` 16, each counting a NUL the `bufn` forms do not write).
const BUFFER_BYTES: usize = 32;

/// The value of a real (widened exactly) or double precision `value` (a domain's too); None
/// for a value of another type.
pub fn float_of(value: &pgrx::AnyElement) -> Option<f64> {
    use pgrx::FromDatum;
    let datum = value.datum();
    match super::datetime::base_type(value.oid()) {
        // SAFETY: an AnyElement is a non-NULL argument of the call, of the type matched
        // (through its domains), which FromDatum reads by value.
        pgrx::pg_sys::FLOAT4OID => unsafe { f32::from_datum(datum, false) }.map(f64::from),
        // SAFETY: as above (float8 is passed by value on 64-bit builds, by reference
        // otherwise: FromDatum reads either).
        pgrx::pg_sys::FLOAT8OID => unsafe { f64::from_datum(datum, false) },
        _ => None,
    }
}

/// A double precision value's text, as `float8out` writes it.
pub fn double_text(value: f64) -> String {
    let mut buffer = [0u8; BUFFER_BYTES];
    // SAFETY: the function writes at most DOUBLE_SHORTEST_DECIMAL_LEN - 1 (24) bytes into
    // `buffer` (32 bytes) and returns how many; it reads no other memory, keeps no pointer,
    // allocates nothing and raises no error.
    let written = unsafe { double_to_shortest_decimal_bufn(value, buffer.as_mut_ptr().cast()) };
    text_of(&buffer, written)
}

/// A real value's text, as `float4out` writes it.
pub fn real_text(value: f32) -> String {
    let mut buffer = [0u8; BUFFER_BYTES];
    // SAFETY: as in `double_text`, with at most FLOAT_SHORTEST_DECIMAL_LEN - 1 (15) bytes.
    let written = unsafe { float_to_shortest_decimal_bufn(value, buffer.as_mut_ptr().cast()) };
    text_of(&buffer, written)
}

fn text_of(buffer: &[u8; BUFFER_BYTES], written: c_int) -> String {
    let written = usize::try_from(written).unwrap_or(0).min(BUFFER_BYTES);
    // ASCII digits, signs, '.', 'e', and the letters of NaN and Infinity.
    String::from_utf8_lossy(&buffer[..written]).into_owned()
}
