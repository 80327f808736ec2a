-- min and max over arrays (0.18.0): "the latest app version" over an int[] of its parts,
-- "the first tag list" over a text[] in C. Kept by a key in array_cmp's order
-- (src/model/ordered_array.rs): elements first (a NULL above every value), then fewer
-- elements, fewer dimensions, shorter dimensions, smaller lower bounds. Figures are arrays of
-- the column's own array type, written as array_out writes them (ISO 8601 inside, a
-- timestamptz in UTC); compared here with Postgres' own max(anyarray) and min(anyarray).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN version_d AS int[] CHECK (cardinality(VALUE) <= 4);
CREATE DOMAIN small_d AS smallint CHECK (VALUE >= 0);
CREATE TABLE releases (
    id serial PRIMARY KEY, app text, version version_d, parts small_d[], tags text[] COLLATE "C",
    amounts numeric[], seen timestamptz[], spans interval[], blobs bytea[], flags boolean[],
    ratios float8[], days date[], shifts timetz[], prices money[], ids uuid[]);
SELECT tally.create_metric('latest_version', 'releases', 'max', 'version', group_by => 'app')->>'column_name';
SELECT tally.create_metric('first_parts', 'releases', 'min', 'parts')->>'column_name';
SELECT tally.create_metric('first_tags', 'releases', 'min', 'tags', group_by => 'app')->>'column_name';
SELECT tally.create_metric('top_amounts', 'releases', 'max', 'amounts')->>'column_name';
SELECT tally.create_metric('last_seen', 'releases', 'max', 'seen')->>'column_name';
SELECT tally.create_metric('longest_spans', 'releases', 'max', 'spans')->>'column_name';
SELECT tally.create_metric('first_blobs', 'releases', 'min', 'blobs')->>'column_name';
SELECT tally.create_metric('top_flags', 'releases', 'max', 'flags')->>'column_name';
SELECT tally.create_metric('top_ratios', 'releases', 'max', 'ratios')->>'column_name';
SELECT tally.create_metric('first_days', 'releases', 'min', 'days')->>'column_name';
SELECT tally.create_metric('last_shifts', 'releases', 'max', 'shifts')->>'column_name';
SELECT tally.create_metric('top_prices', 'releases', 'max', 'prices')->>'column_name';
SELECT tally.create_metric('first_ids', 'releases', 'min', 'ids')->>'column_name';
-- A value expression: the version's first two parts, by app.
SELECT tally.create_metric('latest_minor', 'releases', 'max', 'version[1:2]', group_by => 'app')->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'releases'::regclass ORDER BY 1;

-- Rows under other settings: the same arrays.
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -5;
INSERT INTO releases (app, version, parts, tags, amounts, seen, spans, blobs, flags, ratios, days, shifts, prices, ids) VALUES
 ('a', '{1,2,10}', '{1,2}', '{b,"x y"}', '{1.50,2}', '{"2026-01-01 10:00+02"}', '{"1 day","1 mon"}',
  '{"\\x00",NULL}', '{t}', '{0.1,-0}', '{2026-12-05}', '{"12:00+01"}', '{1.25}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'),
 ('a', '{1,10}', '{1,2,0}', '{a,"q\"uote"}', '{1.5,3}', '{infinity}', '{"30 days"}',
  '{"\\x0001"}', '{f,NULL}', '{NaN}', '{-infinity}', '{"11:00+00"}', '{-3}', '{00000000-0000-0000-0000-000000000000}'),
 ('b', '[0:1]={1,2}', '[0:0]={7}', '{}', '{NaN}', '{NULL}', '{"-1 year"}', '{}', '{}', '{Infinity,1}',
  '{NULL,2000-01-01}', '{}', '{}', '{}'),
 ('b', '{{1,2},{3,4}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (NULL, '{}', '{}', '{"",NULL}', '{-0.0}', '{"1999-12-31 23:00-01"}', '{PT0S}', '{"\\x"}', '{NULL}', '{-Infinity}',
  '{2000-01-01}', '{"23:59:59+15:59"}', '{0}', '{NULL}');
COPY releases (app, version, tags) FROM stdin;
c	{3,0}	{zz}
c	{3}	{"zz",NULL}
\.
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;

