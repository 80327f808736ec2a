//! One-dimensional arrays of the `tally._change` columns: built for the single-row write path
//! (`write::sys`) and taken apart in place for the dashboard read and the fold (`scan`), with the element
//! layouts spelled out (no catalog lookup per array, which pgrx's `Array` does).

use pgrx::datum::AnyNumeric;
use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;

/// How the elements of one array are stored (`pg_type`'s typlen, typbyval, typalign of
/// the element type).
pub struct ElementType {
    oid: pg_sys::Oid,
    /// The type of an array of these elements.
    array_oid: pg_sys::Oid,
    len: i16,
    by_value: bool,
    align: u8,
}

impl ElementType {
    /// The type of an array of these elements (an SPI argument's type).
    pub fn array_type(&self) -> pg_sys::Oid {
        self.array_oid
    }
}

pub const INT4: ElementType = ElementType {
    oid: pg_sys::INT4OID,
    array_oid: pg_sys::INT4ARRAYOID,
    len: 4,
    by_value: true,
    align: b'i',
};
pub const INT8: ElementType = ElementType {
    oid: pg_sys::INT8OID,
    array_oid: pg_sys::INT8ARRAYOID,
    len: 8,
    by_value: true,
    align: b'd',
};
pub const TIMESTAMPTZ: ElementType = ElementType {
    oid: pg_sys::TIMESTAMPTZOID,
    array_oid: pg_sys::TIMESTAMPTZARRAYOID,
    len: 8,
    by_value: true,
    align: b'd',
};
pub const TEXT: ElementType = ElementType {
    oid: pg_sys::TEXTOID,
    array_oid: pg_sys::TEXTARRAYOID,
    len: -1,
    by_value: false,
    align: b'i',
};
pub const NUMERIC: ElementType = ElementType {
    oid: pg_sys::NUMERICOID,
    array_oid: pg_sys::NUMERICARRAYOID,
    len: -1,
    by_value: false,
    align: b'i',
};

/// A one-dimensional array of `elements` (None is an SQL NULL element), palloc'd in the
/// current memory context.
pub fn array_of(element: &ElementType, elements: impl Iterator<Item = Option<Datum>>) -> Datum {
    let (mut values, mut nulls): (Vec<Datum>, Vec<bool>) = elements
        .map(|e| (e.unwrap_or(Datum::from(0)), e.is_none()))
        .unzip();
    let mut dims = [values.len() as i32];
    let mut lower_bounds = [1];
    // SAFETY: `values` and `nulls` have dims[0] entries; every non-NULL element is a datum
    // of `element`'s type (by value, or a pointer to a varlena that construct_md_array
    // detoasts and copies).
    unsafe {
        Datum::from(pg_sys::construct_md_array(
            values.as_mut_ptr(),
            nulls.as_mut_ptr(),
            1,
            dims.as_mut_ptr(),
            lower_bounds.as_mut_ptr(),
            element.oid,
            element.len.into(),
            element.by_value,
            element.align as std::ffi::c_char,
        ))
    }
}

/// A one-dimensional array of a fixed-size, text or numeric element type, read in place
/// from the tuple it came from: no copy, no call into Postgres (the dashboard read and the
/// fold take apart every pending `tally._change` row, several arrays each; only a numeric
/// element that is used gets copied). Only an array whose varlena is compressed or stored
/// out of line (a statement with thousands of changes) is detoasted first, into a copy
/// freed on drop.
///
/// Layout (`utils/array.h`), as offsets from the start of a 4-byte-header varlena: int32
/// ndim at 4, int32 dataoffset at 8 (0: no NULL bitmap), element oid at 12, dims at 16,
/// lower bounds at 16 + 4·ndim, then the NULL bitmap, then the elements, each aligned to
/// the element type's alignment. A short (1-byte) header shifts everything 3 bytes closer.
pub struct InPlace<'a> {
    /// The bytes after the varlena header.
    body: &'a [u8],
    /// Per element: the offset in `body` of its data, None for NULL.
    offsets: Vec<Option<usize>>,
    copy: Option<*mut pg_sys::varlena>,
}

/// The header length and the total length (header included) of the varlena that `bytes`
/// starts with, from its little-endian header (Postgres' `varatt.h`): low bit 1 is a 1-byte
/// header with the length in its upper 7 bits, low bits 00 a plain 4-byte header with the
/// length in its upper 30 bits. None for a compressed or out-of-line varlena (0x01 is the
/// header of a TOAST pointer), or too few bytes.
fn varlena_size(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.first()?;
    if first & 0x01 == 0x01 {
        (first != 0x01).then(|| (1, usize::from(first >> 1)))
    } else if first & 0x03 == 0x00 {
        let header: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        Some((4, (u32::from_le_bytes(header) >> 2) as usize))
    } else {
        None
    }
}

/// Rounds `offset` up to a multiple of `align` (a power of two).
fn aligned(offset: usize, align: usize) -> usize {
    (offset + align - 1) & !(align - 1)
}

