-- count_distinct over arrays (0.14.0): of integers, numeric, text, varchar, uuid, boolean,
-- floats, dates and timestamps (and domains over them, and arrays of such domains); 0.15.0
-- also of times, intervals, money, bytea, inet, cidr, macaddr and bit strings. Two
-- arrays are one value when Postgres' array equality says so: the same dimensions and lower
-- bounds, elements equal as their type says (1.0 and 1, -0 and 0, NaN and NaN, one instant
-- in two time zones), NULL elements equal to each other; every empty array is one value.
-- min, max, sum and avg refuse arrays, as arrays of other element types.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN small AS int CHECK (VALUE < 100);
CREATE DOMAIN tag_list AS text[];
-- The domain's owner owns its array type too, and may cast it: pg_tally never casts an array.
CREATE FUNCTION loud(small[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the owner''s cast of small[] ran'; END $$;
CREATE CAST (small[] AS text) WITH FUNCTION loud(small[]);
SELECT '{1}'::small[]::text;
CREATE TABLE posts (id serial PRIMARY KEY, kind text, ints int[], texts text[], nums numeric[],
                    floats float8[], stamps timestamptz[], smalls small[], tags tag_list,
                    ids uuid[], flags bool[], days date[], bigs bigint[], names varchar[]);
INSERT INTO posts (kind, ints, texts, nums, floats, stamps, smalls, tags, ids, flags, days, bigs, names) VALUES
 ('a', '{1,2}', '{a,b}', '{1.0,2}', '{0,1}', '{"2026-01-01 00:00+00"}', '{1}', '{x}',
       '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{t}', '{2026-01-01}', '{1}', '{a}'),
 ('a', '[0:1]={1,2}', '{a,NULL}', '{1,2.00}', '{-0,1}', '{"2026-01-01 01:00+01"}', '{1}', '{x}',
       '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}', '{t,NULL}', '{infinity}', '{1,NULL}', '{a,""}'),
 ('b', '{{1,2},{3,4}}', '{a,"NULL"}', '{NaN}', '{NaN}', '{}', '{2}', '{x,y}',
       '{}', '{f}', '{-infinity}', '{9223372036854775807}', '{"a,b"}'),
 ('b', '{1,2,3,4}', '{}', '{NaN,NULL}', '{NaN,NULL}', NULL, '{}', '{}',
       NULL, '{}', '{}', '{}', '{}'),
 ('b', '{}', '{"a,b"}', '{Infinity,-Infinity}', '{-Infinity,Infinity}', '{infinity}', NULL, NULL,
       '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}'),
 ('c', '{NULL}', '{""}', '{0.0,-0}', '{1e-320,5e-324}', '{"2026-01-01 00:00:00.000001+00"}', '{99}', '{"x "}',
       '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12}', '{t,t}', '{2026-01-02}', '{-1}', '{"é"}'),
 ('c', '{NULL,NULL}', '{"é",e}', '{0}', '{5e-324,1e-320}', '{"2026-01-01 00:00:00.000001+00"}', '{99,1}', '{"x"}',
       '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12}', '{t,t}', '{2026-01-02}', '{-1}', '{"é"}'),
 ('c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT count(tally.create_metric(c || '_seen', 'posts', 'count_distinct', c)) AS created
  FROM unnest(ARRAY['ints', 'texts', 'nums', 'floats', 'stamps', 'smalls', 'tags', 'ids', 'flags', 'days',
                    'bigs', 'names']) c;
SELECT tally.create_metric('ints_by_kind', 'posts', 'count_distinct', 'ints', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('pairs', 'posts', 'count_distinct', 'ARRAY[kind, texts[1]]')->>'column_name';
SELECT tally.create_metric('lengths', 'posts', 'count_distinct', 'ARRAY[cardinality(ints), array_length(ints, 1)]',
                           group_by => 'kind')->>'column_name';

-- Each figure against Postgres' own count(DISTINCT).
CREATE VIEW compared AS
SELECT x.metric, tally.value(x.metric || '_seen') AS figure, x.live
  FROM (SELECT 'ints' AS metric, count(DISTINCT ints) AS live FROM posts
        UNION ALL SELECT 'texts', count(DISTINCT texts) FROM posts
        UNION ALL SELECT 'nums', count(DISTINCT nums) FROM posts
        UNION ALL SELECT 'floats', count(DISTINCT floats) FROM posts
        UNION ALL SELECT 'stamps', count(DISTINCT stamps) FROM posts
        UNION ALL SELECT 'smalls', count(DISTINCT smalls) FROM posts
        UNION ALL SELECT 'tags', count(DISTINCT tags) FROM posts
        UNION ALL SELECT 'ids', count(DISTINCT ids) FROM posts
        UNION ALL SELECT 'flags', count(DISTINCT flags) FROM posts
        UNION ALL SELECT 'days', count(DISTINCT days) FROM posts
        UNION ALL SELECT 'bigs', count(DISTINCT bigs) FROM posts
        UNION ALL SELECT 'names', count(DISTINCT names) FROM posts) x
UNION ALL
SELECT 'pairs', tally.value('pairs'), (SELECT count(DISTINCT ARRAY[kind, texts[1]]) FROM posts)
UNION ALL
SELECT 'ints_by_kind ' || e.kind, g.value, e.n
  FROM (SELECT kind, count(DISTINCT ints) AS n FROM posts GROUP BY kind) e
  FULL JOIN tally.groups('ints_by_kind') g ON g.group_key = e.kind
UNION ALL
SELECT 'lengths ' || e.kind, g.value, e.n
  FROM (SELECT kind, count(DISTINCT ARRAY[cardinality(ints), array_length(ints, 1)]) AS n FROM posts GROUP BY kind) e
  FULL JOIN tally.groups('lengths') g ON g.group_key = e.kind;
SELECT metric, figure, live, figure IS NOT DISTINCT FROM live AS exact FROM compared ORDER BY metric;

-- Updated, deleted, a savepoint rolled back, COPY, and the counts follow.
UPDATE posts SET ints = '{1,2}' WHERE ints = '[0:1]={1,2}';
UPDATE posts SET nums = nums || 1.000 WHERE kind = 'a';
DELETE FROM posts WHERE floats = '{NaN}';
BEGIN;
SAVEPOINT s;
INSERT INTO posts (kind, ints) VALUES ('d', '{7,7,7}');
ROLLBACK TO SAVEPOINT s;
COPY posts (kind, ints, texts, nums) FROM stdin;
d	{5,6}	{"tab\there"}	{1.50}
d	{5,6}	{"tab\there"}	{1.5}
\.
COMMIT;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM compared;
SELECT * FROM tally.verify() WHERE metric LIKE '%_seen' OR metric IN ('ints_by_kind', 'pairs', 'lengths');

-- 3000 random arrays with random lengths, lower bounds, NULLs and numeric scales.
SELECT setseed(0.7);
INSERT INTO posts (kind, ints, nums, texts)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3],
       CASE WHEN n > 0 AND random() < 0.2
            THEN ('[0:' || n - 1 || ']=' || (ARRAY(SELECT (random() * 3)::int FROM generate_series(1, n)))::text)::int[]
            ELSE ARRAY(SELECT CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 3)::int END FROM generate_series(1, n)) END,
       ARRAY(SELECT round((random() * 2)::numeric, (random() * 2)::int) FROM generate_series(1, n % 3)),
       ARRAY(SELECT chr(97 + (random() * 2)::int) FROM generate_series(1, n % 4))
  FROM (SELECT g, (random() * 3)::int AS n FROM generate_series(1, 3000) g) s;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing,
       (SELECT count(DISTINCT nums) < count(DISTINCT nums::text) FROM posts) AS equal_numerics_written_apart
  FROM compared;

-- Long arrays: counted by digest.
INSERT INTO posts (kind, ints) SELECT 'e', ARRAY(SELECT i FROM generate_series(1, 400) i) || x FROM generate_series(1, 3) x;
INSERT INTO posts (kind, ints) VALUES ('e', ARRAY(SELECT i FROM generate_series(1, 400) i) || 1);
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM compared;
SELECT * FROM tally.verify() WHERE metric LIKE '%_seen' OR metric IN ('ints_by_kind', 'pairs', 'lengths');

-- 0.15.0: arrays of times, times with time zone, intervals, money, bytea, inet, cidr,
-- macaddr, macaddr8, bit and varbit. Equal as their types say: '1 day' and '24 hours' (one
-- span), '10.0.0.1/32' and '10.0.0.1', '08-00-2B-01-02-03' and '08:00:2b:01:02:03'; but
-- '12:00+01' and '11:00+00' (one instant, two zones) and B'101' and B'0101' are two values.
CREATE TABLE kits (id serial PRIMARY KEY, times time[], zoned timetz[], spans interval[], prices money[],
                   blobs bytea[], hosts inet[], nets cidr[], macs macaddr[], macs8 macaddr8[],
                   bits bit(3)[], varbits varbit[]);
INSERT INTO kits (times, zoned, spans, prices, blobs, hosts, nets, macs, macs8, bits, varbits) VALUES
 ('{12:00}', '{12:00+01}', '{"1 day"}', '{1.00}', '{"\\x00"}', '{10.0.0.1/32}', '{10.0.0.0/8}',
  '{08:00:2b:01:02:03}', '{08:00:2b:01:02:03:04:05}', '{101}', '{101}'),
 ('{12:00:00.000000}', '{11:00+00}', '{"24 hours"}', '{1}', '{"\\x0000"}', '{10.0.0.1}', '{10.0.0.0/8}',
  '{08-00-2B-01-02-03}', '{08-00-2B-01-02-03-04-05}', '{101}', '{0101}'),
 ('{24:00}', '{12:00+01,NULL}', '{"1 mon","30 days"}', '{-0.01}', '{""}', '{::1}', '{::/0}',
  '{00:00:00:00:00:00}', '{ff:ff:ff:ff:ff:ff:ff:ff}', '{000,111}', '{""}'),
 ('{00:00}', '{}', '{"-1 day 24:00"}', '{}', '{NULL}', '{10.0.0.1/8}', '{10.0.0.0/16}',
  NULL, NULL, NULL, NULL);
INSERT INTO kits (times, zoned, spans, prices, blobs, hosts, nets, macs, macs8, bits, varbits)
SELECT ARRAY[make_time(g % 3, 0, 0)], ARRAY[(make_time(g % 3, 0, 0)::text || '+0' || (g % 2))::timetz],
       ARRAY[make_interval(days => g % 4, hours => (g % 3) * 24)], ARRAY[((g % 5)::numeric / 100)::money],
       ARRAY[decode(lpad(to_hex(g % 6), 2, '0'), 'hex')], ARRAY[('10.0.0.' || g % 5 || '/' || (30 + g % 3))::inet],
       ARRAY[('10.' || g % 4 || '.0.0/16')::cidr], ARRAY[('08:00:2b:01:02:0' || g % 7)::macaddr],
       ARRAY[('08:00:2b:01:02:03:04:0' || g % 3)::macaddr8], ARRAY[(g % 8)::bit(3)],
       ARRAY[substr('10110', 1, g % 5)::varbit]
  FROM generate_series(1, 1000) g;
SELECT count(tally.create_metric('kit_' || c, 'kits', 'count_distinct', c)) AS created
  FROM unnest(ARRAY['times', 'zoned', 'spans', 'prices', 'blobs', 'hosts', 'nets', 'macs', 'macs8', 'bits',
                    'varbits']) c;
CREATE VIEW kits_compared AS
SELECT x.metric, tally.value('kit_' || x.metric) AS figure, x.live
  FROM (SELECT 'times' AS metric, count(DISTINCT times) AS live FROM kits
        UNION ALL SELECT 'zoned', count(DISTINCT zoned) FROM kits
        UNION ALL SELECT 'spans', count(DISTINCT spans) FROM kits
        UNION ALL SELECT 'prices', count(DISTINCT prices) FROM kits
        UNION ALL SELECT 'blobs', count(DISTINCT blobs) FROM kits
        UNION ALL SELECT 'hosts', count(DISTINCT hosts) FROM kits
        UNION ALL SELECT 'nets', count(DISTINCT nets) FROM kits
        UNION ALL SELECT 'macs', count(DISTINCT macs) FROM kits
        UNION ALL SELECT 'macs8', count(DISTINCT macs8) FROM kits
        UNION ALL SELECT 'bits', count(DISTINCT bits) FROM kits
        UNION ALL SELECT 'varbits', count(DISTINCT varbits) FROM kits) x;
SELECT * FROM kits_compared ORDER BY metric;
-- Changes pending, then folded: the same.
DELETE FROM kits WHERE id % 3 = 0;
UPDATE kits SET spans = ARRAY[make_interval(hours => id % 50)], hosts = ARRAY[('10.0.0.' || id % 9)::inet]
 WHERE id % 4 = 0;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM kits_compared;
SELECT tally.compact() >= 0 AS folded;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM kits_compared;
SELECT * FROM tally.verify() WHERE metric LIKE 'kit\_%';
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE name LIKE 'kit\_%';
DROP VIEW kits_compared;
DROP TABLE kits;

-- Refused: sum, avg over arrays; arrays of other types; text arrays in a nondeterministic
-- collation (their equality is not their bytes'; a build without ICU has none:
-- array_figures_1.out). A max over arrays (0.18.0) of which one is too long to keep in
-- order: its backfill refuses it, and nothing is defined.
SELECT tally.create_metric('top_ints', 'posts', 'max', 'ints');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('int_sum', 'posts', 'sum', 'ints');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('ranges', 'posts', 'count_distinct', 'ARRAY[int4range(id, id + 1)]');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('chars', 'posts', 'count_distinct', 'ARRAY[kind::char(3)]');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('documents', 'posts', 'count_distinct', 'ARRAY[id::text::jsonb]');
\echo :LAST_ERROR_SQLSTATE
CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE ci_posts (id int, tags text[] COLLATE case_blind);
SELECT tally.create_metric('ci_tags', 'ci_posts', 'count_distinct', 'tags');
\echo :LAST_ERROR_SQLSTATE

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics
 WHERE name LIKE '%_seen' OR name IN ('ints_by_kind', 'pairs', 'lengths');
DROP VIEW compared;
DROP TABLE posts;
DROP TABLE IF EXISTS ci_posts;
DROP COLLATION IF EXISTS case_blind;
DROP CAST (small[] AS text);
DROP FUNCTION loud(small[]);
DROP DOMAIN small, tag_list;
