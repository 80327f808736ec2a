//! An array's shape and elements (0.14.0, count_distinct over arrays), read with Postgres'
//! own accessors: `pg_detoast_datum`, the header `array.h` describes, `deconstruct_array`.
//! No element is cast or output by a function a role could have written: each is read as
//! the built-in type it is (`Element`, which `model::value_type::ArrayKey` keeps), or an
//! enum's by its label (0.24.0, Postgres' own `enum_out`). An
//! expanded array (a PL/pgSQL variable's) is flattened by `pg_detoast_datum`, as Postgres'
//! own array functions have it.

use pgrx::pg_sys;

/// One part of an array as `read` hands it over: its dimensions (length and lower bound of
/// each) first, then each element in storage order (None for NULL). What `array_eq`
/// compares of two arrays.
pub enum ArrayPart<'a> {
    Dimensions(&'a [(i32, i32)]),
    Element(Option<Element>),
}

/// Hands `visit` the parts of an array (of any array type, or a domain over one: the same
/// datum), one element at a time, checking for interrupts as it goes (an array may hold
/// millions of elements: a cancel or statement_timeout ends the statement, as it would
/// Postgres' own array functions). False, having handed over nothing, when the elements'
/// type (or its domain's base) is not one `reads_elements_of` accepts.
pub fn read(array: &pgrx::AnyArray, visit: impl FnMut(ArrayPart<'_>)) -> bool {
    // SAFETY: an anyarray argument's datum is a non-NULL array (the functions taking one
    // are strict).
    unsafe { read_datum(array.datum(), visit) }
}

/// `read` of an `anyelement` argument whose base type is an array type (0.18.0, min and max
/// over arrays: `anyelement` takes a domain over an array too); false for any other value.
pub fn read_value(value: &pgrx::AnyElement, visit: impl FnMut(ArrayPart<'_>)) -> bool {
    if element_type_of(super::datetime::base_type(value.oid())).is_none() {
        return false;
    }
    // SAFETY: a non-NULL argument (the functions taking one are strict) whose base type, a
    // domain's representation, is an array type: its datum is an array.
    unsafe { read_datum(value.datum(), visit) }
}

/// `read` of the array `datum`.
///
/// # Safety
/// `datum` must be a non-NULL datum of an array type.
unsafe fn read_datum(datum: pg_sys::Datum, mut visit: impl FnMut(ArrayPart<'_>)) -> bool {
    // SAFETY: the caller's promise.
    let (element_type, dimensions, values, nulls) = unsafe { parts(datum) };
    let base = super::datetime::base_type(element_type);
    if !reads_elements_of(base) {
        return false;
    }
    visit(ArrayPart::Dimensions(&dimensions));
    for (at, (value, null)) in values.iter().zip(nulls).enumerate() {
        if at % 1024 == 0 {
            pgrx::check_for_interrupts!();
        }
        let element = if *null {
            None
        } else {
            // SAFETY: `value` is an element of the array: of `element_type`, whose base type
            // (a domain's representation is its base type's) is `base`, one `element` reads.
            Some(unsafe { element(base, *value) }.expect("an element of a type element reads"))
        };
        visit(ArrayPart::Element(element));
    }
    true
}

/// The element type, dimensions, element datums and null flags of the array `datum`. The
/// datums and flags are Postgres' own (palloc'd by `deconstruct_array` in the current memory
/// context, by-reference datums pointing into a detoasted copy there), valid while it lives
/// (the calling function's).
///
/// # Safety
/// `datum` must be a non-NULL datum of an array type, and the slices (of a lifetime the
/// caller picks) used only while the current memory context lives.
#[allow(clippy::type_complexity)]
unsafe fn parts<'a>(
    datum: pg_sys::Datum,
) -> (
    pg_sys::Oid,
    Vec<(i32, i32)>,
    &'a [pg_sys::Datum],
    &'a [bool],
) {
    // SAFETY: the caller passes an array datum; pg_detoast_datum returns it, or a palloc'd
    // plain copy of it (an expanded array flattened), as a varlena whose header is an
    // ArrayType.
    let array =
        unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) }.cast::<pg_sys::ArrayType>();
    // SAFETY: a detoasted ArrayType has `ndim` (0 for an empty array, at most MAXDIM)
    // dimension lengths, then as many lower bounds, right after the fixed header
    // (array.h: ARR_DIMS, ARR_LBOUND).
    let (element_type, dimensions) = unsafe {
        let ndim = usize::try_from((*array).ndim).unwrap_or(0);
        let lengths = array
            .cast::<u8>()
            .add(std::mem::size_of::<pg_sys::ArrayType>())
            .cast::<i32>();
        let lower_bounds = lengths.add(ndim);
        let dimensions = (0..ndim)
            .map(|d| {
                (
                    lengths.add(d).read_unaligned(),
                    lower_bounds.add(d).read_unaligned(),
                )
            })
            .collect::<Vec<_>>();
        ((*array).elemtype, dimensions)
    };
    let (mut length, mut by_value, mut align) = (0i16, false, 0 as std::os::raw::c_char);
    let (mut values, mut nulls, mut count) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
    // SAFETY: the element type is the array's own (from its header); deconstruct_array
    // palloc's `count` datums and null flags in the current memory context, which outlives
    // the slices' use by the calling function (they are never kept past it).
    unsafe {
        pg_sys::get_typlenbyvalalign(element_type, &mut length, &mut by_value, &mut align);
        pg_sys::deconstruct_array(
            array,
            element_type,
            length.into(),
            by_value,
            align,
            &mut values,
            &mut nulls,
            &mut count,
        );
        let count = usize::try_from(count).unwrap_or(0);
        if count == 0 {
            (element_type, dimensions, &[], &[])
        } else {
            (
                element_type,
                dimensions,
                std::slice::from_raw_parts(values, count),
                std::slice::from_raw_parts(nulls, count),
            )
        }
    }
}

