//! The read path: `value`, `groups`, `series` here, and `snapshot` (the dashboard read).
//! SQL: sql/read.sql (the snapshot's query-based read), sql/values.sql (min, max,
//! count_distinct figures), sql/bootstrap.sql (`_figure`). Unsafe calls: `sys` (who
//! may read, the current bucket), `fold::sys::scan` (the store's index lookups without the
//! executor), `ffi` (whose rights: `as_extension_owner`, `caller`).
//!
//! `value`, `groups`, `series`. Each is one read-only query over folded
//! state plus pending changes, so it is exact at the statement's snapshot and works on a
//! hot standby. Plans are prepared once per session.

pub mod snapshot;
// The tests reach the current bucket's Rust half (`tests::the_current_bucket_...`).
#[cfg(feature = "pg_test")]
pub(crate) mod sys;
#[cfg(not(feature = "pg_test"))]
mod sys;

use pgrx::datum::{AnyNumeric, TimestampWithTimeZone};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use std::rc::Rc;
use std::sync::OnceLock;

use crate::error::{required, Result, SqlResult, TallyError};
use crate::model::{Aggregate, ValueKind, ValueType};
use crate::{ffi, plans};

/// A read-only plan for `sql`, prepared on first use in this session.
pub fn read_plan(
    client: &SpiClient<'_>,
    sql: &'static str,
    arg_types: &[pg_sys::Oid],
) -> Result<Rc<OwnedPreparedStatement>> {
    plans::cached(client, sql, arg_types, plans::Access::Read)
}

/// Counters of one metric (by name) in its current bucket, per group. The first row is
/// always present and carries the metric's aggregate, so a missing metric is detectable.
/// `{horizon}` stands for the fold horizon (see `tally._fold`): pending changes are looked
/// up from there (through the view `tally._delta`, one range of the `_change_xact` index),
/// never walking the entries of folded changes that wait for VACUUM (nor tempting the
/// planner into a sequential scan of a queue-like table). `{pending_filter}`,
/// `{pending_args}` and `{pending_cap}` for how each group's pending values reach its figure
/// (`sql::with_pending_values`).
const CURRENT_GROUPS_SQL: &str = "\
WITH m AS (SELECT id, aggregate, group_by IS NOT NULL AS grouped, tally._current_bucket(bucket, time_zone) AS cur, \
                  tally._may_read($2::pg_catalog.oid, source) AS allowed, \
                  (SELECT b.reason FROM tally._broken b WHERE b.metric_id = tally._metric.id) AS broken \
             FROM tally._metric WHERE name = $1), \
     r AS (SELECT s.group_key, s.n_rows, s.n_values, s.total, NULL::pg_catalog.numeric AS value \
             FROM m JOIN tally._state s ON s.metric_id = m.id AND s.bucket_start = m.cur AND s.value IS NULL \
           UNION ALL \
           SELECT s.group_key, s.n_rows, s.n_values, s.total, NULL \
             FROM m JOIN tally._state s ON s.metric_id = m.id AND s.bucket_start IS NULL AND s.value IS NULL WHERE m.cur IS NULL \
           UNION ALL \
           SELECT d.group_key, d.n_rows, d.n_values, d.total, d.value \
             FROM m JOIN tally._delta d ON d.metric_id = m.id AND d.xact_id >= {horizon} AND d.bucket_start = m.cur {pending_filter} \
           UNION ALL \
           SELECT d.group_key, d.n_rows, d.n_values, d.total, d.value \
             FROM m JOIN tally._delta d ON d.metric_id = m.id AND d.xact_id >= {horizon} AND d.bucket_start IS NULL {pending_filter} \
            WHERE m.cur IS NULL), \
     g AS (SELECT group_key, pg_catalog.sum(n_rows) FILTER (WHERE value IS NULL) AS n_rows, \
                  pg_catalog.sum(n_values) FILTER (WHERE value IS NULL) AS n_values, \
                  pg_catalog.sum(total) FILTER (WHERE value IS NULL) AS total, \
                  {pending_arrays} \
             FROM (SELECT r.*, CASE WHEN value IS NOT NULL \
                                    THEN pg_catalog.row_number() OVER (PARTITION BY group_key, value IS NULL) END AS nth \
                     FROM r) AS r \
            GROUP BY group_key), \
     f AS (SELECT g.group_key, g.n_values, g.total, \
                  tally._figure_of(m.id, m.aggregate, m.cur, g.group_key, g.n_values, g.total{pending_args}) AS figure \
             FROM m, g WHERE m.allowed AND m.broken IS NULL AND g.n_rows <> 0) \
SELECT m.aggregate, NULL::pg_catalog.text, m.allowed, \
       CASE WHEN NOT m.allowed OR m.broken IS NOT NULL THEN NULL \
            WHEN m.aggregate = 'min' THEN (SELECT pg_catalog.min(figure) FROM f) \
            WHEN m.aggregate = 'max' THEN (SELECT pg_catalog.max(figure) FROM f) \
            WHEN m.aggregate = 'count_distinct' AND m.grouped THEN tally._distinct_across(m.id, m.cur) \
            WHEN m.aggregate = 'count_distinct' THEN coalesce((SELECT pg_catalog.sum(figure) FROM f), 0) \
            ELSE tally._figure(m.aggregate, (SELECT pg_catalog.sum(n_values) FROM g), (SELECT pg_catalog.sum(total) FROM g)) \
       END, m.broken, (SELECT pg_catalog.sum(n_values) FROM g), (SELECT pg_catalog.sum(total) FROM g) \
  FROM m \
UNION ALL \
SELECT NULL, f.group_key, NULL, f.figure, NULL, f.n_values, f.total FROM f";

