//! Statements over pg_tally's own tables: folding, removing pending changes, recomputing,
//! verifying, loading definitions. Their variable parts are `$n` parameters; the text is
//! built once from the constants here.

use std::sync::OnceLock;

use super::change::counters_from_arrays_sql;
use super::{Sql, COUNTER_COLUMNS};

/// The fold horizon (see `tally._fold`) as a scalar subquery: no pending change was written
/// by a transaction before it.
pub const HORIZON_SQL: &str =
    "coalesce((SELECT f.horizon FROM tally._fold f WHERE f.id = 1), '0'::pg_catalog.xid8)";

/// A read template for `catalog`, whose placeholders say how its one pass over pending
/// changes (`tally._delta d`) feeds the readers of min, max and count_distinct. From 0.14.0
/// the pass keeps the changes of values too (`{pending_filter}` is empty), the template
/// gathers each group's as columns `pending_values` and `pending_rows` (`{pending_arrays}`,
/// `PENDING_ARRAYS_SQL`), and `tally._figure_of` takes them (`{pending_args}`), so no
/// group's reader looks up pending changes again (sql/values.sql, `tally._extreme`). On an
/// older catalog the pass keeps summary changes only, the columns go unused, and each
/// group's reader looks up its own.
///
/// A group gets at most `PENDING_VALUES_CAP` pending values (`{pending_cap}`): past that its
/// columns are NULL and its reader looks them up itself, slower but never failing (an array
/// holds at most 1 GB; a hostile writer could otherwise make every read of the metric fail).
pub fn with_pending_values(template: &str, catalog: CatalogVersion) -> String {
    let (filter, args) = if catalog >= CatalogVersion::V0_14 {
        ("", ", pending_values, pending_rows")
    } else {
        ("AND d.value IS NULL", "")
    };
    template
        .replace("{pending_filter}", filter)
        .replace("{pending_args}", args)
        .replace("{pending_arrays}", PENDING_ARRAYS_SQL)
        .replace("{pending_cap}", &PENDING_VALUES_CAP.to_string())
}

/// A group's pending values and their row counts as two arrays (`{pending_arrays}`), over
/// rows with `value`, `n_rows` and `nth` (the value's place among its group's, NULL for a
/// summary row): '{}' for none, NULL past `{pending_cap}`.
const PENDING_ARRAYS_SQL: &str = "\
    CASE WHEN pg_catalog.count(*) FILTER (WHERE nth > {pending_cap}) = 0 \
         THEN coalesce(pg_catalog.array_agg(value) FILTER (WHERE nth <= {pending_cap}), '{}') END AS pending_values, \
    CASE WHEN pg_catalog.count(*) FILTER (WHERE nth > {pending_cap}) = 0 \
         THEN coalesce(pg_catalog.array_agg(n_rows) FILTER (WHERE nth <= {pending_cap}), '{}') END AS pending_rows";

/// The most pending values a read hands one group's reader (`with_pending_values`; the
/// snapshot's query in sql/read.sql writes the same number).
pub const PENDING_VALUES_CAP: u32 = 100_000;

/// Whether the `_state` row `state` has the key (`bucket`, `group`), NULL matching NULL: the
/// one spelling of that rule. The coalesced forms are the columns of the `_state_values`
/// expression index, so a lookup by key walks it; the IS NOT DISTINCT FROM recheck keeps a NULL
/// bucket or group apart from `-infinity` or `''`, and a long key apart from another with the
/// same digest. sql/values.sql's readers spell it out for `s`, `m_bucket`, `m_group` (a unit
/// test below holds them to this). `verify`'s FULL JOIN (`drift_sql`) matches keys in a form
/// a hash join can use instead: it compares whole tables, not one key.
pub fn same_key_sql(state: &str, bucket: &str, group: &str) -> String {
    format!(
        "coalesce({state}.bucket_start, '-infinity') = coalesce({bucket}, '-infinity') \
         AND coalesce(tally._group_index_key({state}.group_key), '') = coalesce(tally._group_index_key({group}), '') \
         AND {state}.bucket_start IS NOT DISTINCT FROM {bucket} AND {state}.group_key IS NOT DISTINCT FROM {group}"
    )
}

/// Rows `s` of `_state` with the same (metric, bucket, group, value) as the row `f`
/// (`same_key_sql`).
fn same_value_key_sql() -> String {
    format!(
        "s.metric_id = f.metric_id AND s.value = f.value AND {}",
        same_key_sql("s", "f.bucket_start", "f.group_key")
    )
}

/// The conflict target of an upsert into `tally._state`: its unique index `_state_key`.
const STATE_KEY: &str = "(metric_id, bucket_start, value, tally._group_index_key(group_key))";

/// The metrics a fold adds changes to: every one not broken (a broken metric's changes are
/// discarded until `tally.refresh` recomputes it).
const FOLDING_METRICS: &str = "SELECT m.id FROM tally._metric m \
    WHERE NOT EXISTS (SELECT FROM tally._broken b WHERE b.metric_id = m.id)";

/// The columns of one change, in the order `tally._change` and the view `tally._delta`
/// hold them (each an array in `_change`: element i of each is one change).
pub const CHANGE_ARRAYS: [&str; 7] = [
    "metric_id",
    "bucket_start",
    "group_key",
    "n_rows",
    "n_values",
    "total",
    "value",
];

