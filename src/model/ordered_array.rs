//! The keys of arrays whose min and max are kept (0.18.0): one run of bytes per array,
//! ordered exactly as Postgres' `array_cmp` orders arrays of its element type, kept as a
//! bytea of a min or max is (`value_type::encode_bytea`, refused past `TEXT_KEPT_BYTES`), so
//! the fold and `tally._extreme` take them as every other ordered encoding. A figure is
//! decoded back into the array's text when read (`array_text`), in a form its type's input
//! reads back under any setting.
//!
//! `array_cmp` compares the elements in storage order, whatever the dimensions (a NULL
//! element above every value, two NULLs equal); when one array's elements are all the
//! other's first ones, the one with fewer elements is smaller; then the one with fewer
//! dimensions, then by the dimensions' lengths, then by their lower bounds. The key:
//!
//! | part | bytes |
//! |---|---|
//! | each element | `VALUE` and the element's key, or `NULL` |
//! | end | `END`, below both (a prefix is smaller) |
//! | shape | the number of dimensions, each length (u32), each lower bound (i32 flipped) |
//!
//! An element's key orders as its type does and ends itself: a fixed width for numbers,
//! dates, times, uuids and booleans; a numeric's `ordered_key::numeric_bytes`; a text's
//! bytes (never 0) and a 0 (text in a collation whose order is byte order only); a bytea's
//! bytes with each 0 written 0 255, then 0 0; 0.19.0: a bit string's text of 0s and 1s and
//! a 0 (whose order is `bitcmp`'s: a prefix first, then by the first bit that differs); an
//! inet's or cidr's `network_key::network_key` (with its output text), a macaddr's or
//! macaddr8's `network_key::mac_key` (its bytes); 0.21.0: an oid's (a reg* value's), xid8's,
//! pg_lsn's, "char"'s or tid's `system_key` as 8 bytes, a name's bytes as a text's.

use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::error::{OrderedKind, Result, TallyError};
use crate::ffi::arrays::{ArrayPart, Element};

/// The element types of the arrays whose min and max are kept (0.18.0): those whose
/// elements `ffi::arrays` reads (0.19.0: those read by their text too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementOf {
    Int2,
    Int4,
    Int8,
    Numeric,
    Text,
    Varchar,
    Uuid,
    Boolean,
    Float4,
    Float8,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Timetz,
    Interval,
    Money,
    Bytea,
    /// inet, cidr, macaddr, macaddr8 (0.19.0): read by their output text (`ffi::arrays`),
    /// which `network_key` and `mac_key` turn into their type's order.
    Inet,
    Cidr,
    Macaddr,
    Macaddr8,
    /// bit and varbit (0.19.0): by their text of 0s and 1s; the figures of an array of either
    /// are varbit[], as a bit string's figures are varbit (a bare `bit` is bit(1): the typed
    /// reads' explicit cast to `bit[]` would cut every element to its first bit).
    Varbit,
    /// Postgres' own types (0.21.0), each by its `system_key`: oid (the reg* types too, whose
    /// arrays' figures are oid[], as a reg* value's figure is an oid), xid8, pg_lsn, "char",
    /// tid; name as a text is (in its array's collation, C unless declared otherwise).
    Oid,
    Xid8,
    PgLsn,
    Char,
    Tid,
    Name,
}

