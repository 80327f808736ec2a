//! The type of the values a min, max or count_distinct metric tracks (0.12.0), and how such
//! a value is kept: as one `numeric` in the `value` column of `tally._state` and
//! `tally._change`, encoded so that two values are equal exactly when their encodings are,
//! and (for min and max) ordered exactly as their encodings are. The fold, the readers of
//! extremes (`tally._extreme` walks an index of numerics) and the distinct counts work on
//! the encodings unchanged; a figure is decoded into its type only when it is read
//! (`figure_text`, `figure_json`).
//!
//! | type | encoding |
//! |---|---|
//! | integers, numeric | the value itself (`Numeric`, as before 0.12.0) |
//! | timestamptz, timestamp, time | its microseconds (Postgres' own int64; ±infinity are its extremes) |
//! | date | its days since 2000-01-01 (int32; ±infinity are its extremes) |
//! | interval | its span in microseconds with 30-day months, as `interval_cmp` orders and equates intervals |
//! | uuid | its 16 bytes as one unsigned integer (uuid order is byte order) |
//! | boolean | 0 or 1 |
//! | text, varchar, char | `0.` and each byte as three digits (byte order); past `TEXT_KEPT_BYTES`, `1.` and the SHA-512 digest's bytes (equality only) |
//! | inet, cidr | its text (`inet_out`, one text per value) as a text is kept |
//! | macaddr, macaddr8 | its text (fixed-width lowercase hex: byte order is its order) as a text is kept |
//! | enum | its label (unique in its enum) as a text is kept (0.13.0) |
//! | bytea | `0.` and each byte plus one as three digits (byte order); past `TEXT_KEPT_BYTES`, as a long text (0.13.0) |
//! | bit, varbit | its text of `0`s and `1`s as a text is kept (`bit_cmp`'s order is that text's byte order; 0.13.0) |
//! | real, double precision | its bits as an unsigned integer in the float's order, -0 as 0 and every NaN as one, above +Infinity (`float_key`: Postgres' order and equality of floats; 0.13.0) |
//! | money | min, max: its amount (`ordered_key`, 0.17.0; its figure's text by `lc_monetary`, as Postgres' own); count_distinct: as a one-element array of it is kept (0.16.0) |
//! | timetz | min, max: its instant in UTC, then its zone (`ordered_key`, 0.17.0); count_distinct: as a one-element array of it is kept (0.16.0) |
//! | int4range, int8range, daterange, tsrange, tstzrange, numrange (min, max) | empty, or its bounds' keys (`ordered_key`, 0.17.0) |
//! | built-in ranges (count_distinct only) | empty, or each bound: infinite, or inclusive or not and its value as an array's element is kept (`range_key`), as a bytea is kept (0.14.0) |
//! | arrays (count_distinct only) | its dimensions and elements, each as its type keeps it (`ArrayKey`: `array_eq`'s equality), as a bytea is kept, of any length (0.14.0) |
//! | jsonb | min, max: its text (`jsonb_out`) as a text is kept; count_distinct: that text with every number in its shortest form (`canonical_jsonb`: jsonb's equality), as a text is kept, of any length (0.14.0) |
//! | oid (reg* types by their oid), xid, cid, xid8, pg_lsn, "char", tid | one unsigned integer in the type's order (`system_key`, 0.20.0; xid and cid count_distinct only) |
//! | name | as text (0.20.0) |
//! | tsvector | its text (`tsvectorout`) as a text is kept; min, max: the text read back once (0.20.0) |
//! | aclitem (count_distinct only) | as a one-element array of it is kept (0.21.0; arrays of Postgres' own types too) |
//! | text in a nondeterministic collation (count_distinct only) | its collation's sort key as a text is kept (0.22.0) |
//! | a row, `(user_id, day)` (count_distinct only) | its fields, each as an array's element is kept (`record_key`), as a bytea is kept, of any length (0.23.0) |
//!
//! For six of them the encoding's order is not the values' order: text in a collation whose
//! order is not byte order, inet, cidr, enums (ordered by the enum's own order), jsonb and
//! tsvector. Their min and max are picked when read, by the values'
//! own order among the values present in the group (`tally._sorted_extreme`,
//! sql/values.sql: O(distinct values of the group)); `ValueKind::sorted` says which.
//!
//! A sum or avg over interval (0.12.0) adds, per row, its months, days and microseconds
//! packed into one numeric (`pack_interval`: months·10⁸⁰ + days·10⁴⁰ + microseconds), so the
//! totals of `tally._state.total` add all three apart, as Postgres' `sum(interval)` does, and
//! unpack exactly (`unpack_interval`) however many rows were added (each part stays below
//! 10³⁹ in magnitude, the half of 10⁴⁰ that centered remainders need). An avg is that sum
//! divided as Postgres' `avg(interval)` divides it (`interval_div` by the count).
//!
//! Text is ordered by byte order, which is its collation's order only for the byte-ordered
//! collations (`catalog::define` refuses min and max over text in any other); equality by
//! bytes is a deterministic collation's equality (count_distinct refuses the others).
//! SQL: sql/bootstrap.sql (`tally._value_type`), the `_tracked_*` functions below.

use pgrx::datum::{Date, Interval, Time, Timestamp, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{AnyNumeric, Uuid};

use crate::error::{OrderedKind, Result, SqlResult, TallyError};
use crate::model::ordered_array::ElementOf;
use crate::model::ordered_key::RangeOf;
use crate::model::Aggregate;

/// A metric's value type as `tally._value_type` records it: with, for a text whose min and
/// max follow a collation that is not byte order, that collation (schema, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueKind {
    pub value_type: ValueType,
    pub collation: Option<(String, String)>,
    /// The enum of a `ValueType::Enum` (its base type, never a domain over it).
    pub enum_type: Option<pg_sys::Oid>,
}

impl ValueKind {
    pub fn of(value_type: ValueType) -> Self {
        ValueKind {
            value_type,
            collation: None,
            enum_type: None,
        }
    }

    /// The kind a row of `tally._value_type` records (`type_name`, `collation_name`);
    /// numeric when the metric has none.
    pub fn from_catalog(
        type_name: Option<String>,
        collation: Option<Vec<String>>,
        enum_type: Option<pg_sys::Oid>,
    ) -> Result<Self> {
        let Some(type_name) = type_name else {
            return Ok(Self::of(ValueType::Numeric));
        };
        Ok(ValueKind {
            value_type: ValueType::parse(&type_name)?,
            collation: collation.and_then(|parts| match parts.as_slice() {
                [schema, name] => Some((schema.clone(), name.clone())),
                _ => None,
            }),
            enum_type,
        })
    }

    /// Whether counters kept for values of kind `kept` still serve values of this kind: the
    /// same kind, or (`of_column`, 0.15.0) text a column reads in another collation that is
    /// not byte order either (the reads order it by the column's collation, whatever it is).
    pub fn keeps_as(&self, kept: &ValueKind, of_column: bool) -> bool {
        self == kept
            || (of_column
                && self.collation.is_some()
                && kept.collation.is_some()
                && self.value_type == kept.value_type
                && self.enum_type == kept.enum_type)
    }

    /// The type as errors name it: `timestamptz`, `text in collation "de_DE"`, an enum's
    /// own name (`public.urgency`).
    pub fn describe(&self) -> String {
        match (&self.collation, self.enum_type) {
            (Some((_, name)), _) => format!("text in collation \"{name}\""),
            (None, Some(enum_type)) => crate::ffi::datetime::type_name(enum_type),
            // `real` and `double precision`, as Postgres names them.
            (None, None) if matches!(self.value_type, ValueType::Float4 | ValueType::Float8) => {
                crate::ffi::datetime::type_name(self.value_type.type_oid())
            }
            (None, None) if self.value_type == ValueType::NondeterministicText => {
                "text in a nondeterministic collation".to_string()
            }
            (None, None) => self.value_type.as_str().to_string(),
        }
    }

    /// Whether a min or max of these values is picked when read, by the values' own order
    /// (`tally._sorted_extreme`), not by the order of their encodings.
    pub fn sorted(&self) -> bool {
        self.collation.is_some()
            || matches!(
                self.value_type,
                ValueType::Inet
                    | ValueType::Cidr
                    | ValueType::Enum
                    | ValueType::Jsonb
                    | ValueType::Tsvector
            )
    }

    /// The oid of the figures' type: `ValueType::type_oid`, an enum's own.
    pub fn figure_type_oid(&self) -> pg_sys::Oid {
        match self.enum_type {
            Some(enum_type) => enum_type,
            None => self.value_type.type_oid(),
        }
    }
}

/// The text of at most this many bytes is kept as itself (the index of `tally._state`
/// takes a value of up to `sql::TRACKED_LIMIT_BYTES`: 600 bytes encode in about 908).
pub const TEXT_KEPT_BYTES: usize = 600;