-- Each figure against Postgres' own min or max, as an array (NULL::type), and its text read
-- back under this session's settings (pg_regress': DateStyle Postgres, TimeZone PST8PDT).
CREATE VIEW releases_compared AS
SELECT 'latest_version' AS metric, coalesce(g.group_key, l.app) AS group_key,
       g.value IS NOT DISTINCT FROM l.v AS same,
       t.value::int[] IS NOT DISTINCT FROM l.v AS same_text
  FROM tally.groups('latest_version', NULL::int[]) g
  JOIN tally.groups('latest_version', NULL::text) t ON t.group_key IS NOT DISTINCT FROM g.group_key
  FULL JOIN (SELECT app, max(version::int[]) AS v FROM releases GROUP BY app) l
    ON coalesce(l.app, '(none)') = coalesce(g.group_key, '(none)')
UNION ALL
SELECT 'latest_minor', coalesce(g.group_key, l.app), g.value IS NOT DISTINCT FROM l.v,
       t.value::int[] IS NOT DISTINCT FROM l.v
  FROM tally.groups('latest_minor', NULL::int[]) g
  JOIN tally.groups('latest_minor', NULL::text) t ON t.group_key IS NOT DISTINCT FROM g.group_key
  FULL JOIN (SELECT app, max(version[1:2]) AS v FROM releases GROUP BY app) l
    ON coalesce(l.app, '(none)') = coalesce(g.group_key, '(none)')
UNION ALL
SELECT 'first_tags', coalesce(g.group_key, l.app), g.value IS NOT DISTINCT FROM l.v,
       t.value::text[] IS NOT DISTINCT FROM l.v
  FROM tally.groups('first_tags', NULL::text[]) g
  JOIN tally.groups('first_tags', NULL::text) t ON t.group_key IS NOT DISTINCT FROM g.group_key
  FULL JOIN (SELECT app, min(tags) AS v FROM releases GROUP BY app) l
    ON coalesce(l.app, '(none)') = coalesce(g.group_key, '(none)')
UNION ALL
SELECT 'first_parts', NULL, f IS NOT DISTINCT FROM l, t::smallint[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_parts', NULL::smallint[]) f, tally.value('first_parts', NULL::text) t,
               (SELECT min(parts::smallint[]) FROM releases) l) x
UNION ALL
SELECT 'top_amounts', NULL, f IS NOT DISTINCT FROM l, t::numeric[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_amounts', NULL::numeric[]) f, tally.value('top_amounts', NULL::text) t,
               (SELECT max(amounts) FROM releases) l) x
UNION ALL
SELECT 'last_seen', NULL, f IS NOT DISTINCT FROM l, t::timestamptz[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('last_seen', NULL::timestamptz[]) f, tally.value('last_seen', NULL::text) t,
               (SELECT max(seen) FROM releases) l) x
UNION ALL
SELECT 'first_blobs', NULL, f IS NOT DISTINCT FROM l, t::bytea[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_blobs', NULL::bytea[]) f, tally.value('first_blobs', NULL::text) t,
               (SELECT min(blobs) FROM releases) l) x
UNION ALL
SELECT 'top_flags', NULL, f IS NOT DISTINCT FROM l, t::boolean[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_flags', NULL::boolean[]) f, tally.value('top_flags', NULL::text) t,
               (SELECT max(flags) FROM releases) l) x
UNION ALL
SELECT 'top_ratios', NULL, f IS NOT DISTINCT FROM l, t::float8[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_ratios', NULL::float8[]) f, tally.value('top_ratios', NULL::text) t,
               (SELECT max(ratios) FROM releases) l) x
UNION ALL
SELECT 'first_days', NULL, f IS NOT DISTINCT FROM l, t::date[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_days', NULL::date[]) f, tally.value('first_days', NULL::text) t,
               (SELECT min(days) FROM releases) l) x
UNION ALL
SELECT 'last_shifts', NULL, f IS NOT DISTINCT FROM l, t::timetz[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('last_shifts', NULL::timetz[]) f, tally.value('last_shifts', NULL::text) t,
               (SELECT max(shifts) FROM releases) l) x
UNION ALL
SELECT 'top_prices', NULL, f IS NOT DISTINCT FROM l, t::money[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_prices', NULL::money[]) f, tally.value('top_prices', NULL::text) t,
               (SELECT max(prices) FROM releases) l) x
UNION ALL
SELECT 'first_ids', NULL, f IS NOT DISTINCT FROM l, t::uuid[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_ids', NULL::uuid[]) f, tally.value('first_ids', NULL::text) t,
               (SELECT min(ids) FROM releases) l) x;
-- An interval figure is justified ('30 days' and '1 mon' are one value): compared as values.
CREATE VIEW spans_compared AS
SELECT tally.value('longest_spans', NULL::interval[]) = (SELECT max(spans) FROM releases) AS same,
       tally.value('longest_spans', NULL::text) AS figure_text;
