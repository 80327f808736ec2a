-- count_distinct over text in a nondeterministic collation (0.22.0): Django's case-insensitive
-- CharField(db_collation=...) and a DBA's accent-insensitive ICU collation. Counted as the
-- collation's equality counts, by the ICU sort key (the key Postgres hashes such texts by),
-- read in the column's collation. min, max and grouping stay refused (their order and groups
-- tie texts the collation calls equal). The table's owner is no superuser and owns the
-- collations; another role writes under hostile settings. Every figure is compared with
-- Postgres' own count(DISTINCT) over the table.
-- Nondeterministic collations are ICU's: a server built without ICU (PyPI's builds of 16, 17
-- and 18) has none, and this file says so and stops (nondeterministic_values_1.out).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TEMP TABLE nd_server (has_icu boolean);
DO $$ BEGIN
    CREATE COLLATION nd_probe (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
    DROP COLLATION nd_probe;
    INSERT INTO nd_server VALUES (true);
EXCEPTION WHEN feature_not_supported THEN
    INSERT INTO nd_server VALUES (false);
END $$;
SELECT has_icu FROM nd_server \gset
\if :has_icu
CREATE ROLE nd_owner;
CREATE ROLE nd_writer;
CREATE SCHEMA nd AUTHORIZATION nd_owner;
SET ROLE nd_owner;
SET search_path = nd;
CREATE COLLATION nd_case (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION nd_accent (provider = icu, locale = 'und-u-ks-level1', deterministic = false);
CREATE DOMAIN nd_email AS text COLLATE nd_case CHECK (VALUE LIKE '%@%');
CREATE TABLE nd_users (id serial PRIMARY KEY, team text, email varchar(300) COLLATE nd_case,
                       name text COLLATE nd_accent, code char(8) COLLATE nd_case, work nd_email);
GRANT USAGE ON SCHEMA nd TO nd_writer;
GRANT INSERT, UPDATE, DELETE, SELECT, TRUNCATE ON nd_users TO nd_writer;
GRANT USAGE ON SEQUENCE nd_users_id_seq TO nd_writer;
INSERT INTO nd_users (team, email, name, code, work) VALUES
    ('a', 'Ann@x.io', 'Müller', 'ab', 'Ann@x.io'), ('a', 'ann@X.IO', 'muller', 'AB  ', 'ANN@x.io'),
    ('b', NULL, NULL, NULL, NULL);
SELECT tally.create_metric('nd_emails', 'nd_users', 'count_distinct', 'email')->>'column_name' AS kept_as;
SELECT tally.create_metric('nd_names', 'nd_users', 'count_distinct', 'name', group_by => 'team')->>'column_name' AS kept_as;
SELECT tally.create_metric('nd_codes', 'nd_users', 'count_distinct', 'code') IS NOT NULL AS created;
SELECT tally.create_metric('nd_work', 'nd_users', 'count_distinct', 'work') IS NOT NULL AS created;
SELECT tally.create_metric('nd_firsts', 'nd_users', 'count_distinct', 'left(name, 3)') IS NOT NULL AS created;
SELECT tally.create_metric('nd_a_emails', 'nd_users', 'count_distinct', 'email', filter => $$team = 'a'$$) IS NOT NULL AS created;
-- Refused: min and max (their order ties Ann and ann), grouping, an array of such texts,
-- sum.
SELECT tally.create_metric('bad', 'nd_users', 'max', 'email');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_users', 'min', 'name');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_users', group_by => 'email');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_users', 'count_distinct', 'ARRAY[email]');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_users', 'sum', 'email');
\echo :LAST_ERROR_SQLSTATE
-- Refused: collations whose ICU sort keys may not tell texts apart as their = does (found by
-- a hostile probe: '_' and '_' || U&'\0E4D' one key, two values, when punctuation is
-- ignored; U&'\0300\FE2D' and U&'\FE2D\0300' at strength identical; Thai and kk-true
-- normalize; with numeric ordering in a tailored locale, = takes the Arabic-Indic 105 and
-- 1005 as equal, their keys do not), as is a change of a counted column to one of them.
CREATE COLLATION nd_shifted (provider = icu, locale = 'und-u-ka-shifted', deterministic = false);
CREATE COLLATION nd_identic (provider = icu, locale = 'und-u-ks-identic', deterministic = false);
CREATE COLLATION nd_thai (provider = icu, locale = 'th-u-ks-level1', deterministic = false);
CREATE COLLATION nd_normalized (provider = icu, locale = 'und-u-kk-true-ks-level2', deterministic = false);
CREATE COLLATION nd_numeric (provider = icu, locale = 'ar-u-kn-true-ks-level2', deterministic = false);
CREATE TABLE nd_odd (id int, a text COLLATE nd_shifted, b text COLLATE nd_identic, c text COLLATE nd_thai,
                     d text COLLATE nd_normalized, e text COLLATE nd_numeric);
