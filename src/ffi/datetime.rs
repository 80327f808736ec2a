//! The unsafe calls that write a figure of a date/time type as text in a form no session
//! setting changes (Postgres' own JSON and ISO 8601 encoders), and that look through a
//! domain to its base type. Used by `model::value_type`.

use pgrx::pg_sys;
use std::ffi::CStr;

/// A date, time, timestamp or timestamptz datum as Postgres writes it into JSON: ISO 8601
/// whatever DateStyle says, a timestamptz in UTC with its offset (`+00:00`), infinities as
/// `infinity` and `-infinity`.
pub fn json_datetime(value: Option<pg_sys::Datum>, type_oid: pg_sys::Oid) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let utc: std::ffi::c_int = 0;
    let mut buffer = [0 as std::ffi::c_char; pg_sys::MAXDATELEN as usize + 1];
    // SAFETY: `value` is a by-value datum of `type_oid`, one of the four types
    // JsonEncodeDateTime encodes; `buffer` holds MAXDATELEN + 1 bytes, as it requires, and
    // it writes a NUL-terminated string there (an out-of-range value raises an ERROR,
    // turned into a Rust panic by pgrx and back into the ERROR at the SQL boundary).
    unsafe {
        pg_sys::JsonEncodeDateTime(buffer.as_mut_ptr(), value, type_oid, &utc);
    }
    // SAFETY: the buffer now holds a NUL-terminated string within its length.
    unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// A time with time zone (`time`: microseconds past local midnight; `zone`: seconds west of