/// `CURRENT_GROUPS_SQL` for this database's catalog (`sql::with_pending_values`), built once
/// per catalog shape for the life of the backend.
fn current_groups_sql(catalog: crate::sql::CatalogVersion) -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    static OLDER: OnceLock<String> = OnceLock::new();
    let built = if catalog >= crate::sql::CatalogVersion::V0_14 {
        &CURRENT
    } else {
        &OLDER
    };
    built.get_or_init(|| {
        crate::sql::with_pending_values(CURRENT_GROUPS_SQL, catalog)
            .replace("{horizon}", crate::sql::HORIZON_SQL)
    })
}

struct CurrentFigures {
    aggregate: Aggregate,
    /// The type the figures are of (`figure_kind`).
    kind: ValueKind,
    total: Option<AnyNumeric>,
    groups: Vec<(Option<String>, Option<AnyNumeric>)>,
}

/// A figure as the read queries compute it, with the summed counters it came from: a sum or
/// avg over intervals (0.12.0) takes its figure from those (`interval_figure`), which
/// `tally._figure` cannot (it would divide the packed total itself).
fn figure_of(
    aggregate: Aggregate,
    figure_type: ValueType,
    figure: Option<AnyNumeric>,
    n_values: Option<AnyNumeric>,
    total: Option<AnyNumeric>,
) -> Result<Option<AnyNumeric>> {
    if figure_type != ValueType::Interval || !aggregate.sums_values() {
        return Ok(figure);
    }
    let zero = AnyNumeric::from(0);
    crate::model::value_type::interval_figure(
        aggregate,
        n_values.as_ref().unwrap_or(&zero),
        total.as_ref().unwrap_or(&zero),
    )
}

fn current_figures(metric: &str) -> Result<CurrentFigures> {
    ffi::as_extension_owner(|| {
        Spi::connect(|client| {
            crate::model::installed::require_current_catalog()?;
            let plan = read_plan(
                client,
                current_groups_sql(crate::model::installed::catalog()),
                &[pg_sys::TEXTOID, pg_sys::OIDOID],
            )?;
            let rows = client.select(&*plan, None, &[metric.into(), ffi::caller().into()])?;
            let mut found = None;
            let mut total = None;
            let mut groups = Vec::new();
            for row in rows {
                let counters = (
                    row.get::<AnyNumeric>(4)?,
                    row.get::<AnyNumeric>(6)?,
                    row.get::<AnyNumeric>(7)?,
                );
                if let Some(aggregate) = row.get::<String>(1)? {
                    found = Some(Aggregate::parse(&aggregate)?);
                    if row.get::<bool>(3)? != Some(true) {
                        return Err(TallyError::NotAllowedToRead {
                            what: format!("metric \"{metric}\""),
                        });
                    }
                    if let Some(reason) = row.get::<String>(5)? {
                        return Err(TallyError::MetricBroken {
                            metric: metric.to_string(),
                            reason,
                        });
                    }
                    total = Some(counters);
                } else {
                    groups.push((row.get::<String>(2)?, counters));
                }
            }
            let Some(aggregate) = found else {
                return Err(TallyError::UnknownMetric(metric.to_string()));
            };
            let kind = figure_kind(client, metric, Some(aggregate))?;
            let figure_type = kind.value_type;
            let figure = |(figure, n_values, total)| {
                figure_of(aggregate, figure_type, figure, n_values, total)
            };
            let mut groups = groups
                .into_iter()
                .map(|(key, counters)| Ok((key, figure(counters)?)))
                .collect::<Result<Vec<_>>>()?;
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            let mut total = total.map(figure).transpose()?.flatten();
            if kind.sorted() && groups.len() > 1 {
                // The min or max over all groups, by the values' own order (the query took
                // it by their encodings').
                total = sorted_pick(client, metric, aggregate, &groups)?;
            }
            Ok(CurrentFigures {
                aggregate,
                kind,
                total,
                groups,
            })
        })
    })
}

