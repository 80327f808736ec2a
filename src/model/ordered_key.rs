//! The keys of values whose min and max are kept since 0.17.0: time with time zone, money
//! and the built-in ranges (0.19.0: and multiranges). Each key is one numeric, ordered and
//! equal exactly as Postgres orders and equates the values (`timetz_cmp`, `cash_cmp`,
//! `range_cmp`, `multirange_cmp`), so the fold and `tally._extreme` take them as every other
//! encoding; a figure is decoded back into its type's text when read (`figure_text`), in a
//! form no setting changes (money's: by `lc_monetary`, as Postgres writes money).
//!
//! | type | key |
//! |---|---|
//! | timetz | its time in UTC (microseconds) · 10⁶ + its zone (seconds west of UTC) + `ZONE_OFFSET` |
//! | money | its amount |
//! | range | 0 for empty; else its lower bound's key · 10²⁰ + its upper bound's key (`bound_key`) |
//! | numrange | its bounds as ordered bytes (`numrange_bytes`), kept as a bytea is (up to `TEXT_KEPT_BYTES`) |
//! | multirange (0.19.0) | its ranges' bytes one after another (`multirange_bytes`), kept as a numrange's |
//!
//! A count_distinct over timetz keeps 0.16.0's key (a one-element array's): its metrics
//! were counted so. A sum over money (0.18.0) adds the amounts this key is. An array's key
//! (0.18.0) is `ordered_array`'s, which `_tracked_ordered` hands arrays to.

use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::error::{Result, SqlResult, TallyError};
use crate::ffi::arrays::Element;
use crate::ffi::ranges::{Bound, RangeParts};

/// The built-in range types whose min and max are kept (0.17.0), by the subtype of their
/// bounds: a 64-bit one, or numeric (whose bounds have no bounded width: kept as ordered
/// bytes, `numrange_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOf {
    Int4,
    Int8,
    Date,
    Timestamp,
    Timestamptz,
    Numeric,
}

impl RangeOf {
    /// The range type of base type `base`, None for every type but the built-in ranges.
    pub fn of_range_type(base: pg_sys::Oid) -> Option<Self> {
        Self::ALL.into_iter().find(|range| range.type_oid() == base)
    }

    const ALL: [Self; 6] = [
        Self::Int4,
        Self::Int8,
        Self::Date,
        Self::Timestamp,
        Self::Timestamptz,
        Self::Numeric,
    ];

    /// The range type whose multirange type is `base` (0.19.0), None for every type but the
    /// built-in multiranges.
    pub fn of_multirange_type(base: pg_sys::Oid) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|range| range.multirange_type_oid() == base)
    }

    pub fn multirange_type_oid(self) -> pg_sys::Oid {
        match self {
            Self::Int4 => pg_sys::INT4MULTIRANGEOID,
            Self::Int8 => pg_sys::INT8MULTIRANGEOID,
            Self::Date => pg_sys::DATEMULTIRANGEOID,
            Self::Timestamp => pg_sys::TSMULTIRANGEOID,
            Self::Timestamptz => pg_sys::TSTZMULTIRANGEOID,
            Self::Numeric => pg_sys::NUMMULTIRANGEOID,
        }
    }

    pub fn type_oid(self) -> pg_sys::Oid {
        match self {
            Self::Int4 => pg_sys::INT4RANGEOID,
            Self::Int8 => pg_sys::INT8RANGEOID,
            Self::Date => pg_sys::DATERANGEOID,
            Self::Timestamp => pg_sys::TSRANGEOID,
            Self::Timestamptz => pg_sys::TSTZRANGEOID,
            Self::Numeric => pg_sys::NUMRANGEOID,
        }
    }

    /// Whether a bound of this range type can have `value` (a hand-made key may hold any).
    fn holds(self, value: i64) -> bool {
        match self {
            Self::Int4 | Self::Date => i32::try_from(value).is_ok(),
            Self::Int8 | Self::Timestamp | Self::Timestamptz | Self::Numeric => true,
        }
    }

    /// The text of a bound's value in a form the subtype's input reads back under any
    /// setting: an integer, or ISO 8601 (a timestamptz in UTC, `infinity`, a year before 1
    /// with ` BC`). None of these needs quoting in a range's text: range input takes a space
    /// inside a bound as part of it.
    fn bound_text(self, value: i64) -> Result<String> {
        use pgrx::datum::{Date, Timestamp, TimestampWithTimeZone};
        let unreadable = || TallyError::Internal(format!("a range bound kept as {value}"));
        Ok(match self {
            Self::Int4 | Self::Int8 | Self::Numeric => value.to_string(),
            Self::Date => {
                let days = i32::try_from(value).map_err(|_| unreadable())?;
                let date = Date::try_from(days).map_err(|_| unreadable())?;
                crate::ffi::datetime::json_datetime(date.into_datum(), pg_sys::DATEOID)
            }
            Self::Timestamp => {
                let value = Timestamp::try_from(value).map_err(|_| unreadable())?;
                crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::TIMESTAMPOID)
            }
            Self::Timestamptz => {
                let value = TimestampWithTimeZone::try_from(value).map_err(|_| unreadable())?;
                crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::TIMESTAMPTZOID)
            }
        })
    }
}

