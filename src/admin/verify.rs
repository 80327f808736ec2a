//! `tally.verify`: compares every stored figure with a fresh aggregate over the source, in
//! one snapshot per metric. No rows means exact.

use pgrx::datum::{AnyNumeric, TimestampWithTimeZone};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::error::Result;
use crate::ffi;
use crate::model::Metric;
use crate::read::{may_read, require_read};

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
    let rows = ffi::as_extension_owner(|| {
        Spi::connect(|client| -> Result<Vec<DriftRow>> {
            crate::model::installed::require_current_catalog()?;
            let metrics = readable_metrics(client, metric)?;
            let mut out = Vec::new();
            for (i, metric) in metrics.iter().enumerate() {
                let before = out.len();
                if let Some(reason) = &metric.broken {
                    // Its counters miss what a fold could not store: never exact until
                    // refreshed. One row without a bucket, group or stored figure says so.
                    warning!(
                        "tally.verify: metric \"{}\" is broken: {reason}; run tally.refresh to recompute it",
                        metric.name
                    );
                    out.push((metric.name.clone(), None, None, None, None));
                    continue;
                }
                if metrics.len() == 1 {
                    drift(client, metric, &mut out)?;
                } else {
                    // One metric that cannot be checked (its table changed under it, say)
                    // must not hide the others': a WARNING and a row say so.
                    let mut found = Vec::new();
                    match ffi::in_subtransaction(|| drift(client, metric, &mut found)) {
                        Ok(()) => out.append(&mut found),
                        Err(failed) => {
                            warning!(
                                "tally.verify: metric \"{}\" could not be checked: {failed}",
                                metric.name
                            );
                            out.push((metric.name.clone(), None, None, None, None));
                            continue;
                        }
                    }
                }
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
        })
    })?;
    Ok(TableIterator::new(rows))
}

/// The metrics to verify: the one named, which the caller must be allowed to read; or, with
/// no name, every metric the caller may read (other roles' metrics are not the caller's to
/// verify, and must not make the call fail).
fn readable_metrics(client: &SpiClient<'_>, name: Option<&str>) -> Result<Vec<Metric>> {
    let metrics = Metric::load_all(client, name)?;
    if name.is_some() {
        for metric in &metrics {
            require_read(client, &metric.name)?;
        }
        return Ok(metrics);
    }
    let mut readable = Vec::with_capacity(metrics.len());
    for metric in metrics {
        if may_read(client, &metric.name)? {
            readable.push(metric);
        }
    }
    Ok(readable)
}

/// Drift of one metric: every (bucket, group) where a stored counter (the summary, or the
/// count of one value) differs from a fresh aggregate, with both figures.
fn drift(client: &SpiClient<'_>, metric: &Metric, out: &mut Vec<DriftRow>) -> Result<()> {
    let sql = crate::sql::drift_sql(crate::model::installed::catalog());
    // The live counters are read as the table owner, in the snapshot the stored ones are.
    let snapshot = crate::ffi::Snapshot::active();
    let live = crate::fold::storage::live_counters(metric, &snapshot)?
        .unwrap_or_else(crate::fold::storage::no_counters);
    snapshot.release();
    let mut params = live;
    params.push(crate::ffi::SpiValue::of_int4(metric.id));
    params.push(crate::ffi::SpiValue::of_text(metric.aggregate.as_str()));
    for row in client.select(sql, None, &crate::ffi::spi_args(&params))? {
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
