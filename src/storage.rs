//! The counter store: folded `_state` plus append-only `_change`, and the one fold lock
//! that serializes everything that rewrites `_state` (compaction, refresh, TRUNCATE, drop).
//! Writers never take that lock: they only INSERT into `_change`.

use pgrx::spi::SpiClient;

use crate::error::{Result, TallyError};
use crate::ffi::{Snapshot, SpiValue};
use crate::model::Metric;
use crate::sqlgen::{DeltaShape, COUNTER_COLUMNS};

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

/// The fold horizon (see `tally._fold`) as a scalar subquery: no pending delta was written
/// by a transaction before it.
pub const HORIZON_SQL: &str =
    "coalesce((SELECT f.horizon FROM tally._fold f WHERE f.id = 1), '0'::pg_catalog.xid8)";

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

/// Counter rows of the metrics selected by `condition` (a predicate over metric_id and
/// bucket_start), folded and pending alike: the exact current state when read in one
/// snapshot. Pending deltas are looked up from the fold horizon on.
pub fn stored_rows_sql(condition: &str) -> String {
    format!(
        "SELECT {COUNTER_COLUMNS} FROM tally._state WHERE {condition} \
         UNION ALL SELECT {COUNTER_COLUMNS} FROM tally._delta \
          WHERE ({condition}) AND xact_id >= {HORIZON_SQL}"
    )
}

/// What one compaction did.
pub struct Folded {
    pub deltas: i64,
    pub groups: i64,
}

/// Rows of `_state` with the same (metric, bucket, group, value) as the row `f`: NULL-safe,
/// through the `_state_values` expression index.
pub const SAME_VALUE_KEY: &str = "s.metric_id = f.metric_id AND s.value = f.value \
    AND coalesce(s.bucket_start, '-infinity') = coalesce(f.bucket_start, '-infinity') \
    AND coalesce(s.group_key, '') = coalesce(f.group_key, '') \
    AND s.bucket_start IS NOT DISTINCT FROM f.bucket_start AND s.group_key IS NOT DISTINCT FROM f.group_key";

/// The columns of one change, in the order `tally._change` and the view `tally._delta`
/// hold them (each an array in `_change`: element i of each is one change).
pub const CHANGE_ARRAYS: [&str; 7] = [
    "metric_id",
    "bucket_start",
    "group_key",
    "n_rows",
    "n_values",
    "total",
    "value",
];

/// The changes of the `_change` row `row` (a range variable with that table's columns),
/// one per row as `d`, with the columns of `CHANGE_ARRAYS`.
fn unnested(row: &str) -> String {
    let unnests: Vec<String> = CHANGE_ARRAYS
        .iter()
        .map(|c| format!("pg_catalog.unnest({row}.{c})"))
        .collect();
    format!(
        "ROWS FROM ({}) AS d({})",
        unnests.join(", "),
        CHANGE_ARRAYS.join(", ")
    )
}

/// Data-modifying CTEs (`gone`, `kept`) that remove the pending changes of the metrics in
/// `ids` (an int[] expression): every `_change` row from the fold horizon on holding one
/// of them is deleted and rewritten without them, with its transaction id (a row left with
/// no change is not rewritten). Caller holds the fold lock, as everything that deletes
/// changes does, so no fold can take a row between the two.
pub fn remove_pending_ctes(ids: &str) -> String {
    let aggregated: Vec<String> = CHANGE_ARRAYS
        .iter()
        .map(|c| format!("pg_catalog.array_agg(d.{c})"))
        .collect();
    format!(
        "gone AS (DELETE FROM tally._change c WHERE c.xact_id >= {HORIZON_SQL} AND c.metric_id OPERATOR(pg_catalog.&&) {ids} \
                  RETURNING c.*), \
         kept AS (INSERT INTO tally._change (xact_id, {columns}) \
                  SELECT g.xact_id, k.* FROM gone g, LATERAL ( \
                         SELECT {aggregated} \
                           FROM {changes} WHERE d.metric_id OPERATOR(pg_catalog.<>) ALL ({ids})) k(m) \
                   WHERE k.m IS NOT NULL RETURNING 1)",
        columns = CHANGE_ARRAYS.join(", "),
        aggregated = aggregated.join(", "),
        changes = unnested("g")
    )
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

/// Whether this database's pg_tally catalog matches the library (0.6.0: one `tally._change`
/// row per write statement). False between installing a new library and `ALTER EXTENSION
/// pg_tally UPDATE`: writes then keep recording deltas in the old shape (`tally._delta`
/// rows), nothing folds, and everything else asks for the update.
pub fn catalog_is_current() -> bool {
    if CATALOG_CURRENT.with(|c| c.get()) {
        return true;
    }
    let current = crate::ffi::change_relid().is_some();
    CATALOG_CURRENT.with(|c| c.set(current));
    current
}

/// How this database's catalog stores pending changes: packed on a current catalog; in
/// `tally._delta` rows, with or without `value` (0.1.0), on an old one. `xact_id` is never
/// named: its default fills it.
pub fn delta_shape(client: &SpiClient<'_>) -> Result<DeltaShape> {
    Ok(if catalog_is_current() {
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
    let metrics = "(SELECT id FROM tally._metric WHERE source = $1::pg_catalog.oid)";
    let snapshot = Snapshot::latest();
    crate::ffi::execute_in_snapshot(
        &snapshot,
        &format!("DELETE FROM tally._state WHERE metric_id IN {metrics}"),
        &[SpiValue::of_oid(source)],
        &[],
    )?;
    let changes = if catalog_is_current() {
        format!(
            "WITH {} SELECT",
            remove_pending_ctes(&format!("ARRAY{metrics}"))
        )
    } else {
        format!("DELETE FROM tally._delta WHERE metric_id IN {metrics}")
    };
    crate::ffi::execute_in_snapshot(&snapshot, &changes, &[SpiValue::of_oid(source)], &[])?;
    snapshot.release();
    Ok(())
}

/// The live counters of `metric` over its whole source table, as the seven arrays of
/// `sqlgen::changes_select_sql` (None when the table has no row the metric counts), read in
/// `snapshot` as the table's owner: the metric's expressions never run with the extension
/// owner's rights.
pub fn live_counters(metric: &Metric, snapshot: &Snapshot) -> Result<Option<Vec<SpiValue>>> {
    let sql =
        crate::sqlgen::changes_select_sql(vec![metric.aggregate_sql(&metric.source, 1, true)])
            .ok_or_else(|| TallyError::Internal("no counters to select".into()))?;
    crate::ffi::as_table_owner(metric.owner, || {
        let (_, row) = crate::ffi::execute_in_snapshot(
            snapshot,
            &sql,
            &[],
            &crate::sqlgen::CHANGE_ARRAY_TYPES,
        )?;
        Ok(row)
    })
}

/// Seven NULL arrays: no counters, as `$1`..`$7` of `sqlgen::counters_from_arrays_sql`.
pub fn no_counters() -> Vec<SpiValue> {
    crate::sqlgen::CHANGE_ARRAY_TYPES
        .iter()
        .map(|&oid| SpiValue::null(oid))
        .collect()
}