/// An element of an array as `model::value_type::ArrayKey` keeps it: the value of its
/// built-in type (a domain over it read as it); an enum's (0.24.0) its label, as `Text`.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Integer(i64),
    /// numeric_out's text (NaN and the infinities included).
    Numeric(String),
    Text(String),
    Uuid([u8; 16]),
    Boolean(bool),
    Float(f64),
    /// date: days since 2000-01-01.
    Days(i32),
    /// timestamp, timestamptz: microseconds since 2000-01-01 (UTC for timestamptz); time
    /// (0.15.0): microseconds since midnight.
    Micros(i64),
    /// interval (0.15.0): its fields, which `interval_eq` compares as one span (30-day
    /// months, 24-hour days).
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// time with time zone (0.15.0): its time and its zone, both of which `timetz_eq`
    /// compares (one instant in two zones is two values).
    Zoned {
        micros: i64,
        zone: i32,
    },
    /// bytea (0.15.0): its bytes.
    Bytes(Vec<u8>),
    /// Postgres' own types (0.21.0): oid and the reg* types, xid, cid, xid8, pg_lsn and
    /// "char" (its byte), each one unsigned integer in its type's order.
    Unsigned(u64),
    /// tid (0.21.0): its block and offset.
    Tid {
        block: u32,
        offset: u16,
    },
    /// aclitem (0.21.0, count_distinct only): the three fields `aclitem_eq` compares.
    Grant {
        grantee: u32,
        grantor: u32,
        privileges: u64,
    },
}

/// The type of the elements of `array_type` (a base type: a domain's already looked
/// up), None when it is no array.
pub fn element_type_of(array_type: pg_sys::Oid) -> Option<pg_sys::Oid> {
    // SAFETY: a syscache lookup by oid; InvalidOid for a type that is no array (or none).
    let element = unsafe { pg_sys::get_element_type(array_type) };
    (element != pg_sys::InvalidOid).then_some(element)
}

/// The array type whose elements are of type `element` (a domain's own array type for a
/// domain), None when it has none.
pub fn array_type_of(element: pg_sys::Oid) -> Option<pg_sys::Oid> {
    // SAFETY: a syscache lookup by oid; InvalidOid for a type without an array type.
    let array = unsafe { pg_sys::get_array_type(element) };
    (array != pg_sys::InvalidOid).then_some(array)
}