/// Each element type with its oid, its array type's oid, the name `tally._value_type`
/// records, and the array type as SQL names it.
const ELEMENTS: [(ElementOf, pg_sys::Oid, pg_sys::Oid, &str, &str); 29] = [
    (
        ElementOf::Int2,
        pg_sys::INT2OID,
        pg_sys::INT2ARRAYOID,
        "int2[]",
        "pg_catalog.int2[]",
    ),
    (
        ElementOf::Int4,
        pg_sys::INT4OID,
        pg_sys::INT4ARRAYOID,
        "int4[]",
        "pg_catalog.int4[]",
    ),
    (
        ElementOf::Int8,
        pg_sys::INT8OID,
        pg_sys::INT8ARRAYOID,
        "int8[]",
        "pg_catalog.int8[]",
    ),
    (
        ElementOf::Numeric,
        pg_sys::NUMERICOID,
        pg_sys::NUMERICARRAYOID,
        "numeric[]",
        "pg_catalog.numeric[]",
    ),
    (
        ElementOf::Text,
        pg_sys::TEXTOID,
        pg_sys::TEXTARRAYOID,
        "text[]",
        "pg_catalog.text[]",
    ),
    (
        ElementOf::Varchar,
        pg_sys::VARCHAROID,
        pg_sys::VARCHARARRAYOID,
        "varchar[]",
        "pg_catalog.varchar[]",
    ),
    (
        ElementOf::Uuid,
        pg_sys::UUIDOID,
        pg_sys::UUIDARRAYOID,
        "uuid[]",
        "pg_catalog.uuid[]",
    ),
    (
        ElementOf::Boolean,
        pg_sys::BOOLOID,
        pg_sys::BOOLARRAYOID,
        "boolean[]",
        "pg_catalog.bool[]",
    ),
    (
        ElementOf::Float4,
        pg_sys::FLOAT4OID,
        pg_sys::FLOAT4ARRAYOID,
        "float4[]",
        "pg_catalog.float4[]",
    ),
    (
        ElementOf::Float8,
        pg_sys::FLOAT8OID,
        pg_sys::FLOAT8ARRAYOID,
        "float8[]",
        "pg_catalog.float8[]",
    ),
    (
        ElementOf::Date,
        pg_sys::DATEOID,
        pg_sys::DATEARRAYOID,
        "date[]",
        "pg_catalog.date[]",
    ),
    (
        ElementOf::Timestamp,
        pg_sys::TIMESTAMPOID,
        pg_sys::TIMESTAMPARRAYOID,
        "timestamp[]",
        "pg_catalog.timestamp[]",
    ),
    (
        ElementOf::Timestamptz,
        pg_sys::TIMESTAMPTZOID,
        pg_sys::TIMESTAMPTZARRAYOID,
        "timestamptz[]",
        "pg_catalog.timestamptz[]",
    ),
    (
        ElementOf::Time,
        pg_sys::TIMEOID,
        pg_sys::TIMEARRAYOID,
        "time[]",
        "pg_catalog.time[]",
    ),
    (
        ElementOf::Timetz,
        pg_sys::TIMETZOID,
        pg_sys::TIMETZARRAYOID,
        "timetz[]",
        "pg_catalog.timetz[]",
    ),
    (
        ElementOf::Interval,
        pg_sys::INTERVALOID,
        pg_sys::INTERVALARRAYOID,
        "interval[]",
        "pg_catalog.interval[]",
    ),
    (
        ElementOf::Money,
        pg_sys::MONEYOID,
        pg_sys::MONEYARRAYOID,
        "money[]",
        "pg_catalog.money[]",
    ),
    (
        ElementOf::Bytea,
        pg_sys::BYTEAOID,
        pg_sys::BYTEAARRAYOID,
        "bytea[]",
        "pg_catalog.bytea[]",
    ),
    (
        ElementOf::Inet,
        pg_sys::INETOID,
        pg_sys::INETARRAYOID,
        "inet[]",
        "pg_catalog.inet[]",
    ),
    (
        ElementOf::Cidr,
        pg_sys::CIDROID,
        pg_sys::CIDRARRAYOID,
        "cidr[]",
        "pg_catalog.cidr[]",
    ),
    (
        ElementOf::Macaddr,
        pg_sys::MACADDROID,
        pg_sys::MACADDRARRAYOID,
        "macaddr[]",
        "pg_catalog.macaddr[]",
    ),
    (
        ElementOf::Macaddr8,
        pg_sys::MACADDR8OID,
        pg_sys::MACADDR8ARRAYOID,
        "macaddr8[]",
        "pg_catalog.macaddr8[]",
    ),
    (
        ElementOf::Varbit,
        pg_sys::VARBITOID,
        pg_sys::VARBITARRAYOID,
        "varbit[]",
        "pg_catalog.varbit[]",
    ),
    (
        ElementOf::Oid,
        pg_sys::OIDOID,
        pg_sys::OIDARRAYOID,
        "oid[]",
        "pg_catalog.oid[]",
    ),
    (
        ElementOf::Xid8,
        pg_sys::XID8OID,
        pg_sys::XID8ARRAYOID,
        "xid8[]",
        "pg_catalog.xid8[]",
    ),
    (
        ElementOf::PgLsn,
        pg_sys::PG_LSNOID,
        pg_sys::PG_LSNARRAYOID,
        "pg_lsn[]",
        "pg_catalog.pg_lsn[]",
    ),
    (
        ElementOf::Char,
        pg_sys::CHAROID,
        pg_sys::CHARARRAYOID,
        "\"char\"[]",
        "pg_catalog.\"char\"[]",
    ),
    (
        ElementOf::Tid,
        pg_sys::TIDOID,
        pg_sys::TIDARRAYOID,
        "tid[]",
        "pg_catalog.tid[]",
    ),
    (
        ElementOf::Name,
        pg_sys::NAMEOID,
        pg_sys::NAMEARRAYOID,
        "name[]",
        "pg_catalog.name[]",
    ),
];

