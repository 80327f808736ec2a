-- jsonb (0.14.0): min, max and count_distinct, ordered and equated as Postgres does. Two
-- values are equal when jsonb says so: numbers as numerics (1.0 equals 1, 1e3 equals
-- 1000.000), everything else as written (key order and spacing on input do not matter,
-- a number inside a string does); JSON null is a value, SQL NULL is not. A long value is
-- counted by digest and refused by min and max. The typed reads, the snapshot (the JSON
-- values themselves) and the typed view.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN document AS jsonb CHECK (VALUE IS DISTINCT FROM '"forbidden"');
CREATE TABLE events (id serial PRIMARY KEY, kind text, payload jsonb, doc document);
INSERT INTO events (kind, payload, doc) VALUES
 ('a', '{"x": 1.0, "y": [2.50, "3.0"]}', '1'),
 ('a', '{"y": [2.5, "3.0"], "x": 1}', '1.0'),
 ('a', '{"y": [2.5, "3.00"], "x": 1}', '[1]'),
 ('a', '{"x": 1, "x": 2}', '"1"'),
 ('b', '1e3', '{}'),
 ('b', '1000.000', '[]'),
 ('b', '-0.0', 'null'),
 ('b', '0', '""'),
 ('c', '"a\"1.0"', 'true'),
 ('c', '"a\"1.00"', 'false'),
 ('c', '"\u00e9 \\ 2.0"', '{"a": {"b": [null, 0.10]}}'),
 ('c', 'null', '{"a": {"b": [null, 0.1]}}'),
 ('c', NULL, NULL);
SELECT tally.create_metric('payloads', 'events', 'count_distinct', 'payload', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('all_payloads', 'events', 'count_distinct', 'payload')->>'column_name';
SELECT tally.create_metric('docs', 'events', 'count_distinct', 'doc')->>'column_name';
SELECT tally.create_metric('top_payload', 'events', 'max', 'payload', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('least_payload', 'events', 'min', 'payload')->>'column_name';
SELECT tally.create_metric('top_doc', 'events', 'max', 'doc')->>'column_name';
SELECT tally.create_metric('least_y', 'events', 'min', $$payload -> 'y'$$)->>'column_name';
SELECT tally.create_metric('ys', 'events', 'count_distinct', $$payload -> 'y'$$)->>'column_name';

-- Each read against Postgres' own order and equality (jsonb has no min or max aggregate:
-- ORDER BY, then).
CREATE VIEW expected AS
SELECT (SELECT count(DISTINCT payload) FROM events) AS all_payloads,
       (SELECT count(DISTINCT doc) FROM events) AS docs,
       (SELECT payload FROM events WHERE payload IS NOT NULL ORDER BY payload LIMIT 1) AS least_payload,
       (SELECT doc FROM events WHERE doc IS NOT NULL ORDER BY doc DESC LIMIT 1) AS top_doc,
       (SELECT payload -> 'y' FROM events WHERE payload -> 'y' IS NOT NULL ORDER BY payload -> 'y' LIMIT 1) AS least_y,
       (SELECT count(DISTINCT payload -> 'y') FROM events) AS ys;
CREATE VIEW compared AS
SELECT tally.value('all_payloads') = e.all_payloads AS all_payloads,
       tally.value('docs') = e.docs AS docs,
       tally.value('least_payload', NULL::jsonb) IS NOT DISTINCT FROM e.least_payload AS least_payload,
       tally.value('top_doc', NULL::jsonb) IS NOT DISTINCT FROM e.top_doc AS top_doc,
       tally.value('least_y', NULL::jsonb) IS NOT DISTINCT FROM e.least_y AS least_y,
       tally.value('ys') = e.ys AS ys,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key) FROM tally.groups('payloads') g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || n ORDER BY kind)
                               FROM (SELECT kind, count(DISTINCT payload) AS n FROM events GROUP BY kind) t) AS payloads,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key)
          FROM tally.groups('top_payload', NULL::jsonb) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || m ORDER BY kind)
                               FROM (SELECT DISTINCT ON (kind) kind, payload AS m FROM events WHERE payload IS NOT NULL
                                      ORDER BY kind, payload DESC) t) AS top_payload
  FROM expected e;
SELECT * FROM compared;
SELECT * FROM tally.groups('payloads') ORDER BY group_key;
SELECT tally.value('all_payloads') AS all_payloads, tally.value('docs') AS docs, tally.value('ys') AS ys,
       tally.value('least_payload', NULL::jsonb) AS least_payload, tally.value('top_doc', NULL::jsonb) AS top_doc,
       tally.value('least_y', NULL::jsonb) AS least_y;
-- The maximum of a group is one of its values equal to the largest: 1e3 and 1000.000 are.
SELECT group_key, value, value = '1000'::jsonb AS equals_1000 FROM tally.groups('top_payload', NULL::jsonb)
 WHERE group_key = 'b';
-- Read as text, as a domain over jsonb.
SELECT tally.value('top_doc', NULL::text) AS top_doc_text, tally.value('top_doc', NULL::document) AS top_doc;

-- The extremes deleted and updated away, in one-row and several-row statements; a savepoint
-- rolled back; COPY.
DELETE FROM events WHERE doc = '{"a": {"b": [null, 0.1]}}';
UPDATE events SET payload = payload - 'x' WHERE kind = 'a';
UPDATE events SET payload = 'null' WHERE payload = '"\u00e9 \\ 2.0"';
BEGIN;
SAVEPOINT s;
INSERT INTO events (kind, payload, doc) VALUES ('a', '{"z": 9}', '{"z": 9}');
ROLLBACK TO SAVEPOINT s;
COPY events (kind, payload, doc) FROM stdin;
b	[1.10, {"k": "v"}]	[1.1, {"k": "v"}]
b	[1.1, {"k": "v"}]	\N
\.
COMMIT;
SELECT * FROM compared;
DELETE FROM events WHERE payload IS NULL OR payload = 'null';
SELECT * FROM compared;
SELECT * FROM tally.verify() WHERE metric IN ('payloads', 'all_payloads', 'docs', 'top_payload', 'least_payload',
                                              'top_doc', 'least_y', 'ys');

