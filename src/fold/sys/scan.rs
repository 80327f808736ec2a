//! Executor-free index lookups on pg_tally's own tables, for the dashboard read
//! (`crate::read::snapshot`), and the fold's take of pending changes (`take_changes`, for
//! `crate::fold`).
//!
//! Why: `tally.snapshot` as one PL/pgSQL-cached query spent most of its ~90 µs setting up
//! and tearing down executor nodes (`ExecutorStart` alone 18% in `perf`) for what is a
//! handful of index lookups. Here each lookup is an index scan of a btree with
//! equality / IS NULL keys under the statement's snapshot: the same rows an index scan of
//! the query would return, without building a plan.
//!
//! Direct access bypasses table privileges, like SECURITY DEFINER did for the query: the
//! caller checks the reader's rights (`may_read`) before returning any figure.

use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

use crate::error::{Result, TallyError};

/// One condition of a lookup, on a column of the table (not of the index).
pub enum Key<'a> {
    /// `column = value` for a text column.
    Text(&'a str, &'a str),
    /// `column = value` for an int4 column.
    Int4(&'a str, i32),
    /// `column = value` for a timestamptz column.
    Timestamptz(&'a str, pg_sys::TimestampTz),
    /// `column >= value` for an xid8 column.
    Xid8AtLeast(&'a str, u64),
    /// `column IS NULL`.
    IsNull(&'a str),
}

impl Key<'_> {
    fn column(&self) -> &str {
        match self {
            Key::Text(c, _)
            | Key::Int4(c, _)
            | Key::Timestamptz(c, _)
            | Key::Xid8AtLeast(c, _)
            | Key::IsNull(c) => c,
        }
    }
}

/// The requested columns of one row found by `lookup`, valid during the callback only.
pub struct Row<'a> {
    values: &'a [Datum],
    nulls: &'a [bool],
    positions: &'a [usize],
}

impl Row<'_> {
    fn datum(&self, i: usize) -> Option<Datum> {
        let at = self.positions[i];
        (!self.nulls[at]).then(|| self.values[at])
    }

    /// Column `i` of the request, a non-NULL one-dimensional array of `element`s (int4,
    /// int8, timestamptz or text), read in place.
    pub fn array(
        &self,
        i: usize,
        element: &super::array::ElementType,
    ) -> Result<super::array::InPlace<'_>> {
        // SAFETY: the datum comes from a deformed heap tuple of the column's own type; the
        // slot keeps the tuple (and its buffer pinned) until the callback returns, which
        // the borrow of `self` spans.
        unsafe { super::array::column_in_place(self.datum(i), element, i) }
    }

    /// Column `i` of the request, which must be of a type `T` converts from.
    pub fn get<T: FromDatum>(&self, i: usize) -> Option<T> {
        // SAFETY: the datum comes from a deformed heap tuple of the column's own type (the
        // caller names the column and the type together); FromDatum copies what it keeps
        // (text, numeric, arrays) out of the buffer before the scan moves on.
        self.datum(i)
            .and_then(|d| unsafe { T::from_datum(d, false) })
    }
}

/// The tables a read looks up, opened with AccessShareLock (what a SELECT takes) for the
/// reader's lifetime: one relcache lookup per table per read rather than per lookup.
pub struct Reader {
    tables: Vec<Opened>,
}

struct Opened {
    name: &'static str,
    /// The lock released on the table when it is closed: the one it was opened with, or
    /// NoLock to keep that until the transaction ends, as a writer must.
    release: pg_sys::LOCKMODE,
    rel: pg_sys::Relation,
    index: pg_sys::Relation,
    slot: *mut pg_sys::TupleTableSlot,
    /// The index scan, begun on the first lookup and restarted with new keys by the next
    /// ones (a read looks up each table several times), with its number of keys.
    scan: std::cell::Cell<(pg_sys::IndexScanDesc, i32)>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.tables.drain(..).for_each(Opened::close);
    }
}

impl Reader {
    /// Opens `tally.<table>` for each (table, index) pair; lookups go through the index.
    /// None when the catalog lacks one of them: an older version's, before `ALTER EXTENSION
    /// pg_tally UPDATE` (the caller then reads another way).
    pub fn open(tables: &[(&'static str, &'static str)]) -> Result<Option<Reader>> {
        let schema = tally_schema()?;
        let mut reader = Reader {
            tables: Vec::with_capacity(tables.len()),
        };
        for (name, index) in tables {
            let (Some(relid), Some(index)) = (relid_in(schema, name)?, relid_in(schema, index)?)
            else {
                return Ok(None);
            };
            let share = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
            let opened = Opened::open(name, relid, index, share, share);
            reader.tables.push(opened);
        }
        Ok(Some(reader))
    }

