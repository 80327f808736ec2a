//! Folding: committed changes leave `tally._change` and are added to the counters of
//! `tally._state`, so reads stay O(groups) however many writes happened.
//!
//! Files: this one (the fold), `storage` (the counter store: fold lock, recompute, live
//! counters, TRUNCATE), `compact` (`tally.compact()`, the writers' auto-fold), `compactor`
//! (the background worker). SQL: sql/bootstrap.sql (`_state`, `_change`, `_fold`, `_broken`,
//! `_group_index_key`). Unsafe calls: `sys` (`scan`: the take; `array`: reading the arrays
//! in place; the fold lock; the queue's plan settings; the worker's process calls),
//! `ffi::in_subtransaction`.
//!
//! A fold takes the pending `_change` rows (`sys::scan::take_changes`: an index scan from
//! the fold horizon that deletes each row it reads, without the executor) and sums their
//! changes per (metric, bucket, group, value) in Rust, reading the arrays in place. One
//! SQL upsert (`sql::fold_apply_sql`) then adds those sums to `_state`, and the horizon moves on.
//!
//! Why not one SQL statement (0.6.0): unnesting each row's seven arrays with `ROWS FROM`
//! runs seven function scans, each materialized, per `_change` row. That was two thirds of
//! a fold (0.8 of 1.2 ms for 100 single-row INSERTs of the demo), and writers pay for the
//! fold (`tally.auto_compact`).

pub mod compact;
pub mod compactor;
pub mod storage;
pub mod sys;

use pgrx::datum::AnyNumeric;
use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::collections::HashMap;

use crate::error::{Result, TallyError};
use crate::plans::{self, Access};
use sys::array::{self, ElementType};
use sys::scan::{self, Reader, Row};

/// Counter rows whose source rows all went away, by the row ids the fold returned for them
/// (a TID scan). No index covers the counters: that keeps the fold's `_state` updates HOT
/// (heap-only, no new index entries), where a partial index on `n_rows = 0` (0.1.0-0.4.0)
/// made every one of them insert new entries into every index of `_state`.
const EMPTY_ROWS_SQL: &str = "DELETE FROM tally._state \
      WHERE ctid = ANY ($1::pg_catalog.text[]::pg_catalog.tid[]) AND n_rows = 0 AND n_values = 0 AND total = 0";

/// The ids of the broken metrics (`tally._broken`), usually none.
const BROKEN_SQL: &str =
    "SELECT coalesce(pg_catalog.array_agg(metric_id), '{}') FROM tally._broken";

/// Moves the fold horizon to `$1`, the xmin of the snapshot a fold took its changes under:
/// every change it did not see belongs to a transaction running then or started later,
/// whose id is at least that xmin. Only a fold that took something moves it, so a fold
/// with nothing to do writes nothing. Between two vacuums the `_change_xact` index fills
/// with the entries of folded rows (a busy table folds thousands a second), all before the
/// horizon, so neither folds nor reads walk them.
const ADVANCE_SQL: &str = "UPDATE tally._fold SET horizon = $1 WHERE id = 1";

/// The element types of `sql::fold_apply_sql`'s array parameters `$1`..`$8`: its parameter types
/// and the arrays `Sums::into_arguments` builds come from this one list.
const APPLY_ELEMENTS: [&ElementType; 8] = [
    &array::INT4,
    &array::TIMESTAMPTZ,
    &array::TEXT,
    &array::NUMERIC,
    &array::INT8,
    &array::INT8,
    &array::NUMERIC,
    &array::INT8,
];

/// One counter a fold changes: (metric, bucket start, group, value as text).
#[derive(Hash, PartialEq, Eq)]
struct Key {
    metric_id: i32,
    bucket: Option<i64>,
    group: Option<String>,
    value: Option<String>,
}

/// The summed changes of one counter.
struct Sum {
    n_rows: i128,
    n_values: i128,
    /// None while every change added was a plain 0 (every change of a count: `summand`).
    total: Option<AnyNumeric>,
    value: Option<AnyNumeric>,
    changes: i64,
}