/// The changes of the `_change` row `row` (a range variable with that table's columns),
/// one per row as `d`, with the columns of `CHANGE_ARRAYS`.
fn unnested(row: &str) -> String {
    let unnests: Vec<String> = CHANGE_ARRAYS
        .iter()
        .map(|c| format!("pg_catalog.unnest({row}.{c})"))
        .collect();
    format!(
        "ROWS FROM ({}) AS d({})",
        unnests.join(", "),
        CHANGE_ARRAYS.join(", ")
    )
}

/// Data-modifying CTEs (`gone`, `kept`) that remove the pending changes of the metrics in
/// `ids` (an int[] expression): every `_change` row from the fold horizon on holding one
/// of them is deleted and rewritten without them, with its transaction id (a row left with
/// no change is not rewritten). Caller holds the fold lock, as everything that deletes
/// changes does, so no fold can take a row between the two.
fn remove_pending_ctes(ids: &str) -> String {
    let aggregated: Vec<String> = CHANGE_ARRAYS
        .iter()
        .map(|c| format!("pg_catalog.array_agg(d.{c})"))
        .collect();
    format!(
        "gone AS (DELETE FROM tally._change c WHERE c.xact_id >= {HORIZON_SQL} AND c.metric_id OPERATOR(pg_catalog.&&) {ids} \
                  RETURNING c.*), \
         kept AS (INSERT INTO tally._change (xact_id, {columns}) \
                  SELECT g.xact_id, k.* FROM gone g, LATERAL ( \
                         SELECT {aggregated} \
                           FROM {changes} WHERE d.metric_id OPERATOR(pg_catalog.<>) ALL ({ids})) k(m) \
                   WHERE k.m IS NOT NULL RETURNING 1)",
        columns = CHANGE_ARRAYS.join(", "),
        aggregated = aggregated.join(", "),
        changes = unnested("g")
    )
}

/// Adds the summed changes (parallel arrays `$1`..`$8`: metric, bucket, group, value, rows,
/// values, total, number of changes) to `_state`, skipping metrics dropped since. Sums in
/// Rust are keyed by a value's text; the GROUP BY here merges numerically equal values
/// (1.0 and 1.00), as the upsert needs one row per counter. A count_distinct group's
/// summary row also gains the values that appear (a count going from 0 to positive) minus
/// those that disappear, judged against the state this statement replaces. Returns the
/// changes folded, the counter rows upserted and the ids of those left empty.
pub fn fold_apply_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let same_value_key = same_value_key_sql();
        format!(
            "WITH summed AS (SELECT f.metric_id, f.bucket_start, f.group_key, f.value, pg_catalog.sum(f.n_rows) AS n_rows, \
                                    pg_catalog.sum(f.n_values) AS n_values, pg_catalog.sum(f.total) AS total, \
                                    pg_catalog.sum(f.changes) AS changes \
                               FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int4[]), pg_catalog.unnest($2::pg_catalog.timestamptz[]), \
                                               pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.numeric[]), \
                                               pg_catalog.unnest($5::pg_catalog.int8[]), pg_catalog.unnest($6::pg_catalog.int8[]), \
                                               pg_catalog.unnest($7::pg_catalog.numeric[]), pg_catalog.unnest($8::pg_catalog.int8[])) \
                                    AS f(metric_id, bucket_start, group_key, value, n_rows, n_values, total, changes) \
                              WHERE f.metric_id IN ({FOLDING_METRICS}) \
                              GROUP BY 1, 2, 3, 4), \
                  distinct_change AS (SELECT f.metric_id, f.bucket_start, f.group_key, NULL::pg_catalog.numeric AS value, \
                                             0::pg_catalog.numeric AS n_rows, 0::pg_catalog.numeric AS n_values, \
                                             pg_catalog.sum((coalesce(s.n_rows, 0) + f.n_rows > 0)::pg_catalog.int4 \
                                                            - (coalesce(s.n_rows, 0) > 0)::pg_catalog.int4)::pg_catalog.numeric AS total \
                                        FROM summed f \
                                        JOIN tally._metric m ON m.id = f.metric_id AND m.aggregate = 'count_distinct' \
                                        LEFT JOIN tally._state s ON {same_value_key} \
                                       WHERE f.value IS NOT NULL \
                                       GROUP BY 1, 2, 3), \
                  folded AS (SELECT u.metric_id, u.bucket_start, u.group_key, u.value, pg_catalog.sum(u.n_rows), \
                                    pg_catalog.sum(u.n_values), pg_catalog.sum(u.total) \
                               FROM (SELECT s.metric_id, s.bucket_start, s.group_key, s.value, s.n_rows, s.n_values, s.total \
                                       FROM summed s \
                                     UNION ALL SELECT * FROM distinct_change) u \
                              GROUP BY 1, 2, 3, 4), \
                  upserted AS (INSERT INTO tally._state AS s ({COUNTER_COLUMNS}) SELECT * FROM folded \
                               ON CONFLICT {STATE_KEY} DO UPDATE \
                               SET n_rows = s.n_rows + EXCLUDED.n_rows, n_values = s.n_values + EXCLUDED.n_values, \
                                   total = s.total + EXCLUDED.total \
                               RETURNING s.ctid, s.n_rows = 0 AND s.n_values = 0 AND s.total = 0 AS emptied) \
             SELECT (SELECT pg_catalog.sum(changes)::pg_catalog.int8 FROM summed), (SELECT pg_catalog.count(*) FROM upserted), \
                    (SELECT pg_catalog.array_agg(u.ctid::pg_catalog.text) FROM upserted u WHERE u.emptied)"
        )
    })
}

