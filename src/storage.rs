//! The counter store: folded `_state` plus append-only `_delta`, and the one advisory lock
//! that serializes everything that rewrites `_state` (compaction, refresh, TRUNCATE, drop).
//! Writers never take that lock: they only INSERT into `_delta`.

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use std::sync::OnceLock;

use crate::error::Result;
use crate::plans::{self, Access};
use crate::sqlgen::{DeltaShape, COUNTER_COLUMNS};

/// Advisory lock key (two int4 halves): "tally" in ASCII, then 1 for "fold".
const FOLD_LOCK: (i32, i32) = (1952541801, 1);

/// Waits for the fold lock, held until the transaction ends.
pub fn lock_folding() {
    crate::ffi::advisory_xact_lock(FOLD_LOCK.0, FOLD_LOCK.1, true);
}

/// Folds every committed delta if no other session holds the fold lock (never waits):
/// None when someone else is folding.
pub fn fold_if_free(client: &mut SpiClient<'_>) -> Result<Option<Folded>> {
    if !crate::ffi::advisory_xact_lock(FOLD_LOCK.0, FOLD_LOCK.1, false) {
        return Ok(None);
    }
    fold_all(client).map(Some)
}

/// Counter rows whose source rows all went away, by the row ids the fold returned for them
/// (a TID scan). No index covers the counters: that keeps the fold's `_state` updates HOT
/// (heap-only, no new index entries), where a partial index on `n_rows = 0` (0.1.0-0.4.0)
/// made every one of them insert new entries into every index of `_state`.
const EMPTY_ROWS_SQL: &str = "DELETE FROM tally._state \
      WHERE ctid = ANY ($1::pg_catalog.text[]::pg_catalog.tid[]) AND n_rows = 0 AND n_values = 0 AND total = 0";

/// The fold horizon (see `tally._fold`) as a scalar subquery: no pending delta was written
/// by a transaction before it.
pub const HORIZON_SQL: &str =
    "coalesce((SELECT f.horizon FROM tally._fold f WHERE f.id = 1), '0'::pg_catalog.xid8)";

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
const SAME_VALUE_KEY: &str = "s.metric_id = f.metric_id AND s.value = f.value \
    AND coalesce(s.bucket_start, '-infinity') = coalesce(f.bucket_start, '-infinity') \
    AND coalesce(s.group_key, '') = coalesce(f.group_key, '') \
    AND s.bucket_start IS NOT DISTINCT FROM f.bucket_start AND s.group_key IS NOT DISTINCT FROM f.group_key";

/// The columns of one change, in the order `tally._change` and the view `tally._delta`
/// hold them (each an array in `_change`).
const CHANGE_COLUMNS: &str = "metric_id, bucket_start, group_key, n_rows, n_values, total, value";

/// The changes of the `_change` row `row` (a range variable with that table's columns),
/// one per row as `d`, with the columns of `CHANGE_COLUMNS`.
fn unnested(row: &str) -> String {
    format!(
        "ROWS FROM (pg_catalog.unnest({row}.metric_id), pg_catalog.unnest({row}.bucket_start), \
                    pg_catalog.unnest({row}.group_key), pg_catalog.unnest({row}.n_rows), \
                    pg_catalog.unnest({row}.n_values), pg_catalog.unnest({row}.total), \
                    pg_catalog.unnest({row}.value)) AS d({CHANGE_COLUMNS})"
    )
}

/// Data-modifying CTEs (`gone`, `kept`) that remove the pending changes of the metrics in
/// `ids` (an int[] expression): every `_change` row from the fold horizon on holding one
/// of them is deleted and rewritten without them, with its transaction id (a row left with
/// no change is not rewritten). Caller holds the fold lock, as everything that deletes
/// changes does, so no fold can take a row between the two.
pub fn remove_pending_ctes(ids: &str) -> String {
    format!(
        "gone AS (DELETE FROM tally._change c WHERE c.xact_id >= {HORIZON_SQL} AND c.metric_id OPERATOR(pg_catalog.&&) {ids} \
                  RETURNING c.*), \
         kept AS (INSERT INTO tally._change (xact_id, {CHANGE_COLUMNS}) \
                  SELECT g.xact_id, k.* FROM gone g, LATERAL ( \
                         SELECT pg_catalog.array_agg(d.metric_id), pg_catalog.array_agg(d.bucket_start), \
                                pg_catalog.array_agg(d.group_key), pg_catalog.array_agg(d.n_rows), \
                                pg_catalog.array_agg(d.n_values), pg_catalog.array_agg(d.total), pg_catalog.array_agg(d.value) \
                           FROM {changes} WHERE d.metric_id OPERATOR(pg_catalog.<>) ALL ({ids})) k(m) \
                   WHERE k.m IS NOT NULL RETURNING 1)",
        changes = unnested("g")
    )
}

