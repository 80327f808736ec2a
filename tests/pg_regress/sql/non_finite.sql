-- NaN and infinities in a summed numeric column: sum and avg stay equal to the live aggregate
-- when such a row is inserted, updated away and deleted again, through the single-row path,
-- multi-row statements, pending and folded changes, and the one-row dashboard read.
SET tally.auto_compact = off;   -- keep changes pending until the explicit compact() calls
CREATE TABLE readings (id int, site text, v numeric);
INSERT INTO readings SELECT i, (ARRAY['a','b'])[1 + i % 2], i * 1.5 FROM generate_series(1, 20) i;
SELECT tally.create_metric('readings_sum', 'readings', 'sum', 'v') IS NOT NULL AS created;
SELECT tally.create_metric('readings_avg_by_site', 'readings', 'avg', 'v', group_by => 'site') IS NOT NULL AS created;
SELECT tally.create_dashboard('readings_board', ARRAY['readings_sum', 'readings_avg_by_site']) IS NOT NULL AS created;
-- Each figure against the live aggregate (IS NOT DISTINCT FROM: NaN equals NaN in numeric).
CREATE VIEW check_readings AS
SELECT tally.value('readings_sum') IS NOT DISTINCT FROM (SELECT coalesce(sum(v), 0) FROM readings)
   AND (SELECT count(*) FROM (
          (SELECT site, avg(v) FROM readings GROUP BY site
           EXCEPT ALL SELECT * FROM tally.groups('readings_avg_by_site'))
          UNION ALL
          (SELECT * FROM tally.groups('readings_avg_by_site')
           EXCEPT ALL SELECT site, avg(v) FROM readings GROUP BY site)) x) = 0
   AND tally.snapshot('readings_board') - 'as_of'
       = jsonb_build_object('readings_sum', to_jsonb((SELECT coalesce(sum(v), 0) FROM readings)),
                            'readings_avg_by_site', (SELECT jsonb_object_agg(site, a)
                                                       FROM (SELECT site, avg(v) AS a FROM readings GROUP BY site) g))
   AND NOT EXISTS (SELECT FROM tally.verify()) AS exact;
SET client_min_messages = warning;  -- verify() reports progress per metric as NOTICEs
SELECT * FROM check_readings;
-- A NaN in through the single-row path: both figures become NaN.
INSERT INTO readings VALUES (21, 'a', 'NaN');
SELECT tally.value('readings_sum') AS sum_with_nan, tally.snapshot('readings_board')->'readings_avg_by_site' AS avg_by_site;
SELECT * FROM check_readings;
-- Deleted while pending: the figures come back (0.6.0 kept NaN here until a refresh).
DELETE FROM readings WHERE id = 21;
SELECT tally.value('readings_sum') AS sum_after_delete;
SELECT * FROM check_readings;
-- Both infinities in one multi-row statement (the SQL path), folded: NaN for site a.
INSERT INTO readings VALUES (22, 'a', 'Infinity'), (23, 'a', '-Infinity'), (24, 'b', 'Infinity');
SELECT tally.compact() > 0 AS folded;
SELECT * FROM tally.groups('readings_avg_by_site') ORDER BY 1;
SELECT tally.value('readings_sum') AS sum_with_both_infinities;
SELECT * FROM check_readings;
-- -Infinity updated to a finite value: site a is +Infinity, the sum +Infinity.
UPDATE readings SET v = 7 WHERE id = 23;
SELECT * FROM tally.groups('readings_avg_by_site') ORDER BY 1;
SELECT * FROM check_readings;
-- A NaN moved between groups, then the infinities removed, folded in between.
INSERT INTO readings VALUES (25, 'b', 'NaN');
SELECT tally.compact() > 0 AS folded;
UPDATE readings SET site = 'a' WHERE id = 25;
SELECT * FROM tally.groups('readings_avg_by_site') ORDER BY 1;
SELECT * FROM check_readings;
DELETE FROM readings WHERE v IN ('Infinity', 'NaN');
SELECT tally.compact() > 0 AS folded;
SELECT tally.value('readings_sum') AS sum_finite_again;
SELECT * FROM check_readings;
-- The multi-row path for the same moves (the single-row path off).
SET tally.direct_writes = off;
INSERT INTO readings VALUES (26, 'b', 'NaN');
UPDATE readings SET v = 'Infinity' WHERE id = 26;
SELECT * FROM check_readings;
DELETE FROM readings WHERE id = 26;
SELECT * FROM check_readings;
RESET tally.direct_writes;
-- refresh stores the same counts: figures unchanged, still exact.
INSERT INTO readings VALUES (27, 'a', '-Infinity');
SELECT count(*) AS refreshed FROM tally.refresh('readings_sum');
SELECT tally.value('readings_sum') AS sum_after_refresh;
DELETE FROM readings WHERE id = 27;
SELECT * FROM check_readings;
RESET client_min_messages;
SELECT tally.drop_dashboard('readings_board');
SELECT tally.drop_metric('readings_sum'), tally.drop_metric('readings_avg_by_site');
DROP TABLE readings CASCADE;
RESET tally.auto_compact;