/// `fold_apply_sql` for a fold whose sums are all summary rows (no metric tracking values among
/// them: the usual case): the same parameters and result, without the count_distinct and
/// value-merging steps. Each summary row's key (metric, bucket, group) is already unique
/// in the sums, so the upsert needs no GROUP BY either. Half the executor setup of the
/// full statement, which is most of a small fold's cost (~0.2 of its ~0.45 ms for 100
/// single-row INSERTs of the demo).
pub fn fold_summary_apply_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "WITH upserted AS (INSERT INTO tally._state AS s ({COUNTER_COLUMNS}) \
                               SELECT f.metric_id, f.bucket_start, f.group_key, NULL, f.n_rows, f.n_values, f.total \
                                 FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int4[]), pg_catalog.unnest($2::pg_catalog.timestamptz[]), \
                                                 pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($5::pg_catalog.int8[]), \
                                                 pg_catalog.unnest($6::pg_catalog.int8[]), pg_catalog.unnest($7::pg_catalog.numeric[])) \
                                      AS f(metric_id, bucket_start, group_key, n_rows, n_values, total) \
                                WHERE f.metric_id IN ({FOLDING_METRICS}) \
                               ON CONFLICT {STATE_KEY} DO UPDATE \
                               SET n_rows = s.n_rows + EXCLUDED.n_rows, n_values = s.n_values + EXCLUDED.n_values, \
                                   total = s.total + EXCLUDED.total \
                               RETURNING s.metric_id, s.ctid, s.n_rows = 0 AND s.n_values = 0 AND s.total = 0 AS emptied) \
             SELECT (SELECT pg_catalog.sum(c.changes)::pg_catalog.int8 \
                       FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int4[]), pg_catalog.unnest($8::pg_catalog.int8[])) AS c(metric_id, changes) \
                      WHERE c.metric_id IN (SELECT u.metric_id FROM upserted u)), \
                    (SELECT pg_catalog.count(*) FROM upserted), \
                    (SELECT pg_catalog.array_agg(u.ctid::pg_catalog.text) FROM upserted u WHERE u.emptied)"
        )
    })
}

/// Whose pending changes `remove_pending_ctes` removes.
enum Metrics {
    /// The metric whose id is parameter `$n`.
    Param(u8),
    /// Every metric of the table whose oid is parameter `$n`.
    OfSourceParam(u8),
}

impl Metrics {
    /// The metric ids as an int[] expression.
    fn ids(&self) -> String {
        match self {
            Metrics::Param(n) => format!("ARRAY[${n}::pg_catalog.int4]"),
            Metrics::OfSourceParam(n) => {
                format!("ARRAY(SELECT id FROM tally._metric WHERE source = ${n}::pg_catalog.oid)")
            }
        }
    }
}

/// `drop_metric`: removes the pending changes of metric `$1`.
pub fn drop_pending_sql() -> Sql {
    Sql(format!(
        "WITH {} SELECT",
        remove_pending_ctes(&Metrics::Param(1).ids())
    ))
}

/// A recompute: removes the pending changes of metric `$8` and stores its live counters
/// (`$1`..`$7`, see `counters_from_arrays_sql`) in one statement.
pub fn recompute_sql() -> Sql {
    Sql(format!(
        "WITH {gone} INSERT INTO tally._state ({COUNTER_COLUMNS}) {counters}",
        gone = remove_pending_ctes(&Metrics::Param(8).ids()),
        counters = counters_from_arrays_sql(),
    ))
}

/// `create_metric`'s backfill: stores the live counters `$1`..`$7`.
pub fn backfill_sql() -> Sql {
    Sql(format!(
        "INSERT INTO tally._state ({COUNTER_COLUMNS}) {}",
        counters_from_arrays_sql()
    ))
}

/// TRUNCATE: forgets the folded counters of every metric of table `$1`.
pub const CLEAR_STATE_SQL: &str = "DELETE FROM tally._state \
    WHERE metric_id IN (SELECT id FROM tally._metric WHERE source = $1::pg_catalog.oid)";

/// TRUNCATE: forgets the pending changes of every metric of table `$1`; `packed` on a
/// current catalog (`tally._change`), else in the `tally._delta` table of 0.1.0-0.5.0.
pub fn clear_pending_sql(packed: bool) -> Sql {
    if packed {
        Sql(format!(
            "WITH {} SELECT",
            remove_pending_ctes(&Metrics::OfSourceParam(1).ids())
        ))
    } else {
        Sql("DELETE FROM tally._delta \
             WHERE metric_id IN (SELECT id FROM tally._metric WHERE source = $1::pg_catalog.oid)"
            .to_string())
    }
}