/// The element types `element` reads from the datum (their domains too, by their base
/// type); those after timestamptz since 0.15.0, those after bytea since 0.21.0 (with the
/// reg* types, `ffi::REG_TYPES`).
const READ_FROM_DATUM: [pg_sys::Oid; 27] = [
    pg_sys::INT2OID,
    pg_sys::INT4OID,
    pg_sys::INT8OID,
    pg_sys::NUMERICOID,
    pg_sys::TEXTOID,
    pg_sys::VARCHAROID,
    pg_sys::UUIDOID,
    pg_sys::BOOLOID,
    pg_sys::FLOAT4OID,
    pg_sys::FLOAT8OID,
    pg_sys::DATEOID,
    pg_sys::TIMESTAMPOID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::TIMEOID,
    pg_sys::TIMETZOID,
    pg_sys::INTERVALOID,
    pg_sys::MONEYOID,
    pg_sys::BYTEAOID,
    pg_sys::OIDOID,
    pg_sys::XIDOID,
    pg_sys::CIDOID,
    pg_sys::XID8OID,
    pg_sys::PG_LSNOID,
    pg_sys::CHAROID,
    pg_sys::TIDOID,
    pg_sys::NAMEOID,
    pg_sys::ACLITEMOID,
];

/// The element types kept by their output text (0.15.0): Postgres' own output functions for
/// them write one text per value, whatever the settings (an inet without its full mask, a
/// macaddr in lowercase with colons, a bit string's digits), which is their equality.
const KEPT_BY_TEXT: [pg_sys::Oid; 6] = [
    pg_sys::INETOID,
    pg_sys::CIDROID,
    pg_sys::MACADDROID,
    pg_sys::MACADDR8OID,
    pg_sys::BITOID,
    pg_sys::VARBITOID,
];

/// Whether `element` reads elements of base type `base`: the built-in types above and
/// (0.24.0) any enum, by its label.
pub fn reads_elements_of(base: pg_sys::Oid) -> bool {
    READ_FROM_DATUM.contains(&base)
        || KEPT_BY_TEXT.contains(&base)
        || crate::ffi::REG_TYPES.contains(&base)
        || super::enums::is_enum(base)
}

