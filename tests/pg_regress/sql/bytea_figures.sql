-- bytea, bit and varbit (0.13.0): min, max and count_distinct, ordered and equated as Postgres
-- does (bytes or bits first, then length), zero bytes and empty values kept apart; a long
-- value counted by digest, refused by min and max; the typed reads, the snapshot and the
-- typed view.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN flags4 AS bit(4);
CREATE TABLE blobs (id serial PRIMARY KEY, kind text, body bytea, flags flags4, mask varbit);
INSERT INTO blobs (kind, body, flags, mask) VALUES
 ('a', '\x00', B'0000', B''),
 ('a', '\x', B'1010', B'1'),
 ('a', '\x0000', B'1111', B'10'),
 ('b', '\xff', NULL, B'0'),
 ('b', '\xfe01', B'0001', NULL),
 ('b', NULL, B'0001', B'01'),
 ('c', '\x41', B'1000', B'100'),
 ('c', '\x4100', B'1000', B'1'),
 ('c', '\x4163', B'0110', B'0');
SELECT tally.create_metric('first_body', 'blobs', 'min', 'body')->>'column_name';
SELECT tally.create_metric('last_body', 'blobs', 'max', 'body', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('bodies', 'blobs', 'count_distinct', 'body', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('top_flags', 'blobs', 'max', 'flags')->>'column_name';
SELECT tally.create_metric('flag_sets', 'blobs', 'count_distinct', 'flags')->>'column_name';
SELECT tally.create_metric('least_mask', 'blobs', 'min', 'mask')->>'column_name';
SELECT tally.create_metric('top_mask', 'blobs', 'max', 'mask', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('masks', 'blobs', 'count_distinct', 'mask')->>'column_name';
SELECT tally.create_metric('tail_byte', 'blobs', 'max', 'substr(body, 2)')->>'column_name';

-- Each read against Postgres' own order and equality (bytea and bit strings have no min or
-- max aggregate: ORDER BY, then).
CREATE VIEW expected AS
SELECT (SELECT body FROM blobs WHERE body IS NOT NULL ORDER BY body LIMIT 1) AS first_body,
       (SELECT body FROM blobs WHERE body IS NOT NULL ORDER BY body DESC LIMIT 1) AS last_body,
       (SELECT count(DISTINCT body) FROM blobs) AS bodies,
       (SELECT flags FROM blobs WHERE flags IS NOT NULL ORDER BY flags DESC LIMIT 1) AS top_flags,
       (SELECT count(DISTINCT flags) FROM blobs) AS flag_sets,
       (SELECT mask FROM blobs WHERE mask IS NOT NULL ORDER BY mask LIMIT 1) AS least_mask,
       (SELECT mask FROM blobs WHERE mask IS NOT NULL ORDER BY mask DESC LIMIT 1) AS top_mask,
       (SELECT count(DISTINCT mask) FROM blobs) AS masks,
       (SELECT substr(body, 2) FROM blobs WHERE body IS NOT NULL ORDER BY substr(body, 2) DESC LIMIT 1) AS tail_byte;
CREATE VIEW compared AS
SELECT tally.value('first_body', NULL::bytea) IS NOT DISTINCT FROM e.first_body AS first_body,
       tally.value('last_body', NULL::bytea) IS NOT DISTINCT FROM e.last_body AS last_body,
       tally.value('bodies') = e.bodies AS bodies,
       tally.value('top_flags', NULL::varbit) IS NOT DISTINCT FROM e.top_flags AS top_flags,
       tally.value('flag_sets') = e.flag_sets AS flag_sets,
       tally.value('least_mask', NULL::varbit) IS NOT DISTINCT FROM e.least_mask AS least_mask,
       tally.value('top_mask', NULL::varbit) IS NOT DISTINCT FROM e.top_mask AS top_mask,
       tally.value('masks') = e.masks AS masks,
       tally.value('tail_byte', NULL::bytea) IS NOT DISTINCT FROM e.tail_byte AS tail_byte,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key)
          FROM tally.groups('last_body', NULL::bytea) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || m ORDER BY kind)
                               FROM (SELECT DISTINCT ON (kind) kind, body AS m FROM blobs WHERE body IS NOT NULL
                                      ORDER BY kind, body DESC) t) AS last_body_groups,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key) FROM tally.groups('bodies') g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || n ORDER BY kind)
                               FROM (SELECT kind, count(DISTINCT body) AS n FROM blobs GROUP BY kind) t) AS bodies_groups,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key)
          FROM tally.groups('top_mask', NULL::varbit) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || m ORDER BY kind)
                               FROM (SELECT DISTINCT ON (kind) kind, mask AS m FROM blobs WHERE mask IS NOT NULL
                                      ORDER BY kind, mask DESC) t) AS top_mask_groups
  FROM expected e;
SELECT * FROM compared;
SELECT tally.value('first_body', NULL::bytea) AS first_body, tally.value('last_body', NULL::bytea) AS last_body,
       tally.value('bodies') AS bodies, tally.value('top_flags', NULL::varbit) AS top_flags,
       tally.value('flag_sets') AS flag_sets, tally.value('least_mask', NULL::varbit) AS least_mask,
       tally.value('top_mask', NULL::varbit) AS top_mask, tally.value('masks') AS masks;
SELECT * FROM tally.groups('last_body', NULL::bytea) ORDER BY group_key;
SELECT * FROM tally.groups('top_mask', NULL::text) ORDER BY group_key;
-- bytea's text is its hex form, whatever bytea_output says.
SET bytea_output = escape;
SELECT tally.value('last_body', NULL::text) AS last_body_text, tally.value('last_body', NULL::bytea) AS last_body;
RESET bytea_output;

