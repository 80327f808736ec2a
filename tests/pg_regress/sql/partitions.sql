-- Partitioned source tables (orders by month): writes through the parent or straight into a
-- partition, rows moving between partitions, TRUNCATE of one partition, new, attached,
-- detached and dropped partitions: the metrics on the parent stay exact.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE porders (id int, status text, amount numeric(12,2), created_at date NOT NULL)
    PARTITION BY RANGE (created_at);
CREATE TABLE porders_2026_01 PARTITION OF porders FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE porders_2026_02 PARTITION OF porders FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO porders SELECT i, (ARRAY['PAID','PENDING'])[1 + i % 2], i, date '2026-01-01' + (i % 59) FROM generate_series(1, 200) i;
SELECT tally.create_metric('p_by_status', 'porders', group_by => 'status') IS NOT NULL AS created;
SELECT tally.create_metric('p_revenue', 'porders', 'sum', 'amount', bucket => 'month', bucket_column => 'created_at') IS NOT NULL AS created;
-- The value-tracking aggregates keep per-value counters per partition change too.
SELECT tally.create_metric('p_max_amount', 'porders', 'max', 'amount', group_by => 'status') IS NOT NULL AS created;
SELECT tally.create_metric('p_amounts', 'porders', 'count_distinct', 'amount') IS NOT NULL AS created;
-- A metric on a partition is refused (0.16.0, found by a hostile probe: rows written through
-- the parent fire no statement trigger of the partition, so its figures missed them).
SELECT tally.create_metric('p_january', 'porders_2026_01', 'count');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW p_check AS
SELECT (SELECT count(*) FROM tally.verify()) = 0
   AND (SELECT coalesce(sum(value), 0) FROM tally.groups('p_by_status')) = (SELECT count(*) FROM porders)
   AND (SELECT coalesce(sum(value), 0) FROM tally.series('p_revenue', '2025-01-01', '2027-01-01')) = (SELECT coalesce(sum(amount), 0) FROM porders)
   AND tally.value('p_max_amount') IS NOT DISTINCT FROM (SELECT max(amount) FROM porders)
   AND tally.value('p_amounts') = (SELECT count(DISTINCT amount) FROM porders) AS exact;
SELECT * FROM p_check;
-- Through the parent, and straight into a partition.
INSERT INTO porders VALUES (1001, 'PAID', 10, '2026-02-10');
INSERT INTO porders_2026_01 VALUES (1002, 'PAID', 20, '2026-01-10');
UPDATE porders_2026_02 SET status = 'SHIPPED' WHERE id % 3 = 0;
DELETE FROM porders_2026_01 WHERE id % 5 = 0;
SELECT * FROM p_check;
-- A row moving to another partition.
UPDATE porders SET created_at = '2026-01-15' WHERE id = 1001;
SELECT * FROM p_check;
-- TRUNCATE of one partition.
TRUNCATE porders_2026_02;
SELECT * FROM p_check;
-- A new partition, then direct writes to it.
CREATE TABLE porders_2026_03 PARTITION OF porders FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
INSERT INTO porders_2026_03 VALUES (3001, 'PAID', 30, '2026-03-03');
SELECT * FROM p_check;
-- Attaching a table that already has rows, detaching one, dropping one.
CREATE TABLE porders_2026_04 (LIKE porders);
INSERT INTO porders_2026_04 VALUES (4001, 'PAID', 40, '2026-04-04'), (4002, 'PENDING', 41, '2026-04-05');
ALTER TABLE porders ATTACH PARTITION porders_2026_04 FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
SELECT * FROM p_check;
ALTER TABLE porders DETACH PARTITION porders_2026_01;
SELECT * FROM p_check;
INSERT INTO porders_2026_01 VALUES (9999, 'PAID', 99, '2026-01-20');   -- detached: not counted
SELECT * FROM p_check;
DROP TABLE porders_2026_03;
SELECT * FROM p_check;
SELECT * FROM tally.groups('p_by_status') ORDER BY group_key;
SELECT * FROM tally.groups('p_max_amount') ORDER BY group_key;
DROP VIEW p_check;
SELECT tally.drop_metric('p_by_status'), tally.drop_metric('p_revenue');
SELECT tally.drop_metric('p_max_amount'), tally.drop_metric('p_amounts');
SELECT count(*) AS leftover_triggers FROM pg_trigger WHERE tgname LIKE 'tally\_%';
DROP TABLE porders, porders_2026_01;

