//! The one-row dashboard read, `tally.snapshot(dashboard)`, without the executor.
//!
//! `tally.snapshot` (sql/read.sql) is a SQL function the planner inlines into the caller's
//! query: `jsonb_build_object('as_of', now()) || tally._snapshot_counters(dashboard)::jsonb`,
//! falling back to the query-based `tally._snapshot_sql` when this function returns NULL.
//! This function does the work with index lookups (`fold::sys::scan`): the dashboard row, each
//! metric's definition, then each metric's counters in its current bucket from folded state
//! and pending changes — the same rows, in the same snapshot, as the query reads.
//!
//! It returns the figures as JSON text whose numbers are Postgres' own `numeric` output, so
//! the cast to jsonb keeps them exact (and equal to what the query builds). It returns NULL,
//! handing over to the query, for dashboards with a value-tracking metric (min, max,
//! count_distinct), whose figures need more than summed counters.

use pgrx::datum::AnyNumeric;
use pgrx::prelude::*;
use std::collections::BTreeMap;

use crate::error::{Result, SqlResult, TallyError};
use crate::ffi;
use crate::fold::sys::array;
use crate::fold::sys::scan::{Key, Reader};
use crate::model::Aggregate;

/// A count, sum or avg metric's definition, as far as its current figure needs it.
struct SummedMetric {
    id: i32,
    name: String,
    source: pg_sys::Oid,
    aggregate: Aggregate,
    grouped: bool,
    bucket: Option<(String, String)>,
}

/// The aggregate of a metric this reader reads itself: count, sum, avg (`Aggregate::parse`),
/// None for the value-tracking ones, which it leaves to the query.
fn summed(name: &str) -> Option<Aggregate> {
    Aggregate::parse(name).ok().filter(|a| !a.tracks_values())
}

/// Summed counters of one group: rows, non-NULL values, total of the values.
#[derive(Default)]
struct Counters {
    n_rows: i128,
    n_values: i128,
    total: Option<AnyNumeric>,
}

impl Counters {
    fn add(&mut self, n_rows: i64, n_values: i64, total: Option<AnyNumeric>) {
        self.merge(Counters {
            n_rows: i128::from(n_rows),
            n_values: i128::from(n_values),
            total,
        });
    }

    fn merge(&mut self, other: Counters) {
        self.n_rows += other.n_rows;
        self.n_values += other.n_values;
        self.total = match (self.total.take(), other.total) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// The figure as a JSON value, computed as `tally._figure` does: count -> number of
    /// values, sum -> total (0 without rows), avg -> total / values (null without values).
    /// None if the total is, or counts, something JSON has no number for (NaN, Infinity):
    /// the query-based read reports those its own way. A count has no total; an avg of a
    /// finite total is finite.
    fn figure(&self, aggregate: Aggregate) -> Option<String> {
        let total = self.total.as_ref().map(ToString::to_string);
        if total.as_deref().is_some_and(not_a_json_number) {
            return None;
        }
        Some(match aggregate {
            Aggregate::Count => self.n_values.to_string(),
            Aggregate::Sum => total.unwrap_or_else(|| "0".to_string()),
            // No total with values means every value added a plain 0 (`InPlace::summand`
            // skips those): the average is 0 / n, printed with the scale Postgres gives it.
            Aggregate::Avg => match self.n_values {
                0 => "null".to_string(),
                n => (self.total.clone().unwrap_or_default() / AnyNumeric::from(n)).to_string(),
            },
            // Never read here (`summed`): the query reads their figures.
            Aggregate::Min | Aggregate::Max | Aggregate::CountDistinct => return None,
        })
    }
}

/// Whether a total printed by Postgres is NaN or infinite, or counts such values (more than
/// `sql::FINITE_TOTAL_MAX_DIGITS` integer digits: `sql::change`, `summand_sql`), which only
/// `tally._figure` decodes.
fn not_a_json_number(total: &str) -> bool {
    let digits = total
        .trim_start_matches('-')
        .split('.')
        .next()
        .unwrap_or("");
    digits.len() > crate::sql::FINITE_TOTAL_MAX_DIGITS
        || total.starts_with(['N', 'I'])
        || total.starts_with("-I")
}

/// A metric's counters per group (NULL is a group of its own). Looked up by `&str`, so
/// adding a pending change to an existing group copies nothing.
#[derive(Default)]
struct Groups {
    named: BTreeMap<String, Counters>,
    null: Option<Counters>,
}

impl Groups {
    fn entry(&mut self, key: Option<&str>) -> &mut Counters {
        match key {
            None => self.null.get_or_insert_with(Counters::default),
            Some(key) => {
                if !self.named.contains_key(key) {
                    self.named.insert(key.to_string(), Counters::default());
                }
                self.named.get_mut(key).expect("inserted above")
            }
        }
    }