/// The type of the figures of `metric` (with what orders them): the type of the values a min, max, sum or avg metric
/// reads when it is not a number (0.12.0, `tally._value_type`); numeric for every other
/// metric (a count_distinct's figure is a count, whatever it counts).
fn figure_kind(
    client: &SpiClient<'_>,
    metric: &str,
    aggregate: Option<Aggregate>,
) -> Result<ValueKind> {
    let numeric = ValueKind::of(ValueType::Numeric);
    // A count's and a count_distinct's figures are counts: no lookup on their reads. An
    // aggregate not known yet (a series without rows) is looked up.
    if matches!(aggregate, Some(Aggregate::Count | Aggregate::CountDistinct))
        || !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_12)
    {
        return Ok(numeric);
    }
    let row = client
        .select(
            crate::sql::figure_kind_sql(crate::model::installed::catalog()),
            Some(1),
            &[metric.into()],
        )?
        .next();
    let Some(row) = row else {
        return Ok(numeric);
    };
    ValueKind::from_catalog(
        row.get::<String>(1)?,
        row.get::<Vec<String>>(2)?,
        row.get::<pg_sys::Oid>(3)?,
    )
}

/// The min or max among the figures of `groups` by the values' own order
/// (`tally._sorted_pick`, sql/values.sql).
fn sorted_pick(
    client: &SpiClient<'_>,
    metric: &str,
    aggregate: Aggregate,
    groups: &[(Option<String>, Option<AnyNumeric>)],
) -> Result<Option<AnyNumeric>> {
    let figures: Vec<Option<AnyNumeric>> = groups.iter().map(|(_, f)| f.clone()).collect();
    Ok(client
        .select(
            "SELECT tally._sorted_pick($1, $2, $3::pg_catalog.numeric[])",
            Some(1),
            &[metric.into(), aggregate.as_str().into(), figures.into()],
        )?
        .first()
        .get_one::<AnyNumeric>()?)
}

/// The numeric reads (`value`, `groups`, `series`) refuse a metric whose figures have
/// another type, pointing to the typed reads.
fn require_numeric(metric: &str, kind: &ValueKind) -> Result<()> {
    match kind.value_type {
        ValueType::Numeric => Ok(()),
        _ => Err(TallyError::FigureNotNumeric {
            metric: metric.to_string(),
            value_type: kind.describe(),
        }),
    }
}

/// The typed reads (`tally.value(metric, as_type)` and the others, sql/read.sql) take a
/// figure as text and cast it to `asked`: its own type, text, varchar or char; a numeric
/// figure also to the integer and float types.
fn require_readable_as(metric: &str, kind: &ValueKind, asked: pg_sys::Oid) -> Result<()> {
    let figure_type = kind.value_type;
    let asked_oid = asked;
    let asked = crate::ffi::datetime::base_type(asked);
    let text_types = [pg_sys::TEXTOID, pg_sys::VARCHAROID, pg_sys::BPCHAROID];
    let numbers = [
        pg_sys::INT2OID,
        pg_sys::INT4OID,
        pg_sys::INT8OID,
        pg_sys::FLOAT4OID,
        pg_sys::FLOAT8OID,
    ];
    let own = kind.figure_type_oid();
    if asked == own
        || text_types.contains(&asked)
        || (figure_type == ValueType::Numeric && numbers.contains(&asked))
    {
        return Ok(());
    }
    Err(TallyError::WrongFigureType {
        metric: metric.to_string(),
        value_type: crate::ffi::datetime::type_name(own),
        // A hand-made call's oid may be no type at all (`base_type` gives InvalidOid).
        asked: if asked == pg_sys::InvalidOid {
            format!("type oid {}", asked_oid.to_u32())
        } else {
            crate::ffi::datetime::type_name(asked)
        },
    })
}

