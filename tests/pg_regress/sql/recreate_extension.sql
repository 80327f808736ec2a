-- A session that outlives DROP EXTENSION + CREATE EXTENSION: the new catalog restarts the
-- trigger generation and metric id sequences, so the same table soon has triggers with a
-- generation number this session has cached for the old catalog's metrics. The caches must
-- not serve them (they would write the old metric's deltas under the new metric's id).
CREATE DATABASE tally_recreate;
\c tally_recreate
SET client_min_messages = warning;
CREATE EXTENSION pg_tally;
CREATE TABLE t (id int, v int);
SELECT tally.create_metric('rows', 't') IS NOT NULL AS created;
INSERT INTO t VALUES (1, 10);                 -- single row: caches this generation
INSERT INTO t VALUES (2, 20), (3, 30);        -- several rows: caches a plan
SELECT tally.value('rows');

DROP EXTENSION pg_tally CASCADE;
CREATE EXTENSION pg_tally;
-- Same generation number and metric id as 'rows' had, a different metric.
SELECT tally.create_metric('total_v', 't', 'sum', 'v') IS NOT NULL AS created;
SELECT generation FROM (SELECT pg_catalog.split_part(pg_catalog.encode(tgargs, 'escape'), '\000', 1) AS generation
                          FROM pg_trigger WHERE tgrelid = 't'::regclass AND tgname = 'tally_insert') g;
INSERT INTO t VALUES (4, 40);
INSERT INTO t VALUES (5, 50), (6, 60);
UPDATE t SET v = v + 1 WHERE id = 1;
SELECT tally.value('total_v') AS stored, (SELECT sum(v) FROM t) AS actual;
SELECT count(*) AS drifted FROM tally.verify();
\c tally_regress
DROP DATABASE tally_recreate;
