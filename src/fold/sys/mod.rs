//! The unsafe calls of the fold, each block with the reason it is sound: the executor-free
//! scans of pg_tally's own tables (`scan`, also the dashboard read's index lookups), the
//! change arrays taken apart in place (`array`, also built by the write path), the fold lock,
//! the plan settings of the queue's statements, and the background worker's process calls.

use pgrx::pg_sys;

use crate::error::Result;
use crate::ffi::with_settings;

pub mod array;
pub mod scan;

/// Runs `body` with the settings a plan over the queue table `tally._change` needs:
/// `enable_seqscan` and `enable_bitmapscan` off, so it walks the `_change_xact` index from
/// the fold horizon rather than every dead heap tuple (bitmap scans never mark dead index
/// entries, so they would keep the index bloated); and `jit` off. Between two vacuums the
/// planner sees a large `_change` and prices the plan past `jit_above_cost`: JIT then
/// compiled the fold's ~100 expressions on every execution, 2.4 s each under 8 writers,
/// while the plan itself runs in well under a millisecond. `plan_cache_mode` forces the
/// generic plan: with parameters (the batch size, the summed arrays) the plan cache would
/// otherwise keep planning the fold's statements anew on every call, which took longer
/// than running them (`tally.compact()` of 100 statements: 2.3 ms with replanning, 1.2 ms
/// without, through psql; the two statements run in 0.45 ms). Used by the fold
/// (`fold::fold_all`); the SQL reads of pending changes get `jit = off` from their
/// function's SET clause (finalize.sql).
pub fn with_queue_plan_settings<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    with_settings(
        &[
            (c"enable_seqscan", c"off"),
            (c"enable_bitmapscan", c"off"),
            (c"jit", c"off"),
            (c"plan_cache_mode", c"force_generic_plan"),
        ],
        body,
    )
}

/// The name of the database this backend is connected to.
pub fn current_database_name() -> Option<String> {
    // SAFETY: MyDatabaseId is set once the backend is connected; get_database_name returns
    // a palloc'd copy (or NULL) that we only read here.
    unsafe {
        if pg_sys::MyDatabaseId == pg_sys::InvalidOid {
            return None;
        }
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        (!name.is_null()).then(|| {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        })
    }
}

/// Re-reads postgresql.conf after SIGHUP (background worker).
pub fn reload_configuration() {
    // SAFETY: called from the worker's main loop, outside any transaction, as Postgres'
    // own background processes do on SIGHUP.
    unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
}

/// Ends a background worker so that the postmaster starts it again after its restart time
/// (exit code 0 would unregister it): a compactor stopped by pg_terminate_backend or
/// DROP DATABASE ... WITH (FORCE) comes back; at shutdown nothing is restarted anyway.
pub fn exit_to_be_restarted() -> ! {
    // SAFETY: proc_exit runs the backend's exit callbacks and never returns; called at the
    // end of the worker's main loop, outside any transaction.
    unsafe { pg_sys::proc_exit(1) };
    // PostgreSQL 18's header no longer marks proc_exit as not returning (for the bindings).
    #[cfg(feature = "pg18")]
    unreachable!("proc_exit returned")
}

/// Takes the fold lock (transaction-level): an exclusive object lock on `lock_object` (a
/// pg_tally table, locked as an object, not as a relation), taken through the lock manager rather than as an advisory lock, so no
/// role can take it from SQL (advisory keys are open to everyone; this lock tag is used by
/// no SQL command). Without `wait`, false when another transaction holds it.
pub fn lock_fold(lock_object: pg_sys::Oid, wait: bool) -> bool {
    let class = pg_sys::RelationRelationId;
    let mode = pg_sys::ExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: lock-manager calls on an object tag (database, class, object, 0) for this
    // transaction; released at commit or abort. The waiting call may raise an ERROR (cancel,
    // deadlock), which propagates like any other.
    unsafe {
        if wait {
            pg_sys::LockDatabaseObject(class, lock_object, 0, mode);
            true
        } else {
            pg_sys::ConditionalLockDatabaseObject(class, lock_object, 0, mode)
        }
    }
}

/// The background compactor's entry point, which Postgres finds by this exported name
/// (`compactor::register` names it); the worker's work is `compactor::run`.
#[pgrx::pg_guard]
#[no_mangle]
pub extern "C-unwind" fn tally_compactor_main(_arg: pg_sys::Datum) {
    super::compactor::run();
}
