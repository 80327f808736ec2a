-- pg_tally catalog. Created once by CREATE EXTENSION; every object lives in schema tally.
--
-- Storage design (see docs/how-it-works.md):
--   _metric  one row per metric definition
--   _state   folded counters, one row per (metric, bucket, group), plus one per distinct
--            value for min/max/count_distinct (sql/values.sql); written only by the
--            compactor, refresh and TRUNCATE handling, all under one advisory lock
--   _change  append-only changes written by the statement triggers, one row per statement
--            (read one change per row through the view _delta); writers only ever INSERT
--            here, so concurrent writers never wait on each other's row locks
-- A figure is always sum(_state) + sum(_delta) for its key, read in one snapshot.

-- A plain sequence (not an identity column) so pg_dump keeps its position.
CREATE SEQUENCE tally._metric_ids AS int;
CREATE TABLE tally._metric (
    id            int PRIMARY KEY DEFAULT nextval('tally._metric_ids'),
    name          text NOT NULL UNIQUE,
    source        regclass NOT NULL,
    aggregate     text NOT NULL,
    column_name   text,
    filter        text,
    group_by      text,
    -- The buckets model::Bucket names (fixed widths since 0.11.0).
    bucket        text CONSTRAINT _metric_bucket_check
                       CHECK (bucket IN ('hour', 'day', 'week', 'month', 'quarter', 'year',
                                     '1 minute', '2 minutes', '3 minutes', '4 minutes', '5 minutes', '6 minutes',
                                     '10 minutes', '12 minutes', '15 minutes', '20 minutes', '30 minutes',
                                     '2 hours', '3 hours', '4 hours', '6 hours', '8 hours', '12 hours')),
    bucket_column text,
    time_zone     text NOT NULL DEFAULT 'UTC',
    depends_on    text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- A metric grouped by several columns (0.11.0) lists them here, in order; group_by
    -- then holds them joined by ', ' (shown in tally.metrics). NULL for one or none. Last
    -- because 0.11.0 added it: upgraded and fresh catalogs have the same shape.
    group_columns text[],
    CHECK ((bucket IS NULL) = (bucket_column IS NULL)),
    CONSTRAINT _metric_aggregate_check
        CHECK (aggregate IN ('count', 'sum', 'avg', 'min', 'max', 'count_distinct'))
);
CREATE INDEX _metric_source ON tally._metric (source);

-- A group key as the indexes of tally._state hold it (0.9.0): the key itself up to 128
-- bytes, else 'sha512:' and the hex SHA-512 of its bytes (135 bytes, longer than any key
-- kept as itself, so the two forms never meet). A btree entry holds at most 2704 bytes:
-- with the key itself in the index, one long group key written by anyone made every fold
-- fail (0.1.0-0.8.0). The bytes hashed are the key's own, in the database encoding:
-- backslashes are doubled so the cast to bytea takes every character literally (no
-- escape sequence, no '\x' hex form), so two keys never hash as one. Plain SQL, no SET
-- clause: the planner inlines it into the index expressions and the queries that must
-- match them; everything in it is schema-qualified.
CREATE FUNCTION tally._group_index_key(group_key text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_catalog.octet_length(group_key) OPERATOR(pg_catalog.<=) 128 THEN group_key
                ELSE 'sha512:' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha512(
                         pg_catalog.replace(group_key, E'\\', E'\\\\')::pg_catalog.bytea), 'hex')
           END
$$;

CREATE TABLE tally._state (
    metric_id    int NOT NULL REFERENCES tally._metric (id) ON DELETE CASCADE,
    bucket_start timestamptz,
    group_key    text,
    n_rows       bigint NOT NULL,
    n_values     bigint NOT NULL,
    total        numeric NOT NULL,
    -- NULL on a group's summary row; else one value of a value-tracking metric's column.
    -- Last because 0.2.0 added it: upgraded and fresh catalogs have the same shape.
    value        numeric
) WITH (fillfactor = 90);
-- One row per counter. value before the group: a group's summary rows (value IS NULL) are
-- one index range, however many values the metric tracks. Values are at most 1024 bytes
-- (the write path refuses longer ones: src/sql/change.rs, TRACKED_LIMIT_BYTES).
CREATE UNIQUE INDEX _state_key ON tally._state
    (metric_id, bucket_start, value, tally._group_index_key(group_key)) NULLS NOT DISTINCT;