/// `tally.verify` of one metric: every (bucket, group) where a stored counter (the summary,
/// or the count of one value) differs from the live counters `$1`..`$7` (computed as the
/// table owner), with both figures. `$8` is the metric's id, `$9` its aggregate. Each group's
/// pending values reach its readers as `sql::with_pending_values` says for `catalog`.
pub fn drift_sql(catalog: CatalogVersion) -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    static OLDER: OnceLock<String> = OnceLock::new();
    let built = if catalog >= CatalogVersion::V0_14 {
        &CURRENT
    } else {
        &OLDER
    };
    built.get_or_init(|| {
        let stored = format!(
            "SELECT {COUNTER_COLUMNS} FROM tally._state WHERE metric_id = $8::pg_catalog.int4 \
             UNION ALL SELECT {COUNTER_COLUMNS} FROM tally._delta \
              WHERE metric_id = $8::pg_catalog.int4 AND xact_id >= {HORIZON_SQL}"
        );
        let live = counters_from_arrays_sql();
        let template = format!(
            "WITH stored AS ( \
            SELECT bucket_start AS b, group_key AS g, value AS val, pg_catalog.sum(n_rows) AS r, \
                   pg_catalog.sum(n_values) AS v, pg_catalog.sum(total) AS t \
              FROM ({stored}) AS x GROUP BY 1, 2, 3), \
         pending AS ( \
            SELECT p.b, p.g, {{pending_arrays}} \
              FROM (SELECT d.bucket_start AS b, d.group_key AS g, d.value, d.n_rows, \
                           pg_catalog.row_number() OVER (PARTITION BY d.bucket_start, d.group_key) AS nth \
                      FROM tally._delta d \
                     WHERE d.metric_id = $8::pg_catalog.int4 AND d.xact_id >= {HORIZON_SQL} AND d.value IS NOT NULL) p \
             GROUP BY 1, 2), \
         checked AS ( \
            SELECT * FROM ( \
                SELECT b, g, val, r, v, \
                       CASE WHEN val IS NULL AND $9::pg_catalog.text = 'count_distinct' \
                            THEN t + tally._distinct_pending($8::pg_catalog.int4, b, g{{pending_args}}) \
                            ELSE t END AS t \
                  FROM (SELECT s.*, \
                               CASE WHEN p.found THEN p.pending_values ELSE '{{}}' END AS pending_values, \
                               CASE WHEN p.found THEN p.pending_rows ELSE '{{}}' END AS pending_rows \
                          FROM stored s LEFT JOIN (SELECT pending.*, true AS found FROM pending) p \
                            ON s.val IS NULL \
                           AND coalesce(p.b, '-infinity') = coalesce(s.b, '-infinity') AND (p.b IS NULL) = (s.b IS NULL) \
                           AND coalesce(p.g, '') = coalesce(s.g, '') AND (p.g IS NULL) = (s.g IS NULL)) AS s) AS c \
             WHERE r <> 0 OR v <> 0 OR t <> 0), \
         live AS (SELECT b, g, val, r::pg_catalog.numeric AS r, v::pg_catalog.numeric AS v, t \
                    FROM ({live}) AS y(id, b, g, val, r, v, t)), \
         bad AS ( \
            SELECT DISTINCT coalesce(s.b, l.b) AS b, coalesce(s.g, l.g) AS g \
              FROM checked s FULL JOIN live l \
                ON coalesce(s.b, '-infinity') = coalesce(l.b, '-infinity') AND (s.b IS NULL) = (l.b IS NULL) \
               AND coalesce(s.g, '') = coalesce(l.g, '') AND (s.g IS NULL) = (l.g IS NULL) \
               AND coalesce(s.val, 'NaN') = coalesce(l.val, 'NaN') AND (s.val IS NULL) = (l.val IS NULL) \
             WHERE s.r IS DISTINCT FROM l.r OR s.v IS DISTINCT FROM l.v OR s.t IS DISTINCT FROM l.t) \
         SELECT bad.b, bad.g, \
                tally._figure_of($8::pg_catalog.int4, $9::pg_catalog.text, bad.b, bad.g, s.v, s.t{{pending_args}}), \
                (SELECT CASE $9::pg_catalog.text WHEN 'min' THEN pg_catalog.min(l.val) WHEN 'max' THEN pg_catalog.max(l.val) \
                                   WHEN 'count_distinct' THEN coalesce(pg_catalog.sum(l.t), 0) \
                                   ELSE tally._figure($9::pg_catalog.text, pg_catalog.sum(l.v), pg_catalog.sum(l.t)) END \
                   FROM live l WHERE l.b IS NOT DISTINCT FROM bad.b AND l.g IS NOT DISTINCT FROM bad.g) \
           FROM bad LEFT JOIN stored s \
             ON s.val IS NULL AND s.b IS NOT DISTINCT FROM bad.b AND s.g IS NOT DISTINCT FROM bad.g \
           LEFT JOIN pending p ON p.b IS NOT DISTINCT FROM bad.b AND p.g IS NOT DISTINCT FROM bad.g \
          ORDER BY 1, 2",
        );
        with_pending_values(&template, catalog)
    })
}