/// UTC) as Postgres writes one into JSON: ISO 8601 with its own zone (`12:00:00+01:00`),
/// read back as itself by timetz input under any DateStyle (0.17.0).
pub fn json_timetz(time: i64, zone: i32) -> String {
    let mut value = pg_sys::TimeTzADT { time, zone };
    let utc: std::ffi::c_int = 0;
    let mut buffer = [0 as std::ffi::c_char; pg_sys::MAXDATELEN as usize + 1];
    // SAFETY: a timetz datum is a pointer to its TimeTzADT, here a local that outlives the
    // call; JsonEncodeDateTime reads it (with its own zone: the last argument is only read
    // for a timestamptz, `utc` all the same) and writes a NUL-terminated string of at most MAXDATELEN bytes
    // into the buffer, which holds MAXDATELEN + 1 (the zone is within ±15:59:59: only
    // `ordered_key`'s decoded figures reach here).
    unsafe {
        pg_sys::JsonEncodeDateTime(
            buffer.as_mut_ptr(),
            pg_sys::Datum::from(&mut value as *mut pg_sys::TimeTzADT),
            pg_sys::TIMETZOID,
            &utc,
        );
    }
    // SAFETY: the buffer now holds a NUL-terminated string within its length.
    unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The time (microseconds past local midnight) and zone (seconds west of UTC) of a timetz
/// value (or one of a domain over timetz), read from its datum; None for a value of any
/// other type (0.17.0).
pub fn zoned_time(value: &pgrx::AnyElement) -> Option<(i64, i32)> {
    if base_type(value.oid()) != pg_sys::TIMETZOID {
        return None;
    }
    // SAFETY: an AnyElement is a non-NULL argument of the call, of type `value.oid()`, whose
    // base type is timetz: its datum points to a TimeTzADT (fixed length, never toasted),
    // which lives for the call.
    let zoned = unsafe { &*value.datum().cast_mut_ptr::<pg_sys::TimeTzADT>() };
    Some((zoned.time, zoned.zone))
}

/// An interval as ISO 8601 (`P1Y2M3DT4H5M6S`, what IntervalStyle `iso_8601` prints), read
/// back as itself by interval input under any IntervalStyle. On Postgres 17 and later, the
/// infinite intervals as `infinity` and `-infinity`.
pub fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    if cfg!(any(feature = "pg17", feature = "pg18")) {
        if (months, days, micros) == (i32::MAX, i32::MAX, i64::MAX) {
            return "infinity".to_string();
        }
        if (months, days, micros) == (i32::MIN, i32::MIN, i64::MIN) {
            return "-infinity".to_string();
        }
    }
    let span = pg_sys::Interval {
        time: micros,
        day: days,
        month: months,
    };
    let mut fields = pg_sys::pg_itm::default();
    let mut buffer = [0 as std::ffi::c_char; pg_sys::MAXDATELEN as usize + 1];
    // SAFETY: interval2itm only splits a finite interval (the infinite ones of Postgres 17
    // returned above) into the fields struct it is given; EncodeInterval writes at most
    // MAXDATELEN bytes and a NUL into the buffer, which holds MAXDATELEN + 1.
    unsafe {
        pg_sys::interval2itm(span, &mut fields);
        pg_sys::EncodeInterval(
            &mut fields,
            pg_sys::INTSTYLE_ISO_8601 as std::ffi::c_int,
            buffer.as_mut_ptr(),
        );
    }
    // SAFETY: the buffer now holds a NUL-terminated string within its length.
    unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The base type of `type_oid`: itself, or the type a domain (of a domain...) is over;
/// InvalidOid for an oid that names no type.
pub fn base_type(type_oid: pg_sys::Oid) -> pg_sys::Oid {
    if !super::cached_by_oid(pg_sys::SysCacheIdentifier::TYPEOID, type_oid) {
        return pg_sys::InvalidOid;
    }
    // SAFETY: a syscache lookup by the oid of an existing type.
    unsafe { pg_sys::getBaseType(type_oid) }
}

/// The base type of column `name` of relation `relid` and the type modifier it has there
/// (a domain's own, `numeric(12,2)`'s); (InvalidOid, -1) when the relation has no such live
/// column.
pub fn column_base_type(relid: pg_sys::Oid, name: &str) -> (pg_sys::Oid, i32) {
    let none = (pg_sys::InvalidOid, -1);
    let Ok(name) = std::ffi::CString::new(name) else {
        return none;
    };
    let mut type_oid = pg_sys::InvalidOid;
    let mut typmod: i32 = -1;
    let mut collation = pg_sys::InvalidOid;
    // SAFETY: syscache lookups by the relation's oid and a NUL-terminated column name
    // (InvalidAttrNumber for none, dropped columns included), then by that column's number,
    // which exists (get_atttypetypmodcoll raises an ERROR only for a missing one); the out
    // arguments are locals.
    unsafe {
        let number = pg_sys::get_attnum(relid, name.as_ptr());
        if number == pg_sys::InvalidAttrNumber as pg_sys::AttrNumber {
            return none;
        }
        pg_sys::get_atttypetypmodcoll(relid, number, &mut type_oid, &mut typmod, &mut collation);
    }
    if !super::cached_by_oid(pg_sys::SysCacheIdentifier::TYPEOID, type_oid) {
        return none;
    }
    // SAFETY: a syscache walk from an existing type down its domains; `typmod` is a local
    // it updates to the innermost domain's modifier, if any.
    let base = unsafe { pg_sys::getBaseTypeAndTypmod(type_oid, &mut typmod) };
    (base, typmod)
}

/// A type's name as `format_type` writes it (schema-qualified where the search path would
/// not find it), for errors; `???` for an oid that is no type (a hand-made call's argument).
pub fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_extended looks the type up by oid (with ALLOW_INVALID, an unknown
    // oid gives "???", not an ERROR) and returns a palloc'd NUL-terminated string.
    let name = unsafe {
        CStr::from_ptr(pg_sys::format_type_extended(
            type_oid,
            -1,
            pg_sys::FORMAT_TYPE_ALLOW_INVALID as pg_sys::bits16,
        ))
    };
    name.to_string_lossy().into_owned()
}

/// An interval divided by `divisor` as Postgres divides one (`interval_div`, what
/// `avg(interval)` does with the sum and the count), as months, days and microseconds.
pub fn interval_divided(months: i32, days: i32, micros: i64, divisor: f64) -> (i32, i32, i64) {
    let mut dividend = pg_sys::Interval {
        time: micros,
        day: days,
        month: months,
    };
    // SAFETY: interval_div takes an interval by reference and a float8, which these datums
    // are (`dividend` outlives the call); it returns a palloc'd interval, read by value. An
    // overflow raises an ERROR, turned into a Rust panic by pgrx and back into the ERROR at
    // the SQL boundary.
    let quotient = unsafe {
        pgrx::fcinfo::direct_function_call::<pgrx::datum::Interval>(
            pg_sys::interval_div,
            &[
                Some(pg_sys::Datum::from(&mut dividend as *mut pg_sys::Interval)),
                pgrx::IntoDatum::into_datum(divisor),
            ],
        )
    };
    match quotient {
        Some(quotient) => (quotient.months(), quotient.days(), quotient.micros()),
        None => (0, 0, 0),
    }
}