const USECS_PER_DAY: i128 = 86_400_000_000;
const USECS_PER_MONTH: i128 = 30 * USECS_PER_DAY;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Numeric,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    Interval,
    Uuid,
    Boolean,
    Text,
    Inet,
    Cidr,
    Macaddr,
    Macaddr8,
    /// Any enum (`ValueKind::enum_type` says which).
    Enum,
    Bytea,
    /// bit and varbit, whose figures are read as varbit (a bit without a length is bit(1)).
    Bit,
    /// real (0.13.0): kept as the double precision it widens to exactly, read back as real.
    Float4,
    /// double precision (0.13.0).
    Float8,
    /// jsonb (0.14.0).
    Jsonb,
    /// An array of integers, numeric, text, varchar, uuid, boolean, floats, dates or
    /// timestamps, for count_distinct only (0.14.0).
    Array,
    /// A built-in range (int4range, int8range, numrange, daterange, tsrange, tstzrange), for
    /// count_distinct only (0.14.0).
    Range,
    /// money (count_distinct 0.16.0, kept as a one-element array of it is; min and max
    /// 0.17.0, by its amount): by its integer amount, whatever lc_monetary says.
    Money,
    /// timetz (count_distinct 0.16.0, kept as a one-element array of it is, by its time and
    /// zone as `timetz_eq` equates; min and max 0.17.0, by `ordered_key::timetz_key`).
    Timetz,
    /// A built-in range, for min and max (0.17.0): kept by `ordered_key` in range_cmp's
    /// order, its figures of the range type itself.
    OrderedRange(RangeOf),
    /// An array, for min and max (0.18.0): kept by `ordered_array` in array_cmp's order, its
    /// figures of the array type itself.
    OrderedArray(ElementOf),
    /// A built-in multirange, for count_distinct (0.18.0): by its ranges' keys.
    Multirange,
    /// A built-in multirange (of a range type's), for min and max (0.19.0): kept by
    /// `ordered_key` in multirange_cmp's order, its figures of the multirange type itself.
    OrderedMultirange(RangeOf),
    /// oid and the reg* types (0.20.0, `system_key`): by the oid, figures of type oid.
    Oid,
    /// xid (0.20.0), count_distinct only: xids have equality, no order.
    Xid,
    /// cid (0.20.0), count_distinct only, as xid.
    Cid,
    /// xid8 (0.20.0).
    Xid8,
    /// pg_lsn (0.20.0).
    PgLsn,
    /// "char" (0.20.0): by its byte, unsigned.
    Char,
    /// tid (0.20.0): by block, then offset.
    Tid,
    /// tsvector (0.20.0): by its text, as jsonb; its min and max picked when read.
    Tsvector,
    /// aclitem (0.21.0), count_distinct only (it has equality, no order): kept as a
    /// one-element array of it is, by the three fields `aclitem_eq` compares.
    Aclitem,
    /// text (varchar, char, name) in a nondeterministic collation (0.22.0), count_distinct
    /// only: by the key its collation tells texts apart by (`ffi::collations::equality_key`,
    /// an ICU sort key), read by `tally._tracked_collated` in the column's collation.
    NondeterministicText,
    /// A row of values (0.23.0), count_distinct only: `(user_id, day)`, a value expression
    /// building an anonymous row of fields an array's elements could be, kept by
    /// `record_key` (`tally._tracked_record`).
    Record,
}

const NAMED: [(ValueType, &str); 47] = [
    (ValueType::Numeric, "numeric"),
    (ValueType::Timestamptz, "timestamptz"),
    (ValueType::Timestamp, "timestamp"),
    (ValueType::Date, "date"),
    (ValueType::Time, "time"),
    (ValueType::Interval, "interval"),
    (ValueType::Uuid, "uuid"),
    (ValueType::Boolean, "boolean"),
    (ValueType::Text, "text"),
    (ValueType::Inet, "inet"),
    (ValueType::Cidr, "cidr"),
    (ValueType::Macaddr, "macaddr"),
    (ValueType::Macaddr8, "macaddr8"),
    (ValueType::Enum, "enum"),
    (ValueType::Bytea, "bytea"),
    (ValueType::Bit, "varbit"),
    (ValueType::Float4, "float4"),
    (ValueType::Float8, "float8"),
    (ValueType::Jsonb, "jsonb"),
    (ValueType::Array, "array"),
    (ValueType::Range, "range"),
    (ValueType::Money, "money"),
    (ValueType::Timetz, "timetz"),
    (ValueType::OrderedRange(RangeOf::Int4), "int4range"),
    (ValueType::OrderedRange(RangeOf::Int8), "int8range"),
    (ValueType::OrderedRange(RangeOf::Date), "daterange"),
    (ValueType::OrderedRange(RangeOf::Timestamp), "tsrange"),
    (ValueType::OrderedRange(RangeOf::Timestamptz), "tstzrange"),
    (ValueType::OrderedRange(RangeOf::Numeric), "numrange"),
    (ValueType::Multirange, "multirange"),
    (
        ValueType::OrderedMultirange(RangeOf::Int4),
        "int4multirange",
    ),
    (
        ValueType::OrderedMultirange(RangeOf::Int8),
        "int8multirange",
    ),
    (
        ValueType::OrderedMultirange(RangeOf::Date),
        "datemultirange",
    ),
    (
        ValueType::OrderedMultirange(RangeOf::Timestamp),
        "tsmultirange",
    ),
    (
        ValueType::OrderedMultirange(RangeOf::Timestamptz),
        "tstzmultirange",
    ),
    (
        ValueType::OrderedMultirange(RangeOf::Numeric),
        "nummultirange",
    ),
    (ValueType::Oid, "oid"),
    (ValueType::Xid, "xid"),
    (ValueType::Cid, "cid"),
    (ValueType::Xid8, "xid8"),
    (ValueType::PgLsn, "pg_lsn"),
    (ValueType::Char, "\"char\""),
    (ValueType::Tid, "tid"),
    (ValueType::Tsvector, "tsvector"),
    (ValueType::Aclitem, "aclitem"),
    (ValueType::NondeterministicText, "nondeterministic text"),
    (ValueType::Record, "record"),
];

impl ValueType {
    /// The value type of a column or expression of base type `base` (a domain's base type
    /// already looked up), None for a type no metric tracks. Enums are told apart by the
    /// catalog (`ffi::datetime::is_enum`), arrays and ranges too (`catalog::define::value_kind`),
    /// not here.
    pub fn of_base_type(base: pg_sys::Oid) -> Option<Self> {
        Some(match base {
            pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::NUMERICOID => {
                Self::Numeric
            }
            pg_sys::TIMESTAMPTZOID => Self::Timestamptz,
            pg_sys::TIMESTAMPOID => Self::Timestamp,
            pg_sys::DATEOID => Self::Date,
            pg_sys::TIMEOID => Self::Time,
            pg_sys::INTERVALOID => Self::Interval,
            pg_sys::UUIDOID => Self::Uuid,
            pg_sys::BOOLOID => Self::Boolean,
            // name (0.20.0): a text in its column's collation (C unless declared otherwise).
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID | pg_sys::NAMEOID => {
                Self::Text
            }
            pg_sys::INETOID => Self::Inet,
            pg_sys::CIDROID => Self::Cidr,
            pg_sys::MACADDROID => Self::Macaddr,
            pg_sys::MACADDR8OID => Self::Macaddr8,
            pg_sys::BYTEAOID => Self::Bytea,
            pg_sys::BITOID | pg_sys::VARBITOID => Self::Bit,
            pg_sys::FLOAT4OID => Self::Float4,
            pg_sys::FLOAT8OID => Self::Float8,
            pg_sys::JSONBOID => Self::Jsonb,
            pg_sys::OIDOID => Self::Oid,
            reg if crate::ffi::REG_TYPES.contains(&reg) => Self::Oid,
            pg_sys::XIDOID => Self::Xid,
            pg_sys::CIDOID => Self::Cid,
            pg_sys::XID8OID => Self::Xid8,
            pg_sys::PG_LSNOID => Self::PgLsn,
            pg_sys::CHAROID => Self::Char,
            pg_sys::TIDOID => Self::Tid,
            pg_sys::TSVECTOROID => Self::Tsvector,
            // aclitem (count_distinct only) is `catalog::define::kept_apart`'s.
            _ => return None,
        })
    }

