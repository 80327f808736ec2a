//! DBA jobs over one metric or all: `refresh` recomputes from the source table (as its
//! owner) and repairs a broken metric; `verify` compares the counters with a fresh aggregate.
//! Both run by hand or from pg_cron while writers keep writing.

pub mod refresh;
pub mod verify;
