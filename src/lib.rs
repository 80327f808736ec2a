//! pg_tally: exact, always-current dashboard aggregates maintained inside PostgreSQL.
//!
//! Pipeline (docs/architecture.md): `catalog` validates and stores metrics and dashboards →
//! `write` turns every write statement into one row of changes → `fold` adds committed
//! changes to the counters → `read` answers from counters plus pending changes → `admin`
//! recomputes and verifies from the source for DBA jobs. Beneath them: `model` (what a
//! metric is, and its SQL: `model::sql`), `sql` (the SQL builder; the only other place SQL
//! text is built), `ffi` (the `unsafe` calls every concern shares; each concern's own are in
//! its `sys` module).

// Public entry points return pgrx's ErrorReport as their Err so pgrx raises it with its
// SQLSTATE, detail and hint; it is large, but exists only on the error path.
#![allow(clippy::result_large_err)]
// Every unsafe operation is in an `unsafe` block of its own, with a SAFETY comment saying why
// it is sound (src/ffi* and the concern folders' `sys` modules, the only places they are:
// scripts/check-unsafe.py).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use pgrx::prelude::*;

mod admin;
mod catalog;
mod error;
mod ffi;
mod fold;
mod gucs;
mod model;
mod plans;
mod read;
mod sql;
mod write;

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
        read::snapshot::_snapshot_counters,
        read::snapshot::_snapshot_text,
        read::_value_text,
        read::_groups_text,
        read::_series_text,
        read::_enum_of,
        model::value_type::_figure_json,
        model::value_type::_float_of,
        model::value_type::_interval_figure
    ]
);
extension_sql_file!(
    "../sql/ddl.sql",
    name = "ddl",
    requires = [
        "bootstrap",
        catalog::define::_revalidate_source,
        catalog::define::_check_source,
        catalog::define::_require_current_metrics,
        catalog::define::_written_now
    ]
);
extension_sql_file!(
    "../sql/dashboard.sql",
    name = "dashboard",
    requires = [catalog::dashboard::_create_dashboard]
);
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    error::keep_backtraces_out_of_errors();
    gucs::register();
    model::installed::forget_versions_on_schema_change();
    if ffi::preloading() {
        fold::compactor::register_workers();
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