    /// The name stored in `tally._value_type` and shown in errors: the SQL type's name
    /// (an array's, 0.18.0: `int4[]`).
    pub fn as_str(self) -> &'static str {
        if let Self::OrderedArray(element) = self {
            return element.name();
        }
        NAMED
            .iter()
            .find(|(value_type, _)| *value_type == self)
            .map_or("numeric", |(_, name)| name)
    }

    pub fn parse(name: &str) -> Result<Self> {
        if let Some(element) = ElementOf::parse(name) {
            return Ok(Self::OrderedArray(element));
        }
        NAMED
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(value_type, _)| *value_type)
            .ok_or_else(|| TallyError::Internal(format!("unknown value type \"{name}\"")))
    }

    /// The SQL type a figure of this type has, schema-qualified (an enum's figure is its
    /// label: the type `Metric::tracked_sql` reads it as, and the typed view's column type
    /// is the enum's own, `catalog::dashboard`).
    pub fn sql_type(self) -> &'static str {
        match self {
            Self::Numeric => "pg_catalog.numeric",
            Self::Timestamptz => "pg_catalog.timestamptz",
            Self::Timestamp => "pg_catalog.timestamp",
            Self::Date => "pg_catalog.date",
            Self::Time => "pg_catalog.time",
            Self::Interval => "pg_catalog.interval",
            Self::Uuid => "pg_catalog.uuid",
            Self::Boolean => "pg_catalog.bool",
            Self::Text => "pg_catalog.text",
            Self::Inet => "pg_catalog.inet",
            Self::Cidr => "pg_catalog.cidr",
            Self::Macaddr => "pg_catalog.macaddr",
            Self::Macaddr8 => "pg_catalog.macaddr8",
            Self::Enum => "pg_catalog.text",
            Self::Bytea => "pg_catalog.bytea",
            Self::Bit => "pg_catalog.varbit",
            Self::Float4 => "pg_catalog.float4",
            Self::Float8 => "pg_catalog.float8",
            Self::Jsonb => "pg_catalog.jsonb",
            // Never a figure's type (a count_distinct's figure is a count), never cast to.
            Self::Array => "pg_catalog.anyarray",
            Self::Range => "pg_catalog.anyrange",
            Self::Money => "pg_catalog.money",
            Self::Timetz => "pg_catalog.timetz",
            Self::OrderedRange(RangeOf::Int4) => "pg_catalog.int4range",
            Self::OrderedRange(RangeOf::Int8) => "pg_catalog.int8range",
            Self::OrderedRange(RangeOf::Date) => "pg_catalog.daterange",
            Self::OrderedRange(RangeOf::Timestamp) => "pg_catalog.tsrange",
            Self::OrderedRange(RangeOf::Timestamptz) => "pg_catalog.tstzrange",
            Self::OrderedRange(RangeOf::Numeric) => "pg_catalog.numrange",
            Self::OrderedArray(element) => element.sql_type(),
            Self::Multirange => "pg_catalog.anymultirange",
            Self::OrderedMultirange(RangeOf::Int4) => "pg_catalog.int4multirange",
            Self::OrderedMultirange(RangeOf::Int8) => "pg_catalog.int8multirange",
            Self::OrderedMultirange(RangeOf::Date) => "pg_catalog.datemultirange",
            Self::OrderedMultirange(RangeOf::Timestamp) => "pg_catalog.tsmultirange",
            Self::OrderedMultirange(RangeOf::Timestamptz) => "pg_catalog.tstzmultirange",
            Self::OrderedMultirange(RangeOf::Numeric) => "pg_catalog.nummultirange",
            Self::Oid => "pg_catalog.oid",
            Self::Xid => "pg_catalog.xid",
            Self::Cid => "pg_catalog.cid",
            Self::Xid8 => "pg_catalog.xid8",
            Self::PgLsn => "pg_catalog.pg_lsn",
            Self::Char => "pg_catalog.\"char\"",
            Self::Tid => "pg_catalog.tid",
            Self::Tsvector => "pg_catalog.tsvector",
            Self::Aclitem => "pg_catalog.aclitem",
            // A count_distinct's only (its figure is a count): the cast that keeps the
            // column's collation on its way to `tally._tracked_collated`.
            Self::NondeterministicText => "pg_catalog.text",
            // Never a figure's type (a count_distinct's figure is a count), never cast to.
            Self::Record => "pg_catalog.record",
        }
    }

    /// The oid of `sql_type`.
    pub fn type_oid(self) -> pg_sys::Oid {
        match self {
            Self::Numeric => pg_sys::NUMERICOID,
            Self::Timestamptz => pg_sys::TIMESTAMPTZOID,
            Self::Timestamp => pg_sys::TIMESTAMPOID,
            Self::Date => pg_sys::DATEOID,
            Self::Time => pg_sys::TIMEOID,
            Self::Interval => pg_sys::INTERVALOID,
            Self::Uuid => pg_sys::UUIDOID,
            Self::Boolean => pg_sys::BOOLOID,
            Self::Text => pg_sys::TEXTOID,
            Self::Inet => pg_sys::INETOID,
            Self::Cidr => pg_sys::CIDROID,
            Self::Macaddr => pg_sys::MACADDROID,
            Self::Macaddr8 => pg_sys::MACADDR8OID,
            Self::Enum => pg_sys::TEXTOID,
            Self::Bytea => pg_sys::BYTEAOID,
            Self::Bit => pg_sys::VARBITOID,
            Self::Float4 => pg_sys::FLOAT4OID,
            Self::Float8 => pg_sys::FLOAT8OID,
            Self::Jsonb => pg_sys::JSONBOID,
            Self::Array => pg_sys::ANYARRAYOID,
            Self::Range => pg_sys::ANYRANGEOID,
            Self::Money => pg_sys::MONEYOID,
            Self::Timetz => pg_sys::TIMETZOID,
            Self::OrderedRange(range) => range.type_oid(),
            Self::OrderedArray(element) => element.array_type_oid(),
            Self::Multirange => pg_sys::ANYMULTIRANGEOID,
            Self::OrderedMultirange(range) => range.multirange_type_oid(),
            Self::Oid => pg_sys::OIDOID,
            Self::Xid => pg_sys::XIDOID,
            Self::Cid => pg_sys::CIDOID,
            Self::Xid8 => pg_sys::XID8OID,
            Self::PgLsn => pg_sys::PG_LSNOID,
            Self::Char => pg_sys::CHAROID,
            Self::Tid => pg_sys::TIDOID,
            Self::Tsvector => pg_sys::TSVECTOROID,
            Self::Aclitem => pg_sys::ACLITEMOID,
            Self::NondeterministicText => pg_sys::TEXTOID,
            Self::Record => pg_sys::RECORDOID,
        }
    }
}

/// `bytes` as a tracked text value: `0.` and three digits per byte (no byte is 0 in a text,
/// so a longer text with the same start is larger, as in byte order), `0` for the empty
/// text; a text longer than `TEXT_KEPT_BYTES`, `1.` and its digest's 64 bytes the same way
/// (at least 1: never equal to a kept text; all of the same length: equal only when the
/// digests are).
pub fn encode_text(bytes: &[u8]) -> String {
    encode_kept(bytes, 0)
}

/// The text of a jsonb (`jsonb_out`'s) with every number in its shortest form, for
/// count_distinct (0.14.0): two jsonb values are equal exactly when these are. jsonb's
/// equality compares numbers as numerics (`1.0` equals `1`) and everything else as written,
/// and `jsonb_out` writes the rest one way only (object keys sorted and unique, one spacing,
/// one escaping of strings). It writes a number as `numeric_out` does (never an exponent),
/// so the shortest form drops the zeros that end a fraction, and its point if nothing is
/// left. Digits inside strings are left alone.
pub fn canonical_jsonb(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut canonical = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let start = at;
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    // An escaped character (`\"` among them) never ends the string.
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
                canonical.extend_from_slice(&bytes[start..at]);
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < bytes.len() && matches!(bytes[at], b'-' | b'.' | b'0'..=b'9') {
                    at += 1;
                }
                canonical.extend_from_slice(shortest_number(&text[start..at]).as_bytes());
            }
            other => {
                canonical.push(other);
                at += 1;
            }
        }
    }
    canonical
}

/// A number as `numeric_out` writes it, without the zeros that end its fraction.
pub fn shortest_number(number: &str) -> &str {
    if !number.contains('.') {
        return number;
    }
    let shortest = number.trim_end_matches('0').trim_end_matches('.');
    // -0.0 (no numeric_out writes it, kept equal to 0 all the same).
    if shortest == "-0" {
        "0"
    } else {
        shortest
    }
}

/// `bytes` of a bytea as a tracked value (0.13.0): `encode_text`'s form with each byte plus
/// one (a bytea may hold a zero byte, which as `000` could end a numeric's digits unseen),
/// so that a longer bytea with the same start is larger, as in bytea's order; past
/// `TEXT_KEPT_BYTES`, the digest a text of those bytes has.
pub fn encode_bytea(bytes: &[u8]) -> String {
    encode_kept(bytes, 1)
}

/// The text `encode_text` kept as `encoded` (numeric's text form: trailing zeros may be
/// gone), None for a digest or anything else.
pub fn decode_text(encoded: &str) -> Option<Vec<u8>> {
    decode_kept(encoded, 0)
}

/// The bytea `encode_bytea` kept as `encoded`, None for a digest or anything else.
pub fn decode_bytea(encoded: &str) -> Option<Vec<u8>> {
    decode_kept(encoded, 1)
}

/// The kept form of `bytes`, each written as the byte plus `offset` (`encode_text`,
/// `encode_bytea`); a digest's bytes as themselves.
fn encode_kept(bytes: &[u8], offset: u16) -> String {
    if bytes.len() > TEXT_KEPT_BYTES {
        use sha2::Digest;
        return digits_of("1", &sha2::Sha512::digest(bytes), 0);
    }
    if bytes.is_empty() {
        return "0".to_string();
    }
    digits_of("0", bytes, offset)
}

fn digits_of(integer: &str, bytes: &[u8], offset: u16) -> String {
    // On every written text: one allocation, no formatting per byte.
    let mut encoded = Vec::with_capacity(integer.len() + 1 + 3 * bytes.len());
    encoded.extend_from_slice(integer.as_bytes());
    encoded.push(b'.');
    for &byte in bytes {
        let digits = u16::from(byte) + offset;
        encoded.extend_from_slice(&[
            b'0' + (digits / 100) as u8,
            b'0' + (digits / 10 % 10) as u8,
            b'0' + (digits % 10) as u8,
        ]);
    }
    String::from_utf8(encoded).expect("ASCII digits")
}

/// The bytes `encode_kept` wrote with `offset`; None for a digest or anything else. No
/// group is `000` (a numeric's text may have lost it at the end).
fn decode_kept(encoded: &str, offset: u16) -> Option<Vec<u8>> {
    let digits = match encoded.split_once('.') {
        None if encoded == "0" => return Some(Vec::new()),
        Some(("0", digits)) if digits.bytes().all(|b| b.is_ascii_digit()) => digits,
        _ => return None,
    };
    let padded = format!("{digits:0<width$}", width = digits.len().div_ceil(3) * 3);
    padded
        .as_bytes()
        .chunks(3)
        .map(|group| {
            let group = std::str::from_utf8(group).ok()?.parse::<u16>().ok()?;
            (group != 0).then_some(())?;
            u8::try_from(group.checked_sub(offset)?).ok()
        })
        .collect()
}