/// The element `datum` of base type `base` (one `reads_elements_of`), None for another type.
///
/// # Safety
/// `datum` must be a non-NULL datum of type `base` (or of a domain over it).
pub(super) unsafe fn element(base: pg_sys::Oid, datum: pg_sys::Datum) -> Option<Element> {
    use pgrx::datum::FromDatum;
    if KEPT_BY_TEXT.contains(&base) {
        // SAFETY: the caller passes a non-NULL datum of `base`, a built-in type.
        return Some(Element::Text(unsafe { output_text(base, datum) }));
    }
    // SAFETY: the caller passes a non-NULL datum of `base`.
    if let Some(element) = unsafe { system_element(base, datum) } {
        return Some(element);
    }
    if base.to_u32() >= pg_sys::FirstNormalObjectId && super::enums::is_enum(base) {
        // 0.24.0: an enum value (its oid, by value) by its label, unique in its enum, read
        // by Postgres' own enum_out (no cast a role wrote runs); a label renamed is followed
        // by the DDL hooks, which recompute the metrics whose keys hold it.
        let oid = pg_sys::Oid::from(datum.value() as u32);
        return Some(text_element(super::enums::label_of(oid)));
    }
    // SAFETY: for every arm, the caller passes a non-NULL datum of `base`; each conversion
    // reads that type's own representation (by-value integers, floats, booleans, times and
    // money; numeric, text, uuid, interval, time with time zone and bytea by reference,
    // detoasted by pgrx's conversions, in the current memory context; a time with time
    // zone is a fixed-length struct, never toasted).
    unsafe {
        Some(match base {
            pg_sys::INT2OID => Element::Integer(i16::from_datum(datum, false)?.into()),
            pg_sys::INT4OID => Element::Integer(i32::from_datum(datum, false)?.into()),
            pg_sys::INT8OID => Element::Integer(i64::from_datum(datum, false)?),
            pg_sys::NUMERICOID => {
                Element::Numeric(pgrx::AnyNumeric::from_datum(datum, false)?.to_string())
            }
            pg_sys::TEXTOID | pg_sys::VARCHAROID => {
                Element::Text(String::from_datum(datum, false)?)
            }
            pg_sys::UUIDOID => Element::Uuid(*pgrx::Uuid::from_datum(datum, false)?.as_bytes()),
            pg_sys::BOOLOID => Element::Boolean(bool::from_datum(datum, false)?),
            pg_sys::FLOAT4OID => Element::Float(f32::from_datum(datum, false)?.into()),
            pg_sys::FLOAT8OID => Element::Float(f64::from_datum(datum, false)?),
            pg_sys::DATEOID => Element::Days(i32::from_datum(datum, false)?),
            pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID | pg_sys::TIMEOID => {
                Element::Micros(i64::from_datum(datum, false)?)
            }
            pg_sys::MONEYOID => Element::Integer(i64::from_datum(datum, false)?),
            pg_sys::INTERVALOID => {
                let interval = pgrx::datum::Interval::from_datum(datum, false)?;
                Element::Interval {
                    months: interval.months(),
                    days: interval.days(),
                    micros: interval.micros(),
                }
            }
            pg_sys::TIMETZOID => {
                let zoned = &*datum.cast_mut_ptr::<pg_sys::TimeTzADT>();
                Element::Zoned {
                    micros: zoned.time,
                    zone: zoned.zone,
                }
            }
            pg_sys::BYTEAOID => Element::Bytes(<Vec<u8>>::from_datum(datum, false)?),
            _ => return None,
        })
    }
}

/// A name's or an enum label's bytes as an element: a text. Not UTF-8 only in a database of
/// another encoding, where no metric takes a name or an enum
/// (`catalog::define::require_utf8`): a hand call keys its bytes.
fn text_element(bytes: Vec<u8>) -> Element {
    match String::from_utf8(bytes) {
        Ok(text) => Element::Text(text),
        Err(not_utf8) => Element::Bytes(not_utf8.into_bytes()),
    }
}

/// An element of one of Postgres' own types (0.21.0), None for another type.
///
/// # Safety
/// `datum` must be a non-NULL datum of type `base` (or of a domain over it).
unsafe fn system_element(base: pg_sys::Oid, datum: pg_sys::Datum) -> Option<Element> {
    // By-value datums as `fetch_att` makes them: a 4-byte or 1-byte value sign-extended, so
    // only its own low bytes are read (`as u32`, `as u8`).
    Some(match base {
        // An oid, xid or cid: four bytes by value (a reg* type's representation is an oid's).
        four_bytes
            if matches!(four_bytes, pg_sys::OIDOID | pg_sys::XIDOID | pg_sys::CIDOID)
                || crate::ffi::REG_TYPES.contains(&four_bytes) =>
        {
            Element::Unsigned(u64::from(datum.value() as u32))
        }
        pg_sys::XID8OID | pg_sys::PG_LSNOID => Element::Unsigned(datum.value() as u64),
        pg_sys::CHAROID => Element::Unsigned(u64::from(datum.value() as u8)),
        pg_sys::TIDOID => {
            // SAFETY: a tid is a 6-byte ItemPointerData by reference, 2-byte aligned (its
            // type's alignment, which the array's storage keeps).
            let tid = unsafe { &*datum.cast_mut_ptr::<pg_sys::ItemPointerData>() };
            let block = (u32::from(tid.ip_blkid.bi_hi) << 16) | u32::from(tid.ip_blkid.bi_lo);
            Element::Tid {
                block,
                offset: tid.ip_posid,
            }
        }
        pg_sys::NAMEOID => {
            // SAFETY: a name is NAMEDATALEN bytes by reference, its text ending at the first
            // 0 (namein and namerecv leave at least one).
            let bytes = unsafe {
                std::slice::from_raw_parts(datum.cast_mut_ptr::<u8>(), pg_sys::NAMEDATALEN as usize)
            };
            let text = bytes.split(|byte| *byte == 0).next().unwrap_or_default();
            text_element(text.to_vec())
        }
        pg_sys::ACLITEMOID => {
            // SAFETY: an aclitem is an AclItem by reference, aligned as its type says.
            let item = unsafe { &*datum.cast_mut_ptr::<pg_sys::AclItem>() };
            Element::Grant {
                grantee: item.ai_grantee.to_u32(),
                grantor: item.ai_grantor.to_u32(),
                #[allow(clippy::useless_conversion)] // AclMode is u32 before Postgres 16
                privileges: u64::from(item.ai_privs),
            }
        }
        _ => return None,
    })
}