/// The largest zone (seconds off UTC) timetz input reads: ±15:59:59. A zone past it exists
/// (`timezone(interval, timetz)` makes any), but no text of it is read back, so a figure of
/// it could not be read: `_tracked_ordered` refuses it in the writer's statement.
pub const ZONE_LIMIT: i32 = 16 * 3600 - 1;
/// What a timetz key adds to its zone: a zone is within `ZONE_LIMIT`, so the sum is always
/// between 0 and `ZONED_SCALE`.
const ZONE_OFFSET: i128 = 100_000;
const ZONED_SCALE: i128 = 1_000_000;
const MICROS_PER_SECOND: i128 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The key of a timetz (`time`: microseconds past local midnight; `zone`: seconds west of
/// UTC, as Postgres stores them, within `ZONE_LIMIT`), ordered as `timetz_cmp` orders: by
/// the instant in UTC, then by zone (12:00+01 and 11:00+00 are two values).
pub fn timetz_key(time: i64, zone: i32) -> i128 {
    let utc = i128::from(time) + i128::from(zone) * MICROS_PER_SECOND;
    utc * ZONED_SCALE + i128::from(zone) + ZONE_OFFSET
}

/// A zone (seconds west of UTC) as an offset east of UTC, `+HH:MM:SS`, of any size: for the
/// error that refuses one past `ZONE_LIMIT` (Postgres' own writer of zones takes none past
/// i32's range on both sides).
pub(crate) fn zone_text(zone: i32) -> String {
    let east = -i64::from(zone);
    let (sign, seconds) = if east < 0 { ('-', -east) } else { ('+', east) };
    format!(
        "{sign}{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The time and zone whose key (`timetz_key`) is `key`; None for a key no timetz has.
pub fn timetz_of_key(key: i128) -> Option<(i64, i32)> {
    let zone = i32::try_from(key.rem_euclid(ZONED_SCALE) - ZONE_OFFSET).ok()?;
    let utc = key.div_euclid(ZONED_SCALE);
    let time = i64::try_from(utc - i128::from(zone) * MICROS_PER_SECOND).ok()?;
    ((0..=MICROS_PER_DAY).contains(&time) && zone.abs() <= ZONE_LIMIT).then_some((time, zone))
}

/// The base a range key puts its lower bound's key above its upper bound's: every bound key
/// is below 2⁶⁶ < 10²⁰, so the key's digits are the lower key's, then the upper key's in 20.
const UPPER_DIGITS: usize = 20;
/// An infinite upper bound's key, above every finite one (at most 2⁶⁵).
const INFINITE_UPPER: u128 = (1 << 66) - 1;

/// A bound value (a subtype's 64-bit integer: an integer, days or microseconds) shifted to
/// an unsigned integer in the same order.
fn shifted(value: i64) -> u128 {
    (i128::from(value) - i128::from(i64::MIN)) as u128
}

fn unshifted(shifted: u128) -> Option<i64> {
    i64::try_from(i128::try_from(shifted).ok()? + i128::from(i64::MIN)).ok()
}

/// A bound's 64-bit value (a subtype of a `RangeOf` range), None for any other element.
fn bound_value(value: &Element) -> Option<i64> {
    match value {
        Element::Integer(value) | Element::Micros(value) => Some(*value),
        Element::Days(days) => Some(i64::from(*days)),
        _ => None,
    }
}

/// The keys of a range's lower and upper bounds, ordered as `range_cmp_bounds` orders them:
/// an infinite lower bound first, an infinite upper bound last; at one value, an inclusive
/// lower bound before an exclusive one, an exclusive upper bound before an inclusive one.
fn bound_keys(lower: &Bound, upper: &Bound) -> Option<(u128, u128)> {
    let lower = match lower {
        Bound::Infinite => 0,
        Bound::Value { inclusive, value } => {
            1 + 2 * shifted(bound_value(value)?) + u128::from(!inclusive)
        }
    };
    let upper = match upper {
        Bound::Infinite => INFINITE_UPPER,
        Bound::Value { inclusive, value } => {
            1 + 2 * shifted(bound_value(value)?) + u128::from(*inclusive)
        }
    };
    Some((lower, upper))
}

/// The key of a range (the module's table): the empty range below every other, as
/// `range_cmp` puts it; None for a range of a subtype no `RangeOf` has.
pub fn range_order_key(parts: &RangeParts) -> Option<String> {
    let RangeParts::Bounds(lower, upper) = parts else {
        return Some("0".to_string());
    };
    let (lower, upper) = bound_keys(lower, upper)?;
    Some(if lower == 0 {
        upper.to_string()
    } else {
        format!("{lower}{upper:0width$}", width = UPPER_DIGITS)
    })
}

/// A non-empty range's bounds, (lower, upper), each None when infinite or (value,
/// inclusive).
type KeptRange = (Option<(i64, bool)>, Option<(i64, bool)>);

/// A range's bounds as its key (`range_order_key`) holds them: None for the empty range.
type KeptBounds = Option<KeptRange>;

fn bounds_of_key(key: &str) -> Option<KeptBounds> {
    if !key.bytes().all(|b| b.is_ascii_digit()) || key.is_empty() {
        return None;
    }
    if key == "0" {
        return Some(None);
    }
    let split = key.len().saturating_sub(UPPER_DIGITS);
    let lower = if split == 0 {
        0
    } else {
        key[..split].parse::<u128>().ok()?
    };
    let upper = key[split..].parse::<u128>().ok()?;
    bounds_of_keys(lower, upper).map(Some)
}

/// The bounds (each None when infinite, else its value and whether it is inclusive) whose
/// keys `bound_keys` made.
fn bounds_of_keys(lower: u128, upper: u128) -> Option<KeptRange> {
    let lower = match lower {
        0 => None,
        key => Some((unshifted((key - 1) / 2)?, (key - 1) % 2 == 0)),
    };
    let upper = match upper {
        0 => return None,
        INFINITE_UPPER => None,
        key => Some((unshifted((key - 1) / 2)?, (key - 1) % 2 == 1)),
    };
    Some((lower, upper))
}

/// The text of the range of type `range` whose key is `key`: `empty`, or its bounds as
/// `range_out` writes them (an infinite bound left empty) with each value in the form of
/// `RangeOf::bound_text` (a numrange's as the shortest text of its numeric).
pub fn range_text(range: RangeOf, key: &str) -> Result<String> {
    let unreadable = || TallyError::Internal(format!("a range figure encoded as {key}"));
    if range == RangeOf::Numeric {
        let bytes = crate::model::value_type::decode_bytea(key).ok_or_else(unreadable)?;
        return numrange_text(&bytes).ok_or_else(unreadable);
    }
    let Some((lower, upper)) = bounds_of_key(key).ok_or_else(unreadable)? else {
        return Ok("empty".to_string());
    };
    bounds_text(range, (lower, upper), unreadable)
}

/// The text of a non-empty range of type `range` with bounds `lower` and `upper` (as
/// `range_text` has it); `unreadable()` when a bound is past what the type holds.
fn bounds_text(
    range: RangeOf,
    (lower, upper): KeptRange,
    unreadable: impl Fn() -> TallyError,
) -> Result<String> {
    if ![lower, upper]
        .iter()
        .flatten()
        .all(|(value, _)| range.holds(*value))
    {
        return Err(unreadable());
    }
    let mut text = String::new();
    match lower {
        None => text.push('('),
        Some((value, inclusive)) => {
            text.push(if inclusive { '[' } else { '(' });
            text.push_str(&range.bound_text(value)?);
        }
    }
    text.push(',');
    match upper {
        None => text.push(')'),
        Some((value, inclusive)) => {
            text.push_str(&range.bound_text(value)?);
            text.push(if inclusive { ']' } else { ')' });
        }
    }
    Ok(text)
}

/// The classes of numerics in numeric's order, each a numrange key's first byte of a bound.
const NEGATIVE_INFINITY: u8 = 1;
const NEGATIVE: u8 = 2;
const ZERO: u8 = 3;
const POSITIVE: u8 = 4;
const INFINITY: u8 = 5;
const NAN: u8 = 6;

/// A numeric's text (`numeric_out`'s) as bytes ordered as numeric orders (NaN above
/// Infinity; values equal as numerics, `1.5` and `1.50`, alike), none a prefix of another:
/// its class; then, for a finite value other than 0, its exponent (the position of its
/// first significant digit from the point, biased to an unsigned 32-bit number) and its
/// significant digits, each one byte, ended by a byte below them all; a negative value's
/// exponent and digits inverted and ended by a byte above them all (a longer magnitude
/// is a smaller value). None for a text that is no numeric's.
pub(crate) fn numeric_bytes(text: &str, out: &mut Vec<u8>) -> Option<()> {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let special = match (negative, magnitude) {
        (_, "NaN") => Some(NAN),
        (false, "Infinity") => Some(INFINITY),
        (true, "Infinity") => Some(NEGATIVE_INFINITY),
        _ => None,
    };
    if let Some(class) = special {
        out.push(class);
        return Some(());
    }
    let (integer, fraction) = magnitude.split_once('.').unwrap_or((magnitude, ""));
    if !(integer.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = format!("{integer}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        out.push(ZERO);
        return Some(());
    }
    let exponent = i64::try_from(integer.len()).ok()? - i64::try_from(leading).ok()?;
    let biased = u32::try_from(exponent + (1 << 31)).ok()?;
    out.push(if negative { NEGATIVE } else { POSITIVE });
    let flip = |byte: u8| if negative { !byte } else { byte };
    out.extend(biased.to_be_bytes().map(flip));
    out.extend(significant.bytes().map(|digit| flip(digit - b'0' + 1)));
    out.push(flip(0));
    Some(())
}

/// The shortest text of the numeric `numeric_bytes` wrote at the start of `bytes`, and the
/// bytes after it.
pub(crate) fn numeric_of_bytes(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (&class, rest) = bytes.split_first()?;
    let negative = class == NEGATIVE;
    match class {
        NAN => return Some(("NaN".to_string(), rest)),
        INFINITY => return Some(("Infinity".to_string(), rest)),
        NEGATIVE_INFINITY => return Some(("-Infinity".to_string(), rest)),
        ZERO => return Some(("0".to_string(), rest)),
        NEGATIVE | POSITIVE => {}
        _ => return None,
    }
    let flip = |byte: u8| if negative { !byte } else { byte };
    let exponent_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let exponent = i64::from(u32::from_be_bytes(exponent_bytes.map(flip))) - (1 << 31);
    let rest = &rest[4..];
    let end = rest.iter().position(|&byte| flip(byte) == 0)?;
    let digits = rest[..end]
        .iter()
        .map(|&byte| {
            let digit = flip(byte).checked_sub(1).filter(|d| *d <= 9)?;
            Some(char::from(b'0' + digit))
        })
        .collect::<Option<String>>()?;
    let length = i64::try_from(digits.len()).ok()?;
    let text = if exponent <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-exponent).ok()?))
    } else if exponent >= length {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(exponent - length).ok()?)
        )
    } else {
        let point = usize::try_from(exponent).ok()?;
        format!("{}.{}", &digits[..point], &digits[point..])
    };
    let sign = if negative { "-" } else { "" };
    Some((format!("{sign}{text}"), &rest[end + 1..]))
}

