//! A metric definition as stored in `tally._metric`, loaded once and turned into SQL by
//! `sql` (this folder's: a metric's expressions and counter queries, built with the SQL
//! builder's types). Enums here are the closed vocabularies of the public API. `installed`
//! says which catalog version this database has. SQL: sql/bootstrap.sql (`_metric`).

pub mod builtin;
pub mod group_key;
pub mod installed;
pub mod network_key;
pub mod ordered_array;
pub mod ordered_key;
mod sql;
pub mod system_key;
pub mod value_type;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde::Serialize;

use crate::error::{Result, TallyError};
use crate::sql::{Expression, Relation};
pub use value_type::{ValueKind, ValueType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    CountDistinct,
}

impl Aggregate {
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "count" => Ok(Self::Count),
            "sum" => Ok(Self::Sum),
            "avg" => Ok(Self::Avg),
            "min" => Ok(Self::Min),
            "max" => Ok(Self::Max),
            "count_distinct" => Ok(Self::CountDistinct),
            _ => Err(TallyError::UnknownAggregate(text.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::CountDistinct => "count_distinct",
        }
    }

    /// sum and avg fold a column's values; count only counts.
    pub fn sums_values(self) -> bool {
        matches!(self, Self::Sum | Self::Avg)
    }

    /// min, max and count_distinct keep a count per distinct value of the column (a
    /// multiset), which is what keeps them exact when the current extreme is deleted.
    pub fn tracks_values(self) -> bool {
        matches!(self, Self::Min | Self::Max | Self::CountDistinct)
    }

    /// Every aggregate but count needs a column.
    pub fn needs_column(self) -> bool {
        self != Self::Count
    }
}

/// A metric's time bucket: a calendar unit, or (0.11.0) a fixed width that divides an hour
/// or a day. Stored and shown by its canonical name (`as_str`): `day`, `15 minutes`, `6 hours`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    /// N minutes (N divides 60), counted from the start of the local hour: real time, as
    /// `hour` buckets are (the two passes of a repeated hour at a DST change stay apart).
    Minutes(u8),
    /// N hours (N divides 24, 2 to 12), counted on the local clock from local midnight,
    /// as `day` buckets are (a bucket holding a DST change is an hour shorter or longer).
    Hours(u8),
}

/// The widths a `Minutes` bucket may have, with their names.
const MINUTE_WIDTHS: [(u8, &str); 11] = [
    (1, "1 minute"),
    (2, "2 minutes"),
    (3, "3 minutes"),
    (4, "4 minutes"),
    (5, "5 minutes"),
    (6, "6 minutes"),
    (10, "10 minutes"),
    (12, "12 minutes"),
    (15, "15 minutes"),
    (20, "20 minutes"),
    (30, "30 minutes"),
];
/// The widths an `Hours` bucket may have, with their names.
const HOUR_WIDTHS: [(u8, &str); 6] = [
    (2, "2 hours"),
    (3, "3 hours"),
    (4, "4 hours"),
    (6, "6 hours"),
    (8, "8 hours"),
    (12, "12 hours"),
];

impl Bucket {
    pub fn parse(text: &str) -> Result<Self> {
        let spelled = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        let unit = match spelled.as_str() {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "quarter" => Some(Self::Quarter),
            "year" => Some(Self::Year),
            _ => None,
        };
        unit.or_else(|| Self::parse_width(&spelled))
            .ok_or_else(|| TallyError::UnknownBucket(text.to_string()))
    }

    /// `N minute(s)` or `N hour(s)` with a width of `MINUTE_WIDTHS` or `HOUR_WIDTHS`.
    fn parse_width(spelled: &str) -> Option<Self> {
        let (count, unit) = spelled.split_once(' ')?;
        if !count.bytes().all(|b| b.is_ascii_digit()) || count.len() > 2 {
            return None;
        }
        let count: u8 = count.parse().ok()?;
        match unit {
            "minute" | "minutes" => MINUTE_WIDTHS
                .iter()
                .any(|(width, _)| *width == count)
                .then_some(Self::Minutes(count)),
            "hour" | "hours" => HOUR_WIDTHS
                .iter()
                .any(|(width, _)| *width == count)
                .then_some(Self::Hours(count)),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        let named = |widths: &[(u8, &'static str)], count: u8| {
            widths
                .iter()
                .find(|(width, _)| *width == count)
                .map_or("?", |(_, name)| *name)
        };
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
            Self::Minutes(count) => named(&MINUTE_WIDTHS, count),
            Self::Hours(count) => named(&HOUR_WIDTHS, count),
        }
    }
}

impl Serialize for Bucket {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What an aggregate reads from each row: a column, or (0.11.0) one expression over the
/// row's columns, stored as Postgres' canonical text of it in `tally._value_expression`
/// and validated as a filter is. Serialized as `column_name`, as the caller passed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Column(String),
    Expression(Expression),
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Value::Column(name) => serializer.serialize_str(name),
            Value::Expression(expression) => expression.serialize(serializer),
        }
    }
}

