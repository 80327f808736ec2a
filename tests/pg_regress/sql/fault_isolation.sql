-- One writer can never break or skew anyone else's figures (issue 19, 0.9.0). On 0.8.0 one
-- long group key made every fold fail (btree entries hold 2704 bytes), and with it every
-- 100th write statement of every session; two 9e131071 in a summed column did the same
-- (numeric overflow); 1e1000 in a summed column read as NaN.
SET tally.auto_compact = off;   -- folds happen where this test calls compact()
SET client_min_messages = warning;  -- verify() reports progress per metric as NOTICEs
CREATE TABLE shop (id serial, status text, amount numeric, code numeric);
SELECT tally.create_metric('shop_by_status', 'shop', 'count', group_by => 'status') IS NOT NULL AS created;
SELECT tally.create_metric('shop_revenue', 'shop', 'sum', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('shop_codes', 'shop', 'count_distinct', 'code') IS NOT NULL AS created;
SELECT tally.create_metric('shop_top_code', 'shop', 'max', 'code', group_by => 'status') IS NOT NULL AS created;
SELECT tally.create_dashboard('shop_board', ARRAY['shop_by_status', 'shop_revenue']) IS NOT NULL AS created;
CREATE ROLE shop_writer;
GRANT INSERT, UPDATE, SELECT ON shop TO shop_writer;
GRANT USAGE ON SEQUENCE shop_id_seq TO shop_writer;
-- Every figure equals the live aggregate; verify() finds nothing.
CREATE VIEW shop_exact AS
SELECT (SELECT count(*) FROM (
          (SELECT status, count(*)::numeric FROM shop GROUP BY status
           EXCEPT ALL SELECT * FROM tally.groups('shop_by_status'))
          UNION ALL
          (SELECT * FROM tally.groups('shop_by_status')
           EXCEPT ALL SELECT status, count(*)::numeric FROM shop GROUP BY status)) x) = 0
   AND tally.value('shop_revenue') IS NOT DISTINCT FROM (SELECT coalesce(sum(amount), 0) FROM shop)
   AND tally.value('shop_codes') = (SELECT count(DISTINCT code) FROM shop)
   AND tally.value('shop_top_code') IS NOT DISTINCT FROM (SELECT max(code) FROM shop)
   AND NOT EXISTS (SELECT FROM tally.verify()) AS exact;

-- Long group keys (6.4 kB of hex, which compresses poorly), folded: their own groups.
SET ROLE shop_writer;
INSERT INTO shop (status, amount, code)
SELECT string_agg(md5(i::text), ''), 1, 1 FROM generate_series(1, 200) i;
INSERT INTO shop (status, amount, code)
SELECT string_agg(md5(i::text), '') || 'x', 2, 2 FROM generate_series(1, 200) i;
INSERT INTO shop (status, amount, code)
SELECT string_agg(md5(i::text), ''), 3, 3 FROM generate_series(1, 200) i;
-- Two long keys whose text would read as the same bytes through bytea's escapes ('\x41'
-- is hex for 'A'): never one group.
INSERT INTO shop (status, amount, code) VALUES (repeat('A', 200), 1, 4), ('\x' || repeat('41', 200), 1, 5);
RESET ROLE;
SELECT tally.compact() > 0 AS folded;
SELECT length(group_key) AS key_length, left(group_key, 8) AS key_start, value
  FROM tally.groups('shop_by_status') ORDER BY 1, 2;
SELECT * FROM shop_exact;
-- A long key deleted away, a long key updated into: still exact, folded or pending.
DELETE FROM shop WHERE status LIKE '%x';
UPDATE shop SET status = repeat('B', 300) WHERE code = 4;
SELECT * FROM shop_exact;
SELECT tally.compact() > 0 AS folded;
SELECT * FROM shop_exact;

-- Values no fold could store are refused in the writer's own statement, with a clear error;
-- nothing of that statement is applied, and every other figure keeps folding.
SET ROLE shop_writer;
INSERT INTO shop (status, amount) VALUES ('PAID', 9e131071);
INSERT INTO shop (status, amount) VALUES ('PAID', 1e1000);   -- read as NaN by 0.8.0
INSERT INTO shop (status, amount) VALUES ('PAID', -1e900);
INSERT INTO shop (status, amount) VALUES ('PAID', 1), ('PAID', 2e950);   -- a multi-row statement
UPDATE shop SET amount = 1e900 WHERE code = 1;
INSERT INTO shop (status, code) VALUES ('PAID', repeat('7', 2500)::numeric);  -- 1250 bytes
-- At the limits: accepted and exact.
INSERT INTO shop (status, amount) VALUES ('PAID', 9.99e899), ('PAID', -9.99e899), ('PAID', 'NaN');
INSERT INTO shop (status, code) VALUES ('PAID', 1e3000), ('PAID', repeat('7', 1900)::numeric);
RESET ROLE;
SELECT tally.value('shop_revenue') AS revenue_with_nan;
SELECT * FROM shop_exact;
SELECT tally.compact() > 0 AS folded;
SELECT * FROM shop_exact;
DELETE FROM shop WHERE amount = 'NaN';
SELECT tally.value('shop_revenue') AS revenue;