/// The changes taken so far, summed per counter.
#[derive(Default)]
struct Sums {
    sums: HashMap<Key, Sum>,
    /// Metrics whose changes are discarded, not summed: broken ones (`tally._broken`).
    skipped: Vec<i32>,
    /// On a fold metric by metric: totals this large are not added (an add could overflow
    /// numeric, an ERROR no metric could be told apart by), and their metric is `failed`.
    /// The write path never produces one (`sql::change`, below 1e900 per value); a change
    /// written before 0.9.0, or by hand, may hold one.
    guard: Option<AnyNumeric>,
    failed: HashMap<i32, String>,
}

/// A total past any that the write path produces (see `Sums::guard`).
const UNSUMMABLE: &str = "1e100000";

impl Sums {
    /// Adds the changes of one taken `_change` row (its `crate::sql::CHANGE_ARRAYS`).
    fn add_change_row(&mut self, row: &Row<'_>) -> Result<()> {
        let metric_ids = row.array(0, &array::INT4)?;
        let buckets = row.array(1, &array::TIMESTAMPTZ)?;
        let groups = row.array(2, &array::TEXT)?;
        let n_rows = row.array(3, &array::INT8)?;
        let n_values = row.array(4, &array::INT8)?;
        let totals = row.array(5, &array::NUMERIC)?;
        let values = row.array(6, &array::NUMERIC)?;
        for i in 0..metric_ids.len() {
            let Some(metric_id) = metric_ids.int4(i) else {
                continue;
            };
            if self.skipped.contains(&metric_id) || self.failed.contains_key(&metric_id) {
                continue;
            }
            let total = totals.summand(i);
            if let (Some(guard), Some(total)) = (&self.guard, &total) {
                if total.abs() >= *guard {
                    self.sums.retain(|key, _| key.metric_id != metric_id);
                    self.failed.insert(
                        metric_id,
                        format!("a pending change holds a total of magnitude {UNSUMMABLE} or more"),
                    );
                    continue;
                }
            }
            let value = values.numeric(i);
            let key = Key {
                metric_id,
                bucket: buckets.int8(i),
                group: groups.text(i).map(|g| g.into_owned()),
                value: value.as_ref().map(ToString::to_string),
            };
            let (rows_delta, values_delta) =
                (n_rows.int8(i).unwrap_or(0), n_values.int8(i).unwrap_or(0));
            match self.sums.get_mut(&key) {
                Some(sum) => {
                    sum.n_rows += i128::from(rows_delta);
                    sum.n_values += i128::from(values_delta);
                    if let Some(total) = total {
                        sum.total = Some(match sum.total.take() {
                            Some(sum) => sum + total,
                            None => total,
                        });
                    }
                    sum.changes += 1;
                }
                None => {
                    self.sums.insert(
                        key,
                        Sum {
                            n_rows: i128::from(rows_delta),
                            n_values: i128::from(values_delta),
                            total,
                            value,
                            changes: 1,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The sums of each metric apart, for a fold that stores them metric by metric.
    fn by_metric(self) -> Vec<(i32, Sums)> {
        let mut metrics: HashMap<i32, Sums> = HashMap::new();
        for (key, sum) in self.sums {
            metrics
                .entry(key.metric_id)
                .or_default()
                .sums
                .insert(key, sum);
        }
        let mut metrics: Vec<(i32, Sums)> = metrics.into_iter().collect();
        metrics.sort_by_key(|(id, _)| *id);
        metrics
    }

    /// The sums in parts whose keys take at most `max_bytes` each (one part, the usual
    /// case). Parts hold distinct counters, so storing them one after another stores the
    /// same as storing them at once.
    fn into_chunks(self, max_bytes: usize) -> Vec<Sums> {
        let mut chunks = vec![Sums::default()];
        let mut bytes = 0;
        for (key, sum) in self.sums {
            let size = key.group.as_ref().map_or(0, String::len)
                + key.value.as_ref().map_or(0, String::len);
            if bytes + size > max_bytes && chunks.last().is_some_and(|c| !c.sums.is_empty()) {
                chunks.push(Sums::default());
                bytes = 0;
            }
            bytes += size;
            if let Some(chunk) = chunks.last_mut() {
                chunk.sums.insert(key, sum);
            }
        }
        chunks
    }

    /// Whether every sum is a group's summary row (no value of a min/max/count_distinct).
    fn all_summary_rows(&self) -> bool {
        self.sums.keys().all(|key| key.value.is_none())
    }

    /// The sums as the eight array arguments of `apply_sql`.
    fn into_arguments(self) -> Result<[pgrx::datum::DatumWithOid<'static>; 8]> {
        let sums: Vec<(Key, Sum)> = self.sums.into_iter().collect();
        let counter = |n: i128| {
            i64::try_from(n).map_err(|_| {
                TallyError::Internal(format!(
                    "a fold summed a counter change of {n}, past bigint"
                ))
            })
        };
        let n_rows = sums
            .iter()
            .map(|(_, s)| counter(s.n_rows))
            .collect::<Result<Vec<_>>>()?;
        let n_values = sums
            .iter()
            .map(|(_, s)| counter(s.n_values))
            .collect::<Result<Vec<_>>>()?;
        let numeric = |n: Option<&AnyNumeric>| n.and_then(|n| n.clone().into_datum());
        let argument = |element: &ElementType, items: Vec<Option<Datum>>| {
            array::array_argument(element, items.into_iter())
        };
        Ok([
            argument(
                APPLY_ELEMENTS[0],
                sums.iter()
                    .map(|(k, _)| Some(Datum::from(k.metric_id)))
                    .collect(),
            ),
            argument(
                APPLY_ELEMENTS[1],
                sums.iter()
                    .map(|(k, _)| k.bucket.map(Datum::from))
                    .collect(),
            ),
            argument(
                APPLY_ELEMENTS[2],
                sums.iter()
                    .map(|(k, _)| k.group.as_deref().map(array::text_datum))
                    .collect(),
            ),
            argument(
                APPLY_ELEMENTS[3],
                sums.iter()
                    .map(|(_, s)| numeric(s.value.as_ref()))
                    .collect(),
            ),
            argument(
                APPLY_ELEMENTS[4],
                n_rows.into_iter().map(|n| Some(Datum::from(n))).collect(),
            ),
            argument(
                APPLY_ELEMENTS[5],
                n_values.into_iter().map(|n| Some(Datum::from(n))).collect(),
            ),
            argument(
                APPLY_ELEMENTS[6],
                sums.iter()
                    .map(|(_, s)| s.total.clone().unwrap_or_default().into_datum())
                    .collect(),
            ),
            argument(
                APPLY_ELEMENTS[7],
                sums.iter()
                    .map(|(_, s)| Some(Datum::from(s.changes)))
                    .collect(),
            ),
        ])
    }
}

/// Folds every committed change into `_state`: the changes it deletes are exactly the ones
/// it adds, in one transaction. Changes of in-progress transactions are invisible here and
/// stay for a later fold; changes of dropped or broken metrics are discarded. Caller holds
/// the fold lock (so nothing else deletes `_change` rows or rewrites `_state` meanwhile).
/// Its plans are prepared once per session.
///
/// One metric cannot stop the others: when storing the sums fails (the write path refuses
/// every value it knows no fold could store, so this is a last line of defence), the fold
/// is rolled back and done again metric by metric, each in its own subtransaction; a metric
/// whose own data fails (a data exception, a size limit) is marked broken
/// (`tally._broken`, with a WARNING) and its changes are discarded until
/// `tally.refresh` recomputes it. Any other failure (out of disk...) fails the fold.
pub fn fold_all(client: &mut SpiClient<'_>) -> Result<Folded> {
    sys::with_queue_plan_settings(|| {
        match crate::ffi::in_subtransaction(|| fold_with(client, Isolation::Together)) {
            Ok(folded) => Ok(folded),
            Err(failed) => {
                pgrx::debug1!("pg_tally: a fold failed ({failed}); folding metric by metric");
                fold_with(client, Isolation::PerMetric)
            }
        }
    })
}

/// How a fold stores its sums.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// One statement for every metric (the usual case).
    Together,
    /// One statement per metric, each in its own subtransaction.
    PerMetric,
}

fn fold_with(client: &mut SpiClient<'_>, isolation: Isolation) -> Result<Folded> {
    let horizon = {
        let reader =
            Reader::open(&[("_fold", "_fold_pkey")])?.ok_or(TallyError::CatalogOutdated)?;
        fold_horizon(&reader)?
    };
    let mut sums = Sums {
        skipped: broken_metrics(client)?,
        guard: match isolation {
            Isolation::Together => None,
            Isolation::PerMetric => Some(
                AnyNumeric::try_from(UNSUMMABLE)
                    .map_err(|e| TallyError::Internal(e.to_string()))?,
            ),
        },
        ..Sums::default()
    };
    let taken = scan::take_changes(horizon, &crate::sql::CHANGE_ARRAYS, |row| {
        sums.add_change_row(row)
    })?;
    if taken.rows > 0 {
        let advance = plans::cached(client, ADVANCE_SQL, &[pg_sys::XID8OID], Access::Write)?;
        client.update(&*advance, None, &[array::xid8_argument(taken.xmin)])?;
    }
    match isolation {
        Isolation::Together => store(client, sums),
        Isolation::PerMetric => {
            let mut folded = Folded {
                changes: 0,
                groups: 0,
            };
            for (metric_id, reason) in std::mem::take(&mut sums.failed) {
                mark_broken(client, metric_id, &reason)?;
            }
            let metrics = sums.by_metric();
            let attempted = metrics.len();
            let mut failures = Vec::new();
            for (metric_id, sums) in metrics {
                match crate::ffi::in_subtransaction(|| store(client, sums)) {
                    Ok(stored) => {
                        folded.changes += stored.changes;
                        folded.groups += stored.groups;
                    }
                    // The system's trouble (out of disk...): no metric is to blame, the
                    // whole fold fails and its changes wait for the next one.
                    Err(failed) if !failed.is_about_data() => return Err(fold_failed(failed)),
                    Err(failed) => failures.push((metric_id, failed)),
                }
            }
            // Every one of several metrics failing is not their data's doing either.
            if attempted > 1 && failures.len() == attempted {
                return Err(fold_failed(failures.swap_remove(0).1));
            }
            // Its own data: this metric alone cannot fold.
            for (metric_id, failed) in failures {
                mark_broken(client, metric_id, &failed.to_string())?;
            }
            Ok(folded)
        }
    }
}

/// The broken metrics, whose changes a fold discards.
fn broken_metrics(client: &mut SpiClient<'_>) -> Result<Vec<i32>> {
    let plan = plans::cached(client, BROKEN_SQL, &[], Access::Read)?;
    Ok(client
        .select(&*plan, Some(1), &[])?
        .first()
        .get::<Vec<i32>>(1)?
        .unwrap_or_default())
}

fn fold_failed(failed: crate::ffi::CaughtPgError) -> TallyError {
    TallyError::FoldFailed {
        code: failed.code,
        message: failed.message,
    }
}

/// Adds `sums` to `_state` and removes the counter rows that became empty, in statements of
/// at most `CHUNK_BYTES` of keys each.
fn store(client: &mut SpiClient<'_>, sums: Sums) -> Result<Folded> {
    let mut folded = Folded {
        changes: 0,
        groups: 0,
    };
    for chunk in sums.into_chunks(CHUNK_BYTES) {
        let stored = store_chunk(client, chunk)?;
        folded.changes += stored.changes;
        folded.groups += stored.groups;
    }
    Ok(folded)
}

/// The most bytes of group keys and values one upsert of a fold passes: its array
/// parameters hold at most 1 GB each, and a backlog of long keys may hold more.
const CHUNK_BYTES: usize = 64 << 20;

fn store_chunk(client: &mut SpiClient<'_>, sums: Sums) -> Result<Folded> {
    if sums.sums.is_empty() {
        return Ok(Folded {
            changes: 0,
            groups: 0,
        });
    }
    let sql = if sums.all_summary_rows() {
        crate::sql::fold_summary_apply_sql()
    } else {
        crate::sql::fold_apply_sql()
    };
    let apply = plans::cached(
        client,
        sql,
        &APPLY_ELEMENTS.map(ElementType::array_type),
        Access::Write,
    )?;
    let arguments = sums.into_arguments()?;
    let row = client.update(&*apply, Some(1), &arguments)?.first();
    let (changes, groups, emptied) = (
        row.get::<i64>(1)?.unwrap_or(0),
        row.get::<i64>(2)?.unwrap_or(0),
        row.get::<Vec<String>>(3)?.unwrap_or_default(),
    );
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
    Ok(Folded { changes, groups })
}

/// Marks metric `metric_id` broken for `reason`, with a WARNING naming it: its figures are
/// no longer served (reads raise an error naming it, snapshot shows it) until
/// `tally.refresh` recomputes it.
fn mark_broken(client: &mut SpiClient<'_>, metric_id: i32, reason: &str) -> Result<()> {
    let name = client
        .update(
            "WITH marked AS (INSERT INTO tally._broken (metric_id, reason) \
                                SELECT id, $2 FROM tally._metric WHERE id = $1 \
                                ON CONFLICT (metric_id) DO NOTHING RETURNING metric_id) \
             SELECT m.name FROM tally._metric m JOIN marked ON marked.metric_id = m.id",
            Some(1),
            &[metric_id.into(), reason.into()],
        )?
        .first()
        .get::<String>(1)?;
    if let Some(name) = name {
        let error = TallyError::MetricBroken {
            metric: name,
            reason: reason.to_string(),
        };
        pgrx::warning!("pg_tally: {error}; its changes are discarded until it is refreshed");
    }
    Ok(())
}

/// Folds every committed change if no other session holds the fold lock (never waits):
/// None when someone else is folding.
pub fn fold_if_free(client: &mut SpiClient<'_>) -> Result<Option<Folded>> {
    if !sys::lock_fold(storage::fold_lock_object()?, false) {
        return Ok(None);
    }
    fold_all(client).map(Some)
}

/// The fold horizon (`tally._fold`): no pending change was written before it. 0 if the row
/// is missing, which only makes the change lookups start at the beginning.
pub fn fold_horizon(reader: &sys::scan::Reader) -> Result<u64> {
    let mut horizon = 0;
    reader.lookup(
        "_fold",
        &[sys::scan::Key::Int4("id", 1)],
        &["horizon"],
        |row| {
            // xid8 is a 64-bit value passed by value, as int8 is.
            horizon = row.get::<i64>(0).map_or(0, |h| h as u64);
            Ok(())
        },
    )?;
    Ok(horizon)
}

/// What one fold did.
pub struct Folded {
    pub changes: i64,
    pub groups: i64,
}

#[cfg(test)]
mod unit {
    use super::{Key, Sum, Sums};
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn sums(groups: &[String]) -> Sums {
        let mut sums = Sums::default();
        for (i, group) in groups.iter().enumerate() {
            let key = Key {
                metric_id: i as i32,
                bucket: None,
                group: Some(group.clone()),
                value: None,
            };
            let sum = Sum {
                n_rows: 1,
                n_values: 1,
                total: None,
                value: None,
                changes: 1,
            };
            sums.sums.insert(key, sum);
        }
        sums
    }

    proptest! {
        /// The chunks hold every counter once, and none is larger than the limit unless one
        /// key alone is.
        #[test]
        fn chunks_partition_the_sums(
            groups in proptest::collection::vec("[a-z]{0,300}", 0..60),
            max_bytes in 1usize..2000,
        ) {
            let chunks = sums(&groups).into_chunks(max_bytes);
            let mut seen = HashSet::new();
            for chunk in &chunks {
                let bytes: usize = chunk.sums.keys().map(|k| k.group.as_ref().map_or(0, String::len)).sum();
                prop_assert!(bytes <= max_bytes || chunk.sums.len() == 1, "{} keys, {} bytes", chunk.sums.len(), bytes);
                for key in chunk.sums.keys() {
                    prop_assert!(seen.insert(key.metric_id));
                }
            }
            prop_assert_eq!(seen.len(), groups.len());
        }
    }
}
