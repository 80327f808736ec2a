//! SQL text generated from one metric's definition: the expressions it evaluates over a
//! source row (bucket, group key, value, filter) and the queries that turn rows into its
//! counters, built on the rules of `sql::change`. Besides `src/sql/`, this is the one file
//! that assembles SQL (`scripts/check-sql.sh` allows no other): identifiers are `Ident`s, the
//! filter and a value expression are stored `Expression`s (never the user's raw text), constants go through
//! `literal`, and every function and type is schema-qualified so a caller's search_path cannot
//! change what the generated SQL means.

use super::{Aggregate, Bucket, Metric, Value, ValueType};
use crate::sql::{
    changes_select_one, checked_sql, is_not_null_sql, is_null_sql, literal, summand_sql, Ident,
    RowExpressions, Rows, Sql, GROUP_KEY_LIMIT_BYTES, NEW_ROWS, OLD_ROWS, SUMMAND_LIMIT,
    TRACKED_LIMIT_BYTES,
};

impl Metric {
    /// The bucket a source row falls in, as timestamptz: the start of its local
    /// hour/day/week/month/quarter/year in the metric's time zone (`date_trunc(unit,
    /// timestamptz, zone)` is DST-correct), or of its fixed-width bucket (`Bucket::Minutes`:
    /// real time from the local hour's start; `Bucket::Hours`: the local clock from local
    /// midnight). timestamp and date columns are local times in that zone already. The same
    /// rule as `tally._bucket_start` (sql/bootstrap.sql) for a timestamptz.
    pub fn bucket_sql(&self) -> String {
        let (Some(bucket), Some(column)) = (&self.bucket, &self.bucket_column) else {
            return "NULL::pg_catalog.timestamptz".to_string();
        };
        let zone = literal(&self.time_zone);
        let column = Ident::new(column);
        let width = |count: u8, unit: &str| format!("pg_catalog.make_interval({unit} => {count})");
        if self.bucket_column_is_tz {
            match *bucket {
                Bucket::Minutes(count) => format!(
                    "pg_catalog.date_bin({}, {column}, pg_catalog.date_trunc('hour', {column}, {zone}))",
                    width(count, "mins")
                ),
                Bucket::Hours(count) => {
                    let local = format!("pg_catalog.timezone({zone}, {column})");
                    format!(
                        "pg_catalog.timezone({zone}, pg_catalog.date_bin({}, {local}, pg_catalog.date_trunc('day', {local})))",
                        width(count, "hours")
                    )
                }
                unit => format!(
                    "pg_catalog.date_trunc({}, {column}, {zone})",
                    literal(unit.as_str())
                ),
            }
        } else {
            let local = format!("{column}::pg_catalog.timestamp");
            let start = match *bucket {
                Bucket::Minutes(count) => format!(
                    "pg_catalog.date_bin({}, {local}, pg_catalog.date_trunc('hour', {local}))",
                    width(count, "mins")
                ),
                Bucket::Hours(count) => format!(
                    "pg_catalog.date_bin({}, {local}, pg_catalog.date_trunc('day', {local}))",
                    width(count, "hours")
                ),
                unit => format!("pg_catalog.date_trunc({}, {local})", literal(unit.as_str())),
            };
            format!("pg_catalog.timezone({zone}, {start})")
        }
    }