/// The amount (in the currency's smallest unit, as Postgres stores it) of a money value, or
/// one of a domain over money; None for a value of any other type (0.17.0).
pub fn money_amount(value: &pgrx::AnyElement) -> Option<i64> {
    if super::datetime::base_type(value.oid()) != pg_sys::MONEYOID {
        return None;
    }
    // SAFETY: an AnyElement is a non-NULL argument of the call whose base type is money,
    // a by-value int64.
    unsafe { element(pg_sys::MONEYOID, value.datum()) }.and_then(|element| match element {
        Element::Integer(amount) => Some(amount),
        _ => None,
    })
}

/// A money amount as `cash_out` writes it in this session, which is what Postgres' own
/// money output is: by `lc_monetary` (`$1,234.50`), which money input reads back under the
/// same setting (0.17.0: a min or max figure over money, read where it is written).
pub fn money_text(amount: i64) -> String {
    // SAFETY: money is a by-value int64 datum of a built-in type, whose output function
    // (cash_out, built in) returns a palloc'd string, copied and freed by `output_bytes`.
    let bytes = unsafe { output_bytes(pg_sys::MONEYOID, pg_sys::Datum::from(amount)) };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The bytes the built-in output function of numeric or jsonb (neither reads a setting)
/// writes for `value`; None for a value of another type.
pub fn builtin_output(value: &pgrx::AnyElement) -> Option<Vec<u8>> {
    let base = super::datetime::base_type(value.oid());
    if !matches!(base, pg_sys::NUMERICOID | pg_sys::JSONBOID) {
        return None;
    }
    // SAFETY: an AnyElement is a non-NULL argument of the call, of type `value.oid()`, whose
    // base type `base` is: its datum is one of `base`.
    Some(unsafe { output_bytes(base, value.datum()) })
}

/// The text the built-in output function of `base` writes for `datum`.
///
/// # Safety
/// `datum` must be a non-NULL datum of the built-in type `base`.
unsafe fn output_text(base: pg_sys::Oid, datum: pg_sys::Datum) -> String {
    // SAFETY: as this function's own contract.
    String::from_utf8_lossy(&unsafe { output_bytes(base, datum) }).into_owned()
}

/// The bytes the built-in output function of `base` writes for `datum` (under this
/// session's settings: the callers pass types whose output reads none, but money's).
///
/// # Safety
/// `datum` must be a non-NULL datum of the built-in type `base`.
unsafe fn output_bytes(base: pg_sys::Oid, datum: pg_sys::Datum) -> Vec<u8> {
    let mut output = pg_sys::InvalidOid;
    let mut is_varlena = false;
    // SAFETY: `base` is a built-in type, whose output function (built in too, and reading
    // no setting for the types it is called for) takes `datum` and returns a palloc'd
    // NUL-terminated string, copied here and freed.
    unsafe {
        pg_sys::getTypeOutputInfo(base, &mut output, &mut is_varlena);
        let text = pg_sys::OidOutputFunctionCall(output, datum);
        let owned = std::ffi::CStr::from_ptr(text).to_bytes().to_vec();
        pg_sys::pfree(text.cast());
        owned
    }
}
