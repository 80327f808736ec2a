-- Enums, cidr, macaddr and macaddr8 (0.13.0): min, max and count_distinct; an enum kept by
-- label, ordered when read by the enum's own order, its renamed labels followed; the typed
-- reads, the snapshot and the typed view; casts an enum's owner defines never run. bytea,
-- bit and varbit are in bytea_figures.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- The enum's order is not its labels' byte order.
CREATE TYPE urgency AS ENUM ('zero', 'low', 'high');
CREATE DOMAIN urgency_d AS urgency;
CREATE TABLE tickets (id serial PRIMARY KEY, team text, urgency urgency, urgency_d urgency_d,
                      net cidr, mac macaddr, mac8 macaddr8);
INSERT INTO tickets (team, urgency, urgency_d, net, mac, mac8) VALUES
 ('a', 'low', 'zero', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05'),
 ('a', 'high', 'low', '10.1.0.0/16', 'ff:00:2b:01:02:03', NULL),
 ('b', 'zero', NULL, '192.168.0.1/32', NULL, '00:00:2b:01:02:03:04:05'),
 ('b', NULL, 'high', '::1/128', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05');
SELECT tally.create_metric('top_urgency', 'tickets', 'max', 'urgency')->>'column_name';
SELECT tally.create_metric('least_urgency', 'tickets', 'min', 'urgency', group_by => 'team')->>'column_name';
SELECT tally.create_metric('urgencies', 'tickets', 'count_distinct', 'urgency', group_by => 'team')->>'column_name';
SELECT tally.create_metric('top_urgency_d', 'tickets', 'max', 'urgency_d')->>'column_name';
SELECT tally.create_metric('flagged', 'tickets', 'max',
                           $$CASE WHEN team = 'a' THEN 'high'::public.urgency ELSE 'zero'::public.urgency END$$)->>'column_name';
SELECT tally.create_metric('widest_net', 'tickets', 'min', 'net')->>'column_name';
SELECT tally.create_metric('last_net', 'tickets', 'max', 'net')->>'column_name';
SELECT tally.create_metric('nets', 'tickets', 'count_distinct', 'net')->>'column_name';
SELECT tally.create_metric('top_mac', 'tickets', 'max', 'mac')->>'column_name';
SELECT tally.create_metric('macs', 'tickets', 'count_distinct', 'mac')->>'column_name';
SELECT tally.create_metric('first_mac8', 'tickets', 'min', 'mac8')->>'column_name';
SELECT tally.create_metric('mac8s', 'tickets', 'count_distinct', 'mac8')->>'column_name';

-- Each read against Postgres' own aggregate (macaddr has no max: its order, then).
CREATE VIEW expected AS
SELECT (SELECT max(urgency) FROM tickets) AS top_urgency,
       (SELECT max(urgency_d::urgency) FROM tickets) AS top_urgency_d,
       (SELECT max(CASE WHEN team = 'a' THEN 'high'::urgency ELSE 'zero'::urgency END) FROM tickets) AS flagged,
       (SELECT min(net) FROM tickets) AS widest_net, (SELECT max(net) FROM tickets) AS last_net,
       (SELECT count(DISTINCT net) FROM tickets) AS nets,
       (SELECT mac FROM tickets WHERE mac IS NOT NULL ORDER BY mac DESC LIMIT 1) AS top_mac,
       (SELECT count(DISTINCT mac) FROM tickets) AS macs,
       (SELECT mac8 FROM tickets WHERE mac8 IS NOT NULL ORDER BY mac8 LIMIT 1) AS first_mac8, (SELECT count(DISTINCT mac8) FROM tickets) AS mac8s;
CREATE VIEW compared AS
SELECT tally.value('top_urgency', NULL::urgency) IS NOT DISTINCT FROM e.top_urgency AS top_urgency,
       tally.value('top_urgency_d', NULL::urgency) IS NOT DISTINCT FROM e.top_urgency_d AS top_urgency_d,
       tally.value('flagged', NULL::urgency) IS NOT DISTINCT FROM e.flagged AS flagged,
       tally.value('widest_net', NULL::cidr) IS NOT DISTINCT FROM e.widest_net AS widest_net,
       tally.value('last_net', NULL::cidr) IS NOT DISTINCT FROM e.last_net AS last_net,
       tally.value('nets') = e.nets AS nets,
       tally.value('top_mac', NULL::macaddr) IS NOT DISTINCT FROM e.top_mac AS top_mac,
       tally.value('macs') = e.macs AS macs,
       tally.value('first_mac8', NULL::macaddr8) IS NOT DISTINCT FROM e.first_mac8 AS first_mac8,
       tally.value('mac8s') = e.mac8s AS mac8s,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key)
          FROM tally.groups('least_urgency', NULL::urgency) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(team || '=' || m ORDER BY team)
                               FROM (SELECT team, min(urgency) AS m FROM tickets GROUP BY team) t) AS least_urgency,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key) FROM tally.groups('urgencies') g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(team || '=' || n ORDER BY team)
                               FROM (SELECT team, count(DISTINCT urgency) AS n FROM tickets GROUP BY team) t) AS urgencies
  FROM expected e;