SELECT metric, group_key, same, same_text FROM releases_compared ORDER BY 1, 2;
SELECT * FROM spans_compared;
-- The figures' text: array_out's form (a lower bound other than 1 shown; quoted where
-- needed), each element as the figure of its type is written (ISO 8601, a timestamptz in
-- UTC; a numeric in its shortest form; a timetz with its zone's minutes).
SELECT group_key, value FROM tally.groups('latest_version', NULL::text) ORDER BY 1;
SELECT tally.value('first_tags', NULL::text) AS any_group, tally.value('top_ratios', NULL::text) AS ratios,
       tally.value('first_days', NULL::text) AS days, tally.value('last_seen', NULL::text) AS seen;

-- The extremes deleted or updated away, pending and then folded: the next ones.
UPDATE releases SET seen = '{2020-01-01}' WHERE seen = '{infinity}';
DELETE FROM releases WHERE version = '{1,10}';
UPDATE releases SET version = '{1,2,11}', tags = '{"",""}' WHERE version = '{1,2,10}';
SELECT metric, group_key FROM releases_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM releases WHERE version = '[0:1]={1,2}';
SELECT metric, group_key FROM releases_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT same FROM spans_compared;
SELECT tally.value('last_seen', NULL::text) AS seen, tally.value('top_amounts', NULL::text) AS amounts,
       tally.value('first_days', NULL::text) AS days, tally.value('last_shifts', NULL::text) AS shifts,
       tally.value('top_prices', NULL::text) AS prices, tally.value('first_blobs', NULL::text) AS blobs;
SELECT * FROM tally.verify();

-- The snapshot carries each figure's text; the typed view the arrays themselves.
SELECT tally.create_dashboard('releases_board', ARRAY['latest_version', 'last_seen', 'first_parts'],
                              view_name => 'releases_board_view');
SELECT s -> 'latest_version' AS snapshot_versions, s -> 'last_seen' AS snapshot_seen FROM tally.snapshot('releases_board') s;
SELECT v.last_seen = (SELECT max(seen) FROM releases) AS view_seen, pg_typeof(v.last_seen) AS seen_type,
       pg_typeof(v.first_parts) AS parts_type
  FROM releases_board_view v;
SELECT tally.drop_dashboard('releases_board');
-- A figure reads as its array type, text or a domain over its type; not as another array.
SELECT tally.value('latest_version', NULL::version_d) AS as_domain;
SELECT tally.value('top_amounts', NULL::int[]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('top_amounts');
\echo :LAST_ERROR_SQLSTATE

-- Refused in the writer's statement, naming the metric, nothing applied: an array whose key
-- is too long to keep in order, a time with time zone past what timetz input reads back.
INSERT INTO releases (app, tags) SELECT 'long', array_agg(repeat('x', 30)) FROM generate_series(1, 30);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO releases (app, shifts) VALUES ('far', ARRAY[timezone(interval '20 hours', '10:00+00'::timetz)]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS refused_rows FROM releases WHERE app IN ('long', 'far');

-- Arrays of network addresses and bit strings (0.19.0): in their type's order (inet and
-- cidr as network_cmp orders them: by the bits both masks cover, then the shorter mask,
-- then the whole address, IPv4 first; macaddr by bytes; a bit string a prefix first), not
-- their texts'. Figures are Postgres' own text of each element; an array of bit(n) reads
-- as varbit[], as a bit string's figure does.
CREATE DOMAIN nets_d AS inet[] CHECK (cardinality(VALUE) <= 8);
CREATE TABLE hosts (id serial PRIMARY KEY, rack text, addrs nets_d, nets cidr[], macs macaddr[],
                    macs8 macaddr8[], flags bit(3)[], bits varbit[]);
SELECT tally.create_metric('top_addrs', 'hosts', 'max', 'addrs', group_by => 'rack')->>'column_name';
SELECT tally.create_metric('first_addrs', 'hosts', 'min', 'addrs')->>'column_name';
SELECT tally.create_metric('top_nets', 'hosts', 'max', 'nets')->>'column_name';
SELECT tally.create_metric('first_macs', 'hosts', 'min', 'macs')->>'column_name';
SELECT tally.create_metric('top_macs8', 'hosts', 'max', 'macs8')->>'column_name';
SELECT tally.create_metric('top_flags3', 'hosts', 'max', 'flags')->>'column_name';
SELECT tally.create_metric('first_bits', 'hosts', 'min', 'bits')->>'column_name';
SELECT tally.create_metric('top_hosts', 'hosts', 'max', 'ARRAY[host(addrs[1])::inet]')->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'hosts'::regclass ORDER BY 1;
INSERT INTO hosts (rack, addrs, nets, macs, macs8, flags, bits) VALUES
 ('r1', '{10.0.0.9,::1}', '{10.0.0.0/8}', '{08:00:2b:01:02:03}', '{08:00:2b:01:02:03:04:05}', '{101,011}', '{1,"",10}'),
 ('r1', '{10.0.0.10}', '{10.0.0.0/16}', '{08-00-2B-01-02-0A}', '{0800.2b01.0203.0405}', '{111}', '{0}'),
 ('r2', '{10.255.0.1/8}', '{10.128.0.0/9,NULL}', '{ff:ff:ff:ff:ff:ff}', '{00:00:00:00:00:00:00:00}', '{000,NULL}', '{}'),
 ('r2', '{::ffff:1.2.3.4/120,NULL}', '{2001:db8::/32}', NULL, NULL, '{}', '{01,1}'),
 (NULL, '{0.0.0.0/0}', '{::/0}', '{}', '{}', NULL, '{10000000,1}');
COPY hosts (rack, addrs, nets, bits) FROM stdin;
r3	{2001:db8::1,10.0.0.1}	{192.168.0.0/24}	{1000000001}
r3	{2001:db8::/64}	\N	{0111111}
\.
CREATE VIEW hosts_compared AS
SELECT 'top_addrs' AS metric, coalesce(g.group_key, l.rack) AS group_key,
       g.value IS NOT DISTINCT FROM l.v AS same, t.value::inet[] IS NOT DISTINCT FROM l.v AS same_text
  FROM tally.groups('top_addrs', NULL::inet[]) g
  JOIN tally.groups('top_addrs', NULL::text) t ON t.group_key IS NOT DISTINCT FROM g.group_key
  FULL JOIN (SELECT rack, max(addrs::inet[]) AS v FROM hosts GROUP BY rack) l
    ON coalesce(l.rack, '(none)') = coalesce(g.group_key, '(none)')
UNION ALL
SELECT 'first_addrs', NULL, f IS NOT DISTINCT FROM l, t::inet[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_addrs', NULL::inet[]) f, tally.value('first_addrs', NULL::text) t,
               (SELECT min(addrs::inet[]) FROM hosts) l) x
UNION ALL
SELECT 'top_nets', NULL, f IS NOT DISTINCT FROM l, t::cidr[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_nets', NULL::cidr[]) f, tally.value('top_nets', NULL::text) t,
               (SELECT max(nets) FROM hosts) l) x
UNION ALL
SELECT 'first_macs', NULL, f IS NOT DISTINCT FROM l, t::macaddr[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_macs', NULL::macaddr[]) f, tally.value('first_macs', NULL::text) t,
               (SELECT min(macs) FROM hosts) l) x
UNION ALL
SELECT 'top_macs8', NULL, f IS NOT DISTINCT FROM l, t::macaddr8[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_macs8', NULL::macaddr8[]) f, tally.value('top_macs8', NULL::text) t,
               (SELECT max(macs8) FROM hosts) l) x
UNION ALL
SELECT 'top_flags3', NULL, f IS NOT DISTINCT FROM l, t::varbit[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_flags3', NULL::varbit[]) f, tally.value('top_flags3', NULL::text) t,
               (SELECT max(flags)::varbit[] FROM hosts) l) x
UNION ALL
SELECT 'first_bits', NULL, f IS NOT DISTINCT FROM l, t::varbit[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_bits', NULL::varbit[]) f, tally.value('first_bits', NULL::text) t,
               (SELECT min(bits) FROM hosts) l) x
UNION ALL
SELECT 'top_hosts', NULL, f IS NOT DISTINCT FROM l, t::inet[] IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_hosts', NULL::inet[]) f, tally.value('top_hosts', NULL::text) t,
               (SELECT max(ARRAY[host(addrs[1])::inet]) FROM hosts) l) x;
SELECT metric, group_key, same, same_text FROM hosts_compared ORDER BY 1, 2;
-- The figures' text is Postgres' own for each element (an IPv6 address in its short form).
SELECT group_key, value FROM tally.groups('top_addrs', NULL::text) ORDER BY 1;
SELECT tally.value('first_addrs', NULL::text) AS addrs, tally.value('top_nets', NULL::text) AS nets,
       tally.value('first_macs', NULL::text) AS macs, tally.value('top_macs8', NULL::text) AS macs8,
       tally.value('top_flags3', NULL::text) AS flags, tally.value('first_bits', NULL::text) AS bits;
-- The extremes deleted or updated away, pending and then folded.
DELETE FROM hosts WHERE nets = '{::/0}';
UPDATE hosts SET macs = '{00:00:00:00:00:01}', flags = '{110}' WHERE flags = '{111}';
SELECT metric, group_key FROM hosts_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM hosts WHERE rack = 'r3';
SELECT metric, group_key FROM hosts_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT tally.value('first_addrs', NULL::text) AS addrs, tally.value('first_macs', NULL::text) AS macs,
       tally.value('top_flags3', NULL::text) AS flags;
SELECT * FROM tally.verify() WHERE metric IN (SELECT name FROM tally.metrics WHERE source = 'hosts'::regclass);
SELECT tally.create_dashboard('hosts_board', ARRAY['top_addrs', 'first_macs', 'top_flags3'],
                              view_name => 'hosts_board_view');
SELECT tally.snapshot('hosts_board') - 'as_of' AS snapshot;
SELECT pg_typeof(top_addrs) AS addrs_type, pg_typeof(first_macs) AS macs_type,
       pg_typeof(top_flags3) AS flags_type, first_macs = (SELECT min(macs) FROM hosts) AS same
  FROM hosts_board_view;
-- A reader's array_nulls = off (found by a hostile probe): the typed reads and the typed view
-- still read a NULL element as NULL (an inet array's "NULL" was an error, a text array's the
-- text 'NULL').
INSERT INTO hosts (rack, addrs, macs, flags) VALUES ('r4', '{NULL}', '{NULL,ff:ff:ff:ff:ff:ff}', '{NULL}');
SET array_nulls = off;
SELECT value, value[1] IS NULL AS null_element FROM tally.groups('top_addrs', NULL::inet[]) WHERE group_key = 'r4';
SELECT tally.value('top_flags3', NULL::varbit[]) AS flags, (tally.value('top_flags3', NULL::varbit[]))[1] IS NULL AS null_element;
SELECT first_macs = (SELECT min(macs) FROM hosts) AS same, top_flags3[1] IS NULL AS null_element FROM hosts_board_view;
SELECT group_key, value, value[2] IS NULL AS null_element FROM tally.groups('first_tags', NULL::text[])
 WHERE array_position(value, NULL) IS NOT NULL OR 'NULL' = ANY (value);
RESET array_nulls;
DELETE FROM hosts WHERE rack = 'r4';
SELECT tally.drop_dashboard('hosts_board');
-- An array of IPv6 networks whose key passes 600 bytes (about 75 bytes each): refused in
-- the writer's statement, nothing applied.
INSERT INTO hosts (rack, nets) VALUES ('long', ARRAY(SELECT ('2001:db8:1234:5678:9abc:def0:1234:' || g || '/128')::cidr FROM generate_series(1, 10) g));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS refused_rows FROM hosts WHERE rack = 'long';

-- Refused definitions: an array of text in a collation whose order is not its bytes' (this
-- database's default, C.UTF-8: give it "C"), of a type min and max do not keep in order (an
-- enum's, a point's); an int2vector (found by a hostile probe: its figures were int2[]).
CREATE TYPE mood_e AS ENUM ('low', 'high');
CREATE TABLE loose_arrays (id int, tags text[], points point[], moods mood_e[], iv int2vector);
SELECT tally.create_metric('tags_max', 'loose_arrays', 'max', 'tags');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('c_tags_max', 'loose_arrays', 'max', 'tags COLLATE "C"')->>'column_name';
SELECT tally.create_metric('points_max', 'loose_arrays', 'max', 'points');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('moods_min', 'loose_arrays', 'min', 'moods');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('iv_max', 'loose_arrays', 'max', 'iv');
\echo :LAST_ERROR_SQLSTATE
-- Hand calls of the encoder: an array of a type it keeps, an array of one it does not.
SELECT tally._tracked_ordered('x', '{1}'::int[]) IS NOT NULL AS keyed;
SELECT tally._tracked_ordered('x', '{10.0.0.1}'::inet[]) IS NOT NULL AS keyed;
SELECT tally._tracked_ordered('x', '{"(1,2)"}'::point[]);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW releases_compared;
DROP VIEW spans_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'releases'::regclass;
DROP TABLE releases;
DROP VIEW hosts_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'hosts'::regclass;
DROP TABLE hosts;
DROP DOMAIN nets_d;
SELECT tally.drop_metric('c_tags_max');
DROP TABLE loose_arrays;
DROP TYPE mood_e;
DROP DOMAIN version_d;
DROP DOMAIN small_d;
RESET client_min_messages;