/// The enum a typed read asks for (`asked` itself, or the enum under a domain), for
/// `tally._figure_cast` (0.13.0): its figures are made enum values by Postgres' `enum_in`,
/// never by a cast from text, which the enum's owner may have created and which would run
/// with the reader's rights. NULL for any other type.
#[pg_extern(stable, strict, parallel_safe)]
fn _enum_of(asked: pg_sys::Oid) -> Option<pg_sys::Oid> {
    let base = crate::ffi::datetime::base_type(asked);
    crate::ffi::enums::is_enum(base).then_some(base)
}

/// A figure as its type's text (`value_type::figure_text`).
fn as_text(
    figure_type: ValueType,
    aggregate: Aggregate,
    figure: Option<AnyNumeric>,
) -> Result<Option<String>> {
    figure
        .map(|figure| crate::model::value_type::figure_text(figure_type, aggregate, &figure))
        .transpose()
}

/// The metric's figure over all groups: for a bucketed metric, the bucket holding now().
#[pg_extern(stable, parallel_safe)]
fn value(metric: Option<&str>) -> SqlResult<Option<AnyNumeric>> {
    let metric = required(metric, "metric")?;
    let figures = current_figures(metric)?;
    require_numeric(metric, &figures.kind)?;
    Ok(figures.total)
}

/// `value` as the text of the figure's type, for `tally.value(metric, as_type)` (sql/read.sql),
/// which casts it to `as_type`.
#[pg_extern(stable, parallel_safe)]
fn _value_text(metric: Option<&str>, asked: pg_sys::Oid) -> SqlResult<Option<String>> {
    let metric = required(metric, "metric")?;
    let figures = current_figures(metric)?;
    require_readable_as(metric, &figures.kind, asked)?;
    Ok(as_text(
        figures.kind.value_type,
        figures.aggregate,
        figures.total,
    )?)
}

/// The metric's figure per group (the NULL group included): for a bucketed metric, in the
/// bucket holding now().
// pgrx needs the row tuple spelled out in the signature.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn groups(
    metric: Option<&str>,
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(group_key, Option<String>),
            name!(value, Option<AnyNumeric>),
        ),
    >,
    ErrorReport,
> {
    let metric = required(metric, "metric")?;
    let figures = current_figures(metric)?;
    require_numeric(metric, &figures.kind)?;
    Ok(TableIterator::new(figures.groups))
}

/// `groups` with each figure as the text of its type, for `tally.groups(metric, as_type)`.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn _groups_text(
    metric: Option<&str>,
    asked: pg_sys::Oid,
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(group_key, Option<String>),
            name!(value, Option<String>),
        ),
    >,
    ErrorReport,