/// Records the types of the columns every metric of table `$1` reads (`tally._read_types`),
/// returning the ids of the metrics whose recorded types differ (a metric with none recorded
/// yet is only recorded). Only those rows are written: the hooks check every table with a
/// filter after any ALTER SCHEMA, and a row written (or locked, as ON CONFLICT DO UPDATE
/// locks even the rows it leaves) would make another role's ALTER TABLE of that table wait
/// for the schema owner's transaction, and the table's writers behind it (0.15.0, found by a
/// hostile probe).
///
/// Types are recorded by oid, type modifier and collation oid (0.15.0): renaming a type or
/// domain another role's table reads changes nothing recorded, where its name (as 0.14.0
/// recorded it, `format_type`) made a recompute that held the fold lock until the renamer's
/// transaction ended (found by a hostile probe). A row still in the older form counts as
/// current while it matches that form (until the update's script rewrites it).
pub const FOLLOW_READ_TYPES_SQL: &str = "\
    WITH now AS (SELECT m.id, \
                        coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%I %s %s %s', a.attname, \
                                                  a.atttypid, a.atttypmod, a.attcollation), ', ' ORDER BY a.attname) \
                                    FROM pg_catalog.pg_attribute a \
                                   WHERE a.attrelid = m.source AND a.attname = ANY (m.depends_on) \
                                     AND NOT a.attisdropped), '') AS types, \
                        coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%I %s %s', a.attname, \
                                                  pg_catalog.format_type(a.atttypid, a.atttypmod), a.attcollation), ', ' ORDER BY a.attname) \
                                    FROM pg_catalog.pg_attribute a \
                                   WHERE a.attrelid = m.source AND a.attname = ANY (m.depends_on) \
                                     AND NOT a.attisdropped), '') AS named_types \
                   FROM tally._metric m WHERE m.source = $1::pg_catalog.oid), \
         changed AS (SELECT now.id, now.types, r.types AS recorded FROM now \
                       LEFT JOIN tally._read_types r ON r.metric_id = now.id \
                      WHERE r.types IS DISTINCT FROM now.types AND r.types IS DISTINCT FROM now.named_types), \
         saved AS (INSERT INTO tally._read_types (metric_id, types) SELECT id, types FROM changed \
                   ON CONFLICT (metric_id) DO UPDATE SET types = EXCLUDED.types RETURNING 1) \
    SELECT coalesce(pg_catalog.array_agg(changed.id) FILTER (WHERE changed.recorded IS NOT NULL), '{}') \
      FROM changed";

/// The labels of the enum whose oid is the SQL expression `$oid`, in the enum's order, as one
/// text[] (empty for an enum without labels): what `tally._value_enum` and
/// `tally._group_enum` save, and what the DDL hooks compare them with.
macro_rules! enum_labels {
    ($oid:literal) => {
        concat!(
            "coalesce((SELECT pg_catalog.array_agg(e.enumlabel::pg_catalog.text ORDER BY e.enumsortorder) \
                         FROM pg_catalog.pg_enum e WHERE e.enumtypid = ",
            $oid,
            "), '{}')"
        )
    };
}

/// Saves the enum `$2` a metric `$1` reads (`tally._value_enum`), with its labels: run in
/// the latest snapshot, the enum locked (`catalog::define`).
pub const SAVE_ENUM_SQL: &str = concat!(
    "INSERT INTO tally._value_enum (metric_id, enum_type, labels) \
     SELECT $1, $2::pg_catalog.oid::pg_catalog.regtype, ",
    enum_labels!("$2::pg_catalog.oid")
);

/// Table `$1` and the root of its partition tree, quoted, when it is a partition, then table
/// `$1` quoted when it is an inheritance child (0.18.0); NULLs otherwise.
pub const PARTITION_ROOT_SQL: &str = "\
    SELECT CASE WHEN c.relispartition THEN pg_catalog.format('%I.%I', n.nspname, c.relname) END, \
           (SELECT pg_catalog.format('%I.%I', rn.nspname, r.relname) \
              FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace \
             WHERE c.relispartition AND r.oid = pg_catalog.pg_partition_root(c.oid)), \
           CASE WHEN NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) \
                THEN pg_catalog.format('%I.%I', n.nspname, c.relname) END \
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.oid = $1::pg_catalog.oid";

/// The enums whose labels are saved for metric `$1`'s keys (`tally._group_enum`: its group
/// columns' since 0.16.0, its array elements' and row fields' since 0.24.0), as one array of
/// oids.
pub const GROUP_ENUMS_SQL: &str = "\
    SELECT coalesce(pg_catalog.array_agg(g.enum_type::pg_catalog.oid), '{}') \
      FROM tally._group_enum g WHERE g.metric_id = $1";

/// Forgets the saved labels of the enums `$2` (oids) for metric `$1`, whose keys no longer
/// hold them.
pub const FORGET_GROUP_ENUMS_SQL: &str = "\
    DELETE FROM tally._group_enum g \
     WHERE g.metric_id = $1 AND g.enum_type::pg_catalog.oid = ANY ($2)";

/// Saves the labels of the enum `$2` whose labels metric `$1`'s keys hold: a group column's
/// (`tally._group_enum`, 0.16.0), an array element's or a row field's (0.24.0), unless saved
/// already (a saved list is only ever updated
/// by `follow_enum_labels_sql`'s, after the metric followed a rename): run in the latest
/// snapshot, the enum locked (`catalog::define`).
pub const SAVE_GROUP_ENUM_SQL: &str = concat!(
    "INSERT INTO tally._group_enum (metric_id, enum_type, labels) \
     SELECT $1, $2::pg_catalog.oid::pg_catalog.regtype, ",
    enum_labels!("$2::pg_catalog.oid"),
    " ON CONFLICT (metric_id, enum_type) DO NOTHING"
);

/// Saves the labels of the enums the metrics of source `$1` read (`tally._value_enum`) or,
/// on a 0.16.0 catalog, group by or (0.24.0) key arrays or rows by (`tally._group_enum`) and
/// returns the metrics one of whose
/// saved labels the enum no longer has (their ids, comma separated): a label renamed (ALTER
/// TYPE ... RENAME VALUE), which their counters may still hold. Run in the latest snapshot,
/// the enums locked (`catalog::define`).
pub fn follow_enum_labels_sql(catalog: CatalogVersion) -> &'static str {
    if catalog >= CatalogVersion::V0_16 {
        FOLLOW_ENUM_LABELS_0_16
    } else {
        FOLLOW_ENUM_LABELS_0_13
    }
}