-- No index covers the counters (n_rows, n_values, total), so the fold's updates of them are
-- HOT: no new index entries, dead versions pruned within the page. Free space left on every
-- page (fillfactor) gives the new versions room. The fold finds the rows it emptied by
-- their row ids (0.1.0-0.4.0 had a partial index on n_rows = 0 for that).
-- Values of one group in order, NULL bucket and group included (coalesce makes them
-- comparable with =; readers recheck with IS NOT DISTINCT FROM): min/max walk it.
CREATE INDEX _state_values ON tally._state
    (metric_id, coalesce(bucket_start, '-infinity'), coalesce(tally._group_index_key(group_key), ''), value)
    WHERE value IS NOT NULL;

-- No foreign key on purpose: an FK check would take a KEY SHARE lock on the _metric
-- row for every write statement.
-- One row per write statement (0.6.0): the changes of every metric the statement touched,
-- as parallel arrays (element i of each array is one counter change). One heap tuple and
-- one index entry per statement, however many metrics the table has: a single-row INSERT
-- into a table with four metrics wrote four rows and four index entries before 0.6.0, and
-- the fold deleted four. Read through the view tally._delta, one row per change.
CREATE TABLE tally._change (
    -- The writing transaction (top level). The default fills it for writers that do not
    -- name it (the prepared delta INSERT).
    xact_id      xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    metric_id    int[] NOT NULL,
    bucket_start timestamptz[] NOT NULL,
    group_key    text[] NOT NULL,
    n_rows       bigint[] NOT NULL,
    n_values     bigint[] NOT NULL,
    total        numeric[] NOT NULL,
    value        numeric[] NOT NULL
);
-- Changes in transaction order: every change not yet folded was written by a transaction
-- at or after the fold horizon (tally._fold), so reads and folds start their index scan
-- there and never walk the entries of folded changes that wait for VACUUM.
CREATE INDEX _change_xact ON tally._change (xact_id);

-- A publication FOR ALL TABLES (logical replication, change-data-capture tools) publishes
-- these two tables as well, and Postgres refuses UPDATE and DELETE on a published table
-- without a replica identity: every fold, metric drop and TRUNCATE would fail, and with
-- them every write statement that folds. Neither table has a key that could serve (their
-- unique columns are nullable, or there are none), so the whole old row identifies it.
-- This costs WAL only under wal_level = logical.
ALTER TABLE tally._state REPLICA IDENTITY FULL;
ALTER TABLE tally._change REPLICA IDENTITY FULL;

-- Pending changes one per row, in the shape of tally._state (the 0.1.0-0.5.0 table
-- tally._delta had exactly these columns). Readers filter on xact_id >= the fold horizon,
-- which reaches the index of tally._change.
CREATE VIEW tally._delta AS
SELECT d.metric_id, d.bucket_start, d.group_key, d.n_rows, d.n_values, d.total, d.value, c.xact_id
  FROM tally._change c,
       ROWS FROM (pg_catalog.unnest(c.metric_id), pg_catalog.unnest(c.bucket_start),
                  pg_catalog.unnest(c.group_key), pg_catalog.unnest(c.n_rows),
                  pg_catalog.unnest(c.n_values), pg_catalog.unnest(c.total), pg_catalog.unnest(c.value))
         AS d(metric_id, bucket_start, group_key, n_rows, n_values, total, value);

