-- Figures of the value-tracking aggregates (0.2.0): min, max and count_distinct.
--
-- Such a metric stores, besides the summary row of each (bucket, group) (value IS NULL), one
-- row per distinct value of its column holding how many source rows have that value. The
-- figure is read from the values whose net count (folded state plus pending deltas) is
-- positive, so deleting the current minimum needs no rescan of anything: the next value is
-- the next index entry. The fold keeps a count_distinct summary's total equal to the number
-- of values it holds; reads add what pending deltas change.
--
-- These run with the rights of the SECURITY DEFINER read functions that call them; the
-- fixed search_path keeps a caller's objects out of them.

-- The fold horizon (tally._fold, 0.4.0): no pending delta was written by a transaction
-- before it, so every lookup of pending deltas starts there (xact_id >= horizon is one
-- range of the _change_xact index, read through the view tally._delta) and never walks the
-- entries of folded deltas that wait for VACUUM. STABLE: it reads tally._fold in the calling query's snapshot, the
-- one that query reads its deltas in, once per index scan (it is the scan's lower bound).
CREATE FUNCTION tally._fold_horizon() RETURNS xid8
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT f.horizon FROM tally._fold f WHERE f.id OPERATOR(pg_catalog.=) 1), '0'::pg_catalog.xid8)
$$;

-- The pending changes of a group's values (0.14.0): value pending_values[i] changed by
-- pending_rows[i] source rows, one element per change (a value may repeat), '{}' for none.
-- The reader gathers them for all groups of a metric in its one pass over the metric's
-- pending changes and hands each group its own (CURRENT_GROUPS_SQL in src/read/mod.rs,
-- tally._snapshot_query). Before 0.14.0 each group's reader looked its changes up in
-- tally._delta itself, which unnests every pending change of the database: a read of 1000
-- groups after one UPDATE of 1666 rows took 5.6 s, where a folded one took 77 ms. A group
-- with more pending values than a read hands over (100,000: an array holds at most 1 GB,
-- and a long value takes 908 bytes) gets NULL arrays, and its reader looks its changes up
-- itself, as before 0.14.0: slower, never failing.

-- The smallest (min) or largest (max) value of a group with a positive net count. Walks the
-- folded values in order through the _state_values index and stops at the first that
-- pending changes have not taken to zero; values only in pending changes are candidates too.
CREATE FUNCTION tally._extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                               pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    descending boolean := m_aggregate = 'max';
BEGIN
    RETURN (
        WITH pending AS (
            SELECT x.value, sum(x.n_rows) AS n FROM (
                SELECT p.value, p.n_rows FROM unnest(pending_values, pending_rows) AS p(value, n_rows)
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE pending_values IS NULL
                   AND d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group) x
             GROUP BY x.value),
        folded AS NOT MATERIALIZED (
            SELECT s.value, s.n_rows FROM tally._state s
             WHERE s.metric_id = m_id AND s.value IS NOT NULL
               AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
               AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key(m_group), '')
               AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group),
        candidates AS (
            (SELECT f.value FROM folded f
              WHERE NOT descending AND f.n_rows + coalesce((SELECT p.n FROM pending p WHERE p.value = f.value), 0) > 0
              ORDER BY f.value LIMIT 1)
            UNION ALL
            (SELECT f.value FROM folded f
              WHERE descending AND f.n_rows + coalesce((SELECT p.n FROM pending p WHERE p.value = f.value), 0) > 0
              ORDER BY f.value DESC LIMIT 1)
            UNION ALL
            SELECT p.value FROM pending p
             WHERE p.n + coalesce((SELECT f.n_rows FROM folded f WHERE f.value = p.value), 0) > 0)
        SELECT CASE WHEN descending THEN max(c.value) ELSE min(c.value) END FROM candidates c);
END
$fn$;