    /// Calls `each` with the `columns` of every row of `table` (opened by `open`) matching
    /// all `keys`, found through its index under the active snapshot. `keys` must name a
    /// prefix of the index's columns.
    pub fn lookup(
        &self,
        table: &str,
        keys: &[Key<'_>],
        columns: &[&str],
        mut each: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let opened = self
            .tables
            .iter()
            .find(|t| t.name == table)
            .ok_or_else(|| TallyError::Internal(format!("tally.{table} was not opened")))?;
        // SAFETY: the statement's snapshot stays set for the whole lookup.
        opened.scan(unsafe { snapshot() }, keys, columns, |row, _| each(row))
    }
}

/// What `take_changes` did: the rows it deleted, and the xmin of the snapshot it saw them
/// under (as an xid8), which becomes the fold horizon.
pub struct Taken {
    pub rows: u64,
    pub xmin: u64,
}

/// Deletes every row of `tally._change` from the fold horizon `horizon` on that a new
/// snapshot sees, handing each (its `columns`) to `each` first: the take of a fold, without
/// the executor. The SQL it replaces (`DELETE ... RETURNING` over the `_change_xact` range)
/// spent about half of a fold's time building, copying and reading the rows it returned.
///
/// The caller holds the fold lock, taken before the snapshot here: every fold, TRUNCATE
/// and metric drop that deleted `_change` rows before it has committed, and none can start,
/// so no row seen here is being deleted by anyone else (`simple_heap_delete` would raise
/// an ERROR on that). Runs at READ COMMITTED, as every fold does: the snapshot is new, and
/// it follows a command-counter increment, so the changes of this transaction's own
/// statements are taken too (as an SPI statement would see them).
pub fn take_changes(
    horizon: u64,
    columns: &[&str],
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<Taken> {
    let schema = tally_schema()?;
    let (Some(relid), Some(index)) = (
        relid_in(schema, "_change")?,
        relid_in(schema, "_change_xact")?,
    ) else {
        return Err(TallyError::CatalogOutdated);
    };
    let opened = Opened::open(
        "_change",
        relid,
        index,
        pg_sys::RowExclusiveLock as pg_sys::LOCKMODE,
        pg_sys::NoLock as pg_sys::LOCKMODE,
    );
    let mut rows = 0;
    // SAFETY: the snapshot pushed here is popped below on every path that returns (an
    // ERROR pops it with the aborting (sub)transaction), so the scan's snapshot outlives
    // the scan, which `close` ends first. Each row is handed to `each` while the slot
    // holds its buffer pinned, then deleted by its id as part of the current command;
    // only this session deletes `_change` rows now (see above).
    unsafe {
        pg_sys::CommandCounterIncrement();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        let snapshot = pg_sys::GetActiveSnapshot();
        let outcome = opened.scan(
            snapshot,
            &[Key::Xid8AtLeast("xact_id", horizon)],
            columns,
            |row, tid| {
                each(row)?;
                pg_sys::simple_heap_delete(opened.rel, tid);
                rows += 1;
                Ok(())
            },
        );
        let xmin = full_xid((*snapshot).xmin);
        opened.close();
        pg_sys::PopActiveSnapshot();
        outcome.map(|()| Taken { rows, xmin })
    }
}

/// A transaction id of a current snapshot widened to the 64-bit form of xid8, as
/// `pg_snapshot_xmin(pg_current_snapshot())` gives it: in the epoch of the next
/// transaction id, or the one before when the id has wrapped around since.
fn full_xid(xid: pg_sys::TransactionId) -> u64 {
    // SAFETY: reads the next full transaction id under its own lock.
    let next = unsafe { pg_sys::ReadNextFullTransactionId() }.value;
    let epoch = (next >> 32) - u64::from(xid.into_inner() > next as u32);
    (epoch << 32) | u64::from(xid.into_inner())
}

impl Opened {
    /// Opens table `relid` (`name` in schema tally) with `lock` and its index `index` with
    /// AccessShareLock (what any scan of it takes), for scans through that index.
    fn open(
        name: &'static str,
        relid: pg_sys::Oid,
        index: pg_sys::Oid,
        lock: pg_sys::LOCKMODE,
        release: pg_sys::LOCKMODE,
    ) -> Opened {
        // SAFETY: both oids were just resolved in this transaction; `close` closes both
        // relations and drops the slot.
        unsafe {
            let rel = pg_sys::table_open(relid, lock);
            let index = pg_sys::index_open(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            let slot = pg_sys::table_slot_create(rel, std::ptr::null_mut());
            Opened {
                name,
                release,
                rel,
                index,
                slot,
                scan: std::cell::Cell::new((std::ptr::null_mut(), 0)),
            }
        }
    }

    fn close(self) {
        // SAFETY: opened by `open` and not closed since; the scan (if begun) belongs to
        // these relations and is ended before they close; the slot was made for this
        // relation. The table keeps `lock` unless `release` gives it back.
        unsafe {
            let (scan, _) = self.scan.get();
            if !scan.is_null() {
                pg_sys::index_endscan(scan);
            }
            pg_sys::ExecDropSingleTupleTableSlot(self.slot);
            pg_sys::index_close(self.index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            pg_sys::table_close(self.rel, self.release);
        }
    }

    /// Calls `each` with the `columns` of every row matching all `keys` that `snapshot`
    /// sees, found through the index, and the row's id. `keys` must name a prefix of the
    /// index's columns; every scan of one `Opened` must use the same snapshot.
    fn scan(
        &self,
        snapshot: pg_sys::Snapshot,
        keys: &[Key<'_>],
        columns: &[&str],
        mut each: impl FnMut(&Row<'_>, *mut pg_sys::ItemPointerData) -> Result<()>,
    ) -> Result<()> {
        let index_columns = keys
            .iter()
            .map(|k| {
                self.attnum(k.column())
                    .and_then(|n| self.index_column(n, k.column()))
            })
            .collect::<Result<Vec<_>>>()?;
        let wanted = columns
            .iter()
            .map(|c| self.attnum(c).map(|n| n as usize - 1))
            .collect::<Result<Vec<_>>>()?;
        let last = wanted.iter().max().map_or(0, |n| n + 1);
        // Text key values as Postgres text, alive until the scan ends.
        let texts: Vec<Option<Datum>> = keys
            .iter()
            .map(|k| match k {
                Key::Text(_, v) => v.into_datum(),
                _ => None,
            })
            .collect();
        let mut scan_keys: Vec<pg_sys::ScanKeyData> = keys
            .iter()
            .zip(&index_columns)
            .zip(&texts)
            .map(|((key, column), text)| scan_key(key, *column, *text))
            .collect();
        // SAFETY: both relations are open (self) and the slot was made for the table; scan
        // keys use index column numbers and point at palloc'd text (`texts`) that lives as
        // long as the function call's memory, and a scan is only read after the rescan that
        // set its keys; the slot's values are read (and copied by FromDatum) before the next
        // tuple is fetched, and the slot keeps its buffer pinned meanwhile. `close` ends the
        // scan (an ERROR ends it through the resource owner).
        unsafe {
            let scan = self.scan_with(snapshot, scan_keys.len() as i32);
            pg_sys::index_rescan(
                scan,
                scan_keys.as_mut_ptr(),
                scan_keys.len() as i32,
                std::ptr::null_mut(),
                0,
            );
            let slot = self.slot;
            let mut outcome = Ok(());
            while pg_sys::index_getnext_slot(
                scan,
                pg_sys::ScanDirection::ForwardScanDirection,
                slot,
            ) {
                pg_sys::slot_getsomeattrs_int(slot, last as i32);
                let row = Row {
                    values: std::slice::from_raw_parts((*slot).tts_values, last),
                    nulls: std::slice::from_raw_parts((*slot).tts_isnull, last),
                    positions: &wanted,
                };
                outcome = each(&row, &mut (*slot).tts_tid);
                if outcome.is_err() {
                    break;
                }
            }
            pg_sys::ExecClearTuple(slot);
            outcome
        }
    }

    /// The index scan for lookups with `nkeys` keys under `snapshot`, begun now if needed.
    ///
    /// # Safety
    /// The relations must be open; `snapshot` must stay valid until the scan ends.
    unsafe fn scan_with(&self, snapshot: pg_sys::Snapshot, nkeys: i32) -> pg_sys::IndexScanDesc {
        let (scan, keys) = self.scan.get();
        if !scan.is_null() && keys == nkeys {
            return scan;
        }
        if !scan.is_null() {
            // SAFETY: a scan this struct began and has not ended.
            unsafe { pg_sys::index_endscan(scan) };
        }
        // SAFETY: the relations are open and `snapshot` outlives the scan (the caller's
        // promise).
        // PostgreSQL 18 added an instrumentation argument (none here).
        #[cfg(feature = "pg18")]
        let scan = unsafe {
            pg_sys::index_beginscan(
                self.rel,
                self.index,
                snapshot,
                std::ptr::null_mut(),
                nkeys,
                0,
            )
        };
        // SAFETY: as above.
        #[cfg(not(feature = "pg18"))]
        let scan = unsafe { pg_sys::index_beginscan(self.rel, self.index, snapshot, nkeys, 0) };
        self.scan.set((scan, nkeys));
        scan
    }

    /// The position (from 1) of the table's column `attno` in the index, which a scan key
    /// of an index scan names.
    fn index_column(&self, attno: pg_sys::AttrNumber, column: &str) -> Result<pg_sys::AttrNumber> {
        // SAFETY: an open index's `rd_index` holds `indnatts` key column numbers.
        let found = unsafe {
            let index = (*self.index).rd_index;
            (*index)
                .indkey
                .values
                .as_slice((*index).indnatts as usize)
                .iter()
                .position(|&n| n == attno)
        };
        found.map(|i| i as pg_sys::AttrNumber + 1).ok_or_else(|| {
            TallyError::Internal(format!(
                "the index of tally.{} has no column {column}: reinstall pg_tally",
                self.name
            ))
        })
    }

    /// The column's number, from the open relation's own descriptor (always current, no
    /// catalog lookup).
    fn attnum(&self, column: &str) -> Result<pg_sys::AttrNumber> {
        // SAFETY: an open relation's descriptor has `natts` attributes.
        let found = unsafe {
            let desc = (*self.rel).rd_att;
            crate::ffi::attributes(desc)
                .iter()
                .find(|a| {
                    !a.attisdropped
                        && CStr::from_ptr(a.attname.data.as_ptr()).to_bytes() == column.as_bytes()
                })
                .map(|a| a.attnum)
        };
        found.ok_or_else(|| {
            TallyError::Internal(format!(
                "tally.{} has no column {column}: reinstall pg_tally",
                self.name
            ))
        })
    }
}

/// An initialised btree scan key: equality (or `>=`) with the column type's procedure, or
/// IS NULL.
fn scan_key(key: &Key<'_>, attno: pg_sys::AttrNumber, text: Option<Datum>) -> pg_sys::ScanKeyData {
    let equal = pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber;
    // SAFETY: ScanKeyData is plain data; both initialisers fill every field.
    unsafe {
        let mut sk = std::mem::zeroed::<pg_sys::ScanKeyData>();
        let (strategy, proc, value) = match key {
            Key::Text(..) => (equal, pg_sys::F_TEXTEQ, text.unwrap_or(Datum::from(0))),
            Key::Int4(_, v) => (equal, pg_sys::F_INT4EQ, Datum::from(*v)),
            Key::Timestamptz(_, v) => (equal, pg_sys::F_TIMESTAMPTZ_EQ, Datum::from(*v)),
            // xid8 is passed by value.
            Key::Xid8AtLeast(_, v) => (
                pg_sys::BTGreaterEqualStrategyNumber as pg_sys::StrategyNumber,
                pg_sys::F_XID8GE,
                Datum::from(*v),
            ),
            Key::IsNull(_) => {
                pg_sys::ScanKeyEntryInitialize(
                    &mut sk,
                    (pg_sys::SK_ISNULL | pg_sys::SK_SEARCHNULL) as i32,
                    attno,
                    0, // InvalidStrategy: IS NULL tests no operator
                    pg_sys::InvalidOid,
                    pg_sys::InvalidOid,
                    pg_sys::InvalidOid,
                    Datum::from(0),
                );
                return sk;
            }
        };
        pg_sys::ScanKeyInit(&mut sk, attno, strategy, pg_sys::Oid::from(proc), value);
        sk
    }
}

/// The statement's snapshot: every lookup of one read sees the same committed data.
///
/// # Safety
/// Only inside a transaction; the snapshot is valid until the statement ends.
unsafe fn snapshot() -> pg_sys::Snapshot {
    // SAFETY: snapmgr calls, inside the transaction the caller is in.
    unsafe {
        if pg_sys::ActiveSnapshotSet() {
            pg_sys::GetActiveSnapshot()
        } else {
            pg_sys::GetTransactionSnapshot()
        }
    }
}

fn tally_schema() -> Result<pg_sys::Oid> {
    crate::ffi::tally_schema()
        .ok_or_else(|| TallyError::Internal("schema tally is missing: reinstall pg_tally".into()))
}

/// The oid of relation `name` in `schema`, None if it does not exist.
fn relid_in(schema: pg_sys::Oid, name: &str) -> Result<Option<pg_sys::Oid>> {
    let cname =
        CString::new(name).map_err(|_| TallyError::Internal("name contains a NUL byte".into()))?;
    Ok(crate::ffi::relation_in(schema, &cname))
}