/// A numrange's bytes in range_cmp's order: 0 for the empty range; else 1, its lower bound
/// (0 when infinite; else 1, its value's `numeric_bytes`, 0 when inclusive or 1), then its
/// upper bound (1, its value's bytes, 0 when exclusive or 1; 2 when infinite).
fn numrange_bytes(parts: &RangeParts) -> Option<Vec<u8>> {
    let RangeParts::Bounds(lower, upper) = parts else {
        return Some(vec![0]);
    };
    let mut bytes = vec![1];
    let mut bound = |bound: &Bound, infinite: u8, upper: bool| -> Option<()> {
        match bound {
            Bound::Infinite => bytes.push(infinite),
            Bound::Value {
                inclusive,
                value: Element::Numeric(text),
            } => {
                bytes.push(1);
                numeric_bytes(text, &mut bytes)?;
                bytes.push(u8::from(*inclusive == upper));
            }
            Bound::Value { .. } => return None,
        }
        Some(())
    };
    bound(lower, 0, false)?;
    bound(upper, 2, true)?;
    Some(bytes)
}

/// The key of a value of metric `metric` of `kind` whose ordered bytes are `bytes` (a
/// numrange's `numrange_bytes`, a multirange's `multirange_bytes`; None when the reader
/// handed over what no such value has, `what`): kept as a bytea is, refused in the writer's
/// statement past `TEXT_KEPT_BYTES` (a digest has no order), as a bytea of a min or max is
/// (`value_type::in_order`).
fn bytes_key(
    metric: &str,
    kind: crate::error::OrderedKind,
    bytes: Option<Vec<u8>>,
    what: &str,
) -> Result<AnyNumeric> {
    use crate::model::value_type::{encode_bytea, in_order};
    let bytes = bytes.ok_or_else(|| TallyError::Internal(what.to_string()))?;
    in_order(metric, kind, &bytes, encode_bytea)
}

