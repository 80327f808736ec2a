//! Single-row statements — the common OLTP case — without the SQL executor.
//!
//! The SQL path runs one prepared `INSERT INTO tally._change SELECT ... FROM <transition
//! table>` per statement; for a one-row statement most of its cost is the executor setting
//! that plan up. Here every expression a table's metrics need (filter, bucket, group,
//! column) is compiled once per trigger generation, evaluated over the one old and/or new
//! row, and the resulting changes go straight into one `tally._change` row. The changes are
//! exactly those of the SQL path (`Metric::single_row_sql` / `update_sql` /
//! `values_sql` in `model::sql`), so folding, reads and verification cannot tell the two apart; the
//! differential test runs both.

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;

use super::sys::{ChangeRow, ChangeWriter, RowExprs, RowValue, Side};
use crate::error::Result;
use crate::model::Metric;
use crate::sql::Sql;

thread_local! {
    static DIRECT_STATEMENTS: Cell<u64> = const { Cell::new(0) };
}

/// Statements this session has written through the direct path (for tests).
#[cfg(feature = "pg_test")]
pub fn direct_statements() -> u64 {
    DIRECT_STATEMENTS.with(|d| d.get())
}

/// Where each part of one metric sits in the compiled expression list.
struct MetricExprs {
    id: i32,
    filter: Option<usize>,
    bucket: Option<usize>,
    group: Option<usize>,
    column: Option<usize>,
    sums_values: bool,
    tracks_values: bool,
}

/// The compiled expressions of every metric of one table (at one generation).
pub struct SingleRow {
    exprs: RowExprs,
    metrics: Vec<MetricExprs>,
}

impl SingleRow {
    /// Compiles the expressions of `metrics` against the row type of `relid` (the table the
    /// trigger fires on: a partition's columns may be numbered differently from its root's).
    pub fn compile(relid: pg_sys::Oid, metrics: &[Metric]) -> Result<SingleRow> {
        let mut sql: Vec<Sql> = Vec::new();
        let mut add = |expression: Option<Sql>| {
            expression.map(|e| {
                sql.push(e);
                sql.len() - 1
            })
        };
        let mut compiled = Vec::with_capacity(metrics.len());
        for metric in metrics {
            let expressions = metric.row_expressions();
            compiled.push(MetricExprs {
                id: metric.id,
                filter: add(expressions.filter),
                bucket: add(expressions.bucket),
                group: add(expressions.group),
                column: add(expressions.column),
                sums_values: metric.aggregate.sums_values(),
                tracks_values: metric.aggregate.tracks_values(),
            });
        }
        Ok(SingleRow {
            exprs: RowExprs::compile(relid, row_expressions_sql(relid, &sql)?.as_str(), sql.len())?,
            metrics: compiled,
        })
    }

    /// Whether the compiled expressions must run under all the fixed settings
    /// (`RowExprs::writes_datetime_text`), not only the fixed output settings.
    pub fn writes_datetime_text(&self) -> bool {
        self.exprs.writes_datetime_text()
    }

    /// Writes the changes of a statement that changed one row (`sides`: New for an INSERT,
    /// Old for a DELETE, both for an UPDATE) for every metric of the table into one
    /// `tally._change` row (`change`, its oid). Returns the rows written (1, or 0 when
    /// nothing changed), or None when `_change` cannot be written directly (the caller then
    /// takes the SQL path).
    pub fn write(
        &mut self,
        trigger: &PgTrigger<'_>,
        change: pg_sys::Oid,
        sides: &[Side],
    ) -> Result<Option<u64>> {
        let Some(mut writer) = ChangeWriter::open(change) else {
            return Ok(None);
        };
        self.exprs.reset();
        for &side in sides {
            if !self.exprs.load(trigger, side) {
                writer.close();
                return Ok(None);
            }
        }
        let exprs = &self.exprs;
        let mut rows = Vec::new();
        for metric in &self.metrics {
            let old = sides
                .contains(&Side::Old)
                .then(|| metric.parts(exprs, Side::Old));
            let new = sides
                .contains(&Side::New)
                .then(|| metric.parts(exprs, Side::New));
            let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
            net(exprs, metric.id, old, new, &mut rows);
        }
        if !rows.is_empty() {
            writer.insert(&rows);
        }
        writer.close();
        DIRECT_STATEMENTS.with(|d| d.set(d.get() + 1));
        Ok(Some(u64::from(!rows.is_empty())))
    }
}

/// What one row contributes to one counter row of a metric, before its sign: the group's
/// summary row (`value` None) or, for min/max/count_distinct, the row of its value.
#[derive(Clone, Copy)]
struct Part<'a> {
    bucket: Option<RowValue<'a>>,
    group: Option<RowValue<'a>>,
    value: Option<RowValue<'a>>,
    /// 1 if the row counts as a value (no column, or a non-NULL one), else 0.
    n_values: i64,
    /// The column's value when the metric sums it.
    amount: Option<RowValue<'a>>,
}