fn alignment(element: &ElementType) -> usize {
    match element.align {
        b'c' => 1,
        b's' => 2,
        b'i' => 4,
        _ => 8,
    }
}

impl<'a> InPlace<'a> {
    /// Reads `array`, an array of `element`s (the caller names the column's type); None if
    /// it is not a one-dimensional array of that type.
    ///
    /// # Safety
    /// `array` must be a non-NULL array datum, valid for `'a`.
    pub unsafe fn of(array: Datum, element: &ElementType) -> Option<InPlace<'a>> {
        let raw = array.cast_mut_ptr::<u8>();
        // A 1-byte header says so in its low bit; anything else has 4 header bytes (every
        // array varlena is longer than that).
        let header_of = |start: *const u8| {
            // SAFETY: `start` is the first byte of a varlena (the caller's promise, or
            // pg_detoast_datum's result), which has at least the header length read here.
            unsafe {
                varlena_size(std::slice::from_raw_parts(
                    start,
                    if *start & 0x01 == 0x01 { 1 } else { 4 },
                ))
            }
        };
        let (start, copy, (header_len, total)) = match header_of(raw) {
            Some(size) => (raw, None, size),
            None => {
                // Compressed or stored out of line: a plain 4-byte-header copy.
                // SAFETY: `raw` is a varlena datum (the caller's promise); the copy is
                // palloc'd in the current context and lives as long as `'a` needs.
                let copy = unsafe { pg_sys::pg_detoast_datum(raw.cast()) };
                (copy.cast::<u8>(), Some(copy), header_of(copy.cast())?)
            }
        };
        // SAFETY: the header says the varlena is `total` bytes long, header included.
        let body = unsafe {
            std::slice::from_raw_parts(start.add(header_len), total.saturating_sub(header_len))
        };
        let mut view = InPlace {
            body,
            offsets: Vec::new(),
            copy,
        };
        view.offsets = view.element_offsets(element)?;
        Some(view)
    }

    /// Where each element's data starts in `body`, walking the array as Postgres'
    /// `deconstruct_array` does: from the data offset, each element's length (its varlena
    /// header for text), then the element type's alignment.
    fn element_offsets(&self, element: &ElementType) -> Option<Vec<Option<usize>>> {
        // `at` is an offset in the 4-byte-header form; `body` starts at its offset 4.
        let bytes =
            |at: usize, len: usize| self.body.get(at.checked_sub(4)?..at.checked_sub(4)? + len);
        let int32 = |at: usize| bytes(at, 4)?.try_into().ok().map(i32::from_le_bytes);
        let ndim = int32(4)?;
        if ndim == 0 {
            return Some(Vec::new());
        }
        if ndim != 1 || int32(12)? != element.oid.to_u32() as i32 {
            return None;
        }
        let data_offset = usize::try_from(int32(8)?).ok()?;
        let count = usize::try_from(int32(16)?).ok()?;
        // With NULLs the bitmap follows the lower bound (at 24) and dataoffset says where the
        // data starts; without, the data starts at MAXALIGN(16 + 8).
        let bitmap = (data_offset != 0).then_some(24usize);
        let mut at = if data_offset != 0 { data_offset } else { 24 };
        let align = alignment(element);
        let mut offsets = Vec::with_capacity(count);
        for i in 0..count {
            if let Some(bitmap) = bitmap {
                if bytes(bitmap + i / 8, 1)?[0] & (1 << (i % 8)) == 0 {
                    offsets.push(None);
                    continue;
                }
            }
            let length = match usize::try_from(element.len) {
                Ok(fixed) => fixed,
                // A varlena element: its length is in its own (1- or 4-byte) header.
                Err(_) => varlena_size(self.body.get(at.checked_sub(4)?..)?)?.1,
            };
            bytes(at, length)?;
            offsets.push(Some(at - 4));
            at = aligned(at + length, align);
        }
        Some(offsets)
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    fn element(&self, i: usize, length: usize) -> Option<&[u8]> {
        let at = (*self.offsets.get(i)?)?;
        self.body.get(at..at + length)
    }

    /// Element `i` of an int4 array; None if NULL or past the end.
    pub fn int4(&self, i: usize) -> Option<i32> {
        self.element(i, 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_le_bytes)
    }

    /// Element `i` of an int8 or timestamptz array; None if NULL or past the end.
    pub fn int8(&self, i: usize) -> Option<i64> {
        self.element(i, 8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
    }

    /// Element `i` of a text array (bytes that are not UTF-8 are replaced, in a copy);
    /// None if NULL or past the end.
    pub fn text(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        let at = (*self.offsets.get(i)?)?;
        let (header, length) = varlena_size(self.body.get(at..)?)?;
        self.body
            .get(at + header..at + length)
            .map(String::from_utf8_lossy)
    }
    /// The bytes of element `i` of an array of a varlena type (numeric), its header
    /// included; None if NULL or past the end.
    fn varlena_element(&self, i: usize) -> Option<&[u8]> {
        let at = (*self.offsets.get(i)?)?;
        let (_, length) = varlena_size(self.body.get(at..)?)?;
        self.body.get(at..at + length)
    }

    /// Whether element `i` of a numeric array is a zero without decimals (`0`, as the write
    /// path stores the total of a count's change), judged from its header alone
    /// (`utils/adt/numeric.c`): no digits, display scale 0, and not NaN or an infinity
    /// (the special values have no digits either). Adding such a zero changes neither a
    /// sum nor the number of decimals it prints with, so `summand` skips it; `0.00` is not
    /// skipped, since it gives a sum its two decimals. False for NULL, and for any form it
    /// does not recognize.
    fn numeric_is_zero(&self, i: usize) -> bool {
        let Some(bytes) = self.varlena_element(i) else {
            return false;
        };
        let Some((header, _)) = varlena_size(bytes) else {
            return false;
        };
        let data = &bytes[header..];
        let Some(word) = data.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]])) else {
            return false;
        };
        let flags = word & 0xC000;
        match data.len() {
            // The short form: one header word (flags 0x8000, display scale in bits 7-12),
            // no digits. 0xC000 marks a special value.
            2 => flags == 0x8000 && word & 0x1F80 == 0,
            // The long form: sign and display scale (low 14 bits), weight, no digits.
            // (0x8000 would be the short form with one digit.)
            4 => flags & 0x8000 == 0 && word & 0x3FFF == 0,
            _ => false,
        }
    }

    /// Element `i` of a numeric array of totals as something to add, copied; None if NULL,
    /// past the end, or a plain `0` (`numeric_is_zero`), which adds nothing: the fold and
    /// the dashboard read neither copy nor add a count's zeros.
    pub fn summand(&self, i: usize) -> Option<AnyNumeric> {
        if self.numeric_is_zero(i) {
            None
        } else {
            self.numeric(i)
        }
    }

    /// Element `i` of a numeric array, copied; None if NULL or past the end.
    pub fn numeric(&self, i: usize) -> Option<AnyNumeric> {
        let bytes = self.varlena_element(i)?;
        // The element lies 4-byte aligned within the array, but an array stored with a
        // 1-byte header starts 3 bytes off, so the element may be misaligned for a
        // varlena: copy it into 8-byte aligned memory first.
        let mut aligned = vec![0u64; bytes.len().div_ceil(8)];
        // SAFETY: `aligned` has room for `bytes` (a separate allocation). `of` checked that
        // the array's elements are numerics, so the copy is one whole numeric varlena
        // (with a 1- or 4-byte header); from_datum detoasts it into a value it owns
        // before `aligned` is dropped.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                aligned.as_mut_ptr().cast::<u8>(),
                bytes.len(),
            );
            AnyNumeric::from_datum(Datum::from(aligned.as_ptr()), false)
        }
    }
}