const FOLLOW_ENUM_LABELS_0_13: &str = concat!(
    "WITH now AS ( \
        SELECT x.metric_id, x.labels AS saved, ",
    enum_labels!("x.enum_type::pg_catalog.oid"),
    " AS labels \
          FROM tally._value_enum x JOIN tally._metric m ON m.id = x.metric_id \
         WHERE m.source = $1::pg_catalog.oid), \
         saved AS (UPDATE tally._value_enum x SET labels = now.labels FROM now \
                    WHERE x.metric_id = now.metric_id AND x.labels <> now.labels RETURNING 1) \
    SELECT coalesce(pg_catalog.string_agg(now.metric_id::pg_catalog.text, ',') \
                      FILTER (WHERE NOT now.saved <@ now.labels), '') \
      FROM now"
);

const FOLLOW_ENUM_LABELS_0_16: &str = concat!(
    "WITH now AS ( \
        SELECT k.metric_id, k.enum_type, k.grouped, k.labels AS saved, ",
    enum_labels!("k.enum_type::pg_catalog.oid"),
    " AS labels \
          FROM (SELECT x.metric_id, x.enum_type, x.labels, false AS grouped FROM tally._value_enum x \
                UNION ALL \
                SELECT g.metric_id, g.enum_type, g.labels, true FROM tally._group_enum g) k \
          JOIN tally._metric m ON m.id = k.metric_id \
         WHERE m.source = $1::pg_catalog.oid), \
         saved_values AS (UPDATE tally._value_enum x SET labels = now.labels FROM now \
                           WHERE NOT now.grouped AND x.metric_id = now.metric_id \
                             AND x.labels <> now.labels RETURNING 1), \
         saved_groups AS (UPDATE tally._group_enum g SET labels = now.labels FROM now \
                           WHERE now.grouped AND g.metric_id = now.metric_id \
                             AND g.enum_type::pg_catalog.oid = now.enum_type::pg_catalog.oid AND g.labels <> now.labels RETURNING 1) \
    SELECT coalesce(pg_catalog.string_agg(DISTINCT now.metric_id::pg_catalog.text, ',') \
                      FILTER (WHERE NOT now.saved <@ now.labels), '') \
      FROM now"
);

/// Every metric's id, as one text (`catalog::define::_require_current_metrics` compares two
/// snapshots by it).
pub const METRIC_IDS_SQL: &str = "\
    SELECT coalesce(pg_catalog.string_agg(m.id::pg_catalog.text, ',' ORDER BY m.id), '') FROM tally._metric m";

/// The enums the metrics of source `$1` read (`tally._value_enum`) or, on a 0.16.0 catalog,
/// group by or (0.24.0) key arrays or rows by (`tally._group_enum`) whose labels are no longer those saved (0.15.0: only
/// those; a hook that finds every saved list current, as after an unrelated ALTER SCHEMA,
/// locks no enum, which would make another role's ALTER TYPE ... ADD VALUE wait for the
/// schema owner's transaction: found by a hostile probe).
pub fn enums_of_source_sql(catalog: CatalogVersion) -> &'static str {
    if catalog >= CatalogVersion::V0_16 {
        ENUMS_OF_SOURCE_0_16
    } else {
        ENUMS_OF_SOURCE_0_13
    }
}

/// The enums in `$saved` (a relation of saved lists: metric_id, enum_type, labels) whose
/// metrics read source `$1` and whose labels are no longer those saved.
macro_rules! changed_enums_of_source {
    ($saved:literal) => {
        concat!(
            "SELECT coalesce(pg_catalog.array_agg(DISTINCT x.enum_type::pg_catalog.oid), '{}') \
               FROM ",
            $saved,
            " x JOIN tally._metric m ON m.id = x.metric_id \
              WHERE m.source = $1::pg_catalog.oid \
                AND x.labels IS DISTINCT FROM ",
            enum_labels!("x.enum_type::pg_catalog.oid")
        )
    };
}

const ENUMS_OF_SOURCE_0_13: &str = changed_enums_of_source!("tally._value_enum");

const ENUMS_OF_SOURCE_0_16: &str = changed_enums_of_source!(
    "(SELECT v.metric_id, v.enum_type, v.labels FROM tally._value_enum v \
      UNION ALL \
      SELECT g.metric_id, g.enum_type, g.labels FROM tally._group_enum g)"
);

/// The type of the figures of metric `$1` (`read::figure_kind`): its `tally._value_type`
/// row and, for an enum, which (0.13.0), as far as the catalog has them.
pub fn figure_kind_sql(catalog: CatalogVersion) -> &'static str {
    if catalog >= CatalogVersion::V0_13 {
        "SELECT t.type_name, t.collation_name, \
                (SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x WHERE x.metric_id = m.id) \
           FROM tally._metric m JOIN tally._value_type t ON t.metric_id = m.id \
          WHERE m.name = $1 AND m.aggregate <> 'count_distinct'"
    } else {
        "SELECT t.type_name, t.collation_name, NULL::pg_catalog.oid \
           FROM tally._metric m JOIN tally._value_type t ON t.metric_id = m.id \
          WHERE m.name = $1 AND m.aggregate <> 'count_distinct'"
    }
}

