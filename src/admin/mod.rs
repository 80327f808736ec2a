//! DBA jobs over one metric or all: `refresh` recomputes from the source table (as its
//! owner) and repairs a broken metric; `verify` compares the counters with a fresh aggregate.
//! Both run by hand or from pg_cron while writers keep writing.
//!
//! SQL: no file of its own; the store's statements (`sql::drift_sql`, and
//! `fold::storage::recompute`). Unsafe calls: none of its own; `ffi` (whose rights,
//! subtransactions, the statement's snapshot).

pub mod refresh;
pub mod verify;