-- A change no fold can add, as a release before 0.9.0 could leave pending (written by hand
-- here): its metric alone is marked broken, with a WARNING; the others fold on.
INSERT INTO tally._change (metric_id, bucket_start, group_key, n_rows, n_values, total, value)
SELECT ARRAY[id, id], '{NULL,NULL}', '{NULL,NULL}', '{1,1}', '{1,1}', ARRAY[9e131071, 9e131071], '{NULL,NULL}'
  FROM tally._metric WHERE name = 'shop_revenue';
INSERT INTO shop (status, amount, code) VALUES ('NEW', 10, 10);
SET client_min_messages = notice;
SELECT tally.compact() > 0 AS folded;
SET client_min_messages = warning;
SELECT name, broken FROM tally.metrics WHERE name LIKE 'shop%' ORDER BY 1;
SELECT * FROM tally.groups('shop_by_status') WHERE group_key = 'NEW';
-- Reads name the broken metric; the dashboard shows it as null and why.
SELECT tally.value('shop_revenue');
SELECT * FROM tally.series('shop_revenue', '-infinity');
SELECT tally.snapshot('shop_board') -> 'shop_revenue' AS revenue,
       tally.snapshot('shop_board') -> 'errors' AS errors,
       tally.snapshot('shop_board') -> 'shop_by_status' -> 'NEW' AS new_orders;
SELECT metric, bucket_start, group_key, stored, actual FROM tally.verify('shop_revenue');
-- Writes go on; refresh repairs it.
INSERT INTO shop (status, amount) VALUES ('NEW', 5);
SELECT metric, groups FROM tally.refresh('shop_revenue');
SELECT name, broken FROM tally.metrics WHERE name = 'shop_revenue';
SELECT * FROM shop_exact;
INSERT INTO shop (status, amount) VALUES ('NEW', 7);
SELECT tally.compact() > 0 AS folded;
SELECT * FROM shop_exact;

-- A total that overflows only when stored (the counter holds numeric's largest value, as
-- by hand here; a change adds 1): the store fails for that metric alone.
UPDATE tally._state SET total = repeat('9', 131072)::numeric
 WHERE metric_id = (SELECT id FROM tally._metric WHERE name = 'shop_revenue') AND value IS NULL;
INSERT INTO shop (status, amount, code) VALUES ('NEW', 1, 11);
SELECT tally.compact() > 0 AS folded;
SELECT name, broken FROM tally.metrics WHERE name LIKE 'shop%' ORDER BY 1;
SELECT metric, groups FROM tally.refresh('shop_revenue');
SELECT * FROM shop_exact;

-- A fold that fails for a reason no metric is to blame for (here a trigger on the counters
-- table, standing in for a full disk): no metric is marked broken, the writer whose
-- statement triggered the fold gets a WARNING and keeps its row, compact() fails with the
-- cause, and once the trouble is gone the next fold takes everything.
CREATE FUNCTION pg_temp.no_space() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END$$;
CREATE TRIGGER no_space BEFORE INSERT OR UPDATE ON tally._state FOR EACH ROW EXECUTE FUNCTION pg_temp.no_space();
SET tally.auto_compact = on;
SET tally.compact_threshold = 1;
SET client_min_messages = notice;
SET ROLE shop_writer;
INSERT INTO shop (status, amount, code) VALUES ('LATE', 3, 12);
RESET ROLE;
SELECT count(*) AS late_rows FROM shop WHERE status = 'LATE';
SET tally.auto_compact = off;
SELECT tally.compact();
SET client_min_messages = warning;
SELECT name, broken FROM tally.metrics WHERE name LIKE 'shop%' ORDER BY 1;
SELECT * FROM shop_exact;
DROP TRIGGER no_space ON tally._state;
SELECT tally.compact() > 0 AS folded;
SELECT * FROM shop_exact;
RESET tally.compact_threshold;