-- The fold horizon: the xmin of the snapshot the last fold deleted deltas under. A delta
-- that fold did not see was written by a transaction still running then or started later,
-- whose id is at least that xmin; every delta it saw, it deleted. One row, updated by each
-- fold (a HOT update: the column is not indexed).
CREATE TABLE tally._fold (
    id      int PRIMARY KEY CHECK (id = 1),
    horizon xid8 NOT NULL
);
INSERT INTO tally._fold VALUES (1, '0');

-- Broken metrics (0.9.0): a fold that met an error in one metric's own data marks it here
-- (so do rewrites of its table: sql/ddl.sql), and skips its changes until tally.refresh
-- recomputes it and removes the row. A table of its own, not a column of _metric: adding a
-- column to _metric in the update would wait for every writer that has read a definition,
-- while writers queued behind the update wait for it.
CREATE TABLE tally._broken (
    metric_id int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    reason    text NOT NULL,
    since     timestamptz NOT NULL DEFAULT now()
);

-- The types of the columns each metric reads, as of its last check (0.9.0): an ALTER COLUMN
-- ... TYPE that does not rewrite the table (timestamp to timestamptz under TimeZone UTC, which
-- moves every bucket of a metric in another zone) changes no value, yet what the metric
-- computes; the ALTER TABLE hook (and create_metric) compare, and recompute on a change.
CREATE TABLE tally._read_types (
    metric_id int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    types     text NOT NULL
);

