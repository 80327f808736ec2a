//! The counter store: folded `_state` plus append-only `_change`, and the one fold lock
//! that serializes everything that rewrites `_state` (compaction, refresh, TRUNCATE, drop).
//! Writers never take that lock: they only INSERT into `_change`.

use pgrx::spi::SpiClient;

use crate::error::{Result, TallyError};
use crate::ffi::{Snapshot, SpiValue};
use crate::model::Metric;
use crate::sql::DeltaShape;

/// The oid of `tally._metric` (present in every catalog version), whose object lock is the
/// fold lock (`ffi::lock_fold`): a lock tag no SQL command takes, so no other role can hold
/// it and stall folding, as anyone could with the advisory key 0.7.0 used.
fn fold_lock_object() -> Result<pgrx::pg_sys::Oid> {
    crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, c"_metric"))
        .ok_or(TallyError::CatalogOutdated)
}

/// Waits for the fold lock, held until the transaction ends.
pub fn lock_folding() -> Result<()> {
    crate::ffi::lock_fold(fold_lock_object()?, true);
    Ok(())
}

/// Folds every committed delta if no other session holds the fold lock (never waits):
/// None when someone else is folding.
pub fn fold_if_free(client: &mut SpiClient<'_>) -> Result<Option<Folded>> {
    if !crate::ffi::lock_fold(fold_lock_object()?, false) {
        return Ok(None);
    }
    crate::fold::fold_all(client).map(Some)
}

/// The fold horizon (`tally._fold`): no pending delta was written before it. 0 if the row
/// is missing, which only makes the delta lookups start at the beginning.
pub fn fold_horizon(reader: &crate::ffi::scan::Reader) -> Result<u64> {
    let mut horizon = 0;
    reader.lookup(
        "_fold",
        &[crate::ffi::scan::Key::Int4("id", 1)],
        &["horizon"],
        |row| {
            // xid8 is a 64-bit value passed by value, as int8 is.
            horizon = row.get::<i64>(0).map_or(0, |h| h as u64);
            Ok(())
        },
    )?;
    Ok(horizon)
}

/// What one compaction did.
pub struct Folded {
    pub deltas: i64,
    pub groups: i64,
}

thread_local! {
    /// Once the catalog is seen current it stays so for the life of the backend.
    static CATALOG_CURRENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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

/// Whether this database's pg_tally catalog matches the library (0.9.0: metrics can be
/// marked broken, the counters' index holds long group keys by digest). False between
/// installing a new library and `ALTER EXTENSION pg_tally UPDATE`: writes then keep
/// recording changes in the old catalog's shape, nothing folds, and everything else asks
/// for the update.
pub fn catalog_is_current() -> bool {
    if CATALOG_CURRENT.with(|c| c.get()) {
        return true;
    }
    let current = crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, c"_broken"))
        .is_some();
    CATALOG_CURRENT.with(|c| c.set(current));
    current
}

/// Whether pending changes are packed, one `tally._change` row per statement (0.6.0 and
/// later).
fn changes_are_packed() -> bool {
    catalog_is_current() || crate::ffi::change_relid().is_some()
}

/// How this database's catalog stores pending changes: packed from 0.6.0 on; in
/// `tally._delta` rows, with or without `value` (0.1.0), before. `xact_id` is never
/// named: its default fills it.
pub fn delta_shape(client: &SpiClient<'_>) -> Result<DeltaShape> {
    Ok(if changes_are_packed() {
        DeltaShape::Packed
    } else if delta_has_column(client, "value")? {
        DeltaShape::Rows
    } else {
        DeltaShape::Legacy
    })
}

/// Whether this session has already seen the catalog current, without asking the database
/// (the single-row write path needs no SPI connection when it has).
pub fn catalog_known_current() -> bool {
    CATALOG_CURRENT.with(|c| c.get())
}

/// Fails with a hint to run `ALTER EXTENSION pg_tally UPDATE` on an old catalog.
pub fn require_current_catalog() -> Result<()> {
    if catalog_is_current() {
        Ok(())
    } else {
        Err(crate::error::TallyError::CatalogOutdated)
    }
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
    let sql = crate::sql::live_counters_sql(metric);
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