/// The fold statement, built once (see `fold_all`). It deletes every `_change` row from the
/// fold horizon on (one index range, starting at the horizon) and moves the horizon to its
/// own snapshot's xmin: every change it could not see belongs to a transaction running then
/// or started later, whose id is at least that xmin (only when it deleted something: a fold
/// with nothing to do writes nothing). Changes of a metric dropped since are discarded.
/// Between two vacuums the `_change_xact` index fills with the entries of folded rows (a
/// busy table folds thousands a second), all of them before the horizon, so the fold never
/// walks them.
fn fold_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| format!(
        "WITH moved AS (DELETE FROM tally._change WHERE xact_id >= {HORIZON_SQL} RETURNING *), \
         advanced AS (UPDATE tally._fold SET horizon = pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) \
                       WHERE id = 1 AND EXISTS (SELECT FROM moved) RETURNING 1), \
         changes AS (SELECT d.* FROM moved c, {changes} WHERE d.metric_id IN (SELECT id FROM tally._metric)), \
         summed AS (SELECT d.metric_id, d.bucket_start, d.group_key, d.value, pg_catalog.sum(d.n_rows) AS n_rows, \
                           pg_catalog.sum(d.n_values) AS n_values, pg_catalog.sum(d.total) AS total \
                      FROM changes d GROUP BY 1, 2, 3, 4), \
         distinct_change AS (SELECT f.metric_id, f.bucket_start, f.group_key, NULL::pg_catalog.numeric AS value, \
                                    0::pg_catalog.numeric AS n_rows, 0::pg_catalog.numeric AS n_values, \
                                    pg_catalog.sum((coalesce(s.n_rows, 0) + f.n_rows > 0)::pg_catalog.int4 \
                                                   - (coalesce(s.n_rows, 0) > 0)::pg_catalog.int4)::pg_catalog.numeric AS total \
                               FROM summed f \
                               JOIN tally._metric m ON m.id = f.metric_id AND m.aggregate = 'count_distinct' \
                               LEFT JOIN tally._state s ON {SAME_VALUE_KEY} \
                              WHERE f.value IS NOT NULL \
                              GROUP BY 1, 2, 3), \
         folded AS (SELECT u.metric_id, u.bucket_start, u.group_key, u.value, pg_catalog.sum(u.n_rows), \
                           pg_catalog.sum(u.n_values), pg_catalog.sum(u.total) \
                      FROM (SELECT * FROM summed UNION ALL SELECT * FROM distinct_change) u \
                     GROUP BY 1, 2, 3, 4), \
         upserted AS (INSERT INTO tally._state AS s ({COUNTER_COLUMNS}) SELECT * FROM folded \
                      ON CONFLICT ON CONSTRAINT _state_key DO UPDATE \
                      SET n_rows = s.n_rows + EXCLUDED.n_rows, n_values = s.n_values + EXCLUDED.n_values, \
                          total = s.total + EXCLUDED.total \
                      RETURNING s.ctid, s.n_rows = 0 AND s.n_values = 0 AND s.total = 0 AS emptied) \
         SELECT (SELECT pg_catalog.count(*) FROM changes), (SELECT pg_catalog.count(*) FROM upserted), \
                (SELECT pg_catalog.array_agg(u.ctid::pg_catalog.text) FROM upserted u WHERE u.emptied)",
        changes = unnested("c")
    ))
}

/// Folds every committed delta into `_state` in one statement (one snapshot): the deltas it
/// deletes are exactly the ones it adds. Deltas of in-progress transactions are invisible
/// here and stay for a later fold. A count_distinct group's summary row also gains the
/// values that appear (a count going from 0 to positive) minus those that disappear,
/// judged against the state this statement replaces. Caller holds the fold lock.
/// Its plan is prepared once per session.
fn fold_all(client: &mut SpiClient<'_>) -> Result<Folded> {
    let fold = plans::cached(client, fold_sql(), &[], Access::Write)?;
    let (deltas, groups, emptied) = crate::ffi::with_queue_plan_settings(|| {
        let row = client.update(&*fold, Some(1), &[])?.first();
        Ok((
            row.get::<i64>(1)?.unwrap_or(0),
            row.get::<i64>(2)?.unwrap_or(0),
            row.get::<Vec<String>>(3)?.unwrap_or_default(),
        ))
    })?;
    if !emptied.is_empty() {
        // Groups and values whose rows all went away: keep _state as small as the live data.
        // Only after a fold that emptied some (most folds empty none). The row ids are
        // stable until then: everything that rewrites _state holds the fold lock, as we do.
        let cleanup = plans::cached(
            client,
            EMPTY_ROWS_SQL,
            &[pg_sys::TEXTARRAYOID],
            Access::Write,
        )?;
        client.update(&*cleanup, None, &[emptied.into()])?;
    }
    Ok(Folded { deltas, groups })
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
    crate::ffi::execute_with_latest_snapshot(
        &format!("DELETE FROM tally._state WHERE metric_id IN {metrics}"),
        Some(source),
    )?;
    let changes = if catalog_is_current() {
        format!(
            "WITH {} SELECT",
            remove_pending_ctes(&format!("ARRAY{metrics}"))
        )
    } else {
        format!("DELETE FROM tally._delta WHERE metric_id IN {metrics}")
    };
    crate::ffi::execute_with_latest_snapshot(&changes, Some(source))?;
    Ok(())
}
