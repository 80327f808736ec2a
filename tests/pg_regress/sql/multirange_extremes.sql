-- min and max over the built-in multiranges (0.19.0): "the busiest schedule", "the first
-- booking pattern". Kept by a key in multirange_cmp's order (src/model/ordered_key.rs): the
-- empty multirange first, then range by range (each by lower bound, then upper bound), one
-- whose ranges are all another's first ones below it. Postgres has no max over multiranges:
-- each figure is compared here with ORDER BY's first row, and read back under this
-- session's settings from its text.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN busy_days AS datemultirange;
CREATE TABLE schedules (id serial PRIMARY KEY, team text, busy int4multirange, long_busy int8multirange,
                        spend nummultirange, days busy_days, local_slots tsmultirange, slots tstzmultirange);
SELECT tally.create_metric('busiest', 'schedules', 'max', 'busy', group_by => 'team')->>'column_name';
SELECT tally.create_metric('least_busy', 'schedules', 'min', 'busy')->>'column_name';
SELECT tally.create_metric('longest', 'schedules', 'max', 'long_busy')->>'column_name';
SELECT tally.create_metric('top_spend', 'schedules', 'max', 'spend')->>'column_name';
SELECT tally.create_metric('low_spend', 'schedules', 'min', 'spend')->>'column_name';
SELECT tally.create_metric('first_days', 'schedules', 'min', 'days')->>'column_name';
SELECT tally.create_metric('last_local', 'schedules', 'max', 'local_slots')->>'column_name';
SELECT tally.create_metric('last_slots', 'schedules', 'max', 'slots')->>'column_name';
SELECT tally.create_metric('first_slots', 'schedules', 'min', 'slots')->>'column_name';
SELECT tally.create_metric('shifted', 'schedules', 'max', 'busy + int4multirange(int4range(id % 3, 3))')->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'schedules'::regclass ORDER BY 1;

-- Rows under other settings: the same multiranges.
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'SQL, DMY';
INSERT INTO schedules (team, busy, long_busy, spend, days, local_slots, slots) VALUES
 ('a', '{[1,3),[5,7)}', '{[1,3)}', '{[1.50,2),[3,)}', '{[2026-01-01,2026-02-01)}',
       '{[2026-01-01 10:00,2026-01-01 11:00)}', '{["2026-01-01 10:00+02",)}'),
 ('a', '{[1,3),[5,9)}', '{(,-9223372036854775807)}', '{[1.5,2)}', '{}', '{}', '{}'),
 ('b', '{[1,4)}', '{[9223372036854775806,)}', '{(,0)}', '{[4713-01-01 BC,2026-01-01)}',
       '{[-infinity,infinity]}', '{[-infinity,infinity]}'),
 ('b', '{}', '{}', '{[NaN,NaN]}', '{(,)}', '{(,)}', '{(,"2026-01-01 00:00+05:45")}'),
 ('c', '{(,2),[4,)}', NULL, '{[-1e-20,1e20]}', NULL, NULL, '{["1999-12-31 23:00-01","2000-01-01 01:00+01"]}'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL);
COPY schedules (team, busy, spend, slots) FROM stdin;
c	{[2,3)}	{[0.5,0.75]}	{[2026-06-01 00:00+00,2026-06-02 00:00+00)}
c	{[1,3),[5,7),[9,10)}	{}	{}
\.
RESET TimeZone;
RESET DateStyle;

CREATE VIEW schedules_compared AS
SELECT 'busiest' AS metric, coalesce(g.group_key, l.team) AS group_key,
       g.value IS NOT DISTINCT FROM l.v AS same, t.value::int4multirange IS NOT DISTINCT FROM l.v AS same_text
  FROM tally.groups('busiest', NULL::int4multirange) g
  JOIN tally.groups('busiest', NULL::text) t ON t.group_key IS NOT DISTINCT FROM g.group_key
  FULL JOIN (SELECT DISTINCT ON (team) team, busy AS v FROM schedules
              ORDER BY team, busy DESC NULLS LAST) l
    ON coalesce(l.team, '(none)') = coalesce(g.group_key, '(none)')