-- The oid of the collation that orders the text values of metric m_id (0.15.0), NULL for a
-- metric whose values are not text in a collation that is not byte order: a column's
-- collation as its table has it in the read's snapshot (pg_attribute.attcollation), a value
-- expression's the built-in collation tally._value_type.collation_name names (expressions
-- take no other). By oid: a name would be looked up again where it is used, in the newest
-- catalog, where the collation's owner may have renamed it and put another in its place
-- meanwhile (tally._collated_pick compares by the oid). A collation it cannot find (a
-- column renamed behind the DDL hooks' back) is an error, never another order.
CREATE FUNCTION tally._sort_collation(m_id int) RETURNS oid
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    stored text[];
    value_column text;
    source_table oid;
    metric_name text;
    collation_oid oid;
BEGIN
    SELECT t.collation_name, m.column_name, m.source::oid, m.name
      INTO stored, value_column, source_table, metric_name
      FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
     WHERE t.metric_id = m_id;
    IF stored IS NULL THEN
        RETURN NULL;
    END IF;
    IF value_column IS NOT NULL THEN
        SELECT a.attcollation INTO collation_oid FROM pg_attribute a
         WHERE a.attrelid = source_table AND a.attname = value_column AND NOT a.attisdropped;
    ELSE
        collation_oid := to_regcollation(format('%I.%I', stored[1], stored[2]));
    END IF;
    IF coalesce(collation_oid, 0) = 0 THEN
        RAISE EXCEPTION 'cannot find the collation metric "%" orders its figures by', metric_name
              USING ERRCODE = '55000',
                    DETAIL = CASE WHEN value_column IS NOT NULL
                                  THEN format('Its table has no column "%s" in a collation.', value_column)
                                  ELSE format('No collation %I.%I exists.', stored[1], stored[2]) END,
                    HINT = 'Drop the metric (tally.drop_metric) and define it again.';
    END IF;
    RETURN collation_oid;
END
$fn$;

-- The expression that orders the values of metric m_id as the values themselves order
-- (0.12.0), over a column v of their encodings (src/model/value_type.rs), for the metrics
-- whose encodings do not: inet, cidr (0.13.0), jsonb (0.14.0), tsvector (0.20.0), an
-- enum (0.13.0: by its labels' order in pg_enum, looked up by the enum's oid, a
-- number here; a label the enum no longer has, which the DDL hooks recompute away, has no
-- place and comes last). NULL for every other metric; a text in a collation that is not byte order is ordered by
-- tally._collated_pick (0.15.0; before, by a COLLATE clause here).
CREATE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'cidr'
                THEN 'tally._text_of(v)::pg_catalog.cidr'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'jsonb'
                THEN 'tally._text_of(v)::pg_catalog.jsonb'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'tsvector'
                THEN 'tally._text_of(v)::pg_catalog.tsvector'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'enum'
                THEN pg_catalog.format('(SELECT e.enumsortorder FROM pg_catalog.pg_enum e '
                                       'WHERE e.enumtypid OPERATOR(pg_catalog.=) %s '
                                       'AND e.enumlabel OPERATOR(pg_catalog.=) tally._text_of(v))',
                                       coalesce((SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x
                                                  WHERE x.metric_id OPERATOR(pg_catalog.=) m_id), 0))
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

-- The smallest (min) or largest (max) value of a group with a positive net count, by the
-- metric's tally._sort_key: every such value of the group is read and ordered, so this
-- costs O(distinct values of the group), where tally._extreme walks an index. The key is
-- built here from the catalog, never passed in.
CREATE FUNCTION tally._sorted_extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                      pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    order_collation oid := tally._sort_collation(m_id);
    sort_key text := tally._sort_key(m_id);
    result numeric;
BEGIN
    EXECUTE format($q$
        SELECT %s FROM (
            SELECT x.value FROM (
                SELECT s.value, s.n_rows FROM tally._state s
                 WHERE s.metric_id = $1 AND s.value IS NOT NULL
                   AND coalesce(s.bucket_start, '-infinity') = coalesce($2, '-infinity')
                   AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key($3), '')
                   AND s.bucket_start IS NOT DISTINCT FROM $2 AND s.group_key IS NOT DISTINCT FROM $3
                UNION ALL
                SELECT p.value, p.n_rows FROM unnest($4, $5) AS p(value, n_rows)
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE $4 IS NULL
                   AND d.metric_id = $1 AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM $2 AND d.group_key IS NOT DISTINCT FROM $3) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) AS c(v) %s$q$,
        CASE WHEN order_collation IS NULL THEN 'c.v' ELSE 'tally._collated_pick(array_agg(c.v), $6, $7)' END,
        CASE WHEN order_collation IS NULL
             THEN format('ORDER BY %s %s NULLS LAST LIMIT 1', sort_key,
                         CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
             ELSE '' END)
       INTO result USING m_id, m_bucket, m_group, pending_values, pending_rows, order_collation, m_aggregate = 'max';
    RETURN result;
END
$fn$;

-- The min or max figure of a group: by tally._extreme's index walk, or by
-- tally._sorted_extreme for the values whose encodings do not order as they do.
CREATE FUNCTION tally._extreme_of(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                  pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF tally._sort_key(m_id) IS NULL AND tally._sort_collation(m_id) IS NULL THEN
        RETURN tally._extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
    END IF;
    RETURN tally._sorted_extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
END
$fn$;

-- The min or max among `candidates` (the figures of a metric's groups) by the values' own
-- order: the figure of a grouped min or max metric over all its groups.
CREATE FUNCTION tally._sorted_pick(m_name text, m_aggregate text, candidates numeric[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    picked_metric int := (SELECT m.id FROM tally._metric m WHERE m.name = m_name);
    order_collation oid := tally._sort_collation(picked_metric);
    sort_key text := tally._sort_key(picked_metric);
    result numeric;
BEGIN
    IF order_collation IS NOT NULL THEN
        RETURN tally._collated_pick(candidates, order_collation, m_aggregate = 'max');
    END IF;
    IF sort_key IS NULL THEN
        RETURN CASE WHEN m_aggregate = 'max' THEN (SELECT max(c.v) FROM unnest(candidates) AS c(v))
                    ELSE (SELECT min(c.v) FROM unnest(candidates) AS c(v)) END;
    END IF;
    EXECUTE format('SELECT v FROM unnest($1) AS c(v) WHERE v IS NOT NULL ORDER BY %s %s NULLS LAST LIMIT 1',
                   sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING candidates;
    RETURN result;
END
$fn$;

-- How pending changes (as tally._extreme takes them) change the number of distinct values of
-- a group: +1 for a value whose net count becomes positive, -1 for one that drops to zero.
-- One _state_values lookup per
-- pending value: OFFSET 0 keeps the LATERAL subquery from being flattened into a join,
-- which the planner (with stale statistics on the queue-like tables) ran as a scan of every
-- value of the group per pending value (27 ms for 7 pending values of a 10,000-value
-- metric; 0.3 ms this way).
CREATE FUNCTION tally._distinct_pending(m_id int, m_bucket timestamptz, m_group text,
                                        pending_values numeric[], pending_rows bigint[])
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT coalesce(sum((coalesce(f.n_rows, 0) + p.n > 0)::int - (coalesce(f.n_rows, 0) > 0)::int), 0)
          FROM (SELECT x.value, sum(x.n_rows) AS n FROM (
                    SELECT u.value, u.n_rows FROM unnest(pending_values, pending_rows) AS u(value, n_rows)
                    UNION ALL
                    SELECT d.value, d.n_rows FROM tally._delta d
                     WHERE pending_values IS NULL
                       AND d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                       AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group) x
                 GROUP BY x.value) p
          LEFT JOIN LATERAL (
                SELECT s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value = p.value
                   AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
                   AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key(m_group), '')
                   AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group
                OFFSET 0) f
            ON true);
END
$fn$;

-- Distinct values of a count_distinct metric across all its groups in one bucket (a value
-- present in two groups counts once): the total of a grouped count_distinct metric.
-- Reads every value of the bucket, so it costs O(distinct values), unlike the per-group read.
CREATE FUNCTION tally._distinct_across(m_id int, m_bucket timestamptz)
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT count(*) FROM (
            SELECT x.value FROM (
                SELECT s.value, s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value IS NOT NULL AND s.bucket_start IS NOT DISTINCT FROM m_bucket
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) v);
END
$fn$;

-- A group's figure from its summary counters (n_values, total: folded plus pending) and its
-- values' pending changes (as tally._extreme takes them), for every aggregate. Plain SQL so
-- the planner inlines it; CASE calls the value readers only for the aggregates that need them.
CREATE FUNCTION tally._figure_of(m_id int, aggregate text, bucket timestamptz, group_key text,
                                 n_values numeric, total numeric,
                                 pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) ANY ('{min,max}'::pg_catalog.text[])
                THEN tally._extreme_of(m_id, aggregate, bucket, group_key, pending_values, pending_rows)
                WHEN aggregate OPERATOR(pg_catalog.=) 'count_distinct'
                THEN coalesce(total, 0) OPERATOR(pg_catalog.+)
                     tally._distinct_pending(m_id, bucket, group_key, pending_values, pending_rows)
                ELSE tally._figure(aggregate, n_values, total)
           END
$$;