CREATE TABLE tally._dashboard (
    name       text PRIMARY KEY,
    metrics    text[] NOT NULL,
    -- The typed view, held by oid (0.8.0; text before): renaming it keeps it, and a later
    -- view of its old name is never taken for it.
    view_name  regclass,
    owner      regrole NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Partitions of partitioned sources and their root, kept by the trigger installer: a
-- dropped partition can no longer be asked for its parent, but its rows left the root.
CREATE TABLE tally._partition (
    relid oid PRIMARY KEY,
    root  oid NOT NULL
);

-- Trigger generation numbers: every change to the metrics of a table recreates its
-- triggers with a new number, which is how every backend learns its cached plans are stale.
CREATE SEQUENCE tally._generation;

-- Value expressions (0.11.0): a metric whose column_name was one expression over the
-- row's columns (price * quantity) stores Postgres' canonical text of it here, checked as
-- a filter is; its _metric.column_name is NULL. A table of its own, not a column of
-- _metric, for the reason given at tally._broken.
CREATE TABLE tally._value_expression (
    metric_id  int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    expression text NOT NULL
);

-- The type of the values a min, max, count_distinct, sum or avg metric reads when they are
-- not numbers (0.12.0; src/model/value_type.rs): its values are kept in tally._state.value
-- and tally._change.value as numerics that equate (and mostly order, or add) as they do, and
-- its figures are read back in this type. For a text whose min and max follow a collation
-- that is not byte order, that collation (schema, name: a built-in one). A table of its own,
-- for the reason given at tally._broken.
CREATE TABLE tally._value_type (
    metric_id  int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    -- Checked by tally._known_value_type (0.19.0: the library's list of names), which
    -- sql/finalize.sql adds once pgrx has created it.
    type_name  text NOT NULL,
    collation_name text[] CHECK (collation_name IS NULL OR (type_name = 'text' AND pg_catalog.cardinality(collation_name) = 2))
);

-- The enum a metric of type_name 'enum' reads (0.13.0): its values are kept by label, and
-- ordered, when read, by the enum's order. `labels` are the enum's labels as pg_tally last
-- saw them: a label renamed since (ALTER TYPE ... RENAME VALUE) leaves counters on the old
-- label, which the DDL hooks find by this list and recompute (catalog::define). By regtype:
-- a dump names the type, a restore finds it again (its oid and its labels' oids change).
CREATE TABLE tally._value_enum (
    metric_id int PRIMARY KEY REFERENCES tally._value_type (metric_id) ON DELETE CASCADE,
    enum_type regtype NOT NULL,
    labels    text[] NOT NULL
);

-- The enums a metric's group columns are of (0.16.0): a group key holds the label
-- (tally._group_text); since 0.24.0 also those of the elements of an array, or the fields
-- of a row, that a count_distinct keys by label. `labels` are the enum's labels as pg_tally last saw them, which
-- the DDL hooks compare to find a label renamed and recompute the metric, as for
-- tally._value_enum. By regtype, for the same reason.
CREATE TABLE tally._group_enum (
    metric_id int NOT NULL REFERENCES tally._metric (id) ON DELETE CASCADE,
    enum_type regtype NOT NULL,
    labels    text[] NOT NULL,
    PRIMARY KEY (metric_id, enum_type)
);

CREATE VIEW tally.metrics AS
SELECT m.name,
       m.source,
       m.aggregate,
       coalesce(m.column_name, (SELECT e.expression FROM tally._value_expression e WHERE e.metric_id = m.id))
           AS column_name,
       m.filter,
       m.group_by,
       m.bucket,
       m.bucket_column,
       m.time_zone,
       m.created_at,
       (SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id) AS broken
  FROM tally._metric m;

CREATE VIEW tally.dashboards AS
SELECT d.name, d.metrics,
       (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = d.view_name::pg_catalog.oid) AS view_name,
       d.owner, d.created_at
  FROM tally._dashboard d;

COMMENT ON VIEW tally.metrics IS 'Every pg_tally metric and its definition.';
COMMENT ON VIEW tally.dashboards IS 'Every pg_tally dashboard, its metrics and its typed view.';

-- Keep definitions and folded figures in pg_dump output (pending deltas are data too).
SELECT pg_catalog.pg_extension_config_dump('tally._metric', '');
SELECT pg_catalog.pg_extension_config_dump('tally._state', '');
SELECT pg_catalog.pg_extension_config_dump('tally._change', '');
SELECT pg_catalog.pg_extension_config_dump('tally._dashboard', '');
SELECT pg_catalog.pg_extension_config_dump('tally._broken', '');
SELECT pg_catalog.pg_extension_config_dump('tally._value_expression', '');
SELECT pg_catalog.pg_extension_config_dump('tally._value_type', '');
SELECT pg_catalog.pg_extension_config_dump('tally._value_enum', '');
SELECT pg_catalog.pg_extension_config_dump('tally._group_enum', '');
SELECT pg_catalog.pg_extension_config_dump('tally._read_types', '');
SELECT pg_catalog.pg_extension_config_dump('tally._partition', '');
SELECT pg_catalog.pg_extension_config_dump('tally._generation', '');
SELECT pg_catalog.pg_extension_config_dump('tally._metric_ids', '');

GRANT USAGE ON SCHEMA tally TO PUBLIC;
GRANT SELECT ON tally.metrics, tally.dashboards TO PUBLIC;

-- The figure of a sum or avg whose total counts NaN, Infinity or -Infinity values (0.7.0):
-- a summed value adds itself when finite, else one count at 1e1000 (NaN), 1e2000 (Infinity)
-- or 1e3000 (-Infinity) (src/sql/change.rs, summand_sql), so deleting the row takes it out again,
-- which a NaN added to the total itself never allowed. Decoded as Postgres' sum and avg
-- treat them: any NaN, or both infinities, give NaN; else the infinity present. A NaN total
-- comes from a release before 0.7.0 (tally.refresh recomputes it). OPERATOR() forms all
-- share one precedence: products are parenthesized.
CREATE FUNCTION tally._non_finite_figure(total numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN total OPERATOR(pg_catalog.=) 'NaN' THEN 'NaN'::pg_catalog.numeric
                WHEN c.nan OPERATOR(pg_catalog.>) 0
                     OR (c.infinity OPERATOR(pg_catalog.>) 0 AND c.minus_infinity OPERATOR(pg_catalog.>) 0)
                     THEN 'NaN'::pg_catalog.numeric
                WHEN c.infinity OPERATOR(pg_catalog.>) 0 THEN 'Infinity'::pg_catalog.numeric
                WHEN c.minus_infinity OPERATOR(pg_catalog.>) 0 THEN '-Infinity'::pg_catalog.numeric
                ELSE total
           END
      FROM (SELECT m.minus_infinity, i.infinity,
                   pg_catalog.round((i.rest OPERATOR(pg_catalog.-) (i.infinity OPERATOR(pg_catalog.*) '1e2000'::pg_catalog.numeric))
                                    OPERATOR(pg_catalog./) '1e1000'::pg_catalog.numeric) AS nan
              FROM (SELECT pg_catalog.round(total OPERATOR(pg_catalog./) '1e3000'::pg_catalog.numeric) AS minus_infinity) m,
                   LATERAL (SELECT r.rest, pg_catalog.round(r.rest OPERATOR(pg_catalog./) '1e2000'::pg_catalog.numeric) AS infinity
                              FROM (SELECT total OPERATOR(pg_catalog.-) (m.minus_infinity OPERATOR(pg_catalog.*) '1e3000'::pg_catalog.numeric)
                                           AS rest) r) i) c
$$;

-- A metric's figure from summed counters: count -> 0 and sum -> 0 when there are no rows,
-- avg -> NULL. Plain SQL so the planner inlines it; operators are spelled out so a caller's
-- search_path cannot redirect them inside SECURITY DEFINER reads. A total of 5e999 or more
-- counts non-finite values (tally._non_finite_figure).
CREATE FUNCTION tally._figure(aggregate text, n_values numeric, total numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) 'count' THEN coalesce(n_values, 0)
                WHEN total OPERATOR(pg_catalog.>=) '5e999'::pg_catalog.numeric THEN tally._non_finite_figure(total)
                WHEN aggregate OPERATOR(pg_catalog.=) 'sum' THEN coalesce(total, 0)
                WHEN n_values OPERATOR(pg_catalog.=) 0 THEN NULL
                ELSE total OPERATOR(pg_catalog./) n_values
           END
$$;

-- The start of the bucket holding the instant `at` (0.11.0), or NULL for an unbucketed
-- metric: a calendar unit's local start (date_trunc in the time zone, DST-correct); N
-- minutes counted in real time from the start of the local hour; N hours counted on the
-- local clock from local midnight. The rule model/sql.rs (bucket_sql) writes into every
-- change of a timestamptz column, and read::sys::bucket_start_at computes in Rust.
CREATE FUNCTION tally._bucket_start(bucket text, at timestamptz, time_zone text)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bucket IS NULL THEN NULL
                WHEN bucket OPERATOR(pg_catalog.~~) '% minute%'
                THEN pg_catalog.date_bin(pg_catalog.make_interval(mins => pg_catalog.split_part(bucket, ' ', 1)::pg_catalog.int4),
                                         at, pg_catalog.date_trunc('hour', at, time_zone))
                WHEN bucket OPERATOR(pg_catalog.~~) '% hours'
                THEN pg_catalog.timezone(time_zone, pg_catalog.date_bin(
                         pg_catalog.make_interval(hours => pg_catalog.split_part(bucket, ' ', 1)::pg_catalog.int4),
                         pg_catalog.timezone(time_zone, at), pg_catalog.date_trunc('day', pg_catalog.timezone(time_zone, at))))
                ELSE pg_catalog.date_trunc(bucket, at, time_zone) END
$$;

-- The bucket holding now() for a metric, or NULL for an unbucketed metric.
CREATE FUNCTION tally._current_bucket(bucket text, time_zone text)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT tally._bucket_start(bucket, pg_catalog.now(), time_zone)
$$;
-- Definitions are not secret (tally.metrics is public); counters are only readable through
-- the tally functions.
GRANT SELECT ON tally._metric, tally._dashboard TO PUBLIC;