impl MetricExprs {
    /// The parts the row of `side` contributes: none when the filter rejects it (NULL
    /// rejects, as in WHERE), the summary part, and a value part for value-tracking
    /// metrics when the column is not NULL.
    fn parts<'a>(&self, exprs: &'a RowExprs, side: Side) -> Vec<Part<'a>> {
        if self.filter.is_some_and(|f| !exprs.test(f, side)) {
            return Vec::new();
        }
        let eval = |index: Option<usize>| index.and_then(|i| exprs.eval(i, side));
        let (bucket, group, column) = (eval(self.bucket), eval(self.group), eval(self.column));
        let summary = Part {
            bucket,
            group,
            value: None,
            n_values: i64::from(self.column.is_none() || column.is_some()),
            amount: if self.sums_values { column } else { None },
        };
        let mut parts = vec![summary];
        if let (true, Some(value)) = (self.tracks_values, column) {
            parts.push(Part {
                value: Some(value),
                n_values: 1,
                amount: None,
                ..summary
            });
        }
        parts
    }
}

/// Appends the change rows of one metric: old parts subtracted, new parts added, and an
/// old/new pair with the same key netted into one row, dropped when nothing changed (an
/// UPDATE that moves nothing between groups or buckets writes nothing, as in SQL).
fn net<'a>(
    exprs: &'a RowExprs,
    metric_id: i32,
    old: Vec<Part<'a>>,
    new: Vec<Part<'a>>,
    rows: &mut Vec<ChangeRow<'a>>,
) {
    let mut unmatched_new: Vec<Option<Part<'a>>> = new.into_iter().map(Some).collect();
    for o in old {
        let pair = unmatched_new
            .iter_mut()
            .find(|n| n.is_some_and(|n| same_key(&o, &n)))
            .and_then(Option::take);
        match pair {
            Some(n) => rows.extend(netted(exprs, metric_id, o, n)),
            None => rows.push(signed(exprs, metric_id, o, -1)),
        }
    }
    rows.extend(
        unmatched_new
            .into_iter()
            .flatten()
            .map(|n| signed(exprs, metric_id, n, 1)),
    );
}

fn signed<'a>(exprs: &'a RowExprs, metric_id: i32, part: Part<'a>, sign: i64) -> ChangeRow<'a> {
    ChangeRow {
        metric_id,
        bucket: part.bucket,
        group: part.group,
        value: part.value,
        n_rows: sign,
        n_values: sign * part.n_values,
        total: part.amount.map(|amount| {
            if sign < 0 {
                exprs.negate(amount)
            } else {
                amount
            }
        }),
    }
}

/// `new - old` for two parts with the same key, or None if that is zero.
fn netted<'a>(
    exprs: &'a RowExprs,
    metric_id: i32,
    old: Part<'a>,
    new: Part<'a>,
) -> Option<ChangeRow<'a>> {
    let (total, total_changed) = match (new.amount, old.amount) {
        (None, None) => (None, false),
        (Some(a), None) => (Some(a), true),
        (None, Some(b)) => (Some(exprs.negate(b)), true),
        (Some(a), Some(b)) if a.same_bytes(b) => (None, false),
        (Some(a), Some(b)) => (Some(exprs.subtract(a, b)), true),
    };
    let n_values = new.n_values - old.n_values;
    (n_values != 0 || total_changed).then_some(ChangeRow {
        metric_id,
        bucket: new.bucket,
        group: new.group,
        value: new.value,
        n_rows: 0,
        n_values,
        total,
    })
}

fn same_key(a: &Part<'_>, b: &Part<'_>) -> bool {
    fn same<'a, 'b>(
        a: Option<RowValue<'a>>,
        b: Option<RowValue<'b>>,
        equal: impl Fn(RowValue<'a>, RowValue<'b>) -> bool,
    ) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => equal(a, b),
            _ => false,
        }
    }
    same(a.bucket, b.bucket, RowValue::same_scalar)
        && same(a.group, b.group, RowValue::same_bytes)
        && same(a.value, b.value, RowValue::same_bytes)
}

/// The query whose targets are `exprs`, over the table `relid` (the table the trigger fires
/// on, named by the catalog).
fn row_expressions_sql(relid: pg_sys::Oid, exprs: &[Sql]) -> Result<Sql> {
    let (schema, name) = super::sys::relation_names(relid)?;
    Ok(crate::sql::row_expressions_sql(
        &crate::sql::Relation::qualified(&schema, &name),
        exprs,
    ))
}
