//! `tally.refresh`: recompute metrics from their source tables (a DBA job). Writers keep
//! writing meanwhile: the recompute and the removal of pending changes happen in one
//! statement, so a write is either in both (counted by the scan, its change removed) or in
//! neither (not seen by the scan, its change kept).

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::time::Instant;

use crate::define::require_owner;
use crate::error::Result;
use crate::model::Metric;
use crate::{ffi, storage};

type RefreshRow = (
    name!(metric, String),
    name!(groups, i64),
    name!(elapsed_ms, f64),
);

#[pg_extern(volatile, parallel_unsafe)]
fn refresh(
    metric: default!(Option<&str>, "NULL"),
) -> std::result::Result<
    TableIterator<
        'static,
        (
            name!(metric, String),
            name!(groups, i64),
            name!(elapsed_ms, f64),
        ),
    >,
    ErrorReport,
> {
    let rows = ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| -> Result<Vec<RefreshRow>> {
            let metrics = Metric::load_all(client, metric)?;
            for metric in &metrics {
                require_owner(client, metric.source_oid)?;
            }
            let count = metrics.len();
            let mut out = Vec::with_capacity(count);
            for (i, metric) in metrics.iter().enumerate() {
                notice!(
                    "tally.refresh: [{}/{}] {} on {} (~{} rows)",
                    i + 1,
                    count,
                    metric.name,
                    metric.source,
                    estimated_rows(client, metric)?
                );
                let started = Instant::now();
                let groups = recompute(metric)?;
                let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
                notice!(
                    "tally.refresh: [{}/{}] {} done: {} groups in {:.1} ms",
                    i + 1,
                    count,
                    metric.name,
                    groups,
                    elapsed_ms
                );
                out.push((metric.name.clone(), groups, elapsed_ms));
            }
            Ok(out)
        })
    })?;
    Ok(TableIterator::new(rows))
}

fn estimated_rows(client: &SpiClient<'_>, metric: &Metric) -> Result<i64> {
    Ok(client
        .select(
            "SELECT greatest(reltuples, 0)::pg_catalog.int8 FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
            Some(1),
            &[metric.source_oid.into()],
        )?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0))
}

/// Recomputes every metric of `source` (TRUNCATE of one partition, ATTACH/DETACH PARTITION).
pub fn recompute_source(client: &mut SpiClient<'_>, source: pgrx::pg_sys::Oid) -> Result<()> {
    for metric in Metric::load_for_source(client, source)? {
        recompute(&metric)?;
    }
    Ok(())
}

pub fn recompute(metric: &Metric) -> Result<i64> {
    storage::require_current_catalog()?;
    // Source lock first, then the fold lock: the order TRUNCATE takes them in (the table,
    // then the fold lock in its trigger), so the two cannot deadlock.
    ffi::lock_table(metric.source_oid, pg_sys::AccessShareLock);
    storage::lock_folding()?;
    // Every statement below runs in one snapshot taken after the fold lock was granted
    // (whatever the isolation level: under REPEATABLE READ the transaction's own snapshot
    // could miss state a compaction folded after it was taken). One snapshot makes the
    // source scan and the removal of pending changes agree: a write is either counted by
    // the scan with its change removed, or in neither.
    let snapshot = ffi::Snapshot::latest();
    ffi::execute_in_snapshot(
        &snapshot,
        &"DELETE FROM tally._state WHERE metric_id = $1",
        &[ffi::SpiValue::of_int4(metric.id)],
        &[],
    )?;
    // The source is read, and the metric's expressions evaluated, as the table owner.
    let live = storage::live_counters(metric, &snapshot)?;
    // Pending changes from the fold horizon on: those before it are already folded, and
    // the queue table may hold many of them until VACUUM.
    let sql = crate::sql::recompute_sql();
    let mut params = live.unwrap_or_else(storage::no_counters);
    params.push(ffi::SpiValue::of_int4(metric.id));
    let (groups, _) = ffi::execute_in_snapshot(&snapshot, &sql, &params, &[])?;
    // Exact again: a broken metric (see `fold`) folds from here on. No fold can mark it
    // broken meanwhile: we hold the fold lock.
    ffi::execute_in_snapshot(
        &snapshot,
        &"DELETE FROM tally._broken WHERE metric_id = $1",
        &[ffi::SpiValue::of_int4(metric.id)],
        &[],
    )?;
    snapshot.release();
    Ok(groups as i64)
}