UNION ALL
SELECT 'least_busy', NULL, f IS NOT DISTINCT FROM l, t::int4multirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('least_busy', NULL::int4multirange) f, tally.value('least_busy', NULL::text) t,
               (SELECT busy FROM schedules WHERE busy IS NOT NULL ORDER BY busy LIMIT 1) l) x
UNION ALL
SELECT 'longest', NULL, f IS NOT DISTINCT FROM l, t::int8multirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('longest', NULL::int8multirange) f, tally.value('longest', NULL::text) t,
               (SELECT long_busy FROM schedules WHERE long_busy IS NOT NULL ORDER BY long_busy DESC LIMIT 1) l) x
UNION ALL
SELECT 'top_spend', NULL, f IS NOT DISTINCT FROM l, t::nummultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('top_spend', NULL::nummultirange) f, tally.value('top_spend', NULL::text) t,
               (SELECT spend FROM schedules WHERE spend IS NOT NULL ORDER BY spend DESC LIMIT 1) l) x
UNION ALL
SELECT 'low_spend', NULL, f IS NOT DISTINCT FROM l, t::nummultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('low_spend', NULL::nummultirange) f, tally.value('low_spend', NULL::text) t,
               (SELECT spend FROM schedules WHERE spend IS NOT NULL ORDER BY spend LIMIT 1) l) x
UNION ALL
SELECT 'first_days', NULL, f IS NOT DISTINCT FROM l, t::datemultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_days', NULL::datemultirange) f, tally.value('first_days', NULL::text) t,
               (SELECT days FROM schedules WHERE days IS NOT NULL ORDER BY days LIMIT 1) l) x
UNION ALL
SELECT 'last_local', NULL, f IS NOT DISTINCT FROM l, t::tsmultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('last_local', NULL::tsmultirange) f, tally.value('last_local', NULL::text) t,
               (SELECT local_slots FROM schedules WHERE local_slots IS NOT NULL ORDER BY local_slots DESC LIMIT 1) l) x
UNION ALL
SELECT 'last_slots', NULL, f IS NOT DISTINCT FROM l, t::tstzmultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('last_slots', NULL::tstzmultirange) f, tally.value('last_slots', NULL::text) t,
               (SELECT slots FROM schedules WHERE slots IS NOT NULL ORDER BY slots DESC LIMIT 1) l) x
UNION ALL
SELECT 'first_slots', NULL, f IS NOT DISTINCT FROM l, t::tstzmultirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('first_slots', NULL::tstzmultirange) f, tally.value('first_slots', NULL::text) t,
               (SELECT slots FROM schedules WHERE slots IS NOT NULL ORDER BY slots LIMIT 1) l) x
UNION ALL
SELECT 'shifted', NULL, f IS NOT DISTINCT FROM l, t::int4multirange IS NOT DISTINCT FROM l
  FROM (SELECT tally.value('shifted', NULL::int4multirange) f, tally.value('shifted', NULL::text) t,
               (SELECT v FROM (SELECT busy + int4multirange(int4range(id % 3, 3)) AS v FROM schedules) s
                 WHERE v IS NOT NULL ORDER BY v DESC LIMIT 1) l) x;
SELECT metric, group_key, same, same_text FROM schedules_compared ORDER BY 1, 2;
-- The figures' text: multirange_out's form, each range as a range figure is written (ISO
-- 8601, a tstzrange's bounds in UTC, a numrange's bounds in their shortest form).
SELECT group_key, value FROM tally.groups('busiest', NULL::text) ORDER BY 1;
SELECT tally.value('longest', NULL::text) AS longest, tally.value('top_spend', NULL::text) AS top_spend,
       tally.value('low_spend', NULL::text) AS low_spend, tally.value('first_days', NULL::text) AS first_days;
