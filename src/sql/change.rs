//! The rules every change follows, whatever the metric: the rows a counter query reads, the
//! seven arrays one statement's changes travel in, the limits a written value must keep and the
//! encoding of non-finite sums. `model::sql` builds each metric's expressions from these; the
//! NaN/Infinity weights are checked against their SQL decoder (sql/bootstrap.sql) below.

use super::{Relation, Sql};

/// The transition tables of the write trigger (its REFERENCING clause names them).
pub const NEW_ROWS: &str = "tally_new";
pub const OLD_ROWS: &str = "tally_old";

/// Rows a counter query reads: a source table or one of the trigger's transition tables.
#[derive(Clone, Copy)]
pub enum Rows<'a> {
    Table(&'a Relation),
    New,
    Old,
}

impl Rows<'_> {
    pub(crate) fn name(&self) -> &str {
        match self {
            Rows::Table(relation) => relation.as_str(),
            Rows::New => NEW_ROWS,
            Rows::Old => OLD_ROWS,
        }
    }
}

/// The counters stored per (metric, bucket, group, value). `value` is NULL on the summary
/// row of a group; min/max/count_distinct metrics also keep one row per distinct value.
pub const COUNTER_COLUMNS: &str =
    "metric_id, bucket_start, group_key, value, n_rows, n_values, total";

/// What a value of a summed column (sum, avg) adds to its counter's `total`: the value
/// itself when finite; for NaN, Infinity and -Infinity a count at a fixed power of ten
/// (`NON_FINITE_WEIGHTS`), which `tally._figure` decodes. Postgres' `sum` of a set holding
/// one of them depends only on how many there are, and a total that absorbed a NaN could
/// never lose it again when that row is deleted (NaN - NaN is NaN): counted apart, the
/// total stays exact through deletes and updates. `finite` is the expression for a finite
/// value (`Metric::summand_sql` bounds it). The single-row write path compiles this same
/// expression.
pub(crate) fn summand_sql(column: &str, finite: &str) -> String {
    let [nan, infinity, minus_infinity] = NON_FINITE_WEIGHTS;
    format!(
        "CASE {column}::pg_catalog.numeric WHEN 'NaN' THEN '{nan}'::pg_catalog.numeric \
         WHEN 'Infinity' THEN '{infinity}'::pg_catalog.numeric \
         WHEN '-Infinity' THEN '{minus_infinity}'::pg_catalog.numeric \
         ELSE {finite} END"
    )
}

/// `value` where `within` holds, else `refusal` (a call that raises the writer's error): the
/// refusing branch runs only for a value past a limit.
pub(crate) fn checked_sql(within: &str, value: &str, refusal: &str) -> String {
    format!("CASE WHEN {within} THEN {value} ELSE {refusal} END")
}

/// Whether `column`'s value is NULL as `count(column)` judges it: the value itself, not its
/// fields (`ROW(NULL, NULL) IS NULL` is true, yet count counts that row value).
pub(crate) fn is_null_sql(column: &str) -> String {
    format!("pg_catalog.num_nulls({column}) = 1")
}

/// Whether `column`'s value is not NULL as `count(column)` judges it (`is_null_sql`'s
/// opposite): a row with a NULL field is a value (0.23.0: `ROW(1, NULL) IS NOT NULL` is
/// false, yet `count(DISTINCT (a, b))` counts that row; found by the differential test).
pub(crate) fn is_not_null_sql(column: &str) -> String {
    format!("pg_catalog.num_nulls({column}) = 0")
}

/// Summed finite values stay below this magnitude: the total of fewer than
/// 2^63 of them stays far below the weight of one NaN, and below numeric's range, so no
/// fold can overflow and no finite total can pass for a non-finite count.
pub(crate) const SUMMAND_LIMIT: &str = "1e900";