> {
    let metric = required(metric, "metric")?;
    let figures = current_figures(metric)?;
    require_readable_as(metric, &figures.kind, asked)?;
    let groups = figures
        .groups
        .into_iter()
        .map(|(key, figure)| {
            Ok((
                key,
                as_text(figures.kind.value_type, figures.aggregate, figure)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TableIterator::new(groups))
}

/// Figures per bucket and group of one metric; `{horizon}`, `{pending_filter}`,
/// `{pending_args}` and `{pending_cap}` as in `CURRENT_GROUPS_SQL`, `{bucket_start}` the start of the bucket
/// holding `since` (`series_sql`).
const SERIES_SQL: &str = "\
WITH m AS (SELECT id, aggregate, bucket, time_zone FROM tally._metric WHERE name = $1), \
     lo AS (SELECT {bucket_start} AS since FROM m), \
     r AS (SELECT s.bucket_start, s.group_key, s.n_rows, s.n_values, s.total, NULL::pg_catalog.numeric AS value \
             FROM m, lo, tally._state s \
            WHERE s.metric_id = m.id AND s.value IS NULL \
              AND (m.bucket IS NULL OR (s.bucket_start >= lo.since AND s.bucket_start < $3)) \
           UNION ALL \
           SELECT d.bucket_start, d.group_key, d.n_rows, d.n_values, d.total, d.value FROM m, lo, tally._delta d \
            WHERE d.metric_id = m.id AND d.xact_id >= {horizon} {pending_filter} \
              AND (m.bucket IS NULL OR (d.bucket_start >= lo.since AND d.bucket_start < $3))), \
     g AS (SELECT bucket_start, group_key, pg_catalog.sum(n_rows) FILTER (WHERE value IS NULL) AS n_rows, \
                  pg_catalog.sum(n_values) FILTER (WHERE value IS NULL) AS n_values, \
                  pg_catalog.sum(total) FILTER (WHERE value IS NULL) AS total, \
                  {pending_arrays} \
             FROM (SELECT r.*, CASE WHEN value IS NOT NULL \
                                    THEN pg_catalog.row_number() OVER (PARTITION BY bucket_start, group_key, value IS NULL) END AS nth \
                     FROM r) AS r \
            GROUP BY bucket_start, group_key) \
SELECT m.aggregate, g.bucket_start, g.group_key, \
       tally._figure_of(m.id, m.aggregate, g.bucket_start, g.group_key, g.n_values, g.total{pending_args}), \
       g.n_values, g.total \
  FROM m, g WHERE g.n_rows <> 0 \
 ORDER BY g.bucket_start, g.group_key NULLS FIRST";

/// `SERIES_SQL` for this database's catalog: the bucket holding `since` is
/// `tally._bucket_start` (0.11.0: fixed widths), or `date_trunc` on an older catalog (before
/// `ALTER EXTENSION pg_tally UPDATE`, whose metrics have calendar buckets only); pending
/// values as `sql::with_pending_values` says.
fn series_sql(catalog: crate::sql::CatalogVersion) -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    static V0_11: OnceLock<String> = OnceLock::new();
    static OLDER: OnceLock<String> = OnceLock::new();
    let (built, bucket_start) = if catalog >= crate::sql::CatalogVersion::V0_14 {
        (&CURRENT, "tally._bucket_start(m.bucket, $2, m.time_zone)")
    } else if catalog >= crate::sql::CatalogVersion::V0_11 {
        (&V0_11, "tally._bucket_start(m.bucket, $2, m.time_zone)")
    } else {
        (&OLDER, "CASE WHEN m.bucket IS NULL THEN NULL ELSE pg_catalog.date_trunc(m.bucket, $2, m.time_zone) END")
    };
    built.get_or_init(|| {
        crate::sql::with_pending_values(SERIES_SQL, catalog)
            .replace("{horizon}", crate::sql::HORIZON_SQL)
            .replace("{bucket_start}", bucket_start)
    })
}

/// Figures per bucket (and group) for buckets overlapping [since, until): buckets with no
/// rows are absent. An unbucketed metric returns its totals with a NULL bucket_start.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn series(
    metric: Option<&str>,
    since: Option<TimestampWithTimeZone>,
    until: default!(Option<TimestampWithTimeZone>, "now()"),
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(bucket_start, Option<TimestampWithTimeZone>),
            name!(group_key, Option<String>),
            name!(value, Option<AnyNumeric>),
        ),
    >,
    ErrorReport,
> {
    let metric = required(metric, "metric")?;
    let (_, kind, rows) = series_figures(metric, since, until)?;
    require_numeric(metric, &kind)?;
    Ok(TableIterator::new(rows))
}

/// `series` with each figure as the text of its type, for `tally.series(metric, since, until,
/// as_type)`.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn _series_text(
    metric: Option<&str>,
    since: Option<TimestampWithTimeZone>,
    until: Option<TimestampWithTimeZone>,
    asked: pg_sys::Oid,
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(bucket_start, Option<TimestampWithTimeZone>),
            name!(group_key, Option<String>),
            name!(value, Option<String>),
        ),
    >,
    ErrorReport,
