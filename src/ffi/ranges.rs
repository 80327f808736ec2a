//! A range's bounds (0.14.0, count_distinct over ranges), read with Postgres' own
//! `range_deserialize`: no cast, no output function a role could have written. Built-in
//! range types only: a range type a role creates may order and equate its bounds by an
//! operator class of its own.

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
    let mut lower = pg_sys::RangeBound::default();
    let mut upper = pg_sys::RangeBound::default();
    let mut empty = false;
    // SAFETY: `range` is a non-NULL datum (the function taking it is strict) of the built-in
    // range type `base`, or a domain over it (the same representation). The type cache
    // entry is Postgres' own and lives as long as the backend; `pg_detoast_datum` gives a
    // plain copy (or the datum) in the current memory context, which range_deserialize
    // reads; the bound datums point into it, read below while it lives.
    unsafe {
        let cache = pg_sys::lookup_type_cache(base, pg_sys::TYPECACHE_RANGE_INFO as i32);
        let detoasted = pg_sys::pg_detoast_datum(range.datum().cast_mut_ptr());
        pg_sys::range_deserialize(
            cache,
            detoasted.cast::<pg_sys::RangeType>(),
            &mut lower,
            &mut upper,
            &mut empty,
        );
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