/// A float's key (0.13.0): its bits as an unsigned integer ordered as the floats are (the sign
/// bit set for a positive float, every bit flipped for a negative one), with -0 as 0 and
/// every NaN as one NaN, which sorts above +Infinity: Postgres' order and equality of floats
/// (`float8_cmp`, and `float8_hash` equates what it does). A real widens to double
/// precision exactly, in order, and has the key of its double.
pub fn float_key(value: f64) -> u64 {
    const NAN: u64 = 0x7ff8_0000_0000_0000;
    let bits = if value.is_nan() {
        NAN
    } else if value == 0.0 {
        0
    } else {
        value.to_bits()
    };
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The float a figure kept as `encoded` (its numeric's text) holds: parsed from that text,
/// an exact unsigned integer key (`float_key`) or None.
fn float_of_figure(encoded: &str) -> Option<f64> {
    encoded.parse::<u64>().ok().map(float_of_key)
}

/// The float whose key (`float_key`) is `key`.
pub fn float_of_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// A float's text as Postgres writes it (`ffi::floats`), a real's as a real's (a real is kept
/// as the double it widens to, whose own shortest text is longer).
pub fn float_text(value: f64, real: bool) -> String {
    if real {
        crate::ffi::floats::real_text(value as f32)
    } else {
        crate::ffi::floats::double_text(value)
    }
}

/// An interval's span in microseconds, as Postgres orders and equates intervals
/// (`interval_cmp_value`: a month is 30 days, a day 24 hours).
pub fn interval_span(months: i32, days: i32, micros: i64) -> i128 {
    i128::from(months) * USECS_PER_MONTH + i128::from(days) * USECS_PER_DAY + i128::from(micros)
}

/// The interval a span encodes: the extremes (Postgres 17's ±infinity, the largest and
/// smallest intervals before) as themselves, any other span justified into months, days and
/// time of one sign (`justify_interval`'s form), which equals every interval of that span;
/// past the months an interval holds, the most months it holds and the rest in days, then
/// time. Every span of an interval has such a form; None for one no interval has.
pub fn interval_of_span(span: i128) -> Option<(i32, i32, i64)> {
    if span == interval_span(i32::MAX, i32::MAX, i64::MAX) {
        return Some((i32::MAX, i32::MAX, i64::MAX));
    }
    if span == interval_span(i32::MIN, i32::MIN, i64::MIN) {
        return Some((i32::MIN, i32::MIN, i64::MIN));
    }
    let clamp = |value: i128| value.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
    let months = clamp(span / USECS_PER_MONTH);
    let rest = span - months * USECS_PER_MONTH;
    let days = clamp(rest / USECS_PER_DAY);
    let micros = i64::try_from(rest - days * USECS_PER_DAY).ok()?;
    Some((months as i32, days as i32, micros))
}

/// The base of `pack_interval`: each of the three parts of a sum of intervals stays below
/// half of it in magnitude (2^63 rows of at most 2^63 microseconds each).
const PACKING_BASE: &str = "1e40";

fn packing_base() -> AnyNumeric {
    numeric(PACKING_BASE.to_string())
}

/// An interval's months, days and microseconds packed into one numeric that sums as the
/// three do apart (see the module's table).
pub fn pack_interval(months: i32, days: i32, micros: i64) -> AnyNumeric {
    let base = packing_base();
    (AnyNumeric::from(months) * base.clone() + AnyNumeric::from(days)) * base
        + AnyNumeric::from(micros)
}

/// The remainder of `value` by `base` nearest to zero, and the quotient that goes with it.
fn centered_division(value: AnyNumeric, base: &AnyNumeric) -> (AnyNumeric, AnyNumeric) {
    let mut rest = value.clone() % base.clone();
    let twice = rest.clone() * AnyNumeric::from(2);
    if twice >= *base {
        rest -= base.clone();
    } else if twice < -base.clone() {
        rest += base.clone();
    }
    let quotient = (value - rest.clone()) / base.clone();
    (rest, quotient)
}

/// The months, days and microseconds a sum of `pack_interval`s adds up to; None when one
/// does not fit an interval (a sum past what interval holds: `FigureOutOfRange`).
pub fn unpack_interval(total: &AnyNumeric) -> Option<(i32, i32, i64)> {
    let base = packing_base();
    let (micros, rest) = centered_division(total.clone(), &base);
    let (days, months) = centered_division(rest, &base);
    Some((
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        i64::try_from(micros).ok()?,
    ))
}

/// The figure of a sum (`total`) or avg (`total` over `count` rows) of intervals, packed:
/// the avg divides the sum as Postgres' `avg(interval)` does (`interval_div` by the count
/// as float8). None (SQL NULL) for an avg of no rows.
pub fn interval_figure(
    aggregate: Aggregate,
    count: &AnyNumeric,
    total: &AnyNumeric,
) -> Result<Option<AnyNumeric>> {
    let out_of_range = || TallyError::FigureOutOfRange {
        value_type: "interval",
    };
    if aggregate != Aggregate::Avg {
        return Ok(Some(total.clone()));
    }
    let count = i64::try_from(count.clone()).map_err(|_| out_of_range())?;
    if count == 0 {
        return Ok(None);
    }
    let (months, days, micros) = unpack_interval(total).ok_or_else(out_of_range)?;
    let (months, days, micros) =
        crate::ffi::datetime::interval_divided(months, days, micros, count as f64);
    Ok(Some(pack_interval(months, days, micros)))
}

/// A figure of a metric of `value_type` as its type's text: the form every reader gives,
/// read back as itself by the type's input under any session settings (ISO 8601: a
/// timestamptz in UTC with its offset, `2026-12-05T16:00:00+00:00`; an interval as
/// `P1Y2M3DT4H`; a uuid in its usual form; a boolean as `true` or `false`).
/// An interval figure is a span (min, max: `interval_span`) or packed (sum, avg:
/// `pack_interval`), as `aggregate` says.
pub fn figure_text(
    value_type: ValueType,
    aggregate: Aggregate,
    figure: &AnyNumeric,
) -> Result<String> {
    let encoded = figure.to_string();
    let unreadable = || {
        TallyError::Internal(format!(
            "a {} figure encoded as {encoded}",
            value_type.as_str()
        ))
    };
    let integer = || encoded.parse::<i128>().map_err(|_| unreadable());
    let unsigned = || u64::try_from(integer()?).map_err(|_| unreadable());
    Ok(match value_type {
        ValueType::Numeric => encoded.clone(),
        ValueType::Timestamptz => {
            let micros = i64::try_from(integer()?).map_err(|_| unreadable())?;
            let value = TimestampWithTimeZone::try_from(micros).map_err(|_| unreadable())?;
            crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::TIMESTAMPTZOID)
        }
        ValueType::Timestamp => {
            let micros = i64::try_from(integer()?).map_err(|_| unreadable())?;
            let value = Timestamp::try_from(micros).map_err(|_| unreadable())?;
            crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::TIMESTAMPOID)
        }
        ValueType::Date => {
            let days = i32::try_from(integer()?).map_err(|_| unreadable())?;
            let value = Date::try_from(days).map_err(|_| unreadable())?;
            crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::DATEOID)
        }
        ValueType::Time => {
            let micros = i64::try_from(integer()?).map_err(|_| unreadable())?;
            let value = Time::try_from(micros).map_err(|_| unreadable())?;
            crate::ffi::datetime::json_datetime(value.into_datum(), pg_sys::TIMEOID)
        }
        ValueType::Interval => {
            let parts = if aggregate.sums_values() {
                unpack_interval(figure)
            } else {
                interval_of_span(integer()?)
            };
            let (months, days, micros) = parts.ok_or(TallyError::FigureOutOfRange {
                value_type: "interval",
            })?;
            crate::ffi::datetime::iso_interval(months, days, micros)
        }
        ValueType::Uuid => {
            // A uuid's 128 bits exceed i128.
            let bits = encoded.parse::<u128>().map_err(|_| unreadable())?;
            Uuid::from_bytes(bits.to_be_bytes()).to_string()
        }
        ValueType::Boolean => match integer()? {
            0 => "false".to_string(),
            1 => "true".to_string(),
            _ => return Err(unreadable()),
        },
        ValueType::Text
        | ValueType::Inet
        | ValueType::Macaddr
        | ValueType::Macaddr8
        | ValueType::Enum
        | ValueType::Bit
        | ValueType::Jsonb
        | ValueType::Tsvector => {
            let bytes = decode_text(&encoded).ok_or_else(unreadable)?;
            String::from_utf8(bytes).map_err(|_| unreadable())?
        }
        ValueType::Bytea => {
            let bytes = decode_bytea(&encoded).ok_or_else(unreadable)?;
            let mut text = String::with_capacity(2 + 2 * bytes.len());
            text.push_str("\\x");
            for byte in bytes {
                text.push_str(&format!("{byte:02x}"));
            }
            text
        }
        ValueType::Float4 | ValueType::Float8 => {
            let value = float_of_figure(&encoded).ok_or_else(unreadable)?;
            float_text(value, value_type == ValueType::Float4)
        }
        ValueType::Timetz => crate::model::ordered_key::timetz_text(&encoded)?,
        // As Postgres writes money, by this session's lc_monetary, which the typed reads'
        // money input (in this session) reads back. A sum (0.18.0) may pass what money
        // holds, as Postgres' own sum(money) may.
        ValueType::Money => {
            let amount = integer()?;
            let amount = i64::try_from(amount).map_err(|_| TallyError::FigureOutOfRange {
                value_type: "money",
            })?;
            crate::ffi::arrays::money_text(amount)
        }
        ValueType::OrderedRange(range) => crate::model::ordered_key::range_text(range, &encoded)?,
        ValueType::OrderedArray(element) => {
            crate::model::ordered_array::array_text(element, &encoded)?
        }
        ValueType::OrderedMultirange(range) => {
            crate::model::ordered_key::multirange_text(range, &encoded)?
        }
        // count_distinct only, whose figures are counts.
        ValueType::Array
        | ValueType::Range
        | ValueType::Multirange
        | ValueType::Xid
        | ValueType::Cid
        | ValueType::Aclitem
        | ValueType::NondeterministicText
        | ValueType::Record => return Err(unreadable()),
        ValueType::Oid => u32::try_from(integer()?)
            .map_err(|_| unreadable())?
            .to_string(),
        ValueType::Xid8 => unsigned()?.to_string(),
        ValueType::PgLsn => crate::model::system_key::lsn_text(unsigned()?),
        ValueType::Char => {
            crate::model::system_key::char_text(u8::try_from(integer()?).map_err(|_| unreadable())?)
        }
        ValueType::Tid => crate::model::system_key::tid_text(unsigned()?).ok_or_else(unreadable)?,
        ValueType::Cidr => {
            // Kept as inet_out writes it, which leaves out a host's /32 (/128) that
            // cidr_out writes.
            let bytes = decode_text(&encoded).ok_or_else(unreadable)?;
            let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
            match (text.contains('/'), text.contains(':')) {
                (true, _) => text,
                (false, false) => format!("{text}/32"),
                (false, true) => format!("{text}/128"),
            }
        }
    })
}