-- The extremes deleted and updated away, in one-row and several-row statements; a savepoint
-- rolled back; COPY. (\x4163 is kept as 0.066100: its last digits are zeros, which numeric's
-- text drops, and it reads back whole.)
DELETE FROM blobs WHERE body = '\xff';
UPDATE blobs SET mask = B'0' || mask WHERE mask = B'100';
UPDATE blobs SET flags = B'0111' WHERE flags = B'1111';
UPDATE blobs SET body = '\x' WHERE body IN ('\x00', '\x0000');
BEGIN;
SAVEPOINT s;
INSERT INTO blobs (kind, body, flags, mask) VALUES ('a', '\xffff', B'1111', B'11111');
ROLLBACK TO SAVEPOINT s;
COPY blobs (kind, body, flags, mask) FROM stdin;
c	\\x4100	1001	0000
c	\\x00ff	0000	\N
\.
COMMIT;
SELECT * FROM compared;
-- The minimums too: the empty values deleted.
DELETE FROM blobs WHERE body = '\x' OR mask = B'';
SELECT * FROM compared;
SELECT tally.value('first_body', NULL::bytea) AS first_body, tally.value('last_body', NULL::bytea) AS last_body,
       tally.value('bodies') AS bodies, tally.value('top_flags', NULL::varbit) AS top_flags,
       tally.value('least_mask', NULL::varbit) AS least_mask, tally.value('top_mask', NULL::varbit) AS top_mask;
SELECT * FROM tally.verify() WHERE metric IN ('first_body', 'last_body', 'bodies', 'top_flags', 'flag_sets',
                                              'least_mask', 'top_mask', 'masks', 'tail_byte');

-- Long values: count_distinct counts them by digest (two long values differing in their last
-- byte apart, a repeat not); min and max refuse them in the writer's statement.
SELECT tally.drop_metric('first_body') IS NOT NULL AS dropped;
SELECT tally.drop_metric('last_body') IS NOT NULL AS dropped;
SELECT tally.drop_metric('tail_byte') IS NOT NULL AS dropped;
INSERT INTO blobs (kind, body) VALUES ('d', decode(repeat('ab', 700) || '01', 'hex')),
                                      ('d', decode(repeat('ab', 700) || '02', 'hex')),
                                      ('d', decode(repeat('ab', 700) || '01', 'hex'));
SELECT tally.value('bodies') = (SELECT count(DISTINCT body) FROM blobs) AS bodies_exact, tally.value('bodies');
SELECT tally.create_metric('last_body', 'blobs', 'max', 'body');
DELETE FROM blobs WHERE kind = 'd';
SELECT tally.create_metric('last_body', 'blobs', 'max', 'body')->>'column_name';
INSERT INTO blobs (kind, body) VALUES ('d', decode(repeat('ab', 601), 'hex'));
INSERT INTO blobs (kind, mask) VALUES ('d', repeat('1', 601)::varbit);
INSERT INTO blobs (kind, body, mask) VALUES ('d', decode(repeat('ff', 600), 'hex'), repeat('1', 600)::varbit);
SELECT length(tally.value('last_body', NULL::bytea)) AS last_body_bytes, length(tally.value('top_mask', NULL::varbit)) AS top_mask_bits;

-- The snapshot carries hex and bit strings; the typed view's columns have the figures' types.
DELETE FROM blobs WHERE kind = 'd';
SELECT tally.create_dashboard('blobs_board', ARRAY['last_body', 'bodies', 'top_flags', 'least_mask', 'top_mask'],
                              'blobs_board_view');
SELECT tally.snapshot('blobs_board') - 'as_of' AS snapshot;
SELECT last_body, bodies, top_flags, least_mask, top_mask FROM blobs_board_view;
SET bytea_output = escape;
SELECT tally.snapshot('blobs_board') -> 'last_body' AS last_body, last_body AS in_view FROM blobs_board_view;
RESET bytea_output;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
 WHERE a.attrelid = 'blobs_board_view'::regclass AND a.attnum > 2 ORDER BY a.attnum;

-- Refused: a bytea summed; a bit string read as bit (a bare bit is bit(1)) or bytea; a bytea
-- as varbit.
SELECT tally.create_metric('body_sum', 'blobs', 'sum', 'body');
SELECT tally.value('top_flags', NULL::bit);
SELECT tally.value('top_mask', NULL::bytea);
SELECT tally.value('last_body', NULL::varbit);

-- A typed read as char keeps the whole figure (a bare char in a cast is char(1)); a type oid
-- that is no type gets a clean 42804.
SELECT tally.value('top_flags', NULL::char(2)) AS as_char, tally.value('last_body', NULL::bpchar) AS as_bpchar;
SELECT tally._value_text('top_flags', 0);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW compared;
DROP VIEW expected;
SELECT tally.drop_dashboard('blobs_board');
-- Long bit strings: count_distinct counts them by digest, once min and max no longer refuse them.
SELECT tally.drop_metric('least_mask') IS NOT NULL AND tally.drop_metric('top_mask') IS NOT NULL AS dropped;
INSERT INTO blobs (kind, mask) VALUES ('e', (repeat('10', 350) || '1')::varbit), ('e', (repeat('10', 350) || '0')::varbit),
                                      ('e', (repeat('10', 350) || '1')::varbit);
SELECT tally.value('masks') = (SELECT count(DISTINCT mask) FROM blobs) AS masks_exact, tally.value('masks');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'blobs'::regclass;
DROP TABLE blobs;
DROP DOMAIN flags4;
RESET client_min_messages;
