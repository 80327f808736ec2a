//! SQL text generated from metric definitions. Identifiers are always quoted; the filter is
//! the canonical text Postgres deparsed when the metric was created (never the user's raw
//! text), and every function and type is schema-qualified so a caller's search_path cannot
//! change what the generated SQL means.

use pgrx::spi::{quote_identifier, quote_literal};

use crate::model::Metric;

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
                let unit = quote_literal(bucket.as_str());
                let zone = quote_literal(&self.time_zone);
                let column = quote_identifier(column);
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

    pub fn group_sql(&self) -> String {
        match &self.group_by {
            Some(column) => format!("{}::pg_catalog.text", quote_identifier(column)),
            None => "NULL::pg_catalog.text".to_string(),
        }
    }

    fn where_sql(&self) -> String {
        match &self.filter {
            Some(filter) => format!(" WHERE ({filter})"),
            None => String::new(),
        }
    }

    fn value_column(&self) -> Option<String> {
        self.column_name.as_deref().map(quote_identifier)
    }

    /// Counters of the rows of `relation` (a table or a transition table), multiplied by
    /// `sign`: one row per (bucket, group) present, plus one per distinct value for the
    /// aggregates that track values. `live` (backfill, refresh, verify) also stores the
    /// distinct count of a count_distinct group, which triggers cannot know.
    pub fn aggregate_sql(&self, relation: &str, sign: i32, live: bool) -> String {
        if self.aggregate.tracks_values() {
            let sign = if sign < 0 { "-" } else { "" };
            return self.values_sql(&[(relation, sign)], live);
        }
        let counted = self.value_column().unwrap_or_else(|| "*".to_string());
        let total = match (self.aggregate.sums_values(), self.value_column()) {
            (true, Some(column)) => {
                format!(
                    "coalesce(pg_catalog.sum({}), 0)::pg_catalog.numeric",
                    summand_sql(&column)
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
    pub fn single_row_sql(&self, relation: &str, sign: i32) -> String {
        let column = self.value_column();
        let counted = match &column {
            Some(column) => format!("CASE WHEN {column} IS NULL THEN 0 ELSE {sign} END"),
            None => sign.to_string(),
        };
        let total = match (&column, self.aggregate.sums_values()) {
            (Some(column), true) => {
                format!("{sign} * coalesce({}, 0)", summand_sql(column))
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
                 {head}, {column}::pg_catalog.numeric, {sign}::pg_catalog.int8, {sign}::pg_catalog.int8, 0::pg_catalog.numeric \
                 FROM {relation} WHERE {column} IS NOT NULL{and_filter}",
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
    pub fn update_sql(&self, new_rows: &str, old_rows: &str) -> String {
        if self.aggregate.tracks_values() {
            return self.values_sql(&[(new_rows, ""), (old_rows, "-")], false);
        }
        let (counted, total) = match self.value_column() {
            Some(column) => (
                format!("CASE WHEN {column} IS NULL THEN 0 ELSE 1 END"),
                if self.aggregate.sums_values() {
                    format!("coalesce({}, 0)", summand_sql(&column))
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
        let column = self.value_column().unwrap_or_else(|| "NULL".to_string());
        let rows = sides
            .iter()
            .map(|(relation, sign)| {
                format!(
                    "SELECT {bucket} AS b, {group} AS g, {column}::pg_catalog.numeric AS v, {sign}1 AS r FROM {relation}{filter}",
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
/// total stays exact through deletes and updates. Exact while the finite part of a sum stays
/// below 5e999 in magnitude. The single-row write path compiles this same expression.
pub fn summand_sql(column: &str) -> String {
    let [nan, infinity, minus_infinity] = NON_FINITE_WEIGHTS;
    format!(
        "CASE {column}::pg_catalog.numeric WHEN 'NaN' THEN '{nan}'::pg_catalog.numeric \
         WHEN 'Infinity' THEN '{infinity}'::pg_catalog.numeric \
         WHEN '-Infinity' THEN '{minus_infinity}'::pg_catalog.numeric \
         ELSE {column}::pg_catalog.numeric END"
    )
}

/// The weight of one NaN, Infinity and -Infinity in a summed total (see `summand_sql`);
/// `tally._figure` (sql/bootstrap.sql) decodes with the same three.
const NON_FINITE_WEIGHTS: [&str; 3] = ["1e1000", "1e2000", "1e3000"];

/// How this database's catalog stores pending changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeltaShape {
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
pub fn changes_select_sql(parts: Vec<String>) -> Option<String> {
    if parts.is_empty() {
        return None;
    }
    let rows = parts.join(" UNION ALL ");
    Some(format!(
        "SELECT pg_catalog.array_agg(d.m), pg_catalog.array_agg(d.b), pg_catalog.array_agg(d.g), \
                pg_catalog.array_agg(d.x), pg_catalog.array_agg(d.r), pg_catalog.array_agg(d.v), \
                pg_catalog.array_agg(d.t) \
           FROM ({rows}) AS d(m, b, g, x, r, v, t) HAVING pg_catalog.count(*) > 0"
    ))
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
pub fn changes_insert_sql(shape: DeltaShape) -> &'static str {
    match shape {
        DeltaShape::Packed => {
            "INSERT INTO tally._change (metric_id, bucket_start, group_key, value, n_rows, n_values, total) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        }
        DeltaShape::Rows => {
            "INSERT INTO tally._delta (metric_id, bucket_start, group_key, value, n_rows, n_values, total) \
             SELECT d.m, d.b, d.g, d.x, d.r, d.v, d.t FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), \
                    pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), \
                    pg_catalog.unnest($7)) AS d(m, b, g, x, r, v, t)"
        }
        DeltaShape::Legacy => {
            "INSERT INTO tally._delta (metric_id, bucket_start, group_key, n_rows, n_values, total) \
             SELECT d.m, d.b, d.g, d.r, d.v, d.t FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), \
                    pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), \
                    pg_catalog.unnest($7)) AS d(m, b, g, x, r, v, t)"
        }
    }
}

/// Counter rows from the seven arrays `$1`..`$7` (a metric's live counters, computed as
/// its table owner by `changes_select_sql`), in the order of `COUNTER_COLUMNS`.
pub fn counters_from_arrays_sql() -> String {
    format!("SELECT d.m, d.b, d.g, d.x, d.r, d.v, d.t FROM {UNNESTED_ARRAYS}")
}