/// Whether `name` names the value type of a metric whose values are not numbers (0.19.0):
/// the constraint of `tally._value_type.type_name` (sql/finalize.sql), so that this library's
/// list is the one place a type's name is added. A number's metric has no row there.
#[pg_extern(immutable, strict, parallel_safe)]
fn _known_value_type(name: &str) -> bool {
    ValueType::parse(name).is_ok_and(|value_type| value_type != ValueType::Numeric)
}

/// A figure as a JSON value: a number for a numeric figure (Postgres' own text of it, exact),
/// true or false for a boolean, a string (`figure_text`) for every other type but the floats,
/// which `tally._typed_figure` makes JSON with `to_jsonb` (`_float_of`), and jsonb, which it
/// casts back from its text (a JSON library would read its numbers as floats).
pub fn figure_json(
    value_type: ValueType,
    aggregate: Aggregate,
    figure: &AnyNumeric,
) -> Result<serde_json::Value> {
    let text = match figure_text(value_type, aggregate, figure) {
        // A sum past what money holds: null, as an interval's (`_interval_figure`), so one
        // metric's figure cannot make the rest of a dashboard unreadable.
        Err(TallyError::FigureOutOfRange { .. }) => return Ok(serde_json::Value::Null),
        text => text?,
    };
    Ok(match value_type {
        ValueType::Numeric => {
            serde_json::from_str(&text).map_err(|e| TallyError::Internal(e.to_string()))?
        }
        ValueType::Boolean => serde_json::Value::Bool(text == "true"),
        // A float's number is to_jsonb's own (`tally._typed_figure`, sql/read.sql): parsed
        // here it would be a Rust f64, written back with other digits.
        ValueType::Float4 | ValueType::Float8 | ValueType::Jsonb => {
            return Err(TallyError::Internal(format!(
                "a {} figure's JSON is made by the snapshot's own SQL (_typed_figure)",
                value_type.as_str()
            )))
        }
        _ => serde_json::Value::String(text),
    })
}

/// A figure of a metric of `aggregate` over values of `value_type` (a name of
/// `tally._value_type`) in the snapshot's jsonb (`figure_json`), for
/// `tally._snapshot_query` (sql/read.sql).
#[pg_extern(immutable, strict, parallel_safe)]
fn _figure_json(value_type: &str, aggregate: &str, figure: AnyNumeric) -> SqlResult<pgrx::JsonB> {
    let (value_type, aggregate) = (ValueType::parse(value_type)?, Aggregate::parse(aggregate)?);
    Ok(pgrx::JsonB(figure_json(value_type, aggregate, &figure)?))
}

/// The figure of a sum or avg metric over intervals from its summed counters
/// (`interval_figure`), for `tally._snapshot_query`: `tally._figure` would divide the packed
/// total itself. A sum past what an interval holds (Postgres' own `sum` raises 22008) is
/// NULL here: one metric's figure must not make the rest of a dashboard unreadable, and
/// any writer of its table could make it so. `tally.value` raises the error.
#[pg_extern(immutable, parallel_safe)]
fn _interval_figure(
    aggregate: &str,
    count: Option<AnyNumeric>,
    total: Option<AnyNumeric>,
) -> SqlResult<Option<AnyNumeric>> {
    let aggregate = Aggregate::parse(aggregate)?;
    let zero = AnyNumeric::from(0);
    let total = total.as_ref().unwrap_or(&zero);
    if unpack_interval(total).is_none() {
        return Ok(None);
    }
    Ok(interval_figure(
        aggregate,
        count.as_ref().unwrap_or(&zero),
        total,
    )?)
}

/// What an interval adds to the total of a sum or avg metric (`pack_interval`). An infinite
/// interval (Postgres 17) has no parts to add: it is refused in the writer's statement.
#[pg_extern(immutable, strict, parallel_safe)]
fn _summed_interval(metric: &str, value: Interval) -> SqlResult<AnyNumeric> {
    let (months, days, micros) = (value.months(), value.days(), value.micros());
    let infinite = [
        (i32::MAX, i32::MAX, i64::MAX),
        (i32::MIN, i32::MIN, i64::MIN),
    ];
    if cfg!(any(feature = "pg17", feature = "pg18")) && infinite.contains(&(months, days, micros)) {
        return Err(TallyError::InfiniteInterval {
            metric: metric.to_string(),
        }
        .into());
    }
    Ok(pack_interval(months, days, micros))
}

pub(crate) fn numeric(encoded: String) -> AnyNumeric {
    AnyNumeric::try_from(encoded.as_str()).expect("an encoding is a numeric's text")
}

// The encoders the change queries call (`Metric::tracked_sql`), one per type: immutable
// and strict, so a NULL stays NULL (not counted) and the planner may fold constants.

// The date and time types are read as the integers Postgres stores (each declared below with
// its SQL type): pgrx's own conversions would take time '24:00' to '00:00'.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value timestamptz) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_timestamptz_wrapper';"
)]
fn tracked_timestamptz(micros: i64) -> AnyNumeric {
    AnyNumeric::from(micros)
}

#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value timestamp) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_timestamp_wrapper';"
)]
fn tracked_timestamp(micros: i64) -> AnyNumeric {
    AnyNumeric::from(micros)
}

#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value date) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_date_wrapper';"
)]
fn tracked_date(days: i32) -> AnyNumeric {
    AnyNumeric::from(days)
}

#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_value(value time) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_time_wrapper';"
)]
fn tracked_time(micros: i64) -> AnyNumeric {
    AnyNumeric::from(micros)
}

#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_interval(value: Interval) -> AnyNumeric {
    numeric(interval_span(value.months(), value.days(), value.micros()).to_string())
}

#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_uuid(value: Uuid) -> AnyNumeric {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(value.as_bytes());
    numeric(u128::from_be_bytes(bytes).to_string())
}

/// The float a float figure keeps (0.13.0; `float_key`), for `tally._typed_figure`: the
/// snapshot's number for it is `to_jsonb`'s, as for a float column (a real's figure is cast
/// back to real there, exactly). Revoked from PUBLIC, as the other decoders are.
#[pg_extern(immutable, strict, parallel_safe)]
fn _float_of(figure: AnyNumeric) -> SqlResult<f64> {
    let encoded = figure.to_string();
    float_of_figure(&encoded)
        .ok_or_else(|| TallyError::Internal(format!("a float figure encoded as {encoded}")).into())
}

/// A double precision value (0.13.0) by its key (`float_key`).
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_float8(value: f64) -> AnyNumeric {
    numeric(float_key(value).to_string())
}

/// A real value (0.13.0) by the key of the double precision it widens to.
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_float4(value: f32) -> AnyNumeric {
    numeric(float_key(f64::from(value)).to_string())
}

#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_boolean(value: bool) -> AnyNumeric {
    AnyNumeric::from(i32::from(value))
}

/// A text value of a count_distinct metric: any length (past `TEXT_KEPT_BYTES`, by digest).
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_text(value: &str) -> AnyNumeric {
    numeric(encode_text(value.as_bytes()))
}