    /// Every group, NULL first (as it sorts in `BTreeMap<Option<String>, _>`).
    fn into_iter(self) -> impl Iterator<Item = (Option<String>, Counters)> {
        self.null
            .map(|c| (None, c))
            .into_iter()
            .chain(self.named.into_iter().map(|(k, c)| (Some(k), c)))
    }
}

/// One metric being read: its definition, the bucket holding now() (None for an
/// unbucketed metric), and its counters as they are gathered.
struct Reading<'m> {
    metric: &'m SummedMetric,
    bucket: Option<pg_sys::TimestampTz>,
    groups: Groups,
}

/// The figures of a dashboard's metrics as a JSON object (text), or NULL when the dashboard
/// needs the query-based read. Called only through `tally.snapshot`.
#[pg_extern(stable, parallel_safe)]
fn _snapshot_counters(dashboard: &str) -> SqlResult<Option<String>> {
    Ok(read_dashboard(dashboard)?)
}

/// The query-based read of a dashboard (`tally._snapshot_query` in sql/read.sql) for the
/// calling role, as jsonb text: `tally._snapshot_sql` casts it back. The query runs with the
/// extension owner's rights and checks the caller's itself.
#[pg_extern(stable, parallel_safe)]
fn _snapshot_text(dashboard: Option<&str>) -> SqlResult<Option<String>> {
    crate::error::required(dashboard, "dashboard")?;
    Ok(ffi::as_extension_owner(|| {
        ffi::select_one::<String>(
            "SELECT tally._snapshot_query($1, $2)::pg_catalog.text",
            &[dashboard.into(), ffi::caller().into()],
        )
    })?)
}

/// The tables a dashboard read looks up, each through the index named with it.
const TABLES: [(&str, &str); 6] = [
    ("_dashboard", "_dashboard_pkey"),
    ("_broken", "_broken_pkey"),
    ("_metric", "_metric_name_key"),
    ("_state", "_state_key"),
    ("_change", "_change_xact"),
    ("_fold", "_fold_pkey"),
];

fn read_dashboard(dashboard: &str) -> Result<Option<String>> {
    // A catalog older than 0.6.0 (before ALTER EXTENSION pg_tally UPDATE) keeps pending
    // changes one per row, and a 0.3.0 one has no fold horizon: the query-based read
    // serves them.
    if !crate::model::installed::catalog_is_current() {
        return Ok(None);
    }
    let Some(reader) = Reader::open(&TABLES)? else {
        return Ok(None);
    };
    let horizon = crate::fold::fold_horizon(&reader)?;
    let (names, view) = dashboard_definition(&reader, dashboard)?;
    let mut metrics = Vec::with_capacity(names.len());
    for name in &names {
        match metric_definition(&reader, name)? {
            Lookup::Found(metric) => metrics.push(metric),
            Lookup::Missing => {}
            Lookup::NeedsQuery => return Ok(None),
        }
    }
    if metrics.is_empty() {
        // Every metric it showed was dropped (by their owners: `drop_metric` takes a metric
        // out of other roles' dashboards): it shows nothing, and its typed view NULLs.
        return Ok(Some("{}".to_string()));
    }
    if any_value_type(&metrics)? {
        return Ok(None);
    }
    require_read(dashboard, &metrics, view)?;
    let mut readings: Vec<Reading<'_>> = metrics
        .iter()
        .map(|metric| Reading {
            metric,
            bucket: metric
                .bucket
                .as_ref()
                .and_then(|(unit, zone)| super::sys::current_bucket(unit, zone)),
            groups: Groups::default(),
        })
        .collect();
    add_pending(&reader, &mut readings, horizon)?;
    let mut figures = BTreeMap::new();
    for reading in readings {
        let name = reading.metric.name.as_str();
        let figure = match current_figure(&reader, reading)? {
            Some(figure) => figure,
            None => return Ok(None),
        };
        figures.insert(name, figure);
    }
    let members: Vec<String> = figures
        .into_iter()
        .map(|(name, figure)| format!("{}: {figure}", json_string(name)))
        .collect();
    Ok(Some(format!("{{{}}}", members.join(", "))))
}