/// The text of the numrange whose `numrange_bytes` are `bytes`.
fn numrange_text(bytes: &[u8]) -> Option<String> {
    let (text, rest) = numrange_text_of(bytes)?;
    rest.is_empty().then_some(text)
}

/// The text of the numrange whose `numrange_bytes` start `bytes`, and the bytes after them.
fn numrange_text_of(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (&tag, mut rest) = bytes.split_first()?;
    if tag == 0 {
        return Some(("empty".to_string(), rest));
    }
    let mut text = String::new();
    for upper in [false, true] {
        let (&kind, after) = rest.split_first()?;
        rest = after;
        if kind != 1 {
            text.push(if upper { ')' } else { '(' });
        } else {
            let (value, after) = numeric_of_bytes(rest)?;
            let (&inclusive, after) = after.split_first()?;
            rest = after;
            let inclusive = (inclusive == 1) == upper;
            if upper {
                text.push_str(&value);
                text.push(if inclusive { ']' } else { ')' });
            } else {
                text.push(if inclusive { '[' } else { '(' });
                text.push_str(&value);
            }
        }
        if !upper {
            text.push(',');
        }
    }
    Some((text, rest))
}

/// How many bytes of a multirange key hold a bound's key (`bound_keys`, below 2⁶⁶).
const BOUND_KEY_BYTES: usize = 9;