/// A text value of a count_distinct metric in a nondeterministic collation (0.22.0): by the
/// key the call's collation tells texts apart by (`ffi::collations::equality_key`: its ICU
/// sort key), kept as a text of those bytes is. The change queries call it on the column
/// cast to text, which keeps the column's collation (`Metric::tracked_sql`).
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_collated")]
fn tracked_collated(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> AnyNumeric {
    let collation = crate::ffi::collations::call_collation(fcinfo);
    let key = crate::ffi::collations::equality_key(value.as_bytes(), collation);
    numeric(encode_text(&key))
}

/// The key of an array for count_distinct (0.14.0), built from its parts as
/// `ffi::arrays::read` hands them over: its dimensions (length and lower bound of each),
/// then each element, NULL or its value's bytes (`element_bytes`), each length-prefixed. Two
/// arrays of one type get the same key exactly when `array_eq` says they are equal: same
/// dimensions and bounds, elements equal pairwise (NULL equal to NULL).
#[derive(Default)]
struct ArrayKey {
    bytes: Vec<u8>,
}

impl ArrayKey {
    fn add(&mut self, part: crate::ffi::arrays::ArrayPart<'_>) {
        use crate::ffi::arrays::ArrayPart;
        match part {
            ArrayPart::Dimensions(dimensions) => {
                self.bytes
                    .extend_from_slice(format!("{};", dimensions.len()).as_bytes());
                for (length, lower_bound) in dimensions {
                    self.bytes
                        .extend_from_slice(format!("{length}:{lower_bound};").as_bytes());
                }
            }
            ArrayPart::Element(element) => push_element(&mut self.bytes, element.as_ref()),
        }
    }
}

/// An array's element or a row's field as its key holds it: `N` for NULL, else `V`, the
/// length of its bytes (`element_bytes`), `:` and the bytes.
fn push_element(key: &mut Vec<u8>, element: Option<&crate::ffi::arrays::Element>) {
    match element {
        None => key.push(b'N'),
        Some(element) => {
            let bytes = element_bytes(element);
            key.extend_from_slice(format!("V{}:", bytes.len()).as_bytes());
            key.extend_from_slice(&bytes);
        }
    }
}

/// The key of a row for count_distinct (0.23.0: `(user_id, day)`): `R`, its number of
/// fields, `;`, then each field as an array's element is kept (`push_element`). Two rows of
/// one row expression get the same key exactly when `record_eq` says they are equal: each
/// field equal by its type's equality, NULL equal to NULL.
pub fn record_key(fields: &[Option<crate::ffi::arrays::Element>]) -> Vec<u8> {
    let mut key = format!("R{};", fields.len()).into_bytes();
    for field in fields {
        push_element(&mut key, field.as_ref());
    }
    key
}

/// The key of a range for count_distinct (0.14.0): `E` for the empty range, else each bound
/// as `I` (infinite) or `[`/`(` (inclusive or not) and its value's length-prefixed bytes
/// (`element_bytes`). Two ranges of one built-in type get the same key exactly when
/// `range_eq` says they are equal (a discrete range's bounds are canonical already).
pub fn range_key(parts: &crate::ffi::ranges::RangeParts) -> Vec<u8> {
    use crate::ffi::ranges::{Bound, RangeParts};
    let mut key = Vec::new();
    let mut bound = |bound: &Bound| match bound {
        Bound::Infinite => key.push(b'I'),
        Bound::Value { inclusive, value } => {
            let bytes = element_bytes(value);
            key.push(if *inclusive { b'[' } else { b'(' });
            key.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
            key.extend_from_slice(&bytes);
        }
    };
    match parts {
        RangeParts::Empty => return b"E".to_vec(),
        RangeParts::Bounds(lower, upper) => {
            bound(lower);
            bound(upper);
        }
    }
    key
}

/// The key of a multirange for count_distinct (0.18.0): `M`, then each of its ranges'
/// `range_key`, length-prefixed, in the multirange's order. Two multiranges of one built-in
/// type get the same key exactly when `multirange_eq` says they are equal (the same ranges,
/// pairwise equal).
pub fn multirange_key(ranges: &[crate::ffi::ranges::RangeParts]) -> Vec<u8> {
    let mut key = vec![b'M'];
    for range in ranges {
        let bytes = range_key(range);
        key.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
        key.extend_from_slice(&bytes);
    }
    key
}

/// A range value of a count_distinct metric (0.14.0): its `range_key`, kept as a bytea is,
/// of any length; a multirange (0.18.0) by its `multirange_key`. Read from the datum itself
/// by `range_deserialize` (`multirange_deserialize`); `anyelement`, which takes a domain
/// over a range too, checked to be a built-in range or multirange here.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_range(value: pgrx::AnyElement) -> SqlResult<AnyNumeric> {
    if let Some(parts) = crate::ffi::ranges::parts_of(&value) {
        return Ok(numeric(encode_bytea(&range_key(&parts))));
    }
    let ranges =
        crate::ffi::ranges::multirange_parts_of(&value).ok_or_else(|| TallyError::EncoderType {
            function: "_tracked_range",
            takes: "a value of a built-in range or multirange type",
            type_name: crate::ffi::datetime::type_name(value.oid()),
        })?;
    Ok(numeric(encode_bytea(&multirange_key(&ranges))))
}

/// An array element's bytes: equal exactly when the elements are equal as their type says
/// (a numeric with the zeros ending its fraction dropped, a float by `float_key`: -0 equal
/// to 0, NaN to NaN; a text by its bytes, which a deterministic collation equates; 0.15.0:
/// an interval by its span, a time with time zone by its time and zone, an inet, cidr,
/// macaddr or bit string by its output text).
fn element_bytes(element: &crate::ffi::arrays::Element) -> Vec<u8> {
    use crate::ffi::arrays::Element;
    match element {
        Element::Integer(value) => value.to_string().into_bytes(),
        Element::Numeric(text) => shortest_number(text).as_bytes().to_vec(),
        Element::Text(text) => text.as_bytes().to_vec(),
        Element::Uuid(bytes) => bytes.to_vec(),
        Element::Boolean(value) => vec![u8::from(*value)],
        Element::Float(value) => float_key(*value).to_string().into_bytes(),
        Element::Days(days) => days.to_string().into_bytes(),
        Element::Micros(micros) => micros.to_string().into_bytes(),
        Element::Interval {
            months,
            days,
            micros,
        } => interval_span(*months, *days, *micros)
            .to_string()
            .into_bytes(),
        Element::Zoned { micros, zone } => format!("{micros}@{zone}").into_bytes(),
        Element::Bytes(bytes) => bytes.clone(),
        Element::Unsigned(value) => value.to_string().into_bytes(),
        Element::Tid { block, offset } => crate::model::system_key::tid_key(*block, *offset)
            .to_string()
            .into_bytes(),
        Element::Grant {
            grantee,
            grantor,
            privileges,
        } => format!("{grantee}/{grantor}/{privileges}").into_bytes(),
    }
}

/// An array value of a count_distinct metric (0.14.0): its `ArrayKey`, kept as a bytea is,
/// of any length (past `TEXT_KEPT_BYTES` by digest). Read from the datum itself: no cast
/// and no output function a role could have written runs.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_array(value: pgrx::AnyArray) -> SqlResult<AnyNumeric> {
    let mut key = ArrayKey::default();
    if !crate::ffi::arrays::read(&value, |part| key.add(part)) {
        // Only a hand call passes one (`catalog::define` takes no other array type).
        return Err(TallyError::EncoderType {
            function: "_tracked_array",
            takes: "an array of a type whose count_distinct is kept",
            type_name: crate::ffi::datetime::type_name(value.oid()),
        }
        .into());
    }
    Ok(numeric(encode_bytea(&key.bytes)))
}

/// A row value of a count_distinct metric (0.23.0): its `record_key`, kept as a bytea is, of
/// any length (past `TEXT_KEPT_BYTES` by digest). Read from the datum itself
/// (`ffi::records`): no cast and no output function a role could have written runs.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_record(value: pgrx::AnyElement) -> SqlResult<AnyNumeric> {
    let fields = crate::ffi::records::fields_of(&value).ok_or_else(|| TallyError::EncoderType {
        function: "_tracked_record",
        takes: "a row of fields of types whose count_distinct is kept",
        type_name: crate::ffi::datetime::type_name(value.oid()),
    })?;
    Ok(numeric(encode_bytea(&record_key(&fields))))
}

/// A jsonb value of a count_distinct metric (0.14.0), given as its text: its canonical text
/// (`canonical_jsonb`), kept as a text is, of any length (past `TEXT_KEPT_BYTES` by digest).
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_jsonb(value: &str) -> AnyNumeric {
    numeric(encode_text(&canonical_jsonb(value)))
}

/// A jsonb value of a min or max metric, given as its text (0.14.0): kept as a text is, so
/// one longer than `TEXT_KEPT_BYTES` is refused; ordered when read by jsonb's order.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_jsonb_in_order(metric: &str, value: &str) -> SqlResult<AnyNumeric> {
    Ok(in_order(
        metric,
        OrderedKind::Jsonb,
        value.as_bytes(),
        encode_text,
    )?)
}

/// A bytea value of a count_distinct metric (0.13.0): any length (past `TEXT_KEPT_BYTES`
/// by digest, as a long text; `encode_bytea`).
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_bytea(value: &[u8]) -> AnyNumeric {
    numeric(encode_bytea(value))
}

/// An inet value: its text, which `inet_out` writes one way per value (what inet's
/// equality compares), kept as a text is.
#[pg_extern(immutable, strict, parallel_safe, name = "_tracked_value")]
fn tracked_inet(value: pgrx::Inet) -> AnyNumeric {
    numeric(encode_text(value.0.as_bytes()))
}

/// An enum value of a min, max or count_distinct metric (0.13.0): its label, kept as a text
/// is. Read by Postgres' own `enum_out`: a cast of the enum to text would run any cast its
/// owner defined, in every write. Named apart from `_tracked_value` so that no cast is ever
/// a candidate for the call; `anyelement`, which takes a domain over an enum (`anyenum`
/// does not), checked to be one here.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = "CREATE FUNCTION tally._tracked_label(value anyelement) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_label_wrapper';"
)]
fn tracked_label(value: pg_sys::Oid, fcinfo: pg_sys::FunctionCallInfo) -> SqlResult<AnyNumeric> {
    let value_type = crate::ffi::enums::argument_type(fcinfo, 0);
    if !crate::ffi::enums::is_enum(value_type) {
        return Err(TallyError::NotAnEnum {
            type_name: crate::ffi::datetime::type_name(value_type),
        }
        .into());
    }
    Ok(numeric(encode_text(&crate::ffi::enums::label_of(value))))
}

/// The value labelled `label` of the enum `of_type` is a NULL of (0.13.0): an enum figure
/// in the typed view's column of the enum's type. Postgres' own `enum_in`, for the reason
/// given at `tracked_label` (the view runs with its owner's rights). A label the enum no
/// longer has raises 22P02.
#[pg_extern(
    stable,
    parallel_safe,
    sql = "CREATE FUNCTION tally._enum_value(label text, of_type anyenum) RETURNS anyenum
STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'enum_value_wrapper';"
)]
fn enum_value(label: Option<&str>, fcinfo: pg_sys::FunctionCallInfo) -> Option<pg_sys::Oid> {
    let label = label?;
    let enum_type = crate::ffi::enums::argument_type(fcinfo, 1);
    Some(crate::ffi::enums::value_of(enum_type, label))
}

/// A kept text (or inet's text) from its encoding, for the order of a min or max picked when
/// read (`tally._sorted_extreme`).
#[pg_extern(immutable, strict, parallel_safe)]
fn _text_of(encoded: AnyNumeric) -> SqlResult<String> {
    Ok(figure_text(ValueType::Text, Aggregate::Max, &encoded)?)
}