SELECT tally.create_metric('bad', 'nd_odd', 'count_distinct', 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_odd', 'count_distinct', 'b');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_odd', 'count_distinct', 'c');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_odd', 'count_distinct', 'left(d, 5)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'nd_odd', 'count_distinct', 'e');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE nd_users ALTER COLUMN code TYPE char(8) COLLATE nd_shifted;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE nd_odd;
RESET search_path;
RESET ROLE;
-- The catalog says what the metric tracks.
SELECT type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id WHERE m.name = 'nd_emails';

CREATE FUNCTION nd_check() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql
SET search_path = nd, public AS $$
    SELECT 'nd_emails', tally.value('nd_emails') = (SELECT count(DISTINCT email) FROM nd_users)
    UNION ALL SELECT 'nd_codes', tally.value('nd_codes') = (SELECT count(DISTINCT code) FROM nd_users)
    UNION ALL SELECT 'nd_work', tally.value('nd_work') = (SELECT count(DISTINCT work) FROM nd_users)
    UNION ALL SELECT 'nd_firsts', tally.value('nd_firsts') = (SELECT count(DISTINCT left(name, 3)) FROM nd_users)
    UNION ALL SELECT 'nd_a_emails', tally.value('nd_a_emails') = (SELECT count(DISTINCT email) FROM nd_users WHERE team = 'a')
    UNION ALL SELECT 'nd_names', (SELECT coalesce(bool_and(g.value IS NOT DISTINCT FROM l.n), true)
                                    FROM (SELECT * FROM tally.groups('nd_names') WHERE value <> 0) g
                                    FULL JOIN (SELECT team, count(DISTINCT name) AS n FROM nd_users
                                                WHERE name IS NOT NULL GROUP BY team) l
                                      ON coalesce(l.team, '(none)') = coalesce(g.group_key, '(none)'))
$$;
SELECT tally.value('nd_emails') AS emails, tally.value('nd_codes') AS codes, tally.value('nd_work') AS work;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;

-- Written by another role under hostile settings: case and accent variants, ß and ss, é
-- composed and decomposed (one text to ICU), the empty text, a text whose sort key passes the
-- kept bytes.
SET ROLE nd_writer;
SET search_path = pg_temp, nd;
SET datestyle = 'German';
SET enable_seqscan = off;
INSERT INTO nd_users (team, email, name, code, work) VALUES
    ('b', 'BOB@x.io', 'Strasse', 'Ab', 'bob@x.io'), ('b', 'bob@x.io', 'Straße', 'aB', 'Bob@X.io'),
    ('c', U&'\00E9@x.io', U&'e\0301', 'é', U&'e\0301@x.io'), ('c', U&'e\0301@X.IO', 'E', 'É', U&'\00C9@x.io'),
    ('c', '', '', '', '@'),
    ('c', repeat('Long', 70) || '@x.io', repeat('Ö', 400), 'long', repeat('LONG', 70) || '@x.io');