/// A multirange's bytes in `multirange_cmp`'s order (0.19.0): each of its ranges (never
/// empty: a multirange merges them away) as 1 and its bytes, then 0, so one whose ranges are
/// all another's first ones is smaller, as `multirange_cmp` has it. A range's bytes are its
/// bounds' keys (`bound_keys`), `BOUND_KEY_BYTES` each; a numrange's its `numrange_bytes`
/// after their first byte (which is 1), each bound ending itself. None for a range of
/// another subtype, or an empty one.
fn multirange_bytes(range: RangeOf, ranges: &[RangeParts]) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for parts in ranges {
        let RangeParts::Bounds(lower, upper) = parts else {
            return None;
        };
        if range == RangeOf::Numeric {
            bytes.extend(numrange_bytes(parts)?);
            continue;
        }
        let (lower, upper) = bound_keys(lower, upper)?;
        bytes.push(1);
        for key in [lower, upper] {
            bytes.extend(&key.to_be_bytes()[16 - BOUND_KEY_BYTES..]);
        }
    }
    bytes.push(0);
    Some(bytes)
}

/// The text of the multirange of type `range`'s multirange whose key (its
/// `multirange_bytes`, kept as a bytea is) is `key`, as `multirange_out` writes it: `{}`, or its ranges' texts (`range_text`'s) in
/// braces.
pub fn multirange_text(range: RangeOf, key: &str) -> Result<String> {
    let unreadable = || TallyError::Internal(format!("a multirange figure encoded as {key}"));
    let bytes = crate::model::value_type::decode_bytea(key).ok_or_else(unreadable)?;
    let mut rest = bytes.as_slice();
    let mut texts = Vec::new();
    loop {
        match rest.first() {
            Some(0) if rest.len() == 1 => break,
            Some(1) => {}
            _ => return Err(unreadable()),
        }
        if range == RangeOf::Numeric {
            let (text, after) = numrange_text_of(rest).ok_or_else(unreadable)?;
            texts.push(text);
            rest = after;
            continue;
        }
        let key_at = |at: usize| -> Option<u128> {
            let mut buffer = [0u8; 16];
            let start = 1 + at * BOUND_KEY_BYTES;
            buffer[16 - BOUND_KEY_BYTES..]
                .copy_from_slice(rest.get(start..start + BOUND_KEY_BYTES)?);
            Some(u128::from_be_bytes(buffer))
        };
        let (lower, upper) = key_at(0).zip(key_at(1)).ok_or_else(unreadable)?;
        let bounds = bounds_of_keys(lower, upper).ok_or_else(unreadable)?;
        texts.push(bounds_text(range, bounds, unreadable)?);
        rest = &rest[1 + 2 * BOUND_KEY_BYTES..];
    }
    Ok(format!("{{{}}}", texts.join(",")))
}