/// The smallest (or, `descending`, the largest) of kept texts (their encodings) in the
/// collation whose oid is `collation` (0.15.0: a column's min or max in a collation that is
/// not byte order, `tally._sorted_extreme`), compared as `text`'s own order compares them
/// (`ffi::collations::compare`); NULLs skipped, NULL when none is left. Equal texts are equal
/// bytes (the collation is deterministic), so any of them is the figure.
#[pg_extern(stable, strict, parallel_safe)]
fn _collated_pick(
    encodings: Vec<Option<AnyNumeric>>,
    collation: pg_sys::Oid,
    descending: bool,
) -> SqlResult<Option<AnyNumeric>> {
    if !crate::ffi::collations::exists(collation) {
        return Err(TallyError::CollationGoneSinceSnapshot.into());
    }
    let mut best: Option<(Vec<u8>, AnyNumeric)> = None;
    for (at, encoded) in encodings.into_iter().flatten().enumerate() {
        if at % 1024 == 0 {
            pgrx::check_for_interrupts!();
        }
        let bytes = decode_text(&encoded.to_string())
            .ok_or_else(|| TallyError::Internal(format!("a text figure encoded as {encoded}")))?;
        let better = best.as_ref().is_none_or(|(kept, _)| {
            let order = crate::ffi::collations::compare(&bytes, kept, collation);
            if descending {
                order.is_gt()
            } else {
                order.is_lt()
            }
        });
        if better {
            best = Some((bytes, encoded));
        }
    }
    Ok(best.map(|(_, encoded)| encoded))
}

/// A text value of a min or max metric: kept as itself, so one longer than
/// `TEXT_KEPT_BYTES` is refused in the writer's statement (a digest has no order).
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_text_in_order(metric: &str, value: &str) -> SqlResult<AnyNumeric> {
    Ok(in_order(
        metric,
        OrderedKind::Text,
        value.as_bytes(),
        encode_text,
    )?)
}

/// A bit string of a min or max metric, given as its text of `0`s and `1`s (0.13.0): kept
/// as a text is, so one of more than `TEXT_KEPT_BYTES` bits is refused.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_bits_in_order(metric: &str, bits: &str) -> SqlResult<AnyNumeric> {
    Ok(in_order(
        metric,
        OrderedKind::BitString,
        bits.as_bytes(),
        encode_text,
    )?)
}

/// A bytea value of a min or max metric (0.13.0), refused past `TEXT_KEPT_BYTES` as a text.
#[pg_extern(immutable, strict, parallel_safe)]
fn _tracked_bytea_in_order(metric: &str, value: &[u8]) -> SqlResult<AnyNumeric> {
    Ok(in_order(metric, OrderedKind::Bytea, value, encode_bytea)?)
}