/// Group keys are at most this long: a longer one is no dashboard's label, and keys of a
/// few hundred megabytes each (each accepted alone) overflowed the arrays a fold or a
/// refresh passes them in (1 GB at most). Keys longer than 128 bytes are indexed by
/// digest (`tally._group_index_key`).
pub(crate) const GROUP_KEY_LIMIT_BYTES: u32 = 8192;

/// Tracked values (min, max, count_distinct) are stored in at most this many bytes: each is
/// a key of `tally._state`'s indexes, whose entries Postgres caps at 2704 bytes.
pub(crate) const TRACKED_LIMIT_BYTES: u32 = 1024;

/// The weight of one NaN, Infinity and -Infinity in a summed total (see `summand_sql`);
/// `tally._figure` (sql/bootstrap.sql) decodes with the same three.
const NON_FINITE_WEIGHTS: [&str; 3] = ["1e1000", "1e2000", "1e3000"];

/// A total printed with more integer digits than this counts non-finite values (it is at
/// least the weight of one NaN, `NON_FINITE_WEIGHTS`); a finite total has fewer (below
/// `SUMMAND_LIMIT` per value). The snapshot's reader writes no such total as a JSON number.
pub const FINITE_TOTAL_MAX_DIGITS: usize = 1000;

/// How this database's catalog stores pending changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeShape {
    /// 0.6.0: one `tally._change` row per statement, the changes as parallel arrays.
    Packed,
    /// 0.2.0-0.5.0: one `tally._delta` row per change.
    Rows,
    /// 0.1.0: `tally._delta` rows without the `value` column.
    Legacy,
}

/// One SELECT returning the changes of all `parts` (counter rows in the order of
/// `COUNTER_COLUMNS`) as seven parallel arrays, in the order of `CHANGE_ARRAY_TYPES`; no row
/// when there are none (an UPDATE moving no row between groups changes nothing). Run as
/// the table owner: the parts evaluate the metrics' expressions. None without parts.
pub fn changes_select_sql(parts: Vec<Sql>) -> Option<Sql> {
    if parts.is_empty() {
        return None;
    }
    let texts: Vec<&str> = parts.iter().map(Sql::as_str).collect();
    Some(changes_select(&texts.join(" UNION ALL ")))
}

/// `changes_select_sql` of one part.
pub fn changes_select_one(part: &Sql) -> Sql {
    changes_select(part.as_str())
}

/// The seven arrays of `changes_select_sql` over the counter rows `rows`.
fn changes_select(rows: &str) -> Sql {
    Sql(format!(
        "SELECT pg_catalog.array_agg(d.m), pg_catalog.array_agg(d.b), pg_catalog.array_agg(d.g), \
                pg_catalog.array_agg(d.x), pg_catalog.array_agg(d.r), pg_catalog.array_agg(d.v), \
                pg_catalog.array_agg(d.t) \
           FROM ({rows}) AS d(m, b, g, x, r, v, t) HAVING pg_catalog.count(*) > 0"
    ))
}

/// The SQL expressions of one metric over a source row (`Metric::row_expressions`).
pub struct RowExpressions {
    pub filter: Option<Sql>,
    pub bucket: Option<Sql>,
    pub group: Option<Sql>,
    pub column: Option<Sql>,
}

/// The types of the seven arrays of `changes_select_sql`, which the inserts below take as
/// `$1`..`$7`: metric_id, bucket_start, group_key, value, n_rows, n_values, total.
pub const CHANGE_ARRAY_TYPES: [pgrx::pg_sys::Oid; 7] = [
    pgrx::pg_sys::INT4ARRAYOID,
    pgrx::pg_sys::TIMESTAMPTZARRAYOID,
    pgrx::pg_sys::TEXTARRAYOID,
    pgrx::pg_sys::NUMERICARRAYOID,
    pgrx::pg_sys::INT8ARRAYOID,
    pgrx::pg_sys::INT8ARRAYOID,
    pgrx::pg_sys::NUMERICARRAYOID,
];

