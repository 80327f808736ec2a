//! The counter store: folded `_state` plus append-only `_change`, and the one fold lock
//! that serializes everything that rewrites `_state` (compaction, refresh, TRUNCATE, drop).
//! Writers never take that lock: they only INSERT into `_change`.

use pgrx::spi::SpiClient;

use crate::error::{Result, TallyError};
use crate::ffi::{Snapshot, SpiValue};
use crate::model::Metric;
use crate::sql::ChangeShape;

/// The oid of `tally._metric` (present in every catalog version), whose object lock is the
/// fold lock (`sys::lock_fold`): a lock tag no SQL command takes, so no other role can hold
/// it and stall folding, as anyone could with the advisory key 0.7.0 used.
pub fn fold_lock_object() -> Result<pgrx::pg_sys::Oid> {
    crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, c"_metric"))
        .ok_or(TallyError::CatalogOutdated)
}

/// Waits for the fold lock, held until the transaction ends.
pub fn lock_folding() -> Result<()> {
    super::sys::lock_fold(fold_lock_object()?, true);
    Ok(())
}

/// Whether `tally._delta` has the named column (the shape of this database's catalog).
fn delta_has_column(client: &SpiClient<'_>, column: &str) -> Result<bool> {
    Ok(client
        .select(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute \
              WHERE attrelid = 'tally._delta'::pg_catalog.regclass AND attname = $1 AND NOT attisdropped)",
            Some(1),
            &[column.into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false))
}

/// Whether pending changes are packed, one `tally._change` row per statement (0.6.0 and
/// later).
fn changes_are_packed() -> bool {
    crate::model::installed::catalog_is_current() || crate::ffi::change_relid().is_some()
}

/// How this database's catalog stores pending changes: packed from 0.6.0 on; in
/// `tally._delta` rows, with or without `value` (0.1.0), before. `xact_id` is never
/// named: its default fills it.
pub fn change_shape(client: &SpiClient<'_>) -> Result<ChangeShape> {
    Ok(if changes_are_packed() {
        ChangeShape::Packed
    } else if delta_has_column(client, "value")? {
        ChangeShape::Rows
    } else {
        ChangeShape::Legacy
    })
}

/// Forgets every stored counter of the metrics defined on `source` (TRUNCATE). Caller
/// holds the fold lock. Runs under the latest snapshot: the table is empty whatever the
/// transaction's snapshot was, so every change committed before the TRUNCATE must go.
/// A TRUNCATE between installing this library and `ALTER EXTENSION pg_tally UPDATE` meets
/// the old catalog (a `tally._delta` table, maybe no fold horizon) and is served there.
pub fn clear_source(_client: &mut SpiClient<'_>, source: pgrx::pg_sys::Oid) -> Result<()> {
    let table = [SpiValue::of_oid(source)];
    let snapshot = Snapshot::latest();
    crate::ffi::execute_in_snapshot(&snapshot, &crate::sql::CLEAR_STATE_SQL, &table, &[])?;
    let pending = crate::sql::clear_pending_sql(changes_are_packed());
    crate::ffi::execute_in_snapshot(&snapshot, &pending, &table, &[])?;
    snapshot.release();
    Ok(())
}

/// The live counters of `metric` over its whole source table, as the seven arrays of
/// `sql::changes_select_sql` (None when the table has no row the metric counts), read in
/// `snapshot` as the table's owner: the metric's expressions never run with the extension
/// owner's rights.
pub fn live_counters(metric: &Metric, snapshot: &Snapshot) -> Result<Option<Vec<SpiValue>>> {
    require_whole_table_readable(metric.source_oid, &metric.source)?;
    let sql = metric.live_counters_sql();
    crate::ffi::as_table_owner(metric.owner, || {
        let (_, row) =
            crate::ffi::execute_in_snapshot(snapshot, &sql, &[], &crate::sql::CHANGE_ARRAY_TYPES)?;
        Ok(row)
    })
}

/// Fails for a table whose owner is subject to its own row-level security (FORCE ROW LEVEL
/// SECURITY): the backfill, `refresh` and `verify` read the table as its owner and would
/// count only the rows its policies show, while the write trigger counts every row written.
pub fn require_whole_table_readable(
    source: pgrx::pg_sys::Oid,
    relation: &impl std::fmt::Display,
) -> Result<()> {
    let forced = crate::ffi::select_one::<bool>(
        "SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = $1",
        &[source.into()],
    )?
    .unwrap_or(false);
    if forced {
        return Err(TallyError::ForcedRowSecurity(relation.to_string()));
    }
    Ok(())
}

/// Seven NULL arrays: no counters, as `$1`..`$7` of `sql::backfill_sql`.
pub fn no_counters() -> Vec<SpiValue> {
    crate::sql::CHANGE_ARRAY_TYPES
        .iter()
        .map(|&oid| SpiValue::null(oid))
        .collect()
}

/// Recomputes every metric of `source` (TRUNCATE of one partition, ATTACH/DETACH PARTITION).
pub fn recompute_source(client: &mut SpiClient<'_>, source: pgrx::pg_sys::Oid) -> Result<()> {
    for metric in Metric::load_for_source(client, source)? {
        recompute(&metric)?;
    }
    Ok(())
}

/// Replaces the counters and pending changes of `metric` with its live counters (`tally.refresh`,
/// DDL that changed what it reads), in one snapshot, and clears its broken mark.
pub fn recompute(metric: &Metric) -> Result<i64> {
    crate::model::installed::require_current_catalog()?;
    // Source lock first, then the fold lock: the order TRUNCATE takes them in (the table,
    // then the fold lock in its trigger), so the two cannot deadlock.
    crate::ffi::lock_table(metric.source_oid, pgrx::pg_sys::AccessShareLock);
    lock_folding()?;
    // Every statement below runs in one snapshot taken after the fold lock was granted
    // (whatever the isolation level: under REPEATABLE READ the transaction's own snapshot
    // could miss state a compaction folded after it was taken). One snapshot makes the
    // source scan and the removal of pending changes agree: a write is either counted by
    // the scan with its change removed, or in neither.
    let snapshot = crate::ffi::Snapshot::latest();
    crate::ffi::execute_in_snapshot(
        &snapshot,
        &"DELETE FROM tally._state WHERE metric_id = $1",
        &[crate::ffi::SpiValue::of_int4(metric.id)],
        &[],
    )?;
    // The source is read, and the metric's expressions evaluated, as the table owner.
    let live = live_counters(metric, &snapshot)?;
    // Pending changes from the fold horizon on: those before it are already folded, and
    // the queue table may hold many of them until VACUUM.
    let sql = crate::sql::recompute_sql();
    let mut params = live.unwrap_or_else(no_counters);
    params.push(crate::ffi::SpiValue::of_int4(metric.id));
    let (groups, _) = crate::ffi::execute_in_snapshot(&snapshot, &sql, &params, &[])?;
    // Exact again: a broken metric (see `fold`) folds from here on. No fold can mark it
    // broken meanwhile: we hold the fold lock.
    crate::ffi::execute_in_snapshot(
        &snapshot,
        &"DELETE FROM tally._broken WHERE metric_id = $1",
        &[crate::ffi::SpiValue::of_int4(metric.id)],
        &[],
    )?;
    snapshot.release();
    Ok(groups as i64)
}