impl Drop for InPlace<'_> {
    fn drop(&mut self) {
        if let Some(copy) = self.copy {
            // SAFETY: palloc'd by pg_detoast_datum in `of`; `body` (borrowing it) goes with
            // `self`.
            unsafe { pg_sys::pfree(copy.cast()) }
        }
    }
}

/// Column `column` of a row (`datum`, None if NULL), a non-NULL one-dimensional array of
/// `element`s read in place; an internal error if it is NULL or shaped otherwise.
///
/// # Safety
/// `datum`, if any, must be an array datum valid for `'a`.
pub unsafe fn column_in_place<'a>(
    datum: Option<Datum>,
    element: &ElementType,
    column: usize,
) -> crate::error::Result<InPlace<'a>> {
    // SAFETY: the caller's promise is `InPlace::of`'s.
    datum
        .and_then(|d| unsafe { InPlace::of(d, element) })
        .ok_or_else(|| {
            crate::error::TallyError::Internal(format!(
                "column {column} is not a one-dimensional array of the expected type"
            ))
        })
}

/// A one-dimensional array of `elements` (None is an SQL NULL element) as an SPI argument
/// of the array type of `element` (`array_oid`).
pub fn array_argument(
    element: &ElementType,
    elements: impl Iterator<Item = Option<Datum>>,
) -> pgrx::datum::DatumWithOid<'static> {
    let array = array_of(element, elements);
    // SAFETY: `array` is an array datum of `element.array_oid`, palloc'd in the current
    // memory context, which outlives the SPI call it is passed to.
    unsafe { pgrx::datum::DatumWithOid::new(array, element.array_oid) }
}

/// An xid8 value (a 64-bit transaction id, passed by value) as an SPI argument.
pub fn xid8_argument(xid: u64) -> pgrx::datum::DatumWithOid<'static> {
    // SAFETY: xid8 is a by-value 64-bit type: the datum is the value itself, nothing to
    // keep alive.
    unsafe { pgrx::datum::DatumWithOid::new(Datum::from(xid), pg_sys::XID8OID) }
}

/// A text datum holding `s`, palloc'd in the current memory context.
pub fn text_datum(s: &str) -> Datum {
    // SAFETY: cstring_to_text_with_len copies `s.len()` bytes from `s`.
    Datum::from(unsafe { pg_sys::cstring_to_text_with_len(s.as_ptr().cast(), s.len() as i32) })
}