/// The seven arrays `$1`..`$7` as counter rows (metric_id, bucket_start, group_key, value,
/// n_rows, n_values, total), as `d(m, b, g, x, r, v, t)`.
const UNNESTED_ARRAYS: &str =
    "ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), \
    pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)) \
    AS d(m, b, g, x, r, v, t)";

/// The insert of one statement's changes (`$1`..`$7`) into the change table of a catalog of
/// `shape`. Runs with the extension owner's rights and evaluates nothing a user wrote.
pub fn changes_insert_sql(shape: ChangeShape) -> &'static str {
    match shape {
        ChangeShape::Packed => {
            "INSERT INTO tally._change (metric_id, bucket_start, group_key, value, n_rows, n_values, total) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        }
        ChangeShape::Rows => {
            "INSERT INTO tally._delta (metric_id, bucket_start, group_key, value, n_rows, n_values, total) \
             SELECT d.m, d.b, d.g, d.x, d.r, d.v, d.t FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), \
                    pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), \
                    pg_catalog.unnest($7)) AS d(m, b, g, x, r, v, t)"
        }
        ChangeShape::Legacy => {
            "INSERT INTO tally._delta (metric_id, bucket_start, group_key, n_rows, n_values, total) \
             SELECT d.m, d.b, d.g, d.r, d.v, d.t FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), \
                    pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), \
                    pg_catalog.unnest($7)) AS d(m, b, g, x, r, v, t)"
        }
    }
}

/// Counter rows from the seven arrays `$1`..`$7` (a metric's live counters, computed as
/// its table owner by `changes_select_sql`), in the order of `COUNTER_COLUMNS`.
pub(super) fn counters_from_arrays_sql() -> String {
    format!("SELECT d.m, d.b, d.g, d.x, d.r, d.v, d.t FROM {UNNESTED_ARRAYS}")
}

/// The encoding of NaN and infinities is written in Rust (this file, `read::snapshot`) and
/// in SQL (`tally._figure`, `tally._non_finite_figure` in sql/bootstrap.sql): these keep them
/// one rule.
#[cfg(test)]
mod unit {
    use super::{FINITE_TOTAL_MAX_DIGITS, NON_FINITE_WEIGHTS, SUMMAND_LIMIT};

    const BOOTSTRAP: &str = include_str!("../../sql/bootstrap.sql");

    fn exponent(power_of_ten: &str) -> usize {
        power_of_ten
            .strip_prefix("1e")
            .and_then(|e| e.parse().ok())
            .expect("a power of ten")
    }

    #[test]
    fn the_sql_decodes_the_weights_rust_encodes() {
        let decoder = &BOOTSTRAP[BOOTSTRAP
            .find("CREATE FUNCTION tally._non_finite_figure")
            .expect("the decoder")..];
        for weight in NON_FINITE_WEIGHTS {
            assert!(
                decoder.contains(&format!("'{weight}'::pg_catalog.numeric")),
                "tally._non_finite_figure does not use {weight}"
            );
        }
    }

    #[test]
    fn the_thresholds_agree() {
        let nan = exponent(NON_FINITE_WEIGHTS[0]);
        // The snapshot's reader: a NaN count has nan + 1 digits, a finite total at most
        // the limit's exponent plus the digits of 2^63 summands.
        assert_eq!(FINITE_TOTAL_MAX_DIGITS, nan);
        assert!(exponent(SUMMAND_LIMIT) + 19 < FINITE_TOTAL_MAX_DIGITS);
        // tally._figure decodes totals from 5e(nan - 1) on: above every finite total.
        assert!(BOOTSTRAP.contains(&format!("'5e{}'::pg_catalog.numeric", nan - 1)));
        // The weights are far enough apart that counts of each cannot reach the next.
        for pair in NON_FINITE_WEIGHTS.windows(2) {
            assert!(exponent(pair[1]) - exponent(pair[0]) > 19);
        }
    }
}