/// `encode(value)`, or the refusal of a value too long to keep in order (a `kind`, whose
/// size is one unit per byte of `value`; a numrange's or multirange's key bytes,
/// `ordered_key`; an array's, `ordered_array`).
pub(crate) fn in_order(
    metric: &str,
    kind: OrderedKind,
    value: &[u8],
    encode: fn(&[u8]) -> String,
) -> Result<AnyNumeric> {
    if value.len() > TEXT_KEPT_BYTES {
        return Err(TallyError::TooLongToOrder {
            metric: metric.to_string(),
            kind,
            size: value.len(),
        });
    }
    Ok(numeric(encode(value)))
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::ffi::arrays::{ArrayPart, Element};
    use proptest::prelude::*;

    /// Compares two decimal fractions of the form `encode_text` writes, as numbers.
    fn numeric_order(a: &str, b: &str) -> std::cmp::Ordering {
        let split = |s: &str| -> (String, String) {
            let (i, f) = s.split_once('.').unwrap_or((s, ""));
            (i.to_string(), f.trim_end_matches('0').to_string())
        };
        let (ai, af) = split(a);
        let (bi, bf) = split(b);
        ai.len().cmp(&bi.len()).then(ai.cmp(&bi)).then_with(|| {
            let width = af.len().max(bf.len());
            format!("{af:0<width$}").cmp(&format!("{bf:0<width$}"))
        })
    }

    /// Postgres' order of floats (`float8_cmp`): -0 equals 0, NaN equals NaN and exceeds all.
    fn postgres_float_order(a: f64, b: f64) -> std::cmp::Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => a.partial_cmp(&b).unwrap(),
        }
    }

    /// Any f64, its special values and both zeros often.
    fn any_float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MIN_POSITIVE),
            Just(-f64::MIN_POSITIVE),
            Just(f64::from_bits(1)),
            Just(f64::NAN),
            Just(-f64::NAN),
            // A signalling NaN with a payload, as binary COPY may bring.
            Just(f64::from_bits(0x7ff0_0000_0000_0001)),
            (-1e20f64..1e20).boxed(),
        ]
    }

    /// A number as `numeric_out` writes one of `digits` (a sign, then an integer and a
    /// fraction part) with `zeros` more zeros ending its fraction.
    fn numeric_text(negative: bool, integer: u32, fraction: &str, zeros: usize) -> String {
        let sign = if negative { "-" } else { "" };
        let fraction = format!("{fraction}{}", "0".repeat(zeros));
        if fraction.is_empty() {
            format!("{sign}{integer}")
        } else {
            format!("{sign}{integer}.{fraction}")
        }
    }

    fn array_key(dimensions: Vec<(i32, i32)>, elements: Vec<Option<Element>>) -> Vec<u8> {
        let mut key = ArrayKey::default();
        key.add(ArrayPart::Dimensions(&dimensions));
        for element in elements {
            key.add(ArrayPart::Element(element));
        }
        key.bytes
    }

    #[test]
    fn array_keys_equate_elements_as_their_types_do() {
        let key = array_key;
        let numeric = |text: &str| Some(Element::Numeric(text.to_string()));
        assert_eq!(
            key(vec![(2, 1)], vec![numeric("1.0"), numeric("2.50")]),
            key(vec![(2, 1)], vec![numeric("1"), numeric("2.5")])
        );
        assert_eq!(
            key(vec![(1, 1)], vec![Some(Element::Float(-0.0))]),
            key(vec![(1, 1)], vec![Some(Element::Float(0.0))])
        );
        assert_eq!(
            key(vec![(1, 1)], vec![Some(Element::Float(f64::NAN))]),
            key(vec![(1, 1)], vec![Some(Element::Float(-f64::NAN))])
        );
        // 0.15.0: an interval by its span (30-day months, 24-hour days); a time with time
        // zone by its time and zone, so one instant in two zones is two values.
        let interval = |months, days, micros| {
            Some(Element::Interval {
                months,
                days,
                micros,
            })
        };
        assert_eq!(
            key(vec![(2, 1)], vec![interval(1, 0, 0), interval(0, 1, 0)]),
            key(
                vec![(2, 1)],
                vec![interval(0, 30, 0), interval(0, 0, 86_400_000_000)]
            )
        );
        assert_ne!(
            key(vec![(1, 1)], vec![interval(0, 1, 0)]),
            key(vec![(1, 1)], vec![interval(0, 1, 1)])
        );
        let zoned = |micros, zone| Some(Element::Zoned { micros, zone });
        assert_ne!(
            key(vec![(1, 1)], vec![zoned(43_200_000_000, -3600)]),
            key(vec![(1, 1)], vec![zoned(39_600_000_000, 0)])
        );
        assert_ne!(
            key(vec![(1, 1)], vec![Some(Element::Bytes(vec![0]))]),
            key(vec![(1, 1)], vec![Some(Element::Bytes(vec![0, 0]))])
        );
        // A NULL element is not an empty text, nor the text "N"; bounds and shape count.
        let text = |t: &str| Some(Element::Text(t.to_string()));
        assert_ne!(
            key(vec![(1, 1)], vec![None]),
            key(vec![(1, 1)], vec![text("")])
        );
        assert_ne!(
            key(vec![(1, 1)], vec![None]),
            key(vec![(1, 1)], vec![text("N")])
        );
        assert_ne!(
            key(vec![(2, 1)], vec![text("ab"), text("c")]),
            key(vec![(2, 1)], vec![text("a"), text("bc")])
        );
        assert_ne!(
            key(vec![(1, 0)], vec![text("a")]),
            key(vec![(1, 1)], vec![text("a")])
        );
        assert_ne!(
            key(
                vec![(4, 1)],
                vec![text("a"), text("b"), text("c"), text("d")]
            ),
            key(
                vec![(2, 1), (2, 1)],
                vec![text("a"), text("b"), text("c"), text("d")]
            )
        );
    }

    #[test]
    fn record_keys_equate_fields_as_their_types_do() {
        let text = |t: &str| Some(Element::Text(t.to_string()));
        let numeric = |t: &str| Some(Element::Numeric(t.to_string()));
        // Fields equal as their types say (1.0 and 1.00), NULL equal to NULL.
        assert_eq!(
            record_key(&[numeric("1.0"), None]),
            record_key(&[numeric("1.00"), None])
        );
        // A field's bounds count: ('ab', 'c') is not ('a', 'bc'); NULL is not '' nor "N".
        assert_ne!(
            record_key(&[text("ab"), text("c")]),
            record_key(&[text("a"), text("bc")])
        );
        assert_ne!(record_key(&[None]), record_key(&[text("")]));
        assert_ne!(record_key(&[None]), record_key(&[text("N")]));
        // The number of fields counts, and a row's key is never an array's.
        assert_ne!(record_key(&[None]), record_key(&[None, None]));
        assert_ne!(
            record_key(&[text("a")]),
            array_key(vec![(1, 1)], vec![text("a")])
        );
    }

    #[test]
    fn range_keys_tell_bounds_apart() {
        use crate::ffi::ranges::{Bound, RangeParts};
        let value = |inclusive, n: i64| Bound::Value {
            inclusive,
            value: Element::Integer(n),
        };
        let key = |lower, upper| range_key(&RangeParts::Bounds(lower, upper));
        let keys = [
            range_key(&RangeParts::Empty),
            key(value(true, 1), value(false, 4)),
            key(value(false, 1), value(false, 4)),
            key(value(true, 1), value(true, 4)),
            key(Bound::Infinite, value(false, 4)),
            key(value(true, 1), Bound::Infinite),
            key(Bound::Infinite, Bound::Infinite),
            key(value(true, 14), value(false, 4)),
            key(value(true, 1), value(false, 44)),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let numeric = |text: &str| Bound::Value {
            inclusive: true,
            value: Element::Numeric(text.to_string()),
        };
        assert_eq!(
            key(numeric("1.0"), numeric("2.50")),
            key(numeric("1"), numeric("2.5"))
        );
    }

    proptest! {
        /// Two arrays of small integers (NULLs among them) of any shape and bounds get one
        /// key exactly when `array_eq` would call them equal.
        #[test]
        fn array_keys_equal_as_arrays(
            a in (prop::collection::vec((1i32..3, -1i32..2), 0..3), prop::collection::vec(prop::option::of(0i64..3), 0..9)),
            b in (prop::collection::vec((1i32..3, -1i32..2), 0..3), prop::collection::vec(prop::option::of(0i64..3), 0..9)),
        ) {
            let (ka, kb) = (
                array_key(a.0.clone(), a.1.iter().map(|e| e.map(Element::Integer)).collect()),
                array_key(b.0.clone(), b.1.iter().map(|e| e.map(Element::Integer)).collect()),
            );
            prop_assert_eq!(ka == kb, a == b);
        }
    }

    #[test]
    fn canonical_jsonb_shortens_numbers_only() {
        let canonical = |text: &str| String::from_utf8(canonical_jsonb(text)).unwrap();
        assert_eq!(
            canonical(r#"{"a": 1.50, "b": "1.50", "c": [100, 100.0, 0.0, 0.001, -1.10]}"#),
            r#"{"a": 1.5, "b": "1.50", "c": [100, 100, 0, 0.001, -1.1]}"#
        );
        // Escaped quotes and backslashes never end a string early.
        assert_eq!(
            canonical(r#"["a\"1.0", "\\", 2.0, "\\\"3.0"]"#),
            r#"["a\"1.0", "\\", 2, "\\\"3.0"]"#
        );
        assert_eq!(canonical("-0.0"), "0");
        assert_eq!(canonical("10"), "10");
        assert_eq!(canonical(r#"{"é 2.0": 2.0}"#), r#"{"é 2.0": 2}"#);
        assert_eq!(canonical(""), "");
    }

    proptest! {
        /// Two numbers get the same canonical text exactly when they are equal as numerics:
        /// the zeros ending a fraction make no difference, any other digit does.
        #[test]
        fn canonical_jsonb_numbers_equal_as_numerics(
            a in (any::<bool>(), 0u32..1000, "[0-9]{0,4}", 0usize..4),
            b in (any::<bool>(), 0u32..1000, "[0-9]{0,4}", 0usize..4),
        ) {
            let (ta, tb) = (numeric_text(a.0, a.1, &a.2, a.3), numeric_text(b.0, b.1, &b.2, b.3));
            let value = |t: &str| {
                let v: f64 = t.parse().unwrap();
                // Exact here: at most 3 integer and 4 fraction digits.
                (v * 10_000.0).round() as i64
            };
            let (ca, cb) = (canonical_jsonb(&format!("[{ta}]")), canonical_jsonb(&format!("[{tb}]")));
            prop_assert_eq!(ca == cb, value(&ta) == value(&tb), "{} {}", ta, tb);
        }

        /// Float keys order and equate as Postgres orders and equates floats, and read back
        /// as the same float (-0 as 0, any NaN as NaN).
        #[test]
        fn float_keys_keep_postgres_order(a in any_float(), b in any_float()) {
            let (ka, kb) = (float_key(a), float_key(b));
            prop_assert_eq!(ka.cmp(&kb), postgres_float_order(a, b));
            let back = float_of_key(ka);
            prop_assert!(back == a || (back.is_nan() && a.is_nan()));
        }

        /// A real's key is its double's: reals order and equate as their keys do, and read
        /// back as the same real.
        #[test]
        fn real_keys_keep_postgres_order(
            a in any::<u32>().prop_map(f32::from_bits),
            b in any::<u32>().prop_map(f32::from_bits),
        ) {
            let (ka, kb) = (float_key(f64::from(a)), float_key(f64::from(b)));
            prop_assert_eq!(ka.cmp(&kb), postgres_float_order(f64::from(a), f64::from(b)));
            let back = float_of_key(ka) as f32;
            prop_assert!(back == a || (back.is_nan() && a.is_nan()));
        }
    }

    proptest! {
        /// Kept texts order and equate as their bytes do, and read back as themselves.
        #[test]
        fn kept_texts_keep_byte_order(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            let (ea, eb) = (encode_text(a.as_bytes()), encode_text(b.as_bytes()));
            prop_assert_eq!(numeric_order(&ea, &eb), a.as_bytes().cmp(b.as_bytes()));
            prop_assert_eq!(decode_text(&ea), Some(a.as_bytes().to_vec()));
            // Numeric's text may drop the trailing zeros of the last group.
            let trimmed = ea.trim_end_matches('0').trim_end_matches('.');
            let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
            prop_assert_eq!(decode_text(trimmed), Some(a.as_bytes().to_vec()));
        }

        /// Kept byteas (zero bytes among them) order and equate as bytea does (bytes, then
        /// length), and read back as themselves, their trailing zeros trimmed or not.
        #[test]
        fn kept_byteas_keep_bytea_order(
            a in proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), any::<u8>()], 0..40),
            b in proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), any::<u8>()], 0..40),
        ) {
            let (ea, eb) = (encode_bytea(&a), encode_bytea(&b));
            prop_assert_eq!(numeric_order(&ea, &eb), a.cmp(&b));
            prop_assert_eq!(decode_bytea(&ea), Some(a.clone()));
            let trimmed = ea.trim_end_matches('0').trim_end_matches('.');
            let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
            prop_assert_eq!(decode_bytea(trimmed), Some(a));
        }

        /// Spans order as Postgres orders intervals, and a span's justified interval has it.
        #[test]
        fn spans_round_trip(months in any::<i32>(), days in any::<i32>(), micros in any::<i64>()) {
            let span = interval_span(months, days, micros);
            let (m, d, u) = interval_of_span(span).expect("every interval's span has a form");
            prop_assert_eq!(interval_span(m, d, u), span);
            // Justified (one sign) unless the months are at their limit.
            if m != i32::MAX && m != i32::MIN {
                prop_assert!(m.signum() * d.signum() >= 0 && i64::from(d.signum()) * u.signum() >= 0);
            }
        }
    }

    #[test]
    fn long_texts_are_digests_apart_from_kept_ones() {
        let long = "x".repeat(TEXT_KEPT_BYTES + 1);
        let encoded = encode_text(long.as_bytes());
        assert!(encoded.starts_with("1."));
        assert_eq!(encoded.len(), 2 + 3 * 64);
        assert_eq!(decode_text(&encoded), None);
        assert_ne!(
            encoded,
            encode_text("x".repeat(TEXT_KEPT_BYTES + 2).as_bytes())
        );
        assert!(encode_text("x".repeat(TEXT_KEPT_BYTES).as_bytes()).starts_with("0."));
        assert_eq!(encode_text(b""), "0");
    }

    #[test]
    fn multirange_keys_tell_range_lists_apart() {
        use crate::ffi::ranges::{Bound, RangeParts};
        let range = |lower: i64, upper: i64| {
            RangeParts::Bounds(
                Bound::Value {
                    inclusive: true,
                    value: Element::Integer(lower),
                },
                Bound::Value {
                    inclusive: false,
                    value: Element::Integer(upper),
                },
            )
        };
        let keys = [
            multirange_key(&[]),
            multirange_key(&[range(1, 2)]),
            multirange_key(&[range(1, 2), range(3, 4)]),
            multirange_key(&[range(1, 23), range(4, 5)]),
            multirange_key(&[range(1, 2), range(34, 5)]),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            multirange_key(&[range(1, 2)]),
            multirange_key(&[range(1, 2)])
        );
    }

    #[test]
    fn zero_bytes_are_kept_apart() {
        let kept: Vec<String> = [&b""[..], b"\0", b"\0\0", b"A", b"A\0"]
            .iter()
            .map(|bytes| encode_bytea(bytes))
            .collect();
        for (i, a) in kept.iter().enumerate() {
            for b in &kept[i + 1..] {
                assert_eq!(numeric_order(a, b), std::cmp::Ordering::Less, "{a} < {b}");
            }
        }
        let long = vec![0u8; TEXT_KEPT_BYTES + 1];
        assert!(encode_bytea(&long).starts_with("1."));
        assert_eq!(decode_bytea(&encode_bytea(&long)), None);
    }

    #[test]
    fn extreme_intervals_read_back_as_themselves() {
        for (m, d, u) in [
            (i32::MAX, i32::MAX, i64::MAX),
            (i32::MIN, i32::MIN, i64::MIN),
        ] {
            assert_eq!(interval_of_span(interval_span(m, d, u)), Some((m, d, u)));
        }
    }

    #[test]
    fn the_error_names_the_limit() {
        let error = TallyError::TooLongToOrder {
            metric: "m".into(),
            kind: OrderedKind::Text,
            size: TEXT_KEPT_BYTES + 1,
        };
        let report = pgrx::pg_sys::panic::ErrorReport::from(error);
        assert!(report
            .detail()
            .is_some_and(|d| d.contains(&format!(" {TEXT_KEPT_BYTES} bytes"))));
    }

    #[test]
    fn names_read_back() {
        for (value_type, name) in NAMED {
            assert_eq!(value_type.as_str(), name);
            assert_eq!(ValueType::parse(name).ok(), Some(value_type));
        }
    }
}
