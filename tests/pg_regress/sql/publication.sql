-- A publication FOR ALL TABLES (logical replication, change-data-capture tools) publishes
-- pg_tally's own tables too, and Postgres refuses UPDATE and DELETE on a published table
-- that has no replica identity. tally._state and tally._change identify rows by the whole
-- row (0.7.0): folds, metric drops, refreshes and TRUNCATE keep working, and so does every
-- write statement that folds. Until 0.6.0 the first fold failed, and the write with it.
SET client_min_messages = error;  -- CREATE PUBLICATION warns when wal_level is not logical
CREATE PUBLICATION tally_everything FOR ALL TABLES;
CREATE TABLE shipments (id int PRIMARY KEY, status text, weight numeric);
SELECT tally.create_metric('shipments_n', 'shipments', group_by => 'status') IS NOT NULL AS created;
SELECT tally.create_metric('shipments_weight', 'shipments', 'sum', 'weight') IS NOT NULL AS created;
SELECT tally.create_metric('shipments_lightest', 'shipments', 'min', 'weight') IS NOT NULL AS created;
CREATE VIEW check_shipments AS
SELECT (SELECT coalesce(jsonb_object_agg(group_key, value), '{}') FROM tally.groups('shipments_n'))
         = (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (SELECT status, count(*) AS n FROM shipments GROUP BY status) g)
   AND tally.value('shipments_weight') = (SELECT coalesce(sum(weight), 0) FROM shipments)
   AND tally.value('shipments_lightest') IS NOT DISTINCT FROM (SELECT min(weight) FROM shipments)
   AND NOT EXISTS (SELECT FROM tally.verify()) AS exact;
-- Every write statement folds.
SET tally.compact_threshold = 1;
INSERT INTO shipments VALUES (1, 'packed', 2.5), (2, 'packed', 1.0);
INSERT INTO shipments VALUES (3, 'sent', 4.0);
UPDATE shipments SET status = 'sent' WHERE id = 1;
DELETE FROM shipments WHERE id = 2;
SELECT count(*) AS pending FROM tally._change;
SELECT * FROM check_shipments;
RESET tally.compact_threshold;
SELECT count(*) AS refreshed FROM tally.refresh('shipments_n');
INSERT INTO shipments VALUES (4, 'packed', 0.5);
SELECT tally.drop_metric('shipments_lightest');
SELECT tally.compact() >= 0 AS folded;
TRUNCATE shipments;
SELECT tally.value('shipments_weight') AS weight_after_truncate, count(*) AS groups_after_truncate
  FROM tally.groups('shipments_n');
SELECT c.relname, c.relreplident
  FROM pg_class c
 WHERE c.relnamespace = 'tally'::regnamespace AND c.relname IN ('_state', '_change')
 ORDER BY 1;
DROP PUBLICATION tally_everything;
DROP VIEW check_shipments;
SELECT tally.drop_metric('shipments_n'), tally.drop_metric('shipments_weight');
DROP TABLE shipments;
RESET client_min_messages;