impl ElementOf {
    fn entry(
        self,
    ) -> &'static (
        ElementOf,
        pg_sys::Oid,
        pg_sys::Oid,
        &'static str,
        &'static str,
    ) {
        ELEMENTS
            .iter()
            .find(|entry| entry.0 == self)
            .expect("every element type has an entry")
    }

    /// The element type of base type `element` (a domain's base already looked up), None
    /// for the others.
    pub fn of_element_type(element: pg_sys::Oid) -> Option<Self> {
        let element = match element {
            pg_sys::BITOID => pg_sys::VARBITOID,
            reg if crate::ffi::REG_TYPES.contains(&reg) => pg_sys::OIDOID,
            other => other,
        };
        ELEMENTS
            .iter()
            .find(|entry| entry.1 == element)
            .map(|entry| entry.0)
    }

    /// The one named `name` in `tally._value_type`.
    pub fn parse(name: &str) -> Option<Self> {
        ELEMENTS
            .iter()
            .find(|entry| entry.3 == name)
            .map(|entry| entry.0)
    }

    /// The name `tally._value_type` records: `int4[]`.
    pub fn name(self) -> &'static str {
        self.entry().3
    }

    /// The array type, schema-qualified: `pg_catalog.int4[]`.
    pub fn sql_type(self) -> &'static str {
        self.entry().4
    }

    pub fn array_type_oid(self) -> pg_sys::Oid {
        self.entry().2
    }

    /// The oldest catalog version whose `tally._value_type` takes its array type's name:
    /// 0.18.0, 0.19.0 for network addresses and bit strings, 0.20.0 for Postgres' own types
    /// (whose arrays came with the 0.21.0 library, which reads them on a 0.20.0 catalog: it
    /// added no SQL for them).
    pub fn since(self) -> crate::sql::CatalogVersion {
        match self {
            Self::Inet | Self::Cidr | Self::Macaddr | Self::Macaddr8 | Self::Varbit => {
                crate::sql::CatalogVersion::V0_19
            }
            Self::Oid | Self::Xid8 | Self::PgLsn | Self::Char | Self::Tid | Self::Name => {
                crate::sql::CatalogVersion::V0_20
            }
            _ => crate::sql::CatalogVersion::V0_18,
        }
    }

    /// Whether its elements are texts, whose order is their collation's.
    pub fn is_text(self) -> bool {
        matches!(self, Self::Text | Self::Varchar | Self::Name)
    }
}

const END: u8 = 0;
const VALUE: u8 = 1;
const NULL: u8 = 2;

/// The key of an array of `element`s as it is read (`ffi::arrays::read`): its parts in,
/// then `finish`.
struct ArrayKey {
    element: ElementOf,
    bytes: Vec<u8>,
    dimensions: Vec<(i32, i32)>,
    /// A time with time zone whose zone no figure could carry (`ordered_key::ZONE_LIMIT`).
    zone_out_of_range: Option<i32>,
    /// An element whose text is not its type's (`ffi::arrays` reads network addresses by
    /// their output text, which always parses).
    unreadable: Option<String>,
}

impl ArrayKey {
    fn of(element: ElementOf) -> Self {
        Self {
            element,
            bytes: Vec::new(),
            dimensions: Vec::new(),
            zone_out_of_range: None,
            unreadable: None,
        }
    }

    fn add(&mut self, part: ArrayPart<'_>) {
        match part {
            ArrayPart::Dimensions(dimensions) => self.dimensions = dimensions.to_vec(),
            ArrayPart::Element(None) => self.bytes.push(NULL),
            ArrayPart::Element(Some(element)) => {
                self.bytes.push(VALUE);
                if let Element::Zoned { zone, .. } = element {
                    if zone.unsigned_abs() > super::ordered_key::ZONE_LIMIT.unsigned_abs() {
                        self.zone_out_of_range.get_or_insert(zone);
                    }
                }
                if element_key(self.element, &element, &mut self.bytes).is_none() {
                    self.unreadable.get_or_insert(format!("{element:?}"));
                }
            }
        }
    }

    fn finish(mut self) -> (Vec<u8>, Option<i32>) {
        self.bytes.push(END);
        let dimensions = u8::try_from(self.dimensions.len()).unwrap_or(u8::MAX);
        self.bytes.push(dimensions);
        for (length, _) in &self.dimensions {
            self.bytes.extend(length.to_be_bytes());
        }
        for (_, lower_bound) in &self.dimensions {
            self.bytes.extend(flipped_i32(*lower_bound));
        }
        (self.bytes, self.zone_out_of_range)
    }
}

/// A signed integer's bytes in its order as unsigned bytes (the sign bit flipped).
fn flipped_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

fn flipped_i32(value: i32) -> [u8; 4] {
    ((value as u32) ^ (1 << 31)).to_be_bytes()
}

fn flipped_i128(value: i128) -> [u8; 16] {
    ((value as u128) ^ (1 << 127)).to_be_bytes()
}