/// The dashboard's metric names and typed view name.
fn dashboard_definition(reader: &Reader, dashboard: &str) -> Result<(Vec<String>, TypedView)> {
    let mut found = None;
    reader.lookup(
        "_dashboard",
        &[Key::Text("name", dashboard)],
        &["metrics", "view_name", "owner"],
        |row| {
            let names: Vec<Option<String>> = row.get(0).unwrap_or_default();
            let view = TypedView {
                view: row.get::<pg_sys::Oid>(1),
                owner: row.get::<pg_sys::Oid>(2).unwrap_or(pg_sys::InvalidOid),
            };
            found = Some((names.into_iter().flatten().collect(), view));
            Ok(())
        },
    )?;
    found.ok_or_else(|| TallyError::UnknownDashboard(dashboard.to_string()))
}

enum Lookup {
    Found(SummedMetric),
    /// Dropped since the dashboard was made; the query skips it too.
    Missing,
    /// A value-tracking aggregate, a broken metric, or a sum or avg over intervals (or a sum
    /// over money): the
    /// whole dashboard goes to the query.
    NeedsQuery,
}

fn metric_definition(reader: &Reader, name: &str) -> Result<Lookup> {
    let mut found = Lookup::Missing;
    let mut columns = vec![
        "id",
        "source",
        "aggregate",
        "group_by",
        "bucket",
        "time_zone",
    ];
    // A metric grouped by several columns (0.11.0 catalogs) nests its figures: the query reads it.
    let several_known = crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_11);
    if several_known {
        columns.push("group_columns");
    }
    reader.lookup("_metric", &[Key::Text("name", name)], &columns, |row| {
        let aggregate = row.get::<String>(2).unwrap_or_default();
        let several = several_known && row.get::<Vec<String>>(6).is_some();
        found = match (summed(&aggregate), row.get::<i32>(0)) {
            (Some(aggregate), Some(id)) if !several => Lookup::Found(SummedMetric {
                id,
                name: name.to_string(),
                source: row.get::<pg_sys::Oid>(1).unwrap_or(pg_sys::InvalidOid),
                aggregate,
                grouped: row.get::<String>(3).is_some(),
                bucket: row
                    .get::<String>(4)
                    .map(|b| (b, row.get::<String>(5).unwrap_or_else(|| "UTC".into()))),
            }),
            _ => Lookup::NeedsQuery,
        };
        Ok(())
    })?;
    if let Lookup::Found(metric) = &found {
        if is_broken(reader, metric.id)? {
            return Ok(Lookup::NeedsQuery);
        }
    }
    Ok(found)
}