RESET ALL;
RESET ROLE;
SELECT tally.value('nd_emails') AS emails, tally.value('nd_codes') AS codes, tally.value('nd_work') AS work;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
-- One spelling of a value deleted (another stays), then the last: rolled back, then kept.
DELETE FROM nd.nd_users WHERE email::text = 'Ann@x.io';
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
BEGIN;
DELETE FROM nd.nd_users WHERE email = 'BOB@X.IO';
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
ROLLBACK;
BEGIN;
SAVEPOINT s;
UPDATE nd.nd_users SET email = upper(email), name = lower(name) WHERE team = 'c';
ROLLBACK TO SAVEPOINT s;
UPDATE nd.nd_users SET email = lower(email) WHERE team = 'b';
COMMIT;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
COPY nd.nd_users (team, email, name, code, work) FROM STDIN;
a	CAROL@x.io	Çelik	cc	carol@x.io
a	carol@X.io	celik	CC	Carol@x.io
\.
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
-- One row per statement (the direct path, its compiled expressions in the column's
-- collation): another spelling of a value, a new one, each updated and deleted.
INSERT INTO nd.nd_users (team, email, name, code, work) VALUES ('b', 'CAROL@X.IO', 'ÇELIK', 'Cc', 'CAROL@x.io');
INSERT INTO nd.nd_users (team, email, name, code, work) VALUES ('b', 'Erin@x.io', 'Ærin', 'ee', 'erin@x.io');
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
UPDATE nd.nd_users SET email = 'erin@X.IO', name = 'aerin' WHERE email::text = 'Erin@x.io';
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
DELETE FROM nd.nd_users WHERE email::text = 'erin@X.IO';
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
-- 300 random rows (a fixed seed): case and accent variants of 20 names.
SELECT setseed(0.22);
INSERT INTO nd.nd_users (team, email, name, code, work)
SELECT (ARRAY['a', 'b', NULL])[1 + (random() * 2)::int], v || '@x.io', translate(v, 'eE', 'éÈ'), left(v, 8), v || '@x.io'
  FROM (SELECT CASE WHEN random() < 0.1 THEN NULL
                    ELSE (ARRAY['user', 'User', 'USER', 'uSeR', 'üser'])[1 + (random() * 4)::int] || (random() * 20)::int
               END AS v
          FROM generate_series(1, 300)) r;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
DELETE FROM nd.nd_users WHERE id % 4 = 0;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
SELECT count(*) AS drift FROM tally.verify() WHERE metric LIKE 'nd\_%';