-- 3000 random documents whose numbers come with random scales (2.50 and 2.5 alike): every
-- figure against Postgres'.
SELECT setseed(0.22);
INSERT INTO events (kind, payload, doc)
SELECT (ARRAY['a', 'b', 'c', 'd'])[1 + g % 4],
       CASE (random() * 4)::int
            WHEN 0 THEN to_jsonb(round((random() * 20)::numeric, (random() * 3)::int))
            WHEN 1 THEN jsonb_build_object('n', round((random() * 5)::numeric, (random() * 3)::int),
                                           's', round((random() * 2)::numeric, (random() * 2)::int)::text)
            WHEN 2 THEN jsonb_build_array(round((random() * 3)::numeric, (random() * 2)::int),
                                          jsonb_build_object('m', -round((random() * 2)::numeric, (random() * 2)::int)))
            WHEN 3 THEN to_jsonb(round((random() * 3)::numeric, (random() * 2)::int)::text)
            ELSE 'null'::jsonb
       END,
       to_jsonb(round((random() * 100)::numeric, (random() * 4)::int))
  FROM generate_series(1, 3000) g;
SELECT count(*) > count(DISTINCT payload) AND count(DISTINCT payload) > count(DISTINCT payload::text) - 1000
       AS equal_values_written_apart FROM events;
SELECT * FROM compared;
SELECT count(*) AS differing FROM tally.groups('payloads') g
  FULL JOIN (SELECT kind, count(DISTINCT payload) AS n FROM events GROUP BY kind) e ON e.kind = g.group_key
 WHERE g.value IS DISTINCT FROM e.n;
SELECT * FROM tally.verify() WHERE metric IN ('payloads', 'all_payloads', 'docs', 'top_payload', 'least_payload',
                                              'top_doc', 'least_y', 'ys');
DELETE FROM events WHERE id > 13;

-- Long values: count_distinct counts them by digest (two long values differing in their last
-- character apart, a repeat not, and one with 1.0 for 1 the same); min and max refuse them in
-- the writer's statement.
SELECT tally.drop_metric('top_payload') IS NOT NULL AS dropped;
SELECT tally.drop_metric('least_payload') IS NOT NULL AS dropped;
SELECT tally.drop_metric('least_y') IS NOT NULL AS dropped;
INSERT INTO events (kind, payload) VALUES ('d', jsonb_build_array(repeat('ab', 400), 1)),
                                          ('d', jsonb_build_array(repeat('ab', 400), 2)),
                                          ('d', jsonb_build_array(repeat('ab', 400), 1.0)),
                                          ('d', jsonb_build_array(repeat('ab', 400), 1));
SELECT tally.value('all_payloads') = (SELECT count(DISTINCT payload) FROM events) AS all_payloads_exact,
       tally.value('all_payloads');
SELECT tally.create_metric('top_payload', 'events', 'max', 'payload');
DELETE FROM events WHERE kind = 'd';
SELECT tally.create_metric('top_payload', 'events', 'max', 'payload', group_by => 'kind')->>'column_name';
INSERT INTO events (kind, payload) VALUES ('d', to_jsonb(repeat('x', 599)));
INSERT INTO events (kind, payload) VALUES ('d', to_jsonb(repeat('x', 598)));
SELECT group_key, octet_length(value) AS top_payload_bytes FROM tally.groups('top_payload', NULL::text)
 WHERE group_key = 'd';
DELETE FROM events WHERE kind = 'd';

-- The snapshot carries the JSON values themselves (numbers as written); the typed view's
-- columns are jsonb, JSON null a NULL there.
SELECT tally.create_dashboard('events_board', ARRAY['payloads', 'all_payloads', 'top_payload', 'top_doc'],
                              'events_board_view');
SELECT tally.snapshot('events_board') - 'as_of' AS snapshot;
SELECT payloads, all_payloads, top_payload, top_doc FROM events_board_view;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
 WHERE a.attrelid = 'events_board_view'::regclass AND a.attnum > 2 ORDER BY a.attnum;
CREATE TABLE nulls_only (id int, j jsonb);
INSERT INTO nulls_only VALUES (1, 'null');
SELECT tally.create_metric('null_max', 'nulls_only', 'max', 'j')->>'column_name';
SELECT tally.create_dashboard('nulls_board', ARRAY['null_max'], 'nulls_board_view');
SELECT tally.value('null_max', NULL::jsonb) AS figure, tally.snapshot('nulls_board') -> 'null_max' AS in_snapshot,
       null_max IS NULL AS null_in_view FROM nulls_board_view;

-- Refused: a jsonb summed; json (no equality); a figure read as json.
SELECT tally.create_metric('payload_sum', 'events', 'sum', 'payload');
CREATE TABLE raw_events (id int, body json);
SELECT tally.create_metric('bodies', 'raw_events', 'count_distinct', 'body');
SELECT tally.value('top_doc', NULL::json);

SELECT tally.drop_dashboard('events_board');
SELECT tally.drop_dashboard('nulls_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics
 WHERE name IN ('payloads', 'all_payloads', 'docs', 'top_payload', 'top_doc', 'ys', 'null_max');
DROP VIEW compared, expected;
DROP TABLE events, nulls_only, raw_events;
DROP DOMAIN document;
