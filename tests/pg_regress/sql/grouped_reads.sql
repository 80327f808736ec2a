-- Reads of grouped min, max and count_distinct figures while changes are pending (0.14.0).
-- A read gathers every group's pending values in its one pass over the metric's pending
-- changes and hands each group its own: reading all groups scans the queue table
-- tally._change a fixed number of times, however many groups there are. Before 0.14.0 each
-- group's reader looked its changes up itself, once per group, and each lookup unnested every
-- pending change of the database (5.6 s for 1000 groups after one UPDATE of 1666 rows). The
-- figures are checked against Postgres' own aggregates and verify().
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET tally.auto_compact = off;   -- keep this test's changes pending until it folds them
CREATE TABLE shipments (id int PRIMARY KEY, depot int, weight int, label text COLLATE "C",
                        gateway inet, shipped_at timestamptz);
INSERT INTO shipments
SELECT g, g % 300, g % 997, 'w' || (g % 37), ('10.0.' || (g % 23) || '.0')::inet,
       '2026-03-01 00:00+00'::timestamptz + (g % 5) * interval '1 day'
  FROM generate_series(1, 3000) g;
SELECT tally.create_metric('heaviest', 'shipments', 'max', 'weight', group_by => 'depot') IS NOT NULL AS created;
SELECT tally.create_metric('first_label', 'shipments', 'min', 'label', group_by => 'depot') IS NOT NULL AS created;
-- inet's min and max are picked when read, by inet's order (tally._sorted_extreme)
SELECT tally.create_metric('last_gateway', 'shipments', 'max', 'gateway', group_by => 'depot') IS NOT NULL AS created;
SELECT tally.create_metric('weights', 'shipments', 'count_distinct', 'weight', group_by => 'depot') IS NOT NULL AS created;
SELECT tally.create_metric('daily_heaviest', 'shipments', 'max', 'weight', group_by => 'depot',
                           bucket => 'day', bucket_column => 'shipped_at', time_zone => 'UTC') IS NOT NULL AS created;
SELECT tally.create_dashboard('depots', ARRAY['heaviest', 'first_label', 'last_gateway', 'weights']);

-- Pending changes in every group: a third of the rows move, each depot's heaviest row goes,
-- rows are added, and a savepoint's changes are rolled back.
BEGIN;
UPDATE shipments SET weight = weight + 1000, label = 'a' || label, gateway = '192.168.0.1'
 WHERE id % 3 = 0;
DELETE FROM shipments s WHERE weight = (SELECT max(t.weight) FROM shipments t WHERE t.depot = s.depot);
INSERT INTO shipments
SELECT g, g % 300, g % 13, NULL, NULL, '2026-03-02 12:00+00' FROM generate_series(3001, 3600) g;
SAVEPOINT s;
UPDATE shipments SET weight = 99999 WHERE depot < 100;
ROLLBACK TO s;
COMMIT;
SELECT count(*) > 0 AS changes_pending FROM tally._change;

-- How many times this transaction has scanned tally._change so far.
CREATE FUNCTION change_scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables
     WHERE relid = 'tally._change'::regclass
$$;

-- Each read of the 300 groups: exact, and a few scans of the queue table, a couple per
-- metric read (fewer than 50 in all, where a scan per group would make at least 300).
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS groups, count(*) FILTER (WHERE g.value IS DISTINCT FROM l.top) AS differing
  FROM tally.groups('heaviest') g
  FULL JOIN (SELECT depot::text AS depot, max(weight) AS top FROM shipments GROUP BY depot) l ON l.depot = g.group_key;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS groups, count(*) FILTER (WHERE g.value IS DISTINCT FROM l.first) AS differing
  FROM tally.groups('first_label', NULL::text) g
  FULL JOIN (SELECT depot::text AS depot, min(label) AS first FROM shipments GROUP BY depot) l ON l.depot = g.group_key;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS groups, count(*) FILTER (WHERE g.value IS DISTINCT FROM l.last) AS differing
  FROM tally.groups('last_gateway', NULL::inet) g
  FULL JOIN (SELECT depot::text AS depot, max(gateway) AS last FROM shipments GROUP BY depot) l ON l.depot = g.group_key;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS groups, count(*) FILTER (WHERE g.value IS DISTINCT FROM l.n) AS differing
  FROM tally.groups('weights') g
  FULL JOIN (SELECT depot::text AS depot, count(DISTINCT weight) AS n FROM shipments GROUP BY depot) l ON l.depot = g.group_key;
SELECT tally.value('weights') = (SELECT count(DISTINCT weight) FROM shipments) AS total_exact,
       tally.value('heaviest') = (SELECT max(weight) FROM shipments) AS max_exact;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
