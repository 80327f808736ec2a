//! The write path: every INSERT/UPDATE/DELETE/COPY/TRUNCATE on a source table becomes one
//! `tally._change` row (or, for TRUNCATE, emptied counters), in the writer's statement.
//!
//! - `trigger`: the statement trigger `tally._on_write`, its cached plans per table and
//!   generation (the statement path), TRUNCATE, and the refusals of values no fold could
//!   store (`_refuse_value`, `_refuse_group_key`).
//! - `single_row`: a statement that changed one row, without the SQL executor (the
//!   single-row path: compiled row expressions, a direct heap insert).
//!
//! SQL: the change queries come from `model::sql` (each metric's expressions) and
//! `sql::change` (the change arrays). Unsafe calls: `sys` (transition tables, the row shape,
//! updated columns, the single-row path's compiled expressions and heap inserts), `ffi`
//! (whose rights).

pub mod single_row;
pub mod sys;
pub mod trigger;