/// The text of the timetz whose key is `key`: ISO 8601 with its zone (`12:00:00+01:00`).
pub fn timetz_text(key: &str) -> Result<String> {
    let unreadable = || TallyError::Internal(format!("a timetz figure encoded as {key}"));
    let key = key.parse::<i128>().map_err(|_| unreadable())?;
    let (time, zone) = timetz_of_key(key).ok_or_else(unreadable)?;
    Ok(crate::ffi::datetime::json_timetz(time, zone))
}

/// A timetz, money or range value of min or max metric `metric` (0.17.0; an array 0.18.0, a
/// multirange 0.19.0) by its key (the module's table, `ordered_array`'s), read from the datum
/// itself: no cast, no output function. `anyelement` takes a domain over any of them too. A
/// timetz whose zone is past `ZONE_LIMIT`, or a numrange, array or multirange whose key is
/// too long, is refused in the writer's statement.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_ordered(metric: &str, value: pgrx::AnyElement) -> SqlResult<AnyNumeric> {
    Ok(ordered_key(metric, &value)?)
}

fn ordered_key(metric: &str, value: &pgrx::AnyElement) -> Result<AnyNumeric> {
    // One lookup of the base type per row picks the reader (each reader checks it again).
    let base = crate::ffi::datetime::base_type(value.oid());
    let key = if base == pg_sys::TIMETZOID {
        let (time, zone) = crate::ffi::datetime::zoned_time(value)
            .ok_or_else(|| TallyError::Internal("a timetz the datum reader refused".to_string()))?;
        // `unsigned_abs`: a zone of i32::MIN (timezone(interval, timetz) makes one) has no
        // i32 absolute value.
        if zone.unsigned_abs() > ZONE_LIMIT.unsigned_abs() {
            return Err(TallyError::ZoneOutOfRange {
                metric: metric.to_string(),
                zone: zone_text(zone),
            });
        }
        Some(timetz_key(time, zone).to_string())
    } else if base == pg_sys::MONEYOID {
        crate::ffi::arrays::money_amount(value).map(|amount| amount.to_string())
    } else if let Some(element) = crate::ffi::arrays::element_type_of(base) {
        // An array (0.18.0): by `ordered_array::array_key`, of its own length.
        return super::ordered_array::array_key(metric, value, element)?.ok_or_else(|| {
            TallyError::EncoderType {
                function: "_tracked_ordered",
                takes: "an array of a type whose min and max are kept",
                type_name: crate::ffi::datetime::type_name(value.oid()),
            }
        });
    } else if let Some(range) = RangeOf::of_multirange_type(base) {
        // A multirange (0.19.0): by its `multirange_bytes`, of their own length.
        let ranges = crate::ffi::ranges::multirange_parts_of(value).ok_or_else(|| {
            TallyError::Internal("a multirange the datum reader refused".to_string())
        })?;
        return bytes_key(
            metric,
            crate::error::OrderedKind::Multirange,
            multirange_bytes(range, &ranges),
            "a multirange whose ranges the reader refused",
        );
    } else if let Some(range) = RangeOf::of_range_type(base) {
        let parts = crate::ffi::ranges::parts_of(value);
        match (range, parts) {
            (RangeOf::Numeric, Some(parts)) => {
                return bytes_key(
                    metric,
                    crate::error::OrderedKind::Numrange,
                    numrange_bytes(&parts),
                    "a numrange bound that is no numeric",
                )
            }
            (_, parts) => parts.and_then(|parts| range_order_key(&parts)),
        }
    } else {
        None
    };
    let key = key.ok_or_else(|| TallyError::EncoderType {
        function: "_tracked_ordered",
        takes: "a timetz, money, built-in range or multirange value",
        type_name: crate::ffi::datetime::type_name(value.oid()),
    })?;
    AnyNumeric::try_from(key.as_str()).map_err(|e| TallyError::Internal(e.to_string()))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn value(inclusive: bool, value: i64) -> Bound {
        Bound::Value {
            inclusive,
            value: Element::Integer(value),
        }
    }

    fn key(lower: Bound, upper: Bound) -> String {
        range_order_key(&RangeParts::Bounds(lower, upper)).expect("an integer range")
    }

    #[test]
    fn range_keys_order_as_range_cmp() {
        // In range_cmp's order: empty, then by lower bound (infinite, then by value, an
        // inclusive bound before an exclusive one at one value), then by upper bound.
        let ordered = [
            "0".to_string(),
            key(Bound::Infinite, value(false, -5)),
            key(Bound::Infinite, Bound::Infinite),
            key(value(true, i64::MIN), value(false, i64::MIN)),
            key(value(true, -1), value(false, 0)),
            key(value(true, 0), value(false, 1)),
            key(value(true, 0), value(true, 1)),
            key(value(true, 0), value(false, 2)),
            key(value(true, 0), Bound::Infinite),
            key(value(false, 0), value(false, 1)),
            key(value(true, 1), value(false, 2)),
            key(value(true, i64::MAX), Bound::Infinite),
        ];
        for pair in ordered.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            // Numeric order of the keys' texts: longer is larger (no leading zeros).
            assert!((a.len(), a) < (b.len(), b), "{a} should sort before {b}");
        }
    }

    #[test]
    fn range_keys_read_back() {
        for (lower, upper) in [
            (Bound::Infinite, Bound::Infinite),
            (value(true, -7), value(false, 9)),
            (value(false, i64::MIN), value(true, i64::MAX)),
            (Bound::Infinite, value(true, 3)),
            (value(true, 3), Bound::Infinite),
        ] {
            let kept = |bound: &Bound| match bound {
                Bound::Infinite => None,
                Bound::Value { inclusive, value } => {
                    Some((bound_value(value).unwrap(), *inclusive))
                }
            };
            let expected = Some((kept(&lower), kept(&upper)));
            let key = key(lower, upper);
            assert_eq!(bounds_of_key(&key), Some(expected), "{key}");
        }
        assert_eq!(bounds_of_key("0"), Some(None));
        assert_eq!(bounds_of_key("x"), None);
        assert_eq!(bounds_of_key(""), None);
    }

    fn numeric(text: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        numeric_bytes(text, &mut bytes).expect("a numeric's text");
        bytes
    }

    #[test]
    fn numeric_bytes_order_as_numerics_and_read_back() {
        let ordered = [
            "-Infinity",
            "-1000",
            "-10.5",
            "-10",
            "-9.99",
            "-1.5",
            "-1",
            "-0.5",
            "-0.05",
            "-0.0000001",
            "0",
            "0.0000001",
            "0.05",
            "0.5",
            "1",
            "1.5",
            "9.99",
            "10",
            "10.5",
            "1000",
            "12345678901234567890.123",
            "Infinity",
            "NaN",
        ];
        for pair in ordered.windows(2) {
            assert!(
                numeric(pair[0]) < numeric(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        for (a, b) in [
            ("1.50", "1.5"),
            ("-0.000", "0"),
            ("0010.0", "10"),
            ("-2.0", "-2"),
        ] {
            assert_eq!(numeric(a), numeric(b), "{a} = {b}");
        }
        for text in ordered {
            let bytes = numeric(text);
            let mut followed = bytes.clone();
            followed.push(7);
            assert_eq!(
                numeric_of_bytes(&followed),
                Some((text.to_string(), &[7u8][..]))
            );
        }
        assert_eq!(numeric_bytes("1e5", &mut Vec::new()), None);
    }

    #[test]
    fn numrange_bytes_order_as_range_cmp_and_read_back() {
        let num = |inclusive, text: &str| Bound::Value {
            inclusive,
            value: Element::Numeric(text.to_string()),
        };
        let bytes = |lower, upper| numrange_bytes(&RangeParts::Bounds(lower, upper)).unwrap();
        let ordered = [
            numrange_bytes(&RangeParts::Empty).unwrap(),
            bytes(Bound::Infinite, num(false, "-5")),
            bytes(Bound::Infinite, Bound::Infinite),
            bytes(num(true, "-1.5"), num(false, "0")),
            bytes(num(true, "0"), num(false, "1")),
            bytes(num(true, "0"), num(true, "1")),
            bytes(num(true, "0"), num(false, "1.5")),
            bytes(num(true, "0"), Bound::Infinite),
            bytes(num(false, "0"), num(false, "1")),
            bytes(num(true, "0.5"), num(false, "1")),
            bytes(num(true, "NaN"), Bound::Infinite),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        let texts = [
            "empty", "(,-5)", "(,)", "[-1.5,0)", "[0,1)", "[0,1]", "[0,1.5)", "[0,)", "(0,1)",
            "[0.5,1)", "[NaN,)",
        ];
        for (bytes, text) in ordered.iter().zip(texts) {
            assert_eq!(numrange_text(bytes).as_deref(), Some(text));
        }
    }

    #[test]
    fn timetz_keys_order_by_instant_then_zone() {
        const HOUR: i64 = 3_600_000_000;
        // 11:00+00 is 12:00+01 (zone -3600) in UTC: the zone west of the other is larger.
        let noon_plus_one = timetz_key(12 * HOUR, -3600);
        let eleven_utc = timetz_key(11 * HOUR, 0);
        assert!(noon_plus_one < eleven_utc);
        assert!(timetz_key(11 * HOUR, 0) < timetz_key(11 * HOUR + 1, 0));
        assert!(timetz_key(0, 57_599) > timetz_key(24 * HOUR, -57_599));
        for (time, zone) in [(0, 0), (24 * HOUR, -57_599), (5, 57_599), (HOUR, -3600)] {
            assert_eq!(timetz_of_key(timetz_key(time, zone)), Some((time, zone)));
        }
        assert_eq!(zone_text(-3600), "+01:00:00");
        assert_eq!(zone_text(57_599), "-15:59:59");
        assert_eq!(zone_text(i32::MIN), "+596523:14:08");
        // Keys no timetz within the zone limit has.
        assert_eq!(timetz_of_key(timetz_key(0, 57_600)), None);
        assert_eq!(timetz_of_key(timetz_key(25 * HOUR, 0)), None);
    }

    #[test]
    fn multirange_bytes_order_as_multirange_cmp() {
        // Their texts (Postgres' datetime output for some subtypes) are read back in
        // regress' multirange_extremes.
        let ints = |ranges: &[(i64, i64)]| {
            let parts: Vec<_> = ranges
                .iter()
                .map(|(lower, upper)| RangeParts::Bounds(value(true, *lower), value(false, *upper)))
                .collect();
            multirange_bytes(RangeOf::Int4, &parts).unwrap()
        };
        // multirange_cmp: the empty multirange first; range by range; one whose ranges are all
        // another's first ones below it.
        let ordered = [
            ints(&[]),
            ints(&[(-5, 1)]),
            ints(&[(1, 3)]),
            ints(&[(1, 3), (5, 7)]),
            ints(&[(1, 3), (5, 9)]),
            ints(&[(1, 4)]),
            ints(&[(2, 3)]),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        let unbounded = multirange_bytes(
            RangeOf::Int8,
            &[RangeParts::Bounds(Bound::Infinite, value(true, 2))],
        )
        .unwrap();
        assert!(ordered[0] < unbounded && unbounded < ordered[1]);
        let num = |inclusive, text: &str| Bound::Value {
            inclusive,
            value: Element::Numeric(text.to_string()),
        };
        let numeric = |ranges: Vec<(Bound, Bound)>| {
            let parts: Vec<_> = ranges
                .into_iter()
                .map(|(lower, upper)| RangeParts::Bounds(lower, upper))
                .collect();
            multirange_bytes(RangeOf::Numeric, &parts).unwrap()
        };
        let short = numeric(vec![(num(true, "1.50"), num(false, "2"))]);
        let long = numeric(vec![
            (num(true, "1.5"), num(false, "2")),
            (num(true, "3"), Bound::Infinite),
        ]);
        assert!(short < long);
        assert!(numeric(vec![(Bound::Infinite, num(false, "0"))]) < short);
        // A multirange holds no empty range.
        assert_eq!(multirange_bytes(RangeOf::Int4, &[RangeParts::Empty]), None);
    }
}