> {
    let metric = required(metric, "metric")?;
    let (aggregate, kind, rows) = series_figures(metric, since, until)?;
    require_readable_as(metric, &kind, asked)?;
    let figure_type = kind.value_type;
    let rows = rows
        .into_iter()
        .map(|(bucket, key, figure)| Ok((bucket, key, as_text(figure_type, aggregate, figure)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(TableIterator::new(rows))
}

/// One series row: a bucket's start, a group key, the figure (encoded: `value_type`).
type SeriesRow = (
    Option<TimestampWithTimeZone>,
    Option<String>,
    Option<AnyNumeric>,
);

/// The figures of `series`, with the metric's aggregate and the type they are of.
fn series_figures(
    metric: &str,
    since: Option<TimestampWithTimeZone>,
    until: Option<TimestampWithTimeZone>,
) -> Result<(Aggregate, ValueKind, Vec<SeriesRow>)> {
    let since = required(since, "since")?;
    let until = required(until, "until")?;
    if since >= until {
        return Err(TallyError::BadRange);
    }
    ffi::as_extension_owner(|| {
        Spi::connect(|client| -> Result<(Aggregate, ValueKind, Vec<SeriesRow>)> {
            crate::model::installed::require_current_catalog()?;
            require_read(client, metric)?;
            require_folding(client, metric)?;
            let plan = read_plan(
                client,
                series_sql(crate::model::installed::catalog()),
                &[
                    pg_sys::TEXTOID,
                    pg_sys::TIMESTAMPTZOID,
                    pg_sys::TIMESTAMPTZOID,
                ],
            )?;
            let mut aggregate = None;
            let mut read = Vec::new();
            for row in client.select(&*plan, None, &[metric.into(), since.into(), until.into()])? {
                aggregate = Some(Aggregate::parse(
                    &row.get::<String>(1)?.unwrap_or_default(),
                )?);
                read.push((
                    row.get::<TimestampWithTimeZone>(2)?,
                    row.get::<String>(3)?,
                    (
                        row.get::<AnyNumeric>(4)?,
                        row.get::<AnyNumeric>(5)?,
                        row.get::<AnyNumeric>(6)?,
                    ),
                ));
            }
            let kind = figure_kind(client, metric, aggregate)?;
            let aggregate = aggregate.unwrap_or(Aggregate::Count);
            let out = read
                .into_iter()
                .map(|(bucket, key, (figure, n_values, total))| {
                    let figure = figure_of(aggregate, kind.value_type, figure, n_values, total)?;
                    Ok((bucket, key, figure))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((aggregate, kind, out))
        })
    })
}

/// The caller may read a metric's figures if it may SELECT its source table.
pub fn require_read(client: &SpiClient<'_>, metric: &str) -> Result<()> {
    if may_read(client, metric)? {
        Ok(())
    } else {
        Err(TallyError::NotAllowedToRead {
            what: format!("metric \"{metric}\""),
        })
    }
}

/// Fails if `metric` is broken (`tally._broken`): its counters miss the changes a
/// fold could not store, so no figure of it is served until `tally.refresh`.
pub fn require_folding(client: &SpiClient<'_>, metric: &str) -> Result<()> {
    let broken = client
        .select(
            "SELECT b.reason FROM tally._metric m JOIN tally._broken b ON b.metric_id = m.id WHERE m.name = $1",
            Some(1),
            &[metric.into()],
        )?
        .next()
        .map(|row| row.get::<String>(1))
        .transpose()?
        .flatten();
    match broken {
        Some(reason) => Err(TallyError::MetricBroken {
            metric: metric.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Whether the caller may read the figures of `metric` (`tally._may_read`); an error if
/// there is no such metric.
pub fn may_read(client: &SpiClient<'_>, metric: &str) -> Result<bool> {
    let row = client
        .select(
            "SELECT tally._may_read($2::pg_catalog.oid, source) FROM tally._metric WHERE name = $1",
            Some(1),
            &[metric.into(), ffi::caller().into()],
        )?
        .next();
    row.map(|r| r.get::<bool>(1))
        .transpose()?
        .flatten()
        .ok_or_else(|| TallyError::UnknownMetric(metric.to_string()))
}

/// Whether `reader` may read the figures of table `source` directly (`sys::may_read`: SELECT
/// on it, and every row visible under its row-level security); used by the SQL reads.
#[pg_extern(stable, parallel_safe)]
fn _may_read(reader: pg_sys::Oid, source: pg_sys::Oid) -> bool {
    sys::may_read(source, reader)
}

/// The role whose rights a catalog older than 0.8.0 checks in its SECURITY DEFINER
/// `tally._snapshot_sql` (the session's role, as 0.7.0 did): that function calls this one
/// between installing this library and `ALTER EXTENSION pg_tally UPDATE`. A 0.8.0 catalog
/// has no such function (`sql = false`).
#[pg_extern(stable, parallel_safe, sql = false)]
fn _invoker() -> pg_sys::Oid {
    ffi::session_role()
}

pub fn metric_exists(client: &SpiClient<'_>, name: &str) -> Result<bool> {
    named_row_exists(client, "SELECT 1 FROM tally._metric WHERE name = $1", name)
}

/// Whether `sql` (a SELECT with one `$1` name parameter) finds a row.
pub fn named_row_exists(client: &SpiClient<'_>, sql: &str, name: &str) -> Result<bool> {
    Ok(!client.select(sql, Some(1), &[name.into()])?.is_empty())
}
