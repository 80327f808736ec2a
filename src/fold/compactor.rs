//! The background compactor: when pg_tally is in `shared_preload_libraries`, one worker per
//! database of `tally.compactor_databases` folds pending changes every
//! `tally.compactor_naptime`, so writers there no longer fold on their own path (they keep a
//! backstop, see `compact::after_write`). It takes the fold lock with try semantics like
//! every other fold, never runs on a hot standby, and leaves a database alone until
//! `CREATE EXTENSION pg_tally` (or the catalog update) has happened there.

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::{fold, gucs};

/// Set in the postmaster when the workers are registered; every backend forked from it
/// inherits the value.
static WORKERS_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Registers one worker per configured database. Called from `_PG_init` while
/// `shared_preload_libraries` is being processed.
pub fn register_workers() {
    let databases = gucs::compactor_databases();
    for database in &databases {
        BackgroundWorkerBuilder::new(&format!("pg_tally compactor {database}"))
            .set_type("pg_tally compactor")
            .set_library("pg_tally")
            .set_function("tally_compactor_main")
            .set_extra(database)
            .enable_spi_access()
            .set_start_time(BgWorkerStartTime::RecoveryFinished)
            .set_restart_time(Some(Duration::from_secs(5)))
            .load();
    }
    WORKERS_REGISTERED.store(!databases.is_empty(), Ordering::Relaxed);
}

/// Whether a background compactor serves the database this backend is connected to
/// (fixed for the backend's life: the setting can only change with a server restart).
pub fn serves_this_database() -> bool {
    thread_local! {
        static SERVED: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
    }
    SERVED.with(|served| {
        *served.get_or_init(|| {
            WORKERS_REGISTERED.load(Ordering::Relaxed)
                && super::sys::current_database_name()
                    .is_some_and(|name| gucs::compactor_databases().contains(&name))
        })
    })
}

/// The background compactor's life: attach to its database, fold every naptime, reload the
/// configuration on SIGHUP, stop on SIGTERM (`fold::sys::tally_compactor_main` is the entry
/// point Postgres starts).
pub(super) fn run() {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = BackgroundWorker::get_extra().to_string();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    log!("pg_tally compactor started in database \"{database}\"");
    while BackgroundWorker::wait_latch(Some(gucs::compactor_naptime())) {
        if BackgroundWorker::sighup_received() {
            super::sys::reload_configuration();
        }
        match BackgroundWorker::transaction(fold_once) {
            Ok(Some(folded)) if folded.changes > 0 => debug1!(
                "pg_tally compactor: folded {} changes into {} groups",
                folded.changes,
                folded.groups
            ),
            Ok(_) => {}
            Err(error) => error.raise(),
        }
    }
    log!("pg_tally compactor for database \"{database}\" stopping");
    super::sys::exit_to_be_restarted();
}

/// One fold, if the extension is installed and current here and nobody else is folding.
fn fold_once() -> Result<Option<fold::Folded>> {
    Spi::connect_mut(|client| {
        let installed = !client
            .select(
                "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_tally'",
                Some(1),
                &[],
            )?
            .is_empty();
        if !installed || !crate::model::installed::catalog_is_current() {
            return Ok(None);
        }
        fold::fold_if_free(client)
    })
}