/// The key of an element of type `of` (the module's docs), written to `out`; None for a
/// network address whose text is not one.
fn element_key(of: ElementOf, element: &Element, out: &mut Vec<u8>) -> Option<()> {
    match (of, element) {
        (ElementOf::Inet | ElementOf::Cidr, Element::Text(text)) => {
            return super::network_key::network_key(text, out)
        }
        (ElementOf::Macaddr | ElementOf::Macaddr8, Element::Text(text)) => {
            return super::network_key::mac_key(text, out)
        }
        _ => {}
    }
    match element {
        Element::Integer(value) | Element::Micros(value) => out.extend(flipped_i64(*value)),
        Element::Days(days) => out.extend(flipped_i64(i64::from(*days))),
        Element::Numeric(text) => {
            if super::ordered_key::numeric_bytes(text, out).is_none() {
                // numeric_out writes no other text; ZERO keeps the key well formed.
                out.push(3);
            }
        }
        Element::Text(text) => {
            out.extend_from_slice(text.as_bytes());
            out.push(0);
        }
        Element::Uuid(bytes) => out.extend_from_slice(bytes),
        Element::Boolean(value) => out.push(u8::from(*value)),
        Element::Float(value) => out.extend(super::value_type::float_key(*value).to_be_bytes()),
        Element::Interval {
            months,
            days,
            micros,
        } => out.extend(flipped_i128(super::value_type::interval_span(
            *months, *days, *micros,
        ))),
        Element::Zoned { micros, zone } => {
            out.extend(flipped_i128(super::ordered_key::timetz_key(*micros, *zone)))
        }
        Element::Bytes(bytes) => {
            for &byte in bytes {
                out.push(byte);
                if byte == 0 {
                    out.push(u8::MAX);
                }
            }
            out.extend([0, 0]);
        }
        Element::Unsigned(value) => out.extend(value.to_be_bytes()),
        Element::Tid { block, offset } => {
            out.extend(super::system_key::tid_key(*block, *offset).to_be_bytes())
        }
        // aclitem has no order: no array of it reaches a min or max.
        Element::Grant { .. } => return None,
    }
    Some(())
}

/// The key of an array value of min or max metric `metric` (`value`, of an array type or a
/// domain over one, whose element type, `element`, `ElementOf` has), or None for any other
/// value: its bytes kept as a bytea is. An array whose key is longer than `TEXT_KEPT_BYTES`
/// is refused in the writer's statement (a digest has no order), as is a time with time zone
/// in it whose zone no figure could carry.
pub fn array_key(
    metric: &str,
    value: &pgrx::AnyElement,
    element: pg_sys::Oid,
) -> Result<Option<AnyNumeric>> {
    let Some(of) = ElementOf::of_element_type(crate::ffi::datetime::base_type(element)) else {
        return Ok(None);
    };
    let mut key = ArrayKey::of(of);
    if !crate::ffi::arrays::read_value(value, |part| key.add(part)) {
        return Ok(None);
    }
    if let Some(element) = key.unreadable.take() {
        return Err(TallyError::Internal(format!(
            "an array element read as {element}"
        )));
    }
    let (bytes, zone_out_of_range) = key.finish();
    if let Some(zone) = zone_out_of_range {
        return Err(TallyError::ZoneOutOfRange {
            metric: metric.to_string(),
            zone: super::ordered_key::zone_text(zone),
        });
    }
    super::value_type::in_order(
        metric,
        OrderedKind::Array,
        &bytes,
        super::value_type::encode_bytea,
    )
    .map(Some)
}

/// Reads the parts of an array key back, one at a time.
struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(taken)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn i64(&mut self) -> Option<i64> {
        Some((u64::from_be_bytes(self.fixed()?) ^ (1 << 63)) as i64)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.fixed()?))
    }

    fn i128(&mut self) -> Option<i128> {
        Some((u128::from_be_bytes(self.fixed()?) ^ (1 << 127)) as i128)
    }

    /// Bytes up to the end its writer put after them: a text's 0, a bytea's 0 0.
    fn ended(&mut self, escaped: bool) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        loop {
            match self.byte()? {
                0 if !escaped => return Some(bytes),
                0 => match self.byte()? {
                    0 => return Some(bytes),
                    u8::MAX => bytes.push(0),
                    _ => return None,
                },
                byte => bytes.push(byte),
            }
        }
    }
}