/// The metrics among `$1` whose figures are not numeric, with their type's name and, for an
/// enum, its schema and name (0.13.0), as far as the catalog has them
/// (`catalog::dashboard::figure_types`).
pub fn figure_types_sql(catalog: CatalogVersion) -> &'static str {
    if catalog >= CatalogVersion::V0_13 {
        "SELECT m.name, t.type_name, n.nspname::pg_catalog.text, y.typname::pg_catalog.text \
           FROM tally._metric m JOIN tally._value_type t ON t.metric_id = m.id \
           LEFT JOIN tally._value_enum x ON x.metric_id = m.id \
           LEFT JOIN pg_catalog.pg_type y ON y.oid = x.enum_type::pg_catalog.oid \
           LEFT JOIN pg_catalog.pg_namespace n ON n.oid = y.typnamespace \
          WHERE m.name = ANY ($1) AND m.aggregate <> 'count_distinct'"
    } else {
        "SELECT m.name, t.type_name, NULL::pg_catalog.text, NULL::pg_catalog.text \
           FROM tally._metric m JOIN tally._value_type t ON t.metric_id = m.id \
          WHERE m.name = ANY ($1) AND m.aggregate <> 'count_distinct'"
    }
}

/// The columns `model::Metric` reads, over `METRIC_FROM`.
const METRIC_COLUMNS: &str = "m.id, m.name, \
    pg_catalog.format('%I.%I', n.nspname, c.relname), c.oid, m.aggregate, m.column_name, \
    m.filter, m.group_by, m.bucket, m.bucket_column, m.time_zone, \
    coalesce((SELECT a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype \
                FROM pg_catalog.pg_attribute a \
               WHERE a.attrelid = c.oid AND a.attname = m.bucket_column AND NOT a.attisdropped), false), \
    c.relowner";

/// What follows `METRIC_COLUMNS`: why the metric is broken (or NULL), whether the catalog
/// has `tally._refuse_value`, the value expression (or NULL), the group columns of a
/// metric grouped by several (or NULL) and the type of the values it reads when not numbers
/// (`tally._value_type`: its name and collation, or NULLs; an enum's oid,
/// `tally._value_enum`), as far as the catalog has them.
const METRIC_V0_13: &str =
    "(SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id), true, \
    (SELECT e.expression FROM tally._value_expression e WHERE e.metric_id = m.id), m.group_columns, \
    t.type_name, t.collation_name, \
    (SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x WHERE x.metric_id = m.id)";
const METRIC_V0_12: &str =
    "(SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id), true, \
    (SELECT e.expression FROM tally._value_expression e WHERE e.metric_id = m.id), m.group_columns, \
    t.type_name, t.collation_name, NULL::pg_catalog.oid";
const METRIC_V0_11: &str =
    "(SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id), true, \
    (SELECT e.expression FROM tally._value_expression e WHERE e.metric_id = m.id), m.group_columns, \
    NULL::pg_catalog.text, NULL::pg_catalog.text[], NULL::pg_catalog.oid";
const METRIC_V0_9: &str = "(SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id), true, \
    NULL::pg_catalog.text, NULL::pg_catalog.text[], NULL::pg_catalog.text, NULL::pg_catalog.text[], \
    NULL::pg_catalog.oid";
const METRIC_V0_1: &str =
    "NULL::pg_catalog.text, false, NULL::pg_catalog.text, NULL::pg_catalog.text[], NULL::pg_catalog.text, \
     NULL::pg_catalog.text[], NULL::pg_catalog.oid";

const METRIC_FROM: &str = "tally._metric m \
    JOIN pg_catalog.pg_class c ON c.oid = m.source \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";

/// Which metric definitions `metric_select_sql` loads.
pub enum MetricsBy {
    /// The metric named `$1`.
    Name,
    /// Every metric, in creation order.
    All,
    /// Every metric of the table `$1`, in creation order.
    Source,
}

/// The catalog a database has, by the version that last changed the shape
/// `metric_select_sql` reads: between installing this library and `ALTER EXTENSION pg_tally
/// UPDATE`, writes go on over an older one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum CatalogVersion {
    /// Before 0.9.0: no `tally._broken`, no `tally._refuse_value`.
    V0_1,
    /// 0.9.0 and 0.10.0: broken metrics, limits checked in the writer's statement.
    V0_9,
    /// 0.11.0: value expressions (`tally._value_expression`).
    V0_11,
    /// 0.12.0: min, max and count_distinct over other types (`tally._value_type`).
    V0_12,
    /// 0.13.0: enums (`tally._value_enum`), cidr, macaddr, macaddr8, bytea, bit, varbit, real
    /// and double precision.
    V0_13,
    /// 0.14.0: the readers of min, max and count_distinct take each group's pending values
    /// from the read's one pass over pending changes (`tally._extreme` has them as arguments).
    V0_14,
    /// 0.15.0: min and max over a column's text find its collation through the column
    /// (`tally._sort_collation`), so they take a collation created after initdb.
    V0_15,
    /// 0.16.0: group columns of enums (`tally._group_enum`), dates and timestamps, and the
    /// keys of numerics without a scale, floats and jsonb (`tally._group_text`).
    V0_16,
    /// 0.17.0: min and max over timetz, money and the built-in ranges
    /// (`tally._tracked_ordered`).
    V0_17,
    /// 0.18.0: min and max over arrays (the names of their types in `tally._value_type`);
    /// the ALTER TABLE hook refuses attaching a table with metrics (`tally._written_now`).
    V0_18,
    /// 0.19.0: min and max over multiranges and arrays of network addresses and bit strings,
    /// whose names `tally._value_type` takes by `tally._known_value_type`.
    V0_19,
    /// 0.20.0: the system types (oid and the reg* types, xid, cid, xid8, pg_lsn, "char",
    /// tid, name) and tsvector, by `tally._tracked_value`'s new overloads.
    V0_20,
    /// 0.21.0: the change queries name a tracked value once (`tally._kept_value`, and
    /// `tally._tracked_tsvector` of the tsvector itself).
    V0_21,
    /// 0.22.0: count_distinct over text in a nondeterministic collation
    /// (`tally._tracked_collated`).
    V0_22,
    /// 0.23.0: count_distinct over a row of values, `(user_id, day)`
    /// (`tally._tracked_record`).
    V0_23,
}