/// Whether a sum or avg metric among `metrics` reads values of another type than numbers
/// (`tally._value_type`, 0.12.0: intervals; 0.18.0: money), which only the query decodes. The table is
/// opened only for a dashboard with a sum or avg metric, on a 0.12.0 catalog.
fn any_value_type(metrics: &[SummedMetric]) -> Result<bool> {
    let summed: Vec<i32> = metrics
        .iter()
        .filter(|m| m.aggregate != Aggregate::Count)
        .map(|m| m.id)
        .collect();
    if summed.is_empty() || !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_12)
    {
        return Ok(false);
    }
    let Some(typed) = Reader::open(&[("_value_type", "_value_type_pkey")])? else {
        return Ok(false);
    };
    let mut found = false;
    for id in summed {
        typed.lookup("_value_type", &[Key::Int4("metric_id", id)], &[], |_| {
            found = true;
            Ok(())
        })?;
    }
    Ok(found)
}

/// Whether metric `id` is broken (`tally._broken`): the query reads it, and says why.
fn is_broken(reader: &Reader, id: i32) -> Result<bool> {
    let mut broken = false;
    reader.lookup("_broken", &[Key::Int4("metric_id", id)], &[], |_| {
        broken = true;
        Ok(())
    })?;
    Ok(broken)
}

/// A dashboard's typed view (by oid, if it has one) and the dashboard's owner.
struct TypedView {
    view: Option<pg_sys::Oid>,
    owner: pg_sys::Oid,
}

/// Readable by whoever may read every source table (`super::sys::may_read`), or may SELECT the
/// dashboard's typed view (held by oid) while the dashboard's owner may still read every
/// source table: a view does not keep publishing figures its owner lost the right to read.
fn require_read(dashboard: &str, metrics: &[SummedMetric], typed: TypedView) -> Result<()> {
    let me = ffi::caller();
    if metrics.iter().all(|m| super::sys::may_read(m.source, me)) {
        return Ok(());
    }
    let owner_may_read = typed.owner != pg_sys::InvalidOid
        && metrics
            .iter()
            .all(|m| super::sys::may_read(m.source, typed.owner));
    let view_allowed = match typed.view.filter(|_| owner_may_read) {
        Some(view) => ffi::select_one::<bool>(
            "SELECT coalesce(pg_catalog.has_table_privilege($1::pg_catalog.oid, $2::pg_catalog.oid, 'SELECT'), false)",
            &[me.into(), view.into()],
        )?
        .unwrap_or(false),
        None => false,
    };
    if view_allowed {
        Ok(())
    } else {
        Err(TallyError::NotAllowedToRead {
            what: format!("dashboard \"{dashboard}\""),
        })
    }
}

/// Adds the pending changes of the metrics read to their groups: one scan of
/// `tally._change` from the fold horizon on, for the whole dashboard (each row holds one
/// write statement's changes, of every metric of its table). Arrays are taken apart in place
/// and only for rows that hold a change of one of the metrics; totals only when one of
/// them sums. The change index orders changes by transaction, not bucket: the bucket is
/// checked on each change (pending changes are few).
fn add_pending(reader: &Reader, readings: &mut [Reading<'_>], horizon: u64) -> Result<()> {
    // A dashboard has a handful of metrics: a linear search beats hashing every element.
    let ids: Vec<i32> = readings.iter().map(|r| r.metric.id).collect();
    let positions_of = |elements: &array::InPlace<'_>| -> Vec<Option<usize>> {
        (0..elements.len())
            .map(|i| {
                elements
                    .int4(i)
                    .and_then(|id| ids.iter().position(|&wanted| wanted == id))
            })
            .collect()
    };
    // Every array but `value`: a dashboard with a value-tracking metric goes to the query.
    let columns = &crate::sql::CHANGE_ARRAYS[..6];
    reader.lookup(
        "_change",
        &[Key::Xid8AtLeast("xact_id", horizon)],
        columns,
        |row| {
            let positions = positions_of(&row.array(0, &array::INT4)?);
            if positions.iter().all(Option::is_none) {
                return Ok(());
            }
            let buckets = row.array(1, &array::TIMESTAMPTZ)?;
            let groups = row.array(2, &array::TEXT)?;
            let n_rows = row.array(3, &array::INT8)?;
            let n_values = row.array(4, &array::INT8)?;
            let sums = positions
                .iter()
                .flatten()
                .any(|&p| readings[p].metric.aggregate != Aggregate::Count);
            // Totals are read in place, and only for sum and avg.
            let totals = if sums {
                Some(row.array(5, &array::NUMERIC)?)
            } else {
                None
            };
            for (i, &p) in positions.iter().enumerate() {
                let Some(p) = p else { continue };
                let reading = &mut readings[p];
                if buckets.int8(i) != reading.bucket {
                    continue;
                }
                // A count needs no total (always 0 for it), and a plain 0 adds nothing to a
                // sum: no numeric copied or added.
                let total = match reading.metric.aggregate {
                    Aggregate::Count => None,
                    _ => totals.as_ref().and_then(|t| t.summand(i)),
                };
                reading.groups.entry(groups.text(i).as_deref()).add(
                    n_rows.int8(i).unwrap_or(0),
                    n_values.int8(i).unwrap_or(0),
                    total,
                );
            }
            Ok(())
        },
    )
}