    /// The group key of a source row: the group column's text form (`group_text_sql`), or
    /// (several columns, 0.11.0) the JSON array of their text forms (`["PAID", "web"]`, a NULL as null), refused
    /// in the writer's statement when longer than `GROUP_KEY_LIMIT_BYTES`
    /// (`tally._refuse_group_key`).
    pub fn group_sql(&self) -> String {
        let key = match self.group_by.as_slice() {
            [] => return "NULL::pg_catalog.text".to_string(),
            [column] => self.group_text_sql(column),
            columns => format!(
                "pg_catalog.jsonb_build_array({})::pg_catalog.text",
                columns
                    .iter()
                    .map(|column| self.group_text_sql(column))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if !self.refuses_unfoldable {
            return key;
        }
        checked_sql(
            &format!("pg_catalog.octet_length({key}) <= {GROUP_KEY_LIMIT_BYTES}"),
            &key,
            &format!("tally._refuse_group_key({}, {key})", literal(&self.name)),
        )
    }

    /// One group column's part of a key: its text cast, or (0.16.0: an enum, a date, a
    /// timestamp, a numeric without a scale, a float, a jsonb) `tally._group_text` of it
    /// (`model::group_key`).
    fn group_text_sql(&self, column: &str) -> String {
        if self.group_text_columns.iter().any(|keyed| keyed == column) {
            format!("tally._group_text({})", Ident::new(column))
        } else {
            crate::sql::text_form_sql(column)
        }
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
    /// A sum or avg over intervals (0.12.0) adds each value's parts packed into one numeric
    /// instead (`tally._summed_interval`, which refuses an infinite interval); a sum of money
    /// (0.18.0) its amounts, read from the datum as min and max read them
    /// (`tally._tracked_ordered`: a cast to numeric would scale them by the writer's
    /// `lc_monetary`), each finite and far below `SUMMAND_LIMIT`.
    fn summand_sql(&self, column: &str) -> String {
        match self.value_kind.value_type {
            ValueType::Interval => {
                return format!(
                    "tally._summed_interval({}, ({column})::pg_catalog.interval)",
                    literal(&self.name)
                )
            }
            ValueType::Money => {
                return format!("tally._tracked_ordered({}, {column})", literal(&self.name))
            }
            _ => {}
        }
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

    /// A value of a tracked column (min, max, count_distinct) as stored: numeric, or (0.12.0)
    /// the numeric encoding of a value of another type (`model::value_type`: a cast to the
    /// type itself, which only looks through a domain or drops a char's padding, then
    /// `tally._tracked_value`; a text of a min or max metric through
    /// `tally._tracked_text_in_order`, which refuses one too long to keep in order; a cidr as
    /// inet, a macaddr as its text, an enum by its label, `tally._tracked_label`; a bytea or
    /// a bit string of a min or max through `_tracked_bytea_in_order`,
    /// `_tracked_bits_in_order`; a jsonb by its text, `_tracked_jsonb_in_order`,
    /// `_tracked_jsonb`, an array by its dimensions and elements, `_tracked_array`, a range
    /// by its bounds, `_tracked_range`, 0.14.0; money and timetz as a one-element array of
    /// them, 0.16.0; Postgres' own types by their integers, `model::system_key`, and a
    /// tsvector by its text, 0.20.0). Refused
    /// in the writer's statement when longer than `TRACKED_LIMIT_BYTES`, which no index of
    /// `tally._state` could take.
    fn tracked_sql(&self, column: &str) -> String {
        let typed = format!("({column})::{}", self.value_kind.value_type.sql_type());
        // min and max keep their values in order: a value too long for that is refused.
        let in_order = self.aggregate != Aggregate::CountDistinct;
        // A 0.21.0 catalog has the calls that name the value once (`_kept_value`, and
        // `_tracked_tsvector` of the tsvector itself); an older one, until its update, the
        // forms that name it two or three times.
        let names_value_once = super::installed::catalog_has(crate::sql::CatalogVersion::V0_21);
        let value = match self.value_kind.value_type {
            ValueType::Numeric => format!("{column}::pg_catalog.numeric"),
            ValueType::Text if in_order => format!(
                "tally._tracked_text_in_order({}, {typed})",
                literal(&self.name)
            ),
            // By label, read by `enum_out` itself: never a cast (its owner's function).
            ValueType::Enum => format!("tally._tracked_label({column})"),
            ValueType::Cidr => format!("tally._tracked_value({typed}::pg_catalog.inet)"),
            ValueType::Macaddr | ValueType::Macaddr8 => {
                format!("tally._tracked_value({typed}::pg_catalog.text)")
            }
            ValueType::Bytea if in_order => format!(
                "tally._tracked_bytea_in_order({}, {typed})",
                literal(&self.name)
            ),
            // A bit string by its text of 0s and 1s (varbit: a bare bit is bit(1)).
            ValueType::Bit if in_order => format!(
                "tally._tracked_bits_in_order({}, {typed}::pg_catalog.text)",
                literal(&self.name)
            ),
            ValueType::Bit => format!("tally._tracked_value({typed}::pg_catalog.text)"),
            // 0.22.0: by its collation's key; the cast to text keeps the column's collation.
            ValueType::NondeterministicText => format!("tally._tracked_collated({typed})"),
            // By its text (`jsonb_out`, which no setting changes): in order as written, or
            // with its numbers made shortest for count_distinct (jsonb's equality).
            ValueType::Jsonb if in_order => format!(
                "tally._tracked_jsonb_in_order({}, {typed}::pg_catalog.text)",
                literal(&self.name)
            ),
            ValueType::Jsonb => format!("tally._tracked_jsonb({typed}::pg_catalog.text)"),
            // By its text (0.20.0: `tsvectorout`'s, which no setting changes), ordered when
            // read by tsvector's order from that text; refused when the text reads back as
            // another value (binary input's repeated or unsorted lexemes, or a position 0,
            // whose text the input refuses: 42601), found by hostile probes.
            // 0.21.0: the value named once, its text read and read back by the encoder.
            ValueType::Tsvector if names_value_once => format!(
                "tally._tracked_tsvector({}, {typed}, {in_order})",
                literal(&self.name)
            ),
            ValueType::Tsvector => format!(
                "tally._tracked_tsvector({}, {typed}::pg_catalog.text, \
                 {typed} OPERATOR(pg_catalog.=) {typed}::pg_catalog.text::pg_catalog.tsvector, {in_order})",
                literal(&self.name)
            ),
            // Read from the datum itself (any array type, a domain over one): no cast.
            ValueType::Array => format!("tally._tracked_array({column})"),
            ValueType::Range | ValueType::Multirange => format!("tally._tracked_range({column})"),
            // A row (0.23.0), read from the datum itself: by its fields' keys.
            ValueType::Record => format!("tally._tracked_record({column})"),
            // count_distinct (0.16.0; aclitem 0.21.0): as the array encoder keeps an element
            // of it, a NULL as none; a timetz's metrics counted so keep counting so.
            ValueType::Money | ValueType::Timetz | ValueType::Aclitem
                if self.aggregate == Aggregate::CountDistinct =>
            {
                let element = format!("CASE WHEN ({column}) IS NULL THEN NULL ELSE ARRAY[{typed}] END");
                format!("tally._tracked_array({element})")
            }
            // min and max (0.17.0; arrays 0.18.0; multiranges 0.19.0): by a key in the
            // values' order, read from the datum (money by its amount, whatever lc_monetary
            // says).
            ValueType::Money
            | ValueType::Timetz
            | ValueType::OrderedRange(_)
            | ValueType::OrderedArray(_)
            | ValueType::OrderedMultirange(_) => format!(
                "tally._tracked_ordered({}, {column})",
                literal(&self.name)
            ),
            _ => format!("tally._tracked_value({typed})"),
        };
        if !self.refuses_unfoldable {
            return value;
        }
        if names_value_once {
            return format!(
                "tally._kept_value({}, {}, {value})",
                literal(&self.name),
                literal(self.aggregate.as_str())
            );
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

    /// What the aggregate reads from a row: its column, or its value expression in
    /// parentheses (stored canonical text, like a filter).
    fn value_column(&self) -> Option<String> {
        self.value.as_ref().map(|value| match value {
            Value::Column(column) => Ident::new(column).to_string(),
            Value::Expression(expression) => format!("({expression})"),
        })
    }

    /// The expressions the single-row write path compiles (`write::single_row`), each computing over
    /// one source row exactly what the queries below compute: the filter, the bucket, the
    /// group key, and the column as the aggregate reads it (count only asks whether it is
    /// NULL, whatever its type; the others fold its values as numeric, sum and avg with
    /// non-finite values counted apart: `summand_sql`).
    pub fn row_expressions(&self) -> RowExpressions {
        let column = self.value_column();
        RowExpressions {
            filter: self
                .filter
                .as_ref()
                .map(|f| Sql::assembled(format!("({f})"))),
            bucket: self.bucket.map(|_| Sql::assembled(self.bucket_sql())),
            group: (!self.group_by.is_empty()).then(|| Sql::assembled(self.group_sql())),
            column: column.map(|c| {
                Sql::assembled(if self.aggregate.sums_values() {
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
    fn aggregate_text(&self, rows: Rows<'_>, sign: i32, live: bool) -> String {
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
    fn single_row_text(&self, rows: Rows<'_>, sign: i32) -> String {
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
                 FROM {relation} WHERE {valued}",
                tracked = self.tracked_sql(column),
                // The filter first, as every other path evaluates it: a value expression that
                // can raise (a / b) is computed only for rows the filter keeps (AND would
                // leave the order to the planner).
                valued = match &self.filter {
                    Some(filter) => format!("CASE WHEN ({filter}) THEN {} ELSE false END", is_not_null_sql(column)),
                    None => is_not_null_sql(column),
                }
            ),
            _ => summary,
        }
    }

    /// Net counters of an UPDATE: new rows in, old rows out, keeping only keys that changed,
    /// so an UPDATE that moves nothing between groups or buckets writes nothing.
    fn update_text(&self) -> String {
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
        let total = if live && self.aggregate == Aggregate::CountDistinct {
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

    /// The live counters of this metric over its whole source table, as the seven arrays of
    /// `changes_select_sql` (backfill, refresh, verify). Run as the table owner.
    pub fn live_counters_sql(&self) -> Sql {
        changes_select_one(&self.aggregate_sql(Rows::Table(&self.source), 1, true))
    }

    /// `aggregate_text` as a statement part for `changes_select_sql`.
    pub fn aggregate_sql(&self, rows: Rows<'_>, sign: i32, live: bool) -> Sql {
        Sql::assembled(self.aggregate_text(rows, sign, live))
    }

    /// `single_row_text` as a statement part for `changes_select_sql`.
    pub fn single_row_sql(&self, rows: Rows<'_>, sign: i32) -> Sql {
        Sql::assembled(self.single_row_text(rows, sign))
    }

    /// `update_text` as a statement part for `changes_select_sql`.
    pub fn update_sql(&self) -> Sql {
        Sql::assembled(self.update_text())
    }
}
