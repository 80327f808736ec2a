//! pg_tally: exact, always-current dashboard aggregates maintained inside PostgreSQL.
//!
//! Pipeline: `define` validates and stores a metric → `trigger` turns every write statement
//! into delta rows → `compact` folds deltas into state → `read`/`dashboard` answer from
//! state plus pending deltas → `refresh`/`verify` recompute from the source for DBA jobs.

// Public entry points return pgrx's ErrorReport as their Err so pgrx raises it with its
// SQLSTATE, detail and hint; it is large, but exists only on the error path.
#![allow(clippy::result_large_err)]
// Every unsafe operation is in an `unsafe` block of its own, with a SAFETY comment saying why
// it is sound (src/ffi, the one place they are).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use pgrx::prelude::*;

mod compact;
mod compactor;
mod dashboard;
mod define;
mod error;
mod fastpath;
mod ffi;
mod fold;
mod gucs;
mod installed;
mod model;
mod plans;
mod read;
mod refresh;
mod snapshot;
mod sql;
mod storage;
mod trigger;
mod verify;

// The #[pg_test]s run inside Postgres (`--features pg_test`); plain #[test]s (`cargo test
// --lib`, no cluster) sit next to the code they test.
#[cfg(feature = "pg_test")]
mod tests;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!(
    "../sql/values.sql",
    name = "values",
    requires = ["bootstrap"]
);
extension_sql_file!(
    "../sql/read.sql",
    name = "read",
    requires = [
        "bootstrap",
        "values",
        read::_may_read,
        snapshot::_snapshot_counters,
        snapshot::_snapshot_text
    ]
);
extension_sql_file!(
    "../sql/ddl.sql",
    name = "ddl",
    requires = [
        "bootstrap",
        define::_revalidate_source,
        define::_check_source
    ]
);
extension_sql_file!(
    "../sql/dashboard.sql",
    name = "dashboard",
    requires = [dashboard::_create_dashboard]
);
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::register();
    if ffi::preloading() {
        compactor::register_workers();
    }
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