/// The metric's figure in its current bucket as JSON, or None if a figure cannot be
/// written as a JSON number: folded counters plus the pending changes already gathered.
fn current_figure(reader: &Reader, reading: Reading<'_>) -> Result<Option<String>> {
    let Reading {
        metric,
        bucket,
        mut groups,
    } = reading;
    let keys_state = [
        Key::Int4("metric_id", metric.id),
        match bucket {
            Some(start) => Key::Timestamptz("bucket_start", start),
            None => Key::IsNull("bucket_start"),
        },
        Key::IsNull("value"),
    ];
    let columns = ["group_key", "n_rows", "n_values", "total"];
    reader.lookup("_state", &keys_state, &columns, |row| {
        // A count needs no total (always 0 for it): no numeric copied or added.
        let total = (metric.aggregate != Aggregate::Count)
            .then(|| row.get::<AnyNumeric>(3))
            .flatten();
        groups.entry(row.get::<String>(0).as_deref()).add(
            row.get::<i64>(1).unwrap_or(0),
            row.get::<i64>(2).unwrap_or(0),
            total,
        );
        Ok(())
    })?;
    if metric.grouped {
        let mut members = Vec::new();
        for (key, counters) in groups.into_iter().filter(|(_, c)| c.n_rows != 0) {
            let key = json_string(key.as_deref().unwrap_or("null"));
            match counters.figure(metric.aggregate) {
                Some(figure) => members.push(format!("{key}: {figure}")),
                None => return Ok(None),
            }
        }
        Ok(Some(format!("{{{}}}", members.join(", "))))
    } else {
        let mut all = Counters::default();
        for (_, counters) in groups.into_iter() {
            all.merge(counters);
        }
        Ok(all.figure(metric.aggregate))
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod unit {
    use super::not_a_json_number;
    use proptest::prelude::*;

    proptest! {
        /// Every finite total the write path can produce (below 1e900 per value, fewer than
        /// 2^63 of them) prints with at most 920 integer digits: a JSON number.
        #[test]
        fn finite_totals_are_json_numbers(
            negative in any::<bool>(),
            integer in "[1-9][0-9]{0,920}|0",
            fraction in proptest::option::of("[0-9]{1,40}"),
        ) {
            let total = format!(
                "{}{integer}{}",
                if negative { "-" } else { "" },
                fraction.map(|f| format!(".{f}")).unwrap_or_default()
            );
            prop_assert!(!not_a_json_number(&total));
        }

        /// A total that counts NaN or infinities (1e1000 or more) is not written as a number.
        #[test]
        fn counted_non_finite_values_are_not(digits in 1001usize..3100, negative in any::<bool>()) {
            let total = format!("{}1{}", if negative { "-" } else { "" }, "0".repeat(digits - 1));
            prop_assert!(not_a_json_number(&total));
        }
    }

    #[test]
    fn non_finite_numerics_are_not() {
        for total in ["NaN", "Infinity", "-Infinity"] {
            assert!(not_a_json_number(total), "{total}");
        }
    }
}
