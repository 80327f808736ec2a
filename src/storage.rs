//! The counter store: folded `_state` plus append-only `_delta`, and the one advisory lock
//! that serializes everything that rewrites `_state` (compaction, refresh, TRUNCATE, drop).
//! Writers never take that lock: they only INSERT into `_delta`.

use pgrx::spi::SpiClient;

use crate::error::Result;
use crate::sqlgen::COUNTER_COLUMNS;

/// Advisory lock key (two int4 halves): "tally" in ASCII, then 1 for "fold".
const LOCK_SQL: &str = "SELECT pg_catalog.pg_advisory_xact_lock(1952541801, 1)";
const TRY_LOCK_SQL: &str = "SELECT pg_catalog.pg_try_advisory_xact_lock(1952541801, 1)";

/// Waits for the fold lock, held until the transaction ends.
pub fn lock_folding(client: &mut SpiClient<'_>) -> Result<()> {
    client.update(LOCK_SQL, None, &[])?;
    Ok(())
}

/// Takes the fold lock if nobody holds it; never waits.
pub fn try_lock_folding(client: &mut SpiClient<'_>) -> Result<bool> {
    let got = client
        .update(TRY_LOCK_SQL, Some(1), &[])?
        .first()
        .get_one::<bool>()?;
    Ok(got.unwrap_or(false))
}

/// Counter rows of the metrics selected by `condition` (a predicate over metric_id and
/// bucket_start), folded and pending alike: the exact current state when read in one
/// snapshot.
pub fn stored_rows_sql(condition: &str) -> String {
    format!(
        "SELECT {COUNTER_COLUMNS} FROM tally._state WHERE {condition} \
         UNION ALL SELECT {COUNTER_COLUMNS} FROM tally._delta WHERE {condition}"
    )
}

/// What one compaction did.
pub struct Folded {
    pub deltas: i64,
    pub groups: i64,
}

/// Folds every committed delta into `_state` in one statement (one snapshot): the deltas it
/// deletes are exactly the ones it adds. Deltas of in-progress transactions are invisible
/// here and stay for a later fold. Caller holds the fold lock.
pub fn fold_all(client: &mut SpiClient<'_>) -> Result<Folded> {
    let sql = format!(
        "WITH moved AS (DELETE FROM tally._delta RETURNING {COUNTER_COLUMNS}), \
         folded AS (SELECT d.metric_id, d.bucket_start, d.group_key, pg_catalog.sum(d.n_rows) AS n_rows, \
                           pg_catalog.sum(d.n_values) AS n_values, pg_catalog.sum(d.total) AS total \
                      FROM moved d JOIN tally._metric m ON m.id = d.metric_id \
                     GROUP BY 1, 2, 3), \
         upserted AS (INSERT INTO tally._state AS s ({COUNTER_COLUMNS}) SELECT * FROM folded \
                      ON CONFLICT ON CONSTRAINT _state_key DO UPDATE \
                      SET n_rows = s.n_rows + EXCLUDED.n_rows, n_values = s.n_values + EXCLUDED.n_values, \
                          total = s.total + EXCLUDED.total \
                      RETURNING 1) \
         SELECT (SELECT pg_catalog.count(*) FROM moved), (SELECT pg_catalog.count(*) FROM upserted)"
    );
    let row = client.update(&sql, Some(1), &[])?.first();
    let deltas = row.get::<i64>(1)?.unwrap_or(0);
    let groups = row.get::<i64>(2)?.unwrap_or(0);
    if groups > 0 {
        // Groups whose rows all went away: keep _state as small as the live data.
        client.update(
            "DELETE FROM tally._state WHERE n_rows = 0 AND n_values = 0 AND total = 0",
            None,
            &[],
        )?;
    }
    Ok(Folded { deltas, groups })
}

/// Forgets every stored counter of the metrics defined on `source` (TRUNCATE). Caller
/// holds the fold lock. Runs under the latest snapshot: the table is empty whatever the
/// transaction's snapshot was, so every delta committed before the TRUNCATE must go.
pub fn clear_source(_client: &mut SpiClient<'_>, source: pgrx::pg_sys::Oid) -> Result<()> {
    for table in ["tally._state", "tally._delta"] {
        let sql = format!(
            "DELETE FROM {table} WHERE metric_id IN \
             (SELECT id FROM tally._metric WHERE source = $1::pg_catalog.oid)"
        );
        crate::ffi::execute_with_latest_snapshot(&sql, Some(source))?;
    }
    Ok(())
}
