-- tally.snapshot reads a dashboard of count / sum / avg metrics with index lookups
-- (tally._snapshot_counters) and hands any other dashboard to the query-based read
-- (tally._snapshot_sql). Both give the same jsonb; the lookups' figures are exact numerics.
CREATE TABLE snap (id int, grp text, amount numeric, qty int, at timestamptz DEFAULT now());
INSERT INTO snap (id, grp, amount, qty) VALUES
  (1, 'a', 1.50, 2), (2, 'a', 2.25, NULL), (3, NULL, 10, 4),
  (4, 'quote"back\slash', 0.001, 1), (5, 'ünï', -3, 7);
SELECT tally.create_metric('snap_n', 'snap') IS NOT NULL AS created;
SELECT tally.create_metric('snap_sum', 'snap', 'sum', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('snap_avg_qty', 'snap', 'avg', 'qty') IS NOT NULL AS created;
SELECT tally.create_metric('snap_by_grp', 'snap', 'sum', 'amount', group_by => 'grp') IS NOT NULL AS created;
SELECT tally.create_metric('snap_today', 'snap', 'count', 'qty', bucket => 'day', bucket_column => 'at',
                           time_zone => 'Asia/Kolkata') IS NOT NULL AS created;
SELECT tally.create_metric('snap_empty_avg', 'snap', 'avg', 'qty', filter => 'id > 100') IS NOT NULL AS created;
SELECT tally.create_metric('snap_min', 'snap', 'min', 'amount') IS NOT NULL AS created;
SELECT tally.create_dashboard('snap_summed', ARRAY['snap_n', 'snap_sum', 'snap_avg_qty', 'snap_by_grp', 'snap_today', 'snap_empty_avg']);
SELECT tally.create_dashboard('snap_all', ARRAY['snap_n', 'snap_min']);

-- Pending deltas and folded state both count; figures keep numeric scale.
DELETE FROM snap WHERE id = 2;
SELECT tally.compact() >= 0 AS folded;
INSERT INTO snap (id, grp, amount, qty) VALUES (6, 'b', 100.125, 3);
UPDATE snap SET grp = 'b' WHERE id = 1;
SELECT jsonb_pretty(tally.snapshot('snap_summed') - 'as_of');
SELECT tally._snapshot_counters('snap_summed') IS NOT NULL AS read_by_lookups,
       tally.snapshot('snap_summed') - 'as_of' = tally._snapshot_sql('snap_summed') - 'as_of' AS same_as_query;
-- The live figures, for comparison.
SELECT count(*) AS n, sum(amount) AS total, avg(qty) AS avg_qty FROM snap;
SELECT coalesce(grp, 'null') AS grp, sum(amount) FROM snap GROUP BY grp ORDER BY 1;

-- A min metric sends the whole dashboard to the query.
SELECT tally._snapshot_counters('snap_all') IS NULL AS read_by_query,
       tally.snapshot('snap_all') - 'as_of' AS figures;

-- A statement's changes are one row of arrays (0.6.0), read in place. A statement touching
-- 2,000 groups stores its arrays compressed or out of line; NULL groups and NULL values
-- leave gaps in them. Every form reads as the query does.
SET tally.auto_compact = off;
INSERT INTO snap (id, grp, amount, qty)
SELECT i, 'g' || i, i / 4.0, CASE WHEN i % 3 = 0 THEN NULL ELSE i END FROM generate_series(100, 2099) i;
SELECT cardinality(group_key) AS changes_in_row, pg_column_compression(metric_id) IS NOT NULL AS stored_compressed
  FROM tally._change ORDER BY cardinality(group_key) DESC LIMIT 1;
SELECT tally._snapshot_counters('snap_summed') IS NOT NULL AS read_by_lookups,
       tally.snapshot('snap_summed') - 'as_of' = tally._snapshot_sql('snap_summed') - 'as_of' AS same_as_query;
UPDATE snap SET grp = NULL, qty = NULL WHERE id BETWEEN 100 AND 1099;
INSERT INTO snap (id, grp, amount, qty) VALUES (8, NULL, 1, NULL);
SELECT tally.snapshot('snap_summed') - 'as_of' = tally._snapshot_sql('snap_summed') - 'as_of' AS same_as_query,
       (tally.snapshot('snap_summed') ->> 'snap_n')::int = (SELECT count(*) FROM snap) AS n_exact,
       (tally.snapshot('snap_summed') ->> 'snap_sum')::numeric = (SELECT sum(amount) FROM snap) AS sum_exact,
       (tally.snapshot('snap_summed') -> 'snap_by_grp' ->> 'null')::numeric
         = (SELECT sum(amount) FROM snap WHERE grp IS NULL) AS null_group_exact;
RESET tally.auto_compact;
SELECT tally.compact() > 0 AS folded;
DELETE FROM snap WHERE id >= 8;
SELECT tally.snapshot('snap_summed') - 'as_of' = tally._snapshot_sql('snap_summed') - 'as_of' AS same_as_query;

-- A numeric infinity has no JSON number: the lookups step aside and the query decides.
INSERT INTO snap (id, grp, amount) VALUES (7, 'inf', 'Infinity');
SELECT tally._snapshot_counters('snap_summed') IS NULL AS read_by_query;
SELECT tally.snapshot('snap_summed') - 'as_of' = tally._snapshot_sql('snap_summed') - 'as_of' AS same_as_query;
DELETE FROM snap WHERE id = 7;

-- Errors: unknown dashboard, NULL.
SELECT tally.snapshot('nope');
SELECT tally.snapshot(NULL);

-- In a READ ONLY transaction (as on a hot standby) the read works.
BEGIN READ ONLY;
SELECT (tally.snapshot('snap_summed') ->> 'snap_n')::int AS n;
COMMIT;

SELECT tally.drop_dashboard('snap_summed'), tally.drop_dashboard('snap_all');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE name LIKE 'snap\_%';
DROP TABLE snap;