/// The text of an element of type `element` that starts `reader`'s rest, in the form its
/// type's input reads back under any setting (as `value_type::figure_text` writes a figure
/// of that type: ISO 8601, a timestamptz in UTC; money by this session's `lc_monetary`, as
/// Postgres writes it).
fn element_text(element: ElementOf, reader: &mut KeyReader<'_>) -> Option<String> {
    use pgrx::datum::{Date, Time, Timestamp, TimestampWithTimeZone};
    use pgrx::IntoDatum;
    let datetime =
        |datum: Option<pg_sys::Datum>, oid| Some(crate::ffi::datetime::json_datetime(datum, oid));
    match element {
        ElementOf::Int2
        | ElementOf::Int4
        | ElementOf::Int8
        | ElementOf::Numeric
        | ElementOf::Text
        | ElementOf::Varchar
        | ElementOf::Uuid
        | ElementOf::Boolean
        | ElementOf::Bytea
        | ElementOf::Inet
        | ElementOf::Cidr
        | ElementOf::Macaddr
        | ElementOf::Macaddr8
        | ElementOf::Varbit
        | ElementOf::Oid
        | ElementOf::Xid8
        | ElementOf::PgLsn
        | ElementOf::Char
        | ElementOf::Tid
        | ElementOf::Name => plain_element_text(element, reader),
        ElementOf::Money => Some(crate::ffi::arrays::money_text(reader.i64()?)),
        ElementOf::Float4 | ElementOf::Float8 => {
            let value = super::value_type::float_of_key(u64::from_be_bytes(reader.fixed()?));
            Some(super::value_type::float_text(
                value,
                element == ElementOf::Float4,
            ))
        }
        ElementOf::Date => {
            let days = i32::try_from(reader.i64()?).ok()?;
            datetime(Date::try_from(days).ok()?.into_datum(), pg_sys::DATEOID)
        }
        ElementOf::Timestamp => {
            let value = Timestamp::try_from(reader.i64()?).ok()?;
            datetime(value.into_datum(), pg_sys::TIMESTAMPOID)
        }
        ElementOf::Timestamptz => {
            let value = TimestampWithTimeZone::try_from(reader.i64()?).ok()?;
            datetime(value.into_datum(), pg_sys::TIMESTAMPTZOID)
        }
        ElementOf::Time => {
            let value = Time::try_from(reader.i64()?).ok()?;
            datetime(value.into_datum(), pg_sys::TIMEOID)
        }
        ElementOf::Timetz => {
            let (time, zone) = super::ordered_key::timetz_of_key(reader.i128()?)?;
            Some(crate::ffi::datetime::json_timetz(time, zone))
        }
        ElementOf::Interval => {
            let (months, days, micros) = super::value_type::interval_of_span(reader.i128()?)?;
            Some(crate::ffi::datetime::iso_interval(months, days, micros))
        }
    }
}

/// `element_text` of the element types whose text needs nothing of Postgres' (integers,
/// numeric, text, uuid, boolean, bytea in hex; 0.19.0: network addresses and bit strings,
/// whose keys hold or give their output text; 0.21.0: Postgres' own types, `system_key`'s
/// texts, and name); None for the others.
fn plain_element_text(element: ElementOf, reader: &mut KeyReader<'_>) -> Option<String> {
    match element {
        ElementOf::Int2 | ElementOf::Int4 | ElementOf::Int8 => Some(reader.i64()?.to_string()),
        ElementOf::Numeric => {
            let (text, rest) = super::ordered_key::numeric_of_bytes(reader.rest)?;
            reader.rest = rest;
            Some(text)
        }
        ElementOf::Text | ElementOf::Varchar | ElementOf::Varbit | ElementOf::Name => {
            String::from_utf8(reader.ended(false)?).ok()
        }
        ElementOf::Inet | ElementOf::Cidr => {
            let (text, rest) = super::network_key::network_of_key(reader.rest)?;
            reader.rest = rest;
            Some(text)
        }
        ElementOf::Macaddr | ElementOf::Macaddr8 => {
            let width = if element == ElementOf::Macaddr { 6 } else { 8 };
            let (text, rest) = super::network_key::mac_of_key(reader.rest, width)?;
            reader.rest = rest;
            Some(text)
        }
        ElementOf::Oid => Some(u32::try_from(reader.u64()?).ok()?.to_string()),
        ElementOf::Xid8 => Some(reader.u64()?.to_string()),
        ElementOf::PgLsn => Some(super::system_key::lsn_text(reader.u64()?)),
        ElementOf::Char => Some(super::system_key::char_text(
            u8::try_from(reader.u64()?).ok()?,
        )),
        ElementOf::Tid => super::system_key::tid_text(reader.u64()?),
        ElementOf::Uuid => Some(pgrx::Uuid::from_bytes(reader.fixed()?).to_string()),
        ElementOf::Boolean => match reader.byte()? {
            0 => Some("false".to_string()),
            1 => Some("true".to_string()),
            _ => None,
        },
        ElementOf::Bytea => {
            let bytes = reader.ended(true)?;
            let mut text = String::with_capacity(2 + 2 * bytes.len());
            text.push_str("\\x");
            for byte in bytes {
                text.push_str(&format!("{byte:02x}"));
            }
            Some(text)
        }
        _ => None,
    }
}

/// An array's elements and dimensions (length, lower bound) read back from its key.
type KeptArray = (Vec<Option<String>>, Vec<(i32, i32)>);