-- A BEFORE ROW UPDATE trigger on a partition may change a column the UPDATE did not set;
-- an UPDATE through the partitioned table cannot see it, so it concerns every metric.
CREATE TABLE pb (id int, k text, amount int) PARTITION BY LIST (k);
CREATE TABLE pb_a PARTITION OF pb FOR VALUES IN ('a');
CREATE FUNCTION pb_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.amount := NEW.amount + 1000; RETURN NEW; END$$;
CREATE TRIGGER pb_bump BEFORE UPDATE ON pb_a FOR EACH ROW EXECUTE FUNCTION pb_bump();
INSERT INTO pb VALUES (1, 'a', 10), (2, 'a', 20);
SELECT tally.create_metric('pb_sum', 'pb', 'sum', 'amount') IS NOT NULL AS defined;
UPDATE pb SET id = 3 WHERE id = 1;
UPDATE pb SET id = id + 10;
SELECT tally.value('pb_sum') AS stored, (SELECT sum(amount) FROM pb) AS actual;
SELECT * FROM tally.verify('pb_sum');
SELECT tally.drop_metric('pb_sum');
DROP TABLE pb;
DROP FUNCTION pb_bump();

-- A table pg_tally counts cannot be attached as a partition (0.18.0): rows written through
-- its new parent would fire none of its statement triggers (its figures would drift), and a
-- parent with metrics of its own failed the ATTACH with a clashing trigger (42710). Refused
-- with or without parent metrics, in a savepoint too; nothing is attached. With its metrics
-- dropped it attaches, and the parent's metrics count its rows.
CREATE TABLE pa (id int, k text, amount int) PARTITION BY LIST (k);
CREATE TABLE pa_a PARTITION OF pa FOR VALUES IN ('a');
CREATE TABLE pa_loose (id int, k text, amount int);
INSERT INTO pa VALUES (1, 'a', 10);
INSERT INTO pa_loose VALUES (2, 'b', 20), (3, 'b', 30);
SELECT tally.create_metric('pa_loose_sum', 'pa_loose', 'sum', 'amount') IS NOT NULL AS defined;
ALTER TABLE pa ATTACH PARTITION pa_loose FOR VALUES IN ('b');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('pa_sum', 'pa', 'sum', 'amount') IS NOT NULL AS defined;
BEGIN;
SAVEPOINT s;
ALTER TABLE pa ATTACH PARTITION pa_loose FOR VALUES IN ('b');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT count(*) AS attached FROM pg_inherits WHERE inhrelid = 'pa_loose'::regclass;
-- Other ALTER TABLEs of the tree are not refused; nor is a partition created or attached
-- that pg_tally does not count.
ALTER TABLE pa ADD COLUMN note text;
CREATE TABLE pa_c PARTITION OF pa FOR VALUES IN ('c');
CREATE TABLE pa_d (id int, k text, amount int, note text);
ALTER TABLE pa ATTACH PARTITION pa_d FOR VALUES IN ('d');
SELECT tally.drop_metric('pa_loose_sum');
ALTER TABLE pa_loose ADD COLUMN note text;
ALTER TABLE pa ATTACH PARTITION pa_loose FOR VALUES IN ('b');
INSERT INTO pa VALUES (4, 'b', 40, NULL);
SELECT tally.value('pa_sum') AS stored, (SELECT sum(amount) FROM pa) AS actual;
SELECT * FROM tally.verify('pa_sum');
SELECT tally.drop_metric('pa_sum');
DROP TABLE pa;
