//! SQL text generated from metric definitions: the expressions a metric evaluates over a
//! source row, and the queries that turn rows into counters. Identifiers are `Ident`s; the
//! filter is its stored `Expression` (never the user's raw text); every function and type is
//! schema-qualified so a caller's search_path cannot change what the generated SQL means.

use super::{literal, Ident, Relation, Sql};
use crate::model::Metric;

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
    fn name(&self) -> &str {
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

impl Metric {
    /// The bucket a source row falls in: the start of its local hour/day/week/month in the
    /// metric's time zone, as timestamptz. `date_trunc(unit, timestamptz, zone)` is DST-correct;
    /// timestamp and date columns are local times in that zone already.
    pub fn bucket_sql(&self) -> String {
        match (&self.bucket, &self.bucket_column) {
            (Some(bucket), Some(column)) => {
                let unit = literal(bucket.as_str());
                let zone = literal(&self.time_zone);
                let column = Ident::new(column);
                if self.bucket_column_is_tz {
                    format!("pg_catalog.date_trunc({unit}, {column}, {zone})")
                } else {
                    format!(
                        "pg_catalog.timezone({zone}, pg_catalog.date_trunc({unit}, {column}::pg_catalog.timestamp))"
                    )
                }
            }
            _ => "NULL::pg_catalog.timestamptz".to_string(),
        }
    }

    /// The group key of a source row: the group column's text form, refused in the writer's
    /// statement when longer than `GROUP_KEY_LIMIT_BYTES` (`tally._refuse_group_key`).
    pub fn group_sql(&self) -> String {
        let Some(column) = &self.group_by else {
            return "NULL::pg_catalog.text".to_string();
        };
        let key = format!("{}::pg_catalog.text", Ident::new(column));
        if !self.refuses_unfoldable {
            return key;
        }
        checked_sql(
            &format!("pg_catalog.octet_length({key}) <= {GROUP_KEY_LIMIT_BYTES}"),
            &key,
            &format!("tally._refuse_group_key({}, {key})", literal(&self.name)),
        )
    }

    fn where_sql(&self) -> String {
        match &self.filter {
            Some(filter) => format!(" WHERE ({filter})"),
            None => String::new(),
        }
    }

    /// What a value of the summed column adds to a total (`summand_sql`). A finite value
    /// of magnitude `SUMMAND_LIMIT` or more is refused in the writer's statement
    /// (`tally._refuse_value`): it could overflow a fold, or pass for a NaN.
    fn summand_sql(&self, column: &str) -> String {
        let value = format!("{column}::pg_catalog.numeric");
        if !self.refuses_unfoldable {
            return summand_sql(column, &value);
        }
        let finite = checked_sql(
            &format!("pg_catalog.abs({value}) < '{SUMMAND_LIMIT}'::pg_catalog.numeric"),
            &value,
            &self.refuse_value_sql(&value),
        );
        summand_sql(column, &finite)
    }

    /// A value of a tracked column (min, max, count_distinct) as stored: numeric, refused in
    /// the writer's statement when longer than `TRACKED_LIMIT_BYTES`, which no index of
    /// `tally._state` could take.
    fn tracked_sql(&self, column: &str) -> String {
        let value = format!("{column}::pg_catalog.numeric");
        if !self.refuses_unfoldable {
            return value;
        }
        // The size of a fresh copy (+ 0): a value read from the table may be compressed,
        // which pg_column_size would measure, while the index stores it compressed its own
        // way or not at all.
        checked_sql(
            &format!("pg_catalog.pg_column_size({value} + 0) <= {TRACKED_LIMIT_BYTES}"),
            &value,
            &self.refuse_value_sql(&value),
        )
    }

    /// The call that refuses `value` in the writer's statement (`tally._refuse_value`).
    fn refuse_value_sql(&self, value: &str) -> String {
        format!(
            "tally._refuse_value({}, {}, {value})",
            literal(&self.name),
            literal(self.aggregate.as_str())
        )
    }

    fn value_column(&self) -> Option<String> {
        self.column_name
            .as_deref()
            .map(|column| Ident::new(column).to_string())
    }

    /// The expressions the single-row write path compiles (`write::single_row`), each computing over
    /// one source row exactly what the queries below compute: the filter, the bucket, the
    /// group key, and the column as the aggregate reads it (count only asks whether it is
    /// NULL, whatever its type; the others fold its values as numeric, sum and avg with
    /// non-finite values counted apart: `summand_sql`).
    pub fn row_expressions(&self) -> RowExpressions {
        let column = self.value_column();
        RowExpressions {
            filter: self.filter.as_ref().map(|f| Sql(format!("({f})"))),
            bucket: self.bucket.map(|_| Sql(self.bucket_sql())),
            group: self.group_by.as_ref().map(|_| Sql(self.group_sql())),
            column: column.map(|c| {
                Sql(if self.aggregate.sums_values() {
                    self.summand_sql(&c)
                } else if self.aggregate.tracks_values() {
                    self.tracked_sql(&c)
                } else {
                    c
                })
            }),
        }
    }

    /// Counters of the rows of `relation` (a table or a transition table), multiplied by
    /// `sign`: one row per (bucket, group) present, plus one per distinct value for the
    /// aggregates that track values. `live` (backfill, refresh, verify) also stores the
    /// distinct count of a count_distinct group, which triggers cannot know.
    pub fn aggregate_sql(&self, rows: Rows<'_>, sign: i32, live: bool) -> String {
        let relation = rows.name();
        if self.aggregate.tracks_values() {
            let sign = if sign < 0 { "-" } else { "" };
            return self.values_sql(&[(relation, sign)], live);
        }
        let counted = self.value_column().unwrap_or_else(|| "*".to_string());
        let total = match (self.aggregate.sums_values(), self.value_column()) {
            (true, Some(column)) => {
                format!(
                    "coalesce(pg_catalog.sum({}), 0)::pg_catalog.numeric",
                    self.summand_sql(&column)
                )
            }
            _ => "0::pg_catalog.numeric".to_string(),
        };
        format!(
            "SELECT {id}, {bucket}, {group}, NULL::pg_catalog.numeric, {sign} * pg_catalog.count(*), {sign} * pg_catalog.count({counted}), {sign} * {total} \
             FROM {relation}{filter} GROUP BY 2, 3",
            id = self.id,
            bucket = self.bucket_sql(),
            group = self.group_sql(),
            filter = self.where_sql(),
        )
    }

    /// The counters of a statement that changed one row of `relation`: the same rows as
    /// `aggregate_sql` would produce, without aggregation, whose executor setup dominates
    /// the cost of a single-row statement.
    pub fn single_row_sql(&self, rows: Rows<'_>, sign: i32) -> String {
        let relation = rows.name();
        let column = self.value_column();
        let counted = match &column {
            Some(column) => format!("CASE WHEN {} THEN 0 ELSE {sign} END", is_null_sql(column)),
            None => sign.to_string(),
        };
        let total = match (&column, self.aggregate.sums_values()) {
            (Some(column), true) => {
                format!("{sign} * coalesce({}, 0)", self.summand_sql(column))
            }
            _ => "0::pg_catalog.numeric".to_string(),
        };
        let head = format!(
            "SELECT {id}, {bucket}, {group}",
            id = self.id,
            bucket = self.bucket_sql(),
            group = self.group_sql()
        );
        let summary = format!(
            "{head}, NULL::pg_catalog.numeric, {sign}::pg_catalog.int8, ({counted})::pg_catalog.int8, {total} FROM {relation}{filter}",
            filter = self.where_sql()
        );
        match (&column, self.aggregate.tracks_values()) {
            (Some(column), true) => format!(
                "{summary} UNION ALL \
                 {head}, {tracked}, {sign}::pg_catalog.int8, {sign}::pg_catalog.int8, 0::pg_catalog.numeric \
                 FROM {relation} WHERE {column} IS NOT NULL{and_filter}",
                tracked = self.tracked_sql(column),
                and_filter = self
                    .filter
                    .as_ref()
                    .map(|f| format!(" AND ({f})"))
                    .unwrap_or_default()
            ),
            _ => summary,
        }
    }

    /// Net counters of an UPDATE: new rows in, old rows out, keeping only keys that changed,
    /// so an UPDATE that moves nothing between groups or buckets writes nothing.
    pub fn update_sql(&self) -> String {
        let (new_rows, old_rows) = (NEW_ROWS, OLD_ROWS);
        if self.aggregate.tracks_values() {
            return self.values_sql(&[(new_rows, ""), (old_rows, "-")], false);
        }
        let (counted, total) = match self.value_column() {
            Some(column) => (
                format!("CASE WHEN {} THEN 0 ELSE 1 END", is_null_sql(&column)),
                if self.aggregate.sums_values() {
                    format!("coalesce({}, 0)", self.summand_sql(&column))
                } else {
                    "0::pg_catalog.numeric".to_string()
                },
            ),
            None => ("1".to_string(), "0::pg_catalog.numeric".to_string()),
        };
        let side = |relation: &str, sign: &str| {
            format!(
                "SELECT {bucket} AS b, {group} AS g, {sign}1 AS r, {sign}({counted}) AS v, {sign}({total}) AS t FROM {relation}{filter}",
                bucket = self.bucket_sql(),
                group = self.group_sql(),
                filter = self.where_sql(),
            )
        };
        format!(
            "SELECT {id}, d.b, d.g, NULL::pg_catalog.numeric, pg_catalog.sum(d.r), pg_catalog.sum(d.v), pg_catalog.sum(d.t) \
             FROM ({new} UNION ALL {old}) AS d GROUP BY d.b, d.g \
             HAVING pg_catalog.sum(d.r) <> 0 OR pg_catalog.sum(d.v) <> 0 OR pg_catalog.sum(d.t) <> 0",
            id = self.id,
            new = side(new_rows, ""),
            old = side(old_rows, "-"),
        )
    }

    /// Counters of a value-tracking metric over signed row sets: a summary row per (bucket,
    /// group) and a row per distinct non-NULL value in it, net of the signs; keys that net
    /// to nothing are left out.
    fn values_sql(&self, sides: &[(&str, &str)], live: bool) -> String {
        let value = match self.value_column() {
            Some(column) => self.tracked_sql(&column),
            None => "NULL::pg_catalog.numeric".to_string(),
        };
        let rows = sides
            .iter()
            .map(|(relation, sign)| {
                format!(
                    "SELECT {bucket} AS b, {group} AS g, {value} AS v, {sign}1 AS r FROM {relation}{filter}",
                    bucket = self.bucket_sql(),
                    group = self.group_sql(),
                    filter = self.where_sql(),
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let valued = "pg_catalog.sum(d.r) FILTER (WHERE d.v IS NOT NULL)";
        let total = if live && self.aggregate == crate::model::Aggregate::CountDistinct {
            "CASE WHEN GROUPING(d.v) = 1 THEN pg_catalog.count(DISTINCT d.v) ELSE 0 END"
        } else {
            "0"
        };
        format!(
            "SELECT {id}, d.b, d.g, d.v, pg_catalog.sum(d.r)::pg_catalog.int8, coalesce({valued}, 0)::pg_catalog.int8, {total}::pg_catalog.numeric \
             FROM ({rows}) AS d GROUP BY GROUPING SETS ((d.b, d.g), (d.b, d.g, d.v)) \
             HAVING (GROUPING(d.v) = 1 OR d.v IS NOT NULL) AND (pg_catalog.sum(d.r) <> 0 OR coalesce({valued}, 0) <> 0)",
            id = self.id,
        )
    }
}

/// What a value of a summed column (sum, avg) adds to its counter's `total`: the value
/// itself when finite; for NaN, Infinity and -Infinity a count at a fixed power of ten
/// (`NON_FINITE_WEIGHTS`), which `tally._figure` decodes. Postgres' `sum` of a set holding
/// one of them depends only on how many there are, and a total that absorbed a NaN could
/// never lose it again when that row is deleted (NaN - NaN is NaN): counted apart, the
/// total stays exact through deletes and updates. `finite` is the expression for a finite
/// value (`Metric::summand_sql` bounds it). The single-row write path compiles this same
/// expression.
fn summand_sql(column: &str, finite: &str) -> String {
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
fn checked_sql(within: &str, value: &str, refusal: &str) -> String {
    format!("CASE WHEN {within} THEN {value} ELSE {refusal} END")
}

/// Whether `column`'s value is NULL as `count(column)` judges it: the value itself, not its
/// fields (`ROW(NULL, NULL) IS NULL` is true, yet count counts that row value).
fn is_null_sql(column: &str) -> String {
    format!("pg_catalog.num_nulls({column}) = 1")
}

/// Summed finite values stay below this magnitude: the total of fewer than
/// 2^63 of them stays far below the weight of one NaN, and below numeric's range, so no
/// fold can overflow and no finite total can pass for a non-finite count.
const SUMMAND_LIMIT: &str = "1e900";

/// Group keys are at most this long: a longer one is no dashboard's label, and keys of a
/// few hundred megabytes each (each accepted alone) overflowed the arrays a fold or a
/// refresh passes them in (1 GB at most). Keys longer than 128 bytes are indexed by
/// digest (`tally._group_index_key`).
const GROUP_KEY_LIMIT_BYTES: u32 = 8192;

/// Tracked values (min, max, count_distinct) are stored in at most this many bytes: each is
/// a key of `tally._state`'s indexes, whose entries Postgres caps at 2704 bytes.
const TRACKED_LIMIT_BYTES: u32 = 1024;

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
pub fn changes_select_sql(parts: Vec<String>) -> Option<Sql> {
    if parts.is_empty() {
        return None;
    }
    Some(changes_select(&parts.join(" UNION ALL ")))
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

/// The live counters of `metric` over its whole source table, as the seven arrays of
/// `changes_select_sql` (backfill, refresh, verify). Run as the table owner.
pub fn live_counters_sql(metric: &Metric) -> Sql {
    changes_select(&metric.aggregate_sql(Rows::Table(&metric.source), 1, true))
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