/// The array whose key is `bytes`, each element's text read by `element_text`.
fn array_of_key(
    bytes: &[u8],
    mut element_text: impl FnMut(&mut KeyReader<'_>) -> Option<String>,
) -> Option<KeptArray> {
    let mut reader = KeyReader { rest: bytes };
    let mut elements = Vec::new();
    loop {
        match reader.byte()? {
            END => break,
            NULL => elements.push(None),
            VALUE => elements.push(Some(element_text(&mut reader)?)),
            _ => return None,
        }
    }
    let count = usize::from(reader.byte()?);
    let mut lengths = Vec::with_capacity(count);
    for _ in 0..count {
        lengths.push(i32::from_be_bytes(reader.fixed()?));
    }
    let mut dimensions = Vec::with_capacity(count);
    for length in lengths {
        let lower_bound = (u32::from_be_bytes(reader.fixed()?) ^ (1 << 31)) as i32;
        dimensions.push((length, lower_bound));
    }
    let items = dimensions.iter().try_fold(1usize, |n, (length, _)| {
        n.checked_mul(usize::try_from(*length).ok()?)
    })?;
    let items = if dimensions.is_empty() { 0 } else { items };
    (reader.rest.is_empty() && items == elements.len()).then_some((elements, dimensions))
}

/// An array's text as `array_out` writes it and `array_in` reads it back: its dimensions'
/// bounds first when a lower bound is not 1 (`[0:1]={...}`), each element as
/// `write_element` writes it, a NULL element as `NULL`.
fn write_array(elements: &[Option<String>], dimensions: &[(i32, i32)]) -> String {
    // An array without elements is `{}` whatever its dimensions, as array_out writes it
    // (0.21.0, found by a hostile probe: `''::oidvector::oid[]` has one dimension of length
    // 0 and lower bound 0, whose `[0:-1]={}` array_in refuses).
    if elements.is_empty() {
        return "{}".to_string();
    }
    let mut text = String::new();
    if dimensions.iter().any(|(_, lower_bound)| *lower_bound != 1) {
        for (length, lower_bound) in dimensions {
            let upper = i64::from(*lower_bound) + i64::from(*length) - 1;
            text.push_str(&format!("[{lower_bound}:{upper}]"));
        }
        text.push('=');
    }
    if dimensions.is_empty() {
        text.push_str("{}");
        return text;
    }
    let mut next = elements.iter();
    write_dimension(&mut text, dimensions, &mut next);
    text
}

fn write_dimension<'a>(
    text: &mut String,
    dimensions: &[(i32, i32)],
    next: &mut impl Iterator<Item = &'a Option<String>>,
) {
    let Some(((length, _), inner)) = dimensions.split_first() else {
        return;
    };
    text.push('{');
    for at in 0..*length {
        if at > 0 {
            text.push(',');
        }
        if !inner.is_empty() {
            write_dimension(text, inner, next);
            continue;
        }
        match next.next() {
            Some(Some(element)) => write_element(text, element),
            _ => text.push_str("NULL"),
        }
    }
    text.push('}');
}

/// An element as `array_out` writes it: quoted when empty, `NULL` in any case, or holding a
/// brace, a comma, a double quote, a backslash or white space, a double quote or a backslash
/// in it escaped.
fn write_element(text: &mut String, element: &str) {
    let quoted = element.is_empty()
        || element.eq_ignore_ascii_case("NULL")
        || element.chars().any(|c| {
            matches!(
                c,
                '{' | '}' | ',' | '"' | '\\' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'
            )
        });
    if !quoted {
        text.push_str(element);
        return;
    }
    text.push('"');
    for c in element.chars() {
        if c == '"' || c == '\\' {
            text.push('\\');
        }
        text.push(c);
    }
    text.push('"');
}