SELECT tally.drop_dashboard('shop_board');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE name LIKE 'shop%';
DROP VIEW shop_exact;
DROP TABLE shop;
DROP ROLE shop_writer;
RESET client_min_messages;
RESET tally.auto_compact;

-- DDL cannot outrun the counters: a rewrite that changes the values a metric reads
-- (ALTER COLUMN ... TYPE ... USING) recomputes its metrics, on a plain table as on a
-- partitioned one (0.8.0 drifted: stored 30, actual 3000), also under check_function_bodies
-- = off (as pg_restore sets it), where the hook rebuilds no trigger but still checks and
-- recomputes. Should the hook not run, a rewrite leaves them marked broken, never silently
-- wrong (here by hand: a superuser disables the event trigger).
SET client_min_messages = warning;
CREATE TABLE ledger (id int, kind text, amount int);
INSERT INTO ledger VALUES (1, 'a', 10), (2, 'a', 20), (3, 'b', 5);
SELECT tally.create_metric('ledger_total', 'ledger', 'sum', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('ledger_by_kind', 'ledger', 'max', 'amount', group_by => 'kind') IS NOT NULL AS created;
ALTER TABLE ledger ALTER COLUMN amount TYPE numeric USING amount * 100;
SELECT tally.value('ledger_total') AS total, (SELECT sum(amount) FROM ledger) AS actual;
SELECT * FROM tally.verify();
SET check_function_bodies = off;
ALTER TABLE ledger ALTER COLUMN amount TYPE bigint USING amount / 10;
RESET check_function_bodies;
SELECT tally.value('ledger_total') AS total, (SELECT sum(amount) FROM ledger) AS actual;
ALTER EVENT TRIGGER tally_alter_table DISABLE;
ALTER TABLE ledger ALTER COLUMN amount TYPE bigint USING amount + 1;
ALTER EVENT TRIGGER tally_alter_table ENABLE;
SELECT name, broken FROM tally.metrics WHERE name LIKE 'ledger%' ORDER BY 1;
SELECT tally.value('ledger_total');
INSERT INTO ledger VALUES (4, 'b', 1);
SELECT metric, groups FROM tally.refresh();
SELECT tally.value('ledger_total') AS total, (SELECT sum(amount) FROM ledger) AS actual;
SELECT * FROM tally.groups('ledger_by_kind') ORDER BY 1;
SELECT * FROM tally.verify();
-- A rewrite that changes nothing a metric reads (a volatile default for a new column)
-- recomputes too: exact either way.
ALTER TABLE ledger ADD COLUMN noted timestamptz DEFAULT clock_timestamp();
SELECT name, broken FROM tally.metrics WHERE name LIKE 'ledger%' ORDER BY 1;
SELECT * FROM tally.verify();
SELECT tally.drop_metric('ledger_total'), tally.drop_metric('ledger_by_kind');
DROP TABLE ledger;
RESET client_min_messages;

-- An ALTER COLUMN ... TYPE that does not rewrite the table changes no value, yet what a
-- metric computes: timestamp to timestamptz under TimeZone UTC moves every bucket of a
-- metric in another zone (0.8.0 kept the old buckets). The ALTER TABLE hook notices the new
-- type of a column the metric reads and recomputes it.
SET client_min_messages = warning;
CREATE TABLE visits (id int, at timestamp);
INSERT INTO visits VALUES (1, '2026-06-01 23:30'), (2, '2026-06-02 00:30'), (3, '2026-06-02 22:30');
SELECT tally.create_metric('visits_daily_ny', 'visits', bucket => 'day', bucket_column => 'at',
                           time_zone => 'America/New_York') IS NOT NULL AS created;
SELECT * FROM tally.series('visits_daily_ny', '2026-05-01', '2026-07-01');
SET TimeZone = 'UTC';
ALTER TABLE visits ALTER COLUMN at TYPE timestamptz;   -- no rewrite: the values stay
RESET TimeZone;
SELECT * FROM tally.series('visits_daily_ny', '2026-05-01', '2026-07-01');
SELECT date_trunc('day', at, 'America/New_York') AS bucket_start, count(*) AS live
  FROM visits GROUP BY 1 ORDER BY 1;
SELECT * FROM tally.verify('visits_daily_ny');
SELECT tally.drop_metric('visits_daily_ny');
DROP TABLE visits;
RESET client_min_messages;

-- Found attacking 0.9.0 before its release:
SET client_min_messages = warning;
CREATE TABLE attic (id serial, g text, v numeric, blob text);
SELECT tally.create_metric('attic_by_g', 'attic', group_by => 'g') IS NOT NULL AS created;
SELECT tally.create_metric('attic_min', 'attic', 'min', 'v') IS NOT NULL AS created;
SELECT tally.create_metric('attic_sum', 'attic', 'sum', 'v') IS NOT NULL AS created;
-- A row large enough that the statement's transition table spills to disk, then another
-- statement: the single-row write path freed the spilled row twice (a server crash).
SET work_mem = '64kB';
INSERT INTO attic (g, v, blob) VALUES ('a', 1, repeat('x', 200000));
INSERT INTO attic (g, v, blob) VALUES ('a', 2, 'y');
DELETE FROM attic WHERE blob = 'y';
RESET work_mem;
SELECT tally.value('attic_min') AS min, tally.value('attic_sum') AS sum;
-- A tracked value stored compressed (a column's pglz) is measured as the index would hold
-- it, uncompressed: refused (0.9.0 before this fix took it, then no fold could store it).
CREATE TABLE attic_source (v numeric);
INSERT INTO attic_source SELECT repeat('12345', 1000)::numeric;
SELECT pg_column_size(v) < 1024 AS stored_small, pg_column_size(v + 0) > 1024 AS raw_large FROM attic_source;
INSERT INTO attic (g, v) SELECT 'b', v FROM attic_source;
-- Group keys are at most 8192 bytes (each of six 190 MB keys was accepted alone; together
-- they overflowed the arrays of the fold and of refresh).
INSERT INTO attic (g) VALUES (repeat('k', 8193));
INSERT INTO attic (g) VALUES (repeat('k', 8192));
-- A caller's recursion near the stack limit makes every metric's fold fail with
-- "stack depth limit exceeded": that is no metric's own data, and none is marked broken.
INSERT INTO attic (g, v) VALUES ('c', 3);
CREATE FUNCTION pg_temp.deep(n int, fold bool) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN
    IF n > 0 THEN RETURN pg_temp.deep(n - 1, fold); END IF;
    IF fold THEN RETURN tally.compact(); END IF;
    RETURN 0;
END$$;
CREATE TEMP TABLE deep_tries (fold_failures int);
DO $$
DECLARE
    n int := 100000;
    step int := 1000;
    failures int := 0;
BEGIN
    -- The deepest recursion that still returns, to one level.
    LOOP
        BEGIN
            PERFORM pg_temp.deep(n, false);
            EXIT WHEN step = 1;
            n := n + step;
            step := step / 10;
        EXCEPTION WHEN statement_too_complex THEN n := n - step;
        END;
    END LOOP;
    -- Folding from there: the first tries run out of stack inside the fold.
    LOOP
        BEGIN
            PERFORM pg_temp.deep(n, true);
            EXIT;
        EXCEPTION WHEN statement_too_complex THEN
            n := n - 1;
            failures := failures + 1;
        END;
    END LOOP;
    INSERT INTO deep_tries VALUES (failures);
END $$;
SELECT fold_failures > 0 AS fold_ran_out_of_stack FROM deep_tries;
SELECT count(*) AS broken_metrics FROM tally.metrics WHERE name LIKE 'attic%' AND broken IS NOT NULL;
SELECT * FROM tally.verify();
SELECT tally.drop_metric(name) FROM tally.metrics WHERE name LIKE 'attic%';
DROP TABLE attic, attic_source;
RESET client_min_messages;

-- count(column) of a composite column counts a row value whose fields are all NULL, as
-- Postgres' count() does (ROW(NULL, NULL) IS NULL is true, yet the value is not NULL): the
-- SQL write path and the UPDATE path counted them as NULL.
SET client_min_messages = warning;
CREATE TYPE pair AS (a int, b int);
CREATE TABLE pairs (id int, g text, c pair);
SELECT tally.create_metric('pairs_counted', 'pairs', 'count', 'c', group_by => 'g') IS NOT NULL AS created;
INSERT INTO pairs VALUES (1, 'x', ROW(NULL, NULL));
INSERT INTO pairs VALUES (2, 'x', ROW(NULL, NULL)), (3, 'y', ROW(1, NULL)), (4, 'y', NULL);
SET tally.direct_writes = off;
INSERT INTO pairs VALUES (5, 'x', ROW(NULL, NULL));
RESET tally.direct_writes;
UPDATE pairs SET g = 'z' WHERE id <= 3;
SELECT * FROM tally.groups('pairs_counted') ORDER BY 1;
SELECT g, count(c) FROM pairs GROUP BY g ORDER BY 1;
SELECT * FROM tally.verify('pairs_counted');
SELECT tally.drop_metric('pairs_counted');
DROP TABLE pairs;
DROP TYPE pair;
RESET client_min_messages;