/// The definitions `model::Metric::from_row` reads (its source's name quoted by the
/// catalog, `Relation::from_catalog`), in the shape of `catalog`.
pub fn metric_select_sql(by: MetricsBy, catalog: CatalogVersion) -> &'static str {
    static BUILT: OnceLock<[String; 15]> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let by_name = "WHERE m.name = $1";
        let all = "ORDER BY m.id";
        let by_source = "WHERE m.source = $1::pg_catalog.oid ORDER BY m.id";
        let mut built = Vec::with_capacity(15);
        let value_types = "LEFT JOIN tally._value_type t ON t.metric_id = m.id";
        for (extra, join) in [
            (METRIC_V0_1, ""),
            (METRIC_V0_9, ""),
            (METRIC_V0_11, ""),
            (METRIC_V0_12, value_types),
            (METRIC_V0_13, value_types),
        ] {
            for rest in [by_name, all, by_source] {
                built.push(format!(
                    "SELECT {METRIC_COLUMNS}, {extra} FROM {METRIC_FROM} {join} {rest}"
                ));
            }
        }
        built.try_into().expect("fifteen queries")
    });
    let index = match by {
        MetricsBy::Name => 0,
        MetricsBy::All => 1,
        MetricsBy::Source => 2,
    } + 3 * match catalog {
        CatalogVersion::V0_1 => 0,
        CatalogVersion::V0_9 => 1,
        CatalogVersion::V0_11 => 2,
        CatalogVersion::V0_12 => 3,
        CatalogVersion::V0_13
        | CatalogVersion::V0_14
        | CatalogVersion::V0_15
        | CatalogVersion::V0_16
        | CatalogVersion::V0_17
        | CatalogVersion::V0_18
        | CatalogVersion::V0_19
        | CatalogVersion::V0_20
        | CatalogVersion::V0_21
        | CatalogVersion::V0_22
        | CatalogVersion::V0_23 => 4,
    };
    &built[index]
}

#[cfg(test)]
mod unit {
    use super::same_key_sql;

    const VALUES: &str = include_str!("../../sql/values.sql");

    /// The body of SQL function `name` in sql/values.sql, `--` comments dropped, whitespace
    /// runs as one space.
    fn function_body(name: &str) -> String {
        let start = VALUES
            .find(&format!("CREATE FUNCTION {name}("))
            .unwrap_or_else(|| panic!("{name} in sql/values.sql"));
        let rest = &VALUES[start..];
        let end = rest[1..]
            .find("CREATE FUNCTION")
            .map_or(rest.len(), |i| i + 1);
        rest[..end]
            .lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The snapshot's query (sql/read.sql) hands a group as many pending values as the
    /// Rust reads do (`PENDING_VALUES_CAP`).
    #[test]
    fn the_snapshot_caps_pending_values_as_the_reads_do() {
        let read = include_str!("../../sql/read.sql");
        let cap = format!("OPERATOR(pg_catalog.>) {}", super::PENDING_VALUES_CAP);
        assert_eq!(read.matches(cap.as_str()).count(), 2, "{cap}");
        let cap = format!("OPERATOR(pg_catalog.<=) {}", super::PENDING_VALUES_CAP);
        assert_eq!(read.matches(cap.as_str()).count(), 2, "{cap}");
    }

    /// The readers of min/max (`_extreme`) and of count_distinct's pending values
    /// (`_distinct_pending`) each match a `_state` row's key exactly as the fold does
    /// (`same_key_sql`), and the match ends where the rule ends (not inside a longer name).
    #[test]
    fn the_sql_readers_match_keys_as_the_fold_does() {
        let rule = same_key_sql("s", "m_bucket", "m_group")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // tally._sorted_extreme (0.12.0) runs its query with EXECUTE: the bucket and group
        // are its parameters $2 and $3 there.
        let dynamic = same_key_sql("s", "$2", "$3")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for (reader, rule) in [
            ("tally._extreme", &rule),
            ("tally._distinct_pending", &rule),
            ("tally._sorted_extreme", &dynamic),
        ] {
            let body = function_body(reader);
            let at = body
                .find(rule.as_str())
                .unwrap_or_else(|| panic!("{reader} does not match keys as `{rule}`"));
            let after = body[at + rule.len()..].chars().next();
            assert!(
                !after.is_some_and(|c| c.is_alphanumeric() || c == '_'),
                "{reader}: the rule continues into a longer name"
            );
        }
    }
}