-- The column's collation changed for another nondeterministic one: recomputed in it. Changed
-- for a deterministic one (or a deterministic column's for a nondeterministic one): refused,
-- the counters hold the other kind of key. A collation renamed changes nothing.
SET ROLE nd_owner;
ALTER TABLE nd.nd_users ALTER COLUMN name TYPE text COLLATE nd.nd_case;
RESET ROLE;
SELECT value AS names_a FROM tally.groups('nd_names') WHERE group_key = 'a';
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
SET ROLE nd_owner;
ALTER TABLE nd.nd_users ALTER COLUMN email TYPE varchar(300) COLLATE "C";
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE nd.nd_plain (id int, email text);
SELECT tally.create_metric('nd_plain', 'nd.nd_plain', 'count_distinct', 'email') IS NOT NULL AS created;
ALTER TABLE nd.nd_plain ALTER COLUMN email TYPE text COLLATE nd.nd_case;
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_metric('nd_plain');
DROP TABLE nd.nd_plain;
ALTER COLLATION nd.nd_case RENAME TO nd_case_renamed;
RESET ROLE;
INSERT INTO nd.nd_users (team, email) VALUES ('a', 'DAVE@x.io'), ('a', 'dave@x.io');
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;
SELECT count(*) AS drift FROM tally.verify() WHERE metric LIKE 'nd\_%';
TRUNCATE nd.nd_users;
SELECT * FROM nd_check() WHERE exact IS NOT TRUE;

-- Other collations taken: German, case level, French accents backwards, script reordering,
-- Japanese
-- (kana and width variants); 3000 random texts of characters that some of them equate
-- (ß/ss/ẞ, composed and decomposed accents, ligatures, digits of other scripts, kana, soft
-- hyphen, zero-width space), each figure against count(DISTINCT), after deletes too.
CREATE COLLATION nd.nd_de (provider = icu, locale = 'de-u-ks-level2', deterministic = false);
CREATE COLLATION nd.nd_kc (provider = icu, locale = 'und-u-ks-level1-kc-true', deterministic = false);
CREATE COLLATION nd.nd_fr (provider = icu, locale = 'fr-CA-u-kb-true-ks-level2', deterministic = false);
CREATE COLLATION nd.nd_kr (provider = icu, locale = 'und-u-kr-grek-latn-ks-level2', deterministic = false);
CREATE COLLATION nd.nd_ja (provider = icu, locale = 'ja-u-ks-level3', deterministic = false);
CREATE TABLE nd.nd_texts (id serial, de text COLLATE nd.nd_de, kc text COLLATE nd.nd_kc,
                          fr text COLLATE nd.nd_fr, kr text COLLATE nd.nd_kr, ja text COLLATE nd.nd_ja);
SELECT count(tally.create_metric('nd_texts_' || c, 'nd.nd_texts', 'count_distinct', c)) AS created
  FROM unnest(ARRAY['de', 'kc', 'fr', 'kr', 'ja']) c;
SELECT setseed(0.5);
INSERT INTO nd.nd_texts (de, kc, fr, kr, ja)
SELECT t, t, t, t, t
  FROM (SELECT (SELECT string_agg((ARRAY['a', 'A', 'á', 'Á', U&'a\0301', 'ß', 'ss', 'SS', U&'\1E9E', '_', '-', ' ',
                                         'ü', 'ue', 'Ü', '1', '01', '10', U&'\0661', 'α', 'Α', 'ά', U&'\FF71',
                                         U&'\30A2', U&'\3042', U&'\FB01', 'fi', U&'\00AD', U&'\200B'])
                                  [1 + floor(random() * 29)::int], '')
                  FROM generate_series(1, 1 + g % 4)) AS t
          FROM generate_series(1, 3000) g) r;
CREATE FUNCTION nd_texts_check() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    SELECT 'de', tally.value('nd_texts_de') = (SELECT count(DISTINCT de) FROM nd.nd_texts)
    UNION ALL SELECT 'kc', tally.value('nd_texts_kc') = (SELECT count(DISTINCT kc) FROM nd.nd_texts)
    UNION ALL SELECT 'fr', tally.value('nd_texts_fr') = (SELECT count(DISTINCT fr) FROM nd.nd_texts)
    UNION ALL SELECT 'kr', tally.value('nd_texts_kr') = (SELECT count(DISTINCT kr) FROM nd.nd_texts)
    UNION ALL SELECT 'ja', tally.value('nd_texts_ja') = (SELECT count(DISTINCT ja) FROM nd.nd_texts)
$$;
SELECT * FROM nd_texts_check() WHERE exact IS NOT TRUE;
-- Texts the collations equate are there, and the figures are fewer than the texts.
SELECT count(DISTINCT de) < count(DISTINCT de COLLATE "C") AS de_equates,
       count(DISTINCT fr) < count(DISTINCT fr COLLATE "C") AS fr_equates,
       count(DISTINCT ja) < count(DISTINCT ja COLLATE "C") AS ja_equates FROM nd.nd_texts;
DELETE FROM nd.nd_texts WHERE id % 3 = 0;
SELECT * FROM nd_texts_check() WHERE exact IS NOT TRUE;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'nd.nd_texts'::regclass;
DROP FUNCTION nd_texts_check();

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'nd.nd_users'::regclass;
DROP FUNCTION nd_check();
DROP SCHEMA nd CASCADE;
DROP ROLE nd_owner;
DROP ROLE nd_writer;
\else
\echo 'skipped: this server is built without ICU, so it has no nondeterministic collation'
\endif