/// The text of the array of `element`s whose key is kept as `encoded` (`array_key`).
pub fn array_text(element: ElementOf, encoded: &str) -> Result<String> {
    let unreadable = || TallyError::Internal(format!("an array figure encoded as {encoded}"));
    let bytes = super::value_type::decode_bytea(encoded).ok_or_else(unreadable)?;
    let (elements, dimensions) =
        array_of_key(&bytes, |reader| element_text(element, reader)).ok_or_else(unreadable)?;
    Ok(write_array(&elements, &dimensions))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn key(dimensions: &[(i32, i32)], elements: &[Option<Element>]) -> Vec<u8> {
        key_of(ElementOf::Int8, dimensions, elements)
    }

    /// An array's key; `of` matters only for elements read by their text (network
    /// addresses), whose keys their type makes.
    fn key_of(of: ElementOf, dimensions: &[(i32, i32)], elements: &[Option<Element>]) -> Vec<u8> {
        let mut key = ArrayKey::of(of);
        key.add(ArrayPart::Dimensions(dimensions));
        for element in elements {
            key.add(ArrayPart::Element(element.clone()));
        }
        key.finish().0
    }

    fn ints(values: &[Option<i64>]) -> Vec<u8> {
        let elements: Vec<_> = values.iter().map(|v| v.map(Element::Integer)).collect();
        key(&[(i32::try_from(values.len()).unwrap(), 1)], &elements)
    }

    #[test]
    fn array_keys_order_as_array_cmp() {
        // Elements first (a NULL above every value), then fewer elements first, then fewer
        // dimensions, then by lengths, then by lower bounds.
        let ordered = [
            key(&[], &[]),
            ints(&[Some(i64::MIN)]),
            ints(&[Some(-1)]),
            ints(&[Some(-1), Some(5)]),
            key(&[(1, 0)], &[Some(Element::Integer(1))]),
            ints(&[Some(1)]),
            ints(&[Some(1), Some(2)]),
            key(
                &[(2, 2)],
                &[Some(Element::Integer(1)), Some(Element::Integer(2))],
            ),
            // The same four elements: one dimension before two; by lengths, then lower
            // bounds.
            key(&[(4, 0)], &[1, 2, 3, 4].map(|v| Some(Element::Integer(v)))),
            ints(&[Some(1), Some(2), Some(3), Some(4)]),
            key(
                &[(1, 1), (4, 1)],
                &[1, 2, 3, 4].map(|v| Some(Element::Integer(v))),
            ),
            key(
                &[(2, 1), (2, 1)],
                &[1, 2, 3, 4].map(|v| Some(Element::Integer(v))),
            ),
            key(
                &[(2, 1), (2, 2)],
                &[1, 2, 3, 4].map(|v| Some(Element::Integer(v))),
            ),
            ints(&[Some(1), None]),
            ints(&[Some(2)]),
            ints(&[Some(i64::MAX)]),
            ints(&[None]),
            ints(&[None, Some(1)]),
        ];
        for pair in ordered.windows(2) {
            assert!(
                pair[0] < pair[1],
                "{:?} should sort before {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn text_and_bytea_keys_order_by_bytes_and_end_themselves() {
        let texts =
            ["", "a", "ab", "b"].map(|t| key(&[(2, 1)], &[Some(Element::Text(t.into())), None]));
        for pair in texts.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        let byteas: Vec<Vec<u8>> = [
            &b""[..],
            b"\x00",
            b"\x00\x00",
            b"\x00\x01",
            b"\x01",
            b"\xff",
        ]
        .iter()
        .map(|b| {
            key(
                &[(2, 1)],
                &[Some(Element::Bytes(b.to_vec())), Some(Element::Integer(0))],
            )
        })
        .collect();
        for pair in byteas.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn array_keys_read_back() {
        // (dimensions, elements, the text they read back as)
        type Case = (&'static [(i32, i32)], Vec<Option<Element>>, &'static str);
        let cases: [Case; 7] = [
            (&[], vec![], "{}"),
            (&[(0, 0)], vec![], "{}"),
            (&[(2, 1), (0, 0)], vec![], "{}"),
            (
                &[(3, 1)],
                vec![Some(Element::Integer(-7)), None, Some(Element::Integer(9))],
                "{-7,NULL,9}",
            ),
            (
                &[(2, 0), (1, -3)],
                vec![Some(Element::Integer(1)), Some(Element::Integer(2))],
                "[0:1][-3:-3]={{1},{2}}",
            ),
            (
                &[(4, 1)],
                vec![
                    Some(Element::Text("a\"b\\c".into())),
                    Some(Element::Text(String::new())),
                    Some(Element::Text("null".into())),
                    Some(Element::Text("x y".into())),
                ],
                r#"{"a\"b\\c","","null","x y"}"#,
            ),
            (
                &[(1, 1)],
                vec![Some(Element::Numeric("-1.50".into()))],
                "{-1.5}",
            ),
        ];
        for (dimensions, elements, text) in cases {
            let bytes = key(dimensions, &elements);
            let element = match elements.iter().flatten().next() {
                Some(Element::Text(_)) => ElementOf::Text,
                Some(Element::Numeric(_)) => ElementOf::Numeric,
                _ => ElementOf::Int8,
            };
            let (read, dims) = array_of_key(&bytes, |reader| plain_element_text(element, reader))
                .expect("a key reads back");
            assert_eq!(write_array(&read, &dims), text);
        }
        let bytea = key(&[(1, 1)], &[Some(Element::Bytes(vec![0, 255, 0]))]);
        let (read, _) = array_of_key(&bytea, |reader| {
            plain_element_text(ElementOf::Bytea, reader)
        })
        .unwrap();
        assert_eq!(read, vec![Some("\\x00ff00".to_string())]);
        // A key cut short, or with bytes left over, reads as nothing.
        let whole = ints(&[Some(1), Some(2)]);
        let int = |reader: &mut KeyReader<'_>| plain_element_text(ElementOf::Int4, reader);
        assert!(array_of_key(&whole[..whole.len() - 1], int).is_none());
        let mut longer = whole.clone();
        longer.push(0);
        assert!(array_of_key(&longer, int).is_none());
    }

    #[test]
    fn arrays_of_system_types_order_unsigned_and_read_back() {
        let unsigned = |of: ElementOf, values: &[Option<u64>]| {
            let elements: Vec<_> = values.iter().map(|v| v.map(Element::Unsigned)).collect();
            key_of(of, &[(i32::try_from(values.len()).unwrap(), 1)], &elements)
        };
        // Unsigned: an oid past 2^31 above a small one; a NULL element above both.
        let ordered = [
            unsigned(ElementOf::Oid, &[Some(1)]),
            unsigned(ElementOf::Oid, &[Some(1), Some(0)]),
            unsigned(ElementOf::Oid, &[Some(u64::from(u32::MAX))]),
            unsigned(ElementOf::Oid, &[None]),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        let tid = |block, offset| {
            key_of(
                ElementOf::Tid,
                &[(1, 1)],
                &[Some(Element::Tid { block, offset })],
            )
        };
        // tidcmp: by block, then offset.
        assert!(tid(0, u16::MAX) < tid(1, 0));
        assert!(tid(u32::MAX, 0) < tid(u32::MAX, 1));
        let cases = [
            (
                unsigned(ElementOf::Oid, &[Some(u64::from(u32::MAX)), None]),
                ElementOf::Oid,
                "{4294967295,NULL}",
            ),
            (
                unsigned(ElementOf::Xid8, &[Some(u64::MAX)]),
                ElementOf::Xid8,
                "{18446744073709551615}",
            ),
            (
                unsigned(ElementOf::PgLsn, &[Some(0x16_B374_D848)]),
                ElementOf::PgLsn,
                "{16/B374D848}",
            ),
            (
                unsigned(
                    ElementOf::Char,
                    &[Some(0), Some(255), Some(u64::from(b'\\'))],
                ),
                ElementOf::Char,
                r#"{"","\\377","\\"}"#,
            ),
            (
                tid(u32::MAX, u16::MAX),
                ElementOf::Tid,
                r#"{"(4294967295,65535)"}"#,
            ),
        ];
        for (bytes, of, text) in cases {
            let (read, dims) = array_of_key(&bytes, |reader| plain_element_text(of, reader))
                .expect("a key reads back");
            assert_eq!(write_array(&read, &dims), text);
        }
        // A "char" key past one byte or an oid key past 32 bits is no figure.
        let too_wide = unsigned(ElementOf::Char, &[Some(256)]);
        assert!(array_of_key(&too_wide, |reader| plain_element_text(
            ElementOf::Char,
            reader
        ))
        .is_none());
        let too_wide = unsigned(ElementOf::Oid, &[Some(1 << 32)]);
        assert!(array_of_key(&too_wide, |reader| plain_element_text(
            ElementOf::Oid,
            reader
        ))
        .is_none());
    }

    #[test]
    fn arrays_of_addresses_and_bit_strings_order_by_their_type_and_read_back() {
        let texts = |of: ElementOf, values: &[&str]| {
            let elements: Vec<_> = values
                .iter()
                .map(|v| Some(Element::Text(v.to_string())))
                .collect();
            let length = i32::try_from(values.len()).unwrap();
            key_of(of, &[(length, 1)], &elements)
        };
        // network_cmp's order, not the texts': 10.0.0.9 below 10.0.0.10, a wider mask first.
        let ordered = [
            texts(ElementOf::Inet, &["10.0.0.9"]),
            texts(ElementOf::Inet, &["10.0.0.10"]),
            texts(ElementOf::Inet, &["10.0.0.10", "::1"]),
            texts(ElementOf::Inet, &["::1"]),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        assert!(texts(ElementOf::Cidr, &["10.0.0.0/8"]) < texts(ElementOf::Cidr, &["10.0.0.0/16"]));
        // A bit string's 0s and 1s: a prefix below, as bitcmp has it.
        assert!(texts(ElementOf::Varbit, &["1", "0"]) < texts(ElementOf::Varbit, &["10"]));
        assert!(texts(ElementOf::Varbit, &["01"]) < texts(ElementOf::Varbit, &["1"]));
        let cases = [
            (
                ElementOf::Inet,
                vec!["10.0.0.1/8", "::ffff:1.2.3.4"],
                "{10.0.0.1/8,::ffff:1.2.3.4}",
            ),
            (ElementOf::Cidr, vec!["10.0.0.0/8"], "{10.0.0.0/8}"),
            (
                ElementOf::Macaddr,
                vec!["08:00:2b:01:02:03"],
                "{08:00:2b:01:02:03}",
            ),
            (
                ElementOf::Macaddr8,
                vec!["08:00:2b:ff:fe:01:02:03"],
                "{08:00:2b:ff:fe:01:02:03}",
            ),
            (ElementOf::Varbit, vec!["", "101"], r#"{"",101}"#),
        ];
        for (of, values, text) in cases {
            let bytes = texts(of, &values);
            let (read, dims) = array_of_key(&bytes, |reader| plain_element_text(of, reader))
                .expect("a key reads back");
            assert_eq!(write_array(&read, &dims), text);
        }
    }
}
