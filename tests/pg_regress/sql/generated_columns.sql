-- Generated columns. A STORED one is a column like any other: counted, grouped, bucketed and
-- filtered on, on every major. A VIRTUAL one (PostgreSQL 18) holds no value in the rows a
-- write stores, which is what pg_tally reads: a metric naming one, in any role, is refused
-- with 0A000 and a hint (it used to count NULLs, and a multi-row INSERT failed). A counted
-- column cannot become virtual later: renaming it away is refused (ddl.sql), and no column
-- turns virtual.
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE gen_t (id int PRIMARY KEY, price numeric, qty int,
                    total numeric GENERATED ALWAYS AS (price * qty) STORED,
                    kind text GENERATED ALWAYS AS (CASE WHEN qty > 1 THEN 'multi' ELSE 'single' END) STORED);
SELECT tally.create_metric('gen_total', 'gen_t', 'sum', 'total') IS NOT NULL AS created;
SELECT tally.create_metric('gen_kinds', 'gen_t', group_by => 'kind') IS NOT NULL AS created;
SELECT tally.create_metric('gen_big', 'gen_t', filter => 'total > 100') IS NOT NULL AS created;
INSERT INTO gen_t (id, price, qty) VALUES (1, 10, 20);
INSERT INTO gen_t (id, price, qty) SELECT i, i, i % 3 FROM generate_series(2, 30) i;
UPDATE gen_t SET qty = qty + 1 WHERE id % 4 = 0;
DELETE FROM gen_t WHERE id = 9;
SELECT tally.value('gen_total') = (SELECT sum(total) FROM gen_t) AS total_exact,
       tally.value('gen_big') = (SELECT count(*) FROM gen_t WHERE total > 100) AS big_exact;
SELECT group_key, value FROM tally.groups('gen_kinds') ORDER BY group_key;
SELECT count(*) AS drift FROM tally.verify();

SELECT current_setting('server_version_num')::int >= 180000 AS has_virtual \gset
\if :has_virtual
CREATE TABLE virt_t (id int PRIMARY KEY, price numeric, qty int,
                     total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL,
                     big boolean GENERATED ALWAYS AS (price * qty > 100) VIRTUAL,
                     kind text GENERATED ALWAYS AS (CASE WHEN qty > 1 THEN 'multi' ELSE 'single' END) VIRTUAL,
                     at timestamptz GENERATED ALWAYS AS ('2026-01-01'::timestamptz) VIRTUAL,
                     stored numeric GENERATED ALWAYS AS (price * qty) STORED);
-- Every role a column has in a metric.
SELECT tally.create_metric('virt_m', 'virt_t', 'sum', 'total');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('virt_m', 'virt_t', 'count', 'total');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('virt_m', 'virt_t', group_by => 'kind');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('virt_m', 'virt_t', bucket => 'day', bucket_column => 'at');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('virt_m', 'virt_t', filter => 'big');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('virt_m', 'virt_t', filter => 'price > 1 AND NOT big');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS metrics_left FROM tally.metrics WHERE name = 'virt_m';
-- The stored twin counts, and the virtual columns of its table do not disturb its writes.
SELECT tally.create_metric('virt_stored', 'virt_t', 'sum', 'stored') IS NOT NULL AS created;
INSERT INTO virt_t (id, price, qty) VALUES (1, 10, 20);
INSERT INTO virt_t (id, price, qty) SELECT i, i, i % 3 FROM generate_series(2, 30) i;
UPDATE virt_t SET qty = qty + 1 WHERE id % 4 = 0;
SELECT tally.value('virt_stored') = (SELECT sum(stored) FROM virt_t) AS stored_exact;
SELECT count(*) AS drift FROM tally.verify();
SELECT tally.drop_metric('virt_stored');
DROP TABLE virt_t;
\else
\echo 'no VIRTUAL generated columns before PostgreSQL 18'
\endif
SELECT tally.drop_metric(m) FROM unnest(ARRAY['gen_total', 'gen_kinds', 'gen_big']) m;
DROP TABLE gen_t;
