//! `tally.verify`: compares every stored figure with a fresh aggregate over the source, in
//! one snapshot per metric. No rows means exact.

use pgrx::datum::{AnyNumeric, TimestampWithTimeZone};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::{quote_literal, SpiClient};

use crate::error::Result;
use crate::model::Metric;
use crate::read::require_read;
use crate::storage::stored_rows_sql;

type DriftRow = (
    name!(metric, String),
    name!(bucket_start, Option<TimestampWithTimeZone>),
    name!(group_key, Option<String>),
    name!(stored, Option<AnyNumeric>),
    name!(actual, Option<AnyNumeric>),
);

// pgrx needs the row tuple spelled out in the signature.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn verify(
    metric: default!(Option<&str>, "NULL"),
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(metric, String),
            name!(bucket_start, Option<TimestampWithTimeZone>),
            name!(group_key, Option<String>),
            name!(stored, Option<AnyNumeric>),
            name!(actual, Option<AnyNumeric>),
        ),
    >,
    ErrorReport,
> {
    let rows = Spi::connect(|client| -> Result<Vec<DriftRow>> {
        crate::storage::require_current_catalog()?;
        let metrics = Metric::load_all(client, metric)?;
        let mut out = Vec::new();
        for metric in &metrics {
            require_read(client, &metric.name)?;
        }
        for (i, metric) in metrics.iter().enumerate() {
            let before = out.len();
            drift(client, metric, &mut out)?;
            let found = out.len() - before;
            if metrics.len() > 1 || found > 0 {
                notice!(
                    "tally.verify: [{}/{}] {}: {}",
                    i + 1,
                    metrics.len(),
                    metric.name,
                    if found == 0 {
                        "exact".to_string()
                    } else {
                        format!("{found} groups differ")
                    }
                );
            }
        }
        Ok(out)
    })?;
    Ok(TableIterator::new(rows))
}

/// Drift of one metric: every (bucket, group) where a stored counter (the summary, or the
/// count of one value) differs from a fresh aggregate, with both figures.
fn drift(client: &SpiClient<'_>, metric: &Metric, out: &mut Vec<DriftRow>) -> Result<()> {
    let sql = format!(
        "WITH stored AS ( \
            SELECT bucket_start AS b, group_key AS g, value AS val, pg_catalog.sum(n_rows) AS r, \
                   pg_catalog.sum(n_values) AS v, pg_catalog.sum(total) AS t \
              FROM ({stored}) AS x GROUP BY 1, 2, 3), \
         checked AS ( \
            SELECT * FROM ( \
                SELECT b, g, val, r, v, \
                       CASE WHEN val IS NULL AND {agg} = 'count_distinct' \
                            THEN t + tally._distinct_pending({id}, b, g) ELSE t END AS t \
                  FROM stored) AS c \
             WHERE r <> 0 OR v <> 0 OR t <> 0), \
         live AS (SELECT b, g, val, r::pg_catalog.numeric AS r, v::pg_catalog.numeric AS v, t \
                    FROM ({live}) AS y(id, b, g, val, r, v, t)), \
         bad AS ( \
            SELECT DISTINCT coalesce(s.b, l.b) AS b, coalesce(s.g, l.g) AS g \
              FROM checked s FULL JOIN live l \
                ON coalesce(s.b, '-infinity') = coalesce(l.b, '-infinity') AND (s.b IS NULL) = (l.b IS NULL) \
               AND coalesce(s.g, '') = coalesce(l.g, '') AND (s.g IS NULL) = (l.g IS NULL) \
               AND coalesce(s.val, 'NaN') = coalesce(l.val, 'NaN') AND (s.val IS NULL) = (l.val IS NULL) \
             WHERE s.r IS DISTINCT FROM l.r OR s.v IS DISTINCT FROM l.v OR s.t IS DISTINCT FROM l.t) \
         SELECT bad.b, bad.g, tally._figure_of({id}, {agg}, bad.b, bad.g, s.v, s.t), \
                (SELECT CASE {agg} WHEN 'min' THEN pg_catalog.min(l.val) WHEN 'max' THEN pg_catalog.max(l.val) \
                                   WHEN 'count_distinct' THEN coalesce(pg_catalog.sum(l.t), 0) \
                                   ELSE tally._figure({agg}, pg_catalog.sum(l.v), pg_catalog.sum(l.t)) END \
                   FROM live l WHERE l.b IS NOT DISTINCT FROM bad.b AND l.g IS NOT DISTINCT FROM bad.g) \
           FROM bad LEFT JOIN stored s \
             ON s.val IS NULL AND s.b IS NOT DISTINCT FROM bad.b AND s.g IS NOT DISTINCT FROM bad.g \
          ORDER BY 1, 2",
        stored = stored_rows_sql(&format!("metric_id = {}", metric.id)),
        live = crate::sqlgen::counters_from_arrays_sql(),
        agg = quote_literal(metric.aggregate.as_str()),
        id = metric.id,
    );
    // The live counters are read as the table owner, in the snapshot the stored ones are.
    let snapshot = crate::ffi::Snapshot::active();
    let live = crate::storage::live_counters(metric, &snapshot)?
        .unwrap_or_else(crate::storage::no_counters);
    snapshot.release();
    for row in client.select(&sql, None, &crate::ffi::spi_args(&live))? {
        out.push((
            metric.name.clone(),
            row.get::<TimestampWithTimeZone>(1)?,
            row.get::<String>(2)?,
            row.get::<AnyNumeric>(3)?,
            row.get::<AnyNumeric>(4)?,
        ));
    }
    Ok(())
}