fn serialize_group_by<S: serde::Serializer>(
    columns: &[String],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match columns {
        [] => serializer.serialize_none(),
        [column] => serializer.serialize_str(column),
        columns => columns.serialize(serializer),
    }
}

/// One stored metric. Serialized as the definition `create_metric` returns.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    #[serde(skip)]
    pub id: i32,
    pub name: String,
    /// The source as `schema.table`, quoted where needed.
    pub source: Relation,
    #[serde(skip)]
    pub source_oid: pg_sys::Oid,
    pub aggregate: Aggregate,
    #[serde(rename = "column_name")]
    pub value: Option<Value>,
    pub filter: Option<Expression>,
    /// The group columns: none, one (a key is its text form), or several (0.11.0: a key is
    /// the JSON array of their text forms). Serialized as null, a name, or an array.
    #[serde(serialize_with = "serialize_group_by")]
    pub group_by: Vec<String>,
    /// The group columns keyed by `tally._group_text` (0.16.0: enums, dates, timestamps,
    /// numerics without a scale, floats, jsonb; `group_key`), as their table has them now.
    #[serde(skip)]
    pub group_text_columns: Vec<String>,
    pub bucket: Option<Bucket>,
    pub bucket_column: Option<String>,
    pub time_zone: String,
    /// Whether the bucket column is timestamptz (else timestamp or date, read as local time).
    #[serde(skip)]
    pub bucket_column_is_tz: bool,
    /// The owner of the source table, as whom the metric's expressions are evaluated.
    #[serde(skip)]
    pub owner: pg_sys::Oid,
    /// Why the metric stopped folding (`tally._broken`, 0.9.0), until `refresh`.
    #[serde(skip)]
    pub broken: Option<String>,
    /// Whether the catalog has `tally._refuse_value` (0.9.0), which the change queries call
    /// for a value no fold could take. False between installing this library and `ALTER
    /// EXTENSION pg_tally UPDATE`, where writes keep counting as before.
    #[serde(skip)]
    pub refuses_unfoldable: bool,
    /// The type of the values a min, max, count_distinct, sum or avg metric reads (0.12.0,
    /// `tally._value_type`; numeric for every other metric), which its change queries encode
    /// (`value_type`) and its figures are read as.
    #[serde(skip)]
    pub value_kind: ValueKind,
}

/// Columns selected by every metric-loading query, in `Metric::from_row` order.
impl Metric {
    fn from_row(row: &pgrx::spi::SpiHeapTupleData<'_>) -> Result<Self> {
        let text = |i: usize| -> Result<Option<String>> { Ok(row.get::<String>(i)?) };
        let required = |i: usize, what: &str| -> Result<String> {
            text(i)?.ok_or_else(|| TallyError::Internal(format!("catalog column {what} is null")))
        };
        let aggregate = Aggregate::parse(&required(5, "aggregate")?)?;
        let bucket = text(9)?.map(|b| Bucket::parse(&b)).transpose()?;
        let source_oid = row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid);
        let group_by = match row.get::<Vec<String>>(17)? {
            Some(columns) => columns,
            None => text(8)?.into_iter().collect(),
        };
        // Only a 0.16.0 catalog has `tally._group_text` (its metrics were recomputed to its
        // keys by the update).
        let group_text_columns = if installed::catalog_has(crate::sql::CatalogVersion::V0_16) {
            group_by
                .iter()
                .filter(|column| {
                    let (base, typmod) = crate::ffi::datetime::column_base_type(source_oid, column);
                    group_key::keyed_by_group_text(base, typmod)
                })
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        Ok(Metric {
            id: row.get::<i32>(1)?.unwrap_or_default(),
            name: required(2, "name")?,
            source: Relation::from_catalog(required(3, "source")?),
            source_oid,
            aggregate,
            value: match text(16)? {
                Some(expression) => Some(Value::Expression(Expression::stored(expression))),
                None => text(6)?.map(Value::Column),
            },
            filter: text(7)?.map(Expression::stored),
            group_by,
            group_text_columns,
            bucket,
            bucket_column: text(10)?,
            time_zone: required(11, "time_zone")?,
            bucket_column_is_tz: row.get::<bool>(12)?.unwrap_or(false),
            owner: row.get::<pg_sys::Oid>(13)?.unwrap_or(pg_sys::InvalidOid),
            broken: text(14)?,
            refuses_unfoldable: row.get::<bool>(15)?.unwrap_or(false),
            value_kind: ValueKind::from_catalog(
                text(18)?,
                row.get::<Vec<String>>(19)?,
                row.get::<pg_sys::Oid>(20)?,
            )?,
        })
    }