-- The series: every (day, depot) of the five days.
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS buckets_and_groups, count(*) FILTER (WHERE s.value IS DISTINCT FROM l.top) AS differing
  FROM tally.series('daily_heaviest', '2026-03-01 00:00+00', '2026-03-06 00:00+00') s
  FULL JOIN (SELECT date_trunc('day', shipped_at, 'UTC') AS day, depot::text AS depot, max(weight) AS top
               FROM shipments GROUP BY 1, 2) l
    ON l.day = s.bucket_start AND l.depot = s.group_key;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
-- The snapshot, one figure per group of each metric.
BEGIN;
SELECT change_scans() AS before \gset
SELECT (SELECT count(*) FROM jsonb_each(s->'heaviest')) AS groups,
       s->'heaviest' = (SELECT jsonb_object_agg(depot, top) FROM (SELECT depot, max(weight) AS top FROM shipments GROUP BY depot) l) AS heaviest_exact,
       s->'first_label' = (SELECT jsonb_object_agg(depot, first) FROM (SELECT depot, min(label) AS first FROM shipments GROUP BY depot) l) AS first_label_exact,
       s->'last_gateway' = (SELECT jsonb_object_agg(depot, last) FROM (SELECT depot, max(gateway) AS last FROM shipments GROUP BY depot) l) AS last_gateway_exact,
       s->'weights' = (SELECT jsonb_object_agg(depot, n) FROM (SELECT depot, count(DISTINCT weight) AS n FROM shipments GROUP BY depot) l) AS weights_exact
  FROM tally.snapshot('depots') s;
SELECT change_scans() - :before < 50 AS few_scans;
COMMIT;
-- verify() of each metric finds no drift, and scans the queue table a few times per metric
-- too (before 0.14.0 a count_distinct's verify looked up each group's pending changes).
BEGIN;
SELECT change_scans() AS before \gset
SELECT count(*) AS drifted FROM unnest(ARRAY['heaviest', 'first_label', 'last_gateway', 'weights', 'daily_heaviest']) m,
       LATERAL tally.verify(m);
SELECT change_scans() - :before < 100 AS few_scans;
COMMIT;
-- Folded, the same figures.
SELECT tally.compact() > 0 AS folded;
SELECT count(*) FILTER (WHERE g.value IS DISTINCT FROM l.top) AS differing
  FROM tally.groups('heaviest') g
  FULL JOIN (SELECT depot::text AS depot, max(weight) AS top FROM shipments GROUP BY depot) l ON l.depot = g.group_key;
SELECT count(*) AS drifted FROM unnest(ARRAY['heaviest', 'first_label', 'last_gateway', 'weights', 'daily_heaviest']) m,
       LATERAL tally.verify(m);
-- A group with more pending values than a read hands its reader (100,000: an array holds at
-- most 1 GB, and a long value takes 908 bytes) gets none, and its reader looks them up
-- itself, as before 0.14.0: every read still succeeds, exact.
CREATE TABLE crowd (id int, g int, v int);
SELECT tally.create_metric('crowd_values', 'crowd', 'count_distinct', 'v', group_by => 'g') IS NOT NULL AS created;
SELECT tally.create_metric('crowd_top', 'crowd', 'max', 'v', group_by => 'g') IS NOT NULL AS created;
SELECT tally.create_dashboard('crowd_board', ARRAY['crowd_values', 'crowd_top']);
INSERT INTO crowd SELECT i, i % 3, i FROM generate_series(1, 200004) i;   -- 66,668 values per group
INSERT INTO crowd SELECT i, 0, i FROM generate_series(200005, 240004) i;  -- group 0 past 100,000
SELECT g.group_key, g.value = e.n AS values_exact
  FROM tally.groups('crowd_values') g JOIN (SELECT g::text AS g, count(DISTINCT v) AS n FROM crowd GROUP BY 1) e
    ON e.g = g.group_key ORDER BY 1;
SELECT s->'crowd_values' = (SELECT jsonb_object_agg(g, n) FROM (SELECT g, count(DISTINCT v) AS n FROM crowd GROUP BY g) e)
       AS snapshot_values_exact,
       s->'crowd_top' = (SELECT jsonb_object_agg(g, n) FROM (SELECT g, max(v) AS n FROM crowd GROUP BY g) e)
       AS snapshot_top_exact,
       tally.value('crowd_values') = (SELECT count(DISTINCT v) FROM crowd) AS value_exact
  FROM tally.snapshot('crowd_board') s;
SELECT count(*) AS drifted FROM tally.verify('crowd_values');
SELECT tally.drop_dashboard('crowd_board');
SELECT count(tally.drop_metric(m)) AS dropped FROM unnest(ARRAY['crowd_values', 'crowd_top']) m;
DROP TABLE crowd;

SELECT tally.drop_dashboard('depots');
SELECT count(tally.drop_metric(m)) AS dropped
  FROM unnest(ARRAY['heaviest', 'first_label', 'last_gateway', 'weights', 'daily_heaviest']) m;
DROP TABLE shipments;
DROP FUNCTION change_scans();
RESET tally.auto_compact;