SELECT tally.value('last_local', NULL::text) AS last_local, tally.value('last_slots', NULL::text) AS last_slots,
       tally.value('first_slots', NULL::text) AS first_slots;

-- The extremes deleted or updated away, pending and then folded; 500 random rows.
UPDATE schedules SET busy = '{[1,2)}' WHERE busy = '{(,2),[4,)}';
DELETE FROM schedules WHERE long_busy = '{[9223372036854775806,)}';
SELECT metric, group_key FROM schedules_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM schedules WHERE spend = '{[NaN,NaN]}' OR slots = '{}';
SELECT setseed(0.5);
INSERT INTO schedules (team, busy, spend, slots)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3],
       int4multirange(int4range(lo, lo + 1 + (random() * 3)::int), int4range(lo + 6, lo + 7 + (random() * 2)::int)),
       nummultirange(numrange(round(random()::numeric, (random() * 2)::int), 2)),
       tstzmultirange(tstzrange('2026-01-01 00:00+00'::timestamptz + lo * interval '1 hour', NULL))
  FROM (SELECT g, (random() * 20)::int AS lo FROM generate_series(1, 500) g) s;
SELECT metric, group_key FROM schedules_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM schedules WHERE id % 4 = 0;
SELECT metric, group_key FROM schedules_compared WHERE same IS NOT TRUE OR same_text IS NOT TRUE;
SELECT * FROM tally.verify() WHERE metric IN (SELECT name FROM tally.metrics WHERE source = 'schedules'::regclass);

-- The snapshot carries each figure's text; the typed view the multiranges themselves.
SELECT tally.create_dashboard('schedules_board', ARRAY['least_busy', 'first_days', 'top_spend'],
                              view_name => 'schedules_board_view');
SELECT tally.snapshot('schedules_board') - 'as_of' AS snapshot;
SELECT pg_typeof(least_busy) AS busy_type, pg_typeof(first_days) AS days_type,
       top_spend = (SELECT spend FROM schedules WHERE spend IS NOT NULL ORDER BY spend DESC LIMIT 1) AS same_spend
  FROM schedules_board_view;
SELECT tally.drop_dashboard('schedules_board');
-- A figure reads as its multirange type, text or a domain over its type; not as another.
SELECT tally.value('first_days', NULL::busy_days) AS as_domain;
SELECT tally.value('least_busy', NULL::int8multirange);
\echo :LAST_ERROR_SQLSTATE

-- Refused in the writer's statement, nothing applied: a multirange whose key passes 600
-- bytes (19 per range of integers).
INSERT INTO schedules (team, busy)
SELECT 'long', range_agg(int4range(g * 2, g * 2 + 1)) FROM generate_series(1, 40) g;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS refused_rows FROM schedules WHERE team = 'long';

-- Refused definitions: sum and avg over multiranges; a multirange of a range type a role
-- created (its own operator class could order bounds otherwise).
SELECT tally.create_metric('busy_sum', 'schedules', 'sum', 'busy');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('busy_avg', 'schedules', 'avg', 'busy');
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE textspan AS RANGE (subtype = text, collation = "C", multirange_type_name = textspans);
CREATE TABLE text_spans (id int, m textspans);
SELECT tally.create_metric('text_spans_max', 'text_spans', 'max', 'm');
\echo :LAST_ERROR_SQLSTATE
-- Hand calls of the encoder: a multirange is keyed, in order; a role's multirange refused.
SELECT tally._tracked_ordered('x', '{[1,2)}'::int4multirange) < tally._tracked_ordered('x', '{[1,2),[3,4)}'::int4multirange) AS ordered;
SELECT tally._tracked_ordered('x', '{[a,b)}'::textspans);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW schedules_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'schedules'::regclass;
DROP TABLE schedules, text_spans;
DROP TYPE textspan;
DROP DOMAIN busy_days;
RESET client_min_messages;