SELECT * FROM compared;
SELECT tally.value('top_urgency', NULL::urgency) AS top, pg_typeof(tally.value('top_urgency', NULL::urgency)),
       tally.value('top_urgency', NULL::text) AS as_text, tally.value('last_net', NULL::cidr) AS last_net,
       tally.value('top_mac', NULL::macaddr) AS top_mac;
SELECT * FROM tally.groups('least_urgency', NULL::urgency) ORDER BY group_key;

-- The extreme deleted and updated away; a value added before the others in the enum's order.
DELETE FROM tickets WHERE urgency = 'high';
UPDATE tickets SET net = '10.0.0.0/7' WHERE net = '10.0.0.0/8';
ALTER TYPE urgency ADD VALUE 'none' BEFORE 'zero';
INSERT INTO tickets (team, urgency, net, mac) VALUES ('b', 'none', '10.0.0.0/16', '00:00:00:00:00:01');
SELECT * FROM compared;
SELECT tally.value('least_urgency', NULL::urgency) AS least, tally.value('top_urgency', NULL::urgency) AS top;

-- A label renamed: the counters kept the old one; the ALTER TYPE recomputes the metrics over
-- the enum (every read and verify agree with the table at once).
ALTER TYPE urgency RENAME VALUE 'low' TO 'minor';
SELECT * FROM compared;
SELECT tally.value('top_urgency', NULL::urgency) AS top, tally.value('top_urgency', NULL::text) AS top_text;
SELECT * FROM tally.groups('least_urgency', NULL::text) ORDER BY group_key;
SELECT * FROM tally.verify();
SELECT labels FROM tally._value_enum x JOIN tally._metric m ON m.id = x.metric_id WHERE m.name = 'top_urgency';
-- In a savepoint rolled back, a rename leaves nothing behind.
BEGIN;
SAVEPOINT s;
ALTER TYPE urgency RENAME VALUE 'minor' TO 'small';
ROLLBACK TO SAVEPOINT s;
INSERT INTO tickets (team, urgency) VALUES ('a', 'minor');
COMMIT;
SELECT * FROM compared;
SELECT * FROM tally.verify();

-- The snapshot carries labels and network texts as strings; the typed view's columns have
-- the figures' types (an enum's own).
SELECT tally.create_dashboard('tickets_board', ARRAY['top_urgency', 'least_urgency', 'urgencies', 'last_net',
                                                     'top_mac', 'first_mac8'], 'tickets_board_view');
SELECT tally.snapshot('tickets_board') - 'as_of' AS snapshot;
SELECT top_urgency, least_urgency, urgencies, last_net, top_mac, first_mac8 FROM tickets_board_view;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
 WHERE a.attrelid = 'tickets_board_view'::regclass AND a.attnum > 2 ORDER BY a.attnum;