    /// Loads one metric by name.
    pub fn load(client: &SpiClient<'_>, name: &str) -> Result<Self> {
        let sql = crate::sql::metric_select_sql(crate::sql::MetricsBy::Name, installed::catalog());
        let rows = client.select(sql, Some(1), &[name.into()])?;
        match rows.into_iter().next() {
            Some(row) => Metric::from_row(&row),
            None => Err(TallyError::UnknownMetric(name.to_string())),
        }
    }

    /// Loads every metric, or just `name` when given, in creation order.
    pub fn load_all(client: &SpiClient<'_>, name: Option<&str>) -> Result<Vec<Self>> {
        match name {
            Some(name) => Ok(vec![Metric::load(client, name)?]),
            None => {
                let sql =
                    crate::sql::metric_select_sql(crate::sql::MetricsBy::All, installed::catalog());
                let rows = client.select(sql, None, &[])?;
                rows.into_iter().map(|row| Metric::from_row(&row)).collect()
            }
        }
    }

    /// Loads every metric defined on one source table, in creation order.
    pub fn load_for_source(client: &SpiClient<'_>, source: pg_sys::Oid) -> Result<Vec<Self>> {
        let sql =
            crate::sql::metric_select_sql(crate::sql::MetricsBy::Source, installed::catalog());
        let rows = client.select(sql, None, &[source.into()])?;
        rows.into_iter().map(|row| Metric::from_row(&row)).collect()
    }
}

#[cfg(test)]
mod unit {
    use super::{Aggregate, Bucket};
    use proptest::prelude::*;

    const AGGREGATES: [Aggregate; 6] = [
        Aggregate::Count,
        Aggregate::Sum,
        Aggregate::Avg,
        Aggregate::Min,
        Aggregate::Max,
        Aggregate::CountDistinct,
    ];
    const BUCKETS: [Bucket; 6] = [
        Bucket::Hour,
        Bucket::Day,
        Bucket::Week,
        Bucket::Month,
        Bucket::Quarter,
        Bucket::Year,
    ];

    /// Every width reads back as itself from its name, and only the widths that divide an
    /// hour (minutes) or a day (2 to 12 hours) exist.
    #[test]
    fn widths_read_back_and_others_are_refused() {
        for count in 0u8..=99 {
            let minutes = Bucket::parse(&format!("{count} minutes")).ok();
            assert_eq!(
                minutes.is_some(),
                count > 0 && 60 % count == 0 && count < 60
            );
            if let Some(bucket) = minutes {
                assert_eq!(bucket, Bucket::Minutes(count));
                assert_eq!(Bucket::parse(bucket.as_str()).ok(), Some(bucket));
                assert!(bucket.as_str().starts_with(&format!("{count} minute")));
            }
            let hours = Bucket::parse(&format!(" {count}  Hours ")).ok();
            assert_eq!(hours.is_some(), count > 1 && 24 % count == 0 && count < 24);
            if let Some(bucket) = hours {
                assert_eq!(bucket, Bucket::Hours(count));
                assert_eq!(Bucket::parse(bucket.as_str()).ok(), Some(bucket));
                assert_eq!(bucket.as_str(), format!("{count} hours"));
            }
        }
        for bad in [
            "-15 minutes",
            "+15 minutes",
            "015 minutes",
            "15",
            "minutes",
            "15 seconds",
            "1.5 hours",
            "15minutes",
        ] {
            assert!(Bucket::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// The names the API takes read back as themselves, in any case, with spaces around.
        #[test]
        fn names_read_back(index in 0usize..6, upper in any::<bool>(), pad in " {0,3}") {
            let aggregate = AGGREGATES[index];
            let bucket = BUCKETS[index];
            let spell = |name: &str| {
                let name = if upper { name.to_uppercase() } else { name.to_string() };
                format!("{pad}{name}{pad}")
            };
            prop_assert_eq!(Aggregate::parse(&spell(aggregate.as_str())).ok(), Some(aggregate));
            prop_assert_eq!(Bucket::parse(&spell(bucket.as_str())).ok(), Some(bucket));
        }

        #[test]
        fn other_names_are_refused(name in "[a-z_]{1,20}") {
            let known = AGGREGATES.iter().any(|a| a.as_str() == name);
            prop_assert_eq!(Aggregate::parse(&name).is_ok(), known);
            let known = BUCKETS.iter().any(|b| b.as_str() == name);
            prop_assert_eq!(Bucket::parse(&name).is_ok(), known);
        }
    }

    #[test]
    fn every_aggregate_but_count_needs_a_column() {
        for aggregate in AGGREGATES {
            assert_eq!(aggregate.needs_column(), aggregate != Aggregate::Count);
            assert!(!(aggregate.sums_values() && aggregate.tracks_values()));
        }
    }
}
