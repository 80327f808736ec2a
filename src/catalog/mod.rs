//! Definitions: metrics and dashboards are validated, created and dropped here, and kept in
//! step with DDL on their tables.
//!
//! - `define`: `tally.create_metric`, `tally.drop_metric`, the validation of a metric
//!   against its table (a filter's parse analysis as the table owner, the probes), and the
//!   DDL hooks' entry points (`_revalidate_source`, `_check_source`; sql/ddl.sql).
//! - `dashboard`: `tally.create_dashboard` (sql/dashboard.sql wraps it), `drop_dashboard`,
//!   typed views.
//!
//! SQL files: sql/bootstrap.sql (`tally._metric`, `tally._dashboard`, the views), sql/ddl.sql,
//! sql/dashboard.sql. Unsafe calls: `sys` (the raw grammar's one-expression
//! proof, dependency recording), `ffi` (probes, whose rights, relation drops).

pub mod dashboard;
pub mod define;
pub mod sys;
