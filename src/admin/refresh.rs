//! `tally.refresh`: recompute metrics from their source tables (a DBA job). Writers keep
//! writing meanwhile: the recompute and the removal of pending changes happen in one
//! statement, so a write is either in both (counted by the scan, its change removed) or in
//! neither (not seen by the scan, its change kept).

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::time::Instant;

use crate::catalog::define::require_owner;
use crate::error::Result;
use crate::ffi;
use crate::fold::storage;
use crate::model::Metric;

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
                let groups = storage::recompute(metric)?;
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