DROP VIEW compared;
DROP VIEW expected;
-- Refused: an enum summed; a typed read in another type; a column retyped to another enum
-- (its counters hold the first enum's labels); the enum dropped under its metrics.
SELECT tally.create_metric('urgency_sum', 'tickets', 'sum', 'urgency');
SELECT tally.value('top_urgency', NULL::int);
CREATE TYPE severity AS ENUM ('low', 'high');
ALTER TABLE tickets ALTER COLUMN urgency TYPE severity USING 'low';
DROP TYPE urgency CASCADE;
SELECT tally.value('top_urgency');
-- The enum encoder is called by the change queries only: anything else is no enum.
SELECT tally._tracked_label(1);
SELECT tally._tracked_label('a'::text);

-- Hostile: the enum's owner (not the table's) defines casts to and from text that record who
-- ran them. No write, fold, read, snapshot or view read runs them.
CREATE ROLE enum_owner;
CREATE SCHEMA enum_casts AUTHORIZATION enum_owner;
CREATE TABLE cast_calls (who text);
GRANT INSERT ON cast_calls TO PUBLIC;
CREATE TYPE mood AS ENUM ('sad', 'glad');
ALTER TYPE mood OWNER TO enum_owner;
CREATE TABLE moods (m mood);
SELECT tally.create_metric('top_mood', 'moods', 'max', 'm')->>'column_name';
SELECT tally.create_metric('moods_seen', 'moods', 'count_distinct', 'm')->>'column_name';
SELECT tally.create_dashboard('moods_board', ARRAY['top_mood', 'moods_seen'], 'moods_board_view');
SET ROLE enum_owner;
CREATE FUNCTION enum_casts.mood_text(mood) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
$$BEGIN INSERT INTO cast_calls VALUES (current_user); RETURN 'x'; END$$;
CREATE FUNCTION enum_casts.text_mood(text) RETURNS mood LANGUAGE plpgsql IMMUTABLE AS
$$BEGIN INSERT INTO cast_calls VALUES (current_user); RETURN 'sad'; END$$;
CREATE CAST (mood AS text) WITH FUNCTION enum_casts.mood_text(mood) AS IMPLICIT;
CREATE CAST (text AS mood) WITH FUNCTION enum_casts.text_mood(text) AS IMPLICIT;
RESET ROLE;
INSERT INTO moods VALUES ('glad'), ('sad');
COPY moods FROM stdin;
glad
\.
SELECT tally.compact() >= 0 AS compacted;
SELECT tally.snapshot('moods_board') - 'as_of' AS snapshot;
SELECT top_mood, moods_seen FROM moods_board_view;
SELECT tally.value('top_mood', NULL::text) AS top_text;
-- A typed read in the enum (or a domain over it) makes the label the enum's value by
-- enum_in: the owner's cast from text runs for no reader either.
CREATE DOMAIN mood_d AS mood;
SELECT tally.value('top_mood', NULL::mood) AS top_mood, pg_typeof(tally.value('top_mood', NULL::mood)),
       tally.value('top_mood', NULL::mood_d) AS top_mood_d, pg_typeof(tally.value('top_mood', NULL::mood_d));
SELECT * FROM tally.groups('top_mood', NULL::mood);
SELECT bucket_start, group_key, value, pg_typeof(value) FROM tally.series('top_mood', now() - interval '1 day', now(), NULL::mood_d);
SELECT count(*) AS cast_calls FROM cast_calls;
SET ROLE enum_owner;
ALTER TYPE mood RENAME VALUE 'glad' TO 'happy';
RESET ROLE;
SELECT top_mood FROM moods_board_view;
SELECT count(*) AS cast_calls FROM cast_calls;
SELECT * FROM tally.verify('top_mood');

SELECT tally.drop_dashboard('moods_board');
SELECT tally.drop_dashboard('tickets_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source IN ('tickets'::regclass, 'moods'::regclass);
DROP TABLE tickets, moods, cast_calls;
DROP TYPE urgency_d;
DROP TYPE urgency, severity;
DROP SCHEMA enum_casts CASCADE;
DROP DOMAIN mood_d;
DROP TYPE mood;
DROP ROLE enum_owner;
RESET client_min_messages;
