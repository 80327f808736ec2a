//! A range's bounds (0.14.0, count_distinct over ranges), read with Postgres' own
//! `range_deserialize`, and a multirange's ranges (0.18.0) with its `multirange_deserialize`:
//! no cast, no output function a role could have written. Built-in range types only: a
//! range type a role creates may order and equate its bounds by an operator class of its
//! own.

use pgrx::pg_sys;

use super::arrays::Element;

/// The built-in range types (their domains too, by their base type).
pub const RANGE_TYPES: [pg_sys::Oid; 6] = [
    pg_sys::INT4RANGEOID,
    pg_sys::INT8RANGEOID,
    pg_sys::NUMRANGEOID,
    pg_sys::DATERANGEOID,
    pg_sys::TSRANGEOID,
    pg_sys::TSTZRANGEOID,
];

/// The built-in multirange types (0.18.0), each of one of `RANGE_TYPES`' ranges (their
/// domains too, by their base type).
pub const MULTIRANGE_TYPES: [pg_sys::Oid; 6] = [
    pg_sys::INT4MULTIRANGEOID,
    pg_sys::INT8MULTIRANGEOID,
    pg_sys::NUMMULTIRANGEOID,
    pg_sys::DATEMULTIRANGEOID,
    pg_sys::TSMULTIRANGEOID,
    pg_sys::TSTZMULTIRANGEOID,
];

extern "C-unwind" {
    /// multirangetypes.h (PostgreSQL 14 and later), which pgrx does not bind: the ranges of
    /// `multirange`, each a palloc'd copy in the current memory context, in its order.
    fn multirange_deserialize(
        rangetyp: *mut pg_sys::TypeCacheEntry,
        multirange: *const std::ffi::c_void,
        range_count: *mut i32,
        ranges: *mut *mut *mut pg_sys::RangeType,
    );
}

/// One bound of a range: infinite, or a value, inclusive or not.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Infinite,
    Value { inclusive: bool, value: Element },
}

/// What `range_eq` compares of two ranges of one type: empty (every empty range is one
/// value), or both bounds.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeParts {
    Empty,
    Bounds(Bound, Bound),
}

/// The parts of `range` (of a built-in range type, or a domain over one), None for a value
/// of any other type.
pub fn parts_of(range: &pgrx::AnyElement) -> Option<RangeParts> {
    let base = super::datetime::base_type(range.oid());
    if !RANGE_TYPES.contains(&base) {
        return None;
    }
    // SAFETY: `range` is a non-NULL datum (the function taking it is strict) of the built-in
    // range type `base`, or a domain over it (the same representation); `pg_detoast_datum`
    // gives a plain copy (or the datum) in the current memory context.
    unsafe {
        let detoasted = pg_sys::pg_detoast_datum(range.datum().cast_mut_ptr());
        range_parts(base, detoasted.cast::<pg_sys::RangeType>())
    }
}

/// The ranges of `multirange` (of a built-in multirange type, or a domain over one), in its
/// order (0.18.0), None for a value of any other type. Two multiranges of one type are
/// equal exactly when these are, pairwise: a multirange keeps its ranges merged and sorted.
pub fn multirange_parts_of(multirange: &pgrx::AnyElement) -> Option<Vec<RangeParts>> {
    let base = super::datetime::base_type(multirange.oid());
    if !MULTIRANGE_TYPES.contains(&base) {
        return None;
    }
    let (mut count, mut ranges) = (0i32, std::ptr::null_mut());
    // SAFETY: `multirange` is a non-NULL datum (the function taking it is strict) of the
    // built-in multirange type `base`, or a domain over it. Its type cache entry, and the
    // entry of its range type it points to (`rngtype`, loaded with the multirange's), are
    // Postgres' own and live as long as the backend. `pg_detoast_datum` gives a plain copy
    // (or the datum) in the current memory context; multirange_deserialize reads it and
    // palloc's the ranges and their array there; a Postgres error in it is caught at the
    // FFI boundary and raised as an error of the statement.
    let (range_type, ranges) = unsafe {
        let cache = pg_sys::lookup_type_cache(base, pg_sys::TYPECACHE_MULTIRANGE_INFO as i32);
        let range_cache = (*cache).rngtype;
        let detoasted = pg_sys::pg_detoast_datum(multirange.datum().cast_mut_ptr());
        pg_sys::ffi::pg_guard_ffi_boundary(|| {
            multirange_deserialize(
                range_cache,
                detoasted.cast::<std::ffi::c_void>(),
                &mut count,
                &mut ranges,
            )
        });
        let count = usize::try_from(count).unwrap_or(0);
        let ranges = if count == 0 || ranges.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts(ranges, count)
        };
        ((*range_cache).type_id, ranges)
    };
    ranges
        .iter()
        // SAFETY: each is a range of the multirange's range type, palloc'd above.
        .map(|&range| unsafe { range_parts(range_type, range) })
        .collect()
}

/// The parts of the range `range` points to, of the built-in range type `base`.
///
/// # Safety
/// `range` must point to a plain (detoasted) range of type `base`, one of `RANGE_TYPES`,
/// valid while this runs.
unsafe fn range_parts(base: pg_sys::Oid, range: *const pg_sys::RangeType) -> Option<RangeParts> {
    let mut lower = pg_sys::RangeBound::default();
    let mut upper = pg_sys::RangeBound::default();
    let mut empty = false;
    // SAFETY: the caller's promise. The type cache entry is Postgres' own and lives as long
    // as the backend; the bound datums point into the range, read below while it lives.
    unsafe {
        let cache = pg_sys::lookup_type_cache(base, pg_sys::TYPECACHE_RANGE_INFO as i32);
        pg_sys::range_deserialize(cache, range, &mut lower, &mut upper, &mut empty);
    }
    if empty {
        return Some(RangeParts::Empty);
    }
    let subtype = match base {
        pg_sys::INT4RANGEOID => pg_sys::INT4OID,
        pg_sys::INT8RANGEOID => pg_sys::INT8OID,
        pg_sys::NUMRANGEOID => pg_sys::NUMERICOID,
        pg_sys::DATERANGEOID => pg_sys::DATEOID,
        pg_sys::TSRANGEOID => pg_sys::TIMESTAMPOID,
        _ => pg_sys::TIMESTAMPTZOID,
    };
    let bound = |bound: &pg_sys::RangeBound| -> Option<Bound> {
        if bound.infinite {
            return Some(Bound::Infinite);
        }
        // SAFETY: a finite bound's datum is a value of the range's subtype.
        let value = unsafe { super::arrays::element(subtype, bound.val) }?;
        Some(Bound::Value {
            inclusive: bound.inclusive,
            value,
        })
    };
    Some(RangeParts::Bounds(bound(&lower)?, bound(&upper)?))
}
