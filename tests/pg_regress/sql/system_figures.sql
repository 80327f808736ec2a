-- min, max and count_distinct over Postgres' own types (0.20.0): oid and the reg* types (by
-- their oid; figures of type oid), xid8, pg_lsn ("the latest replayed position"), "char",
-- tid, name (as text is), tsvector (by its text, its min and max picked when read by
-- tsvector's order); count_distinct over xid and cid, which have no order. Each figure is
-- compared with Postgres' own answer (ORDER BY's first row, a DISTINCT count), as a value
-- and as its text read back. tsquery is refused: its text does not tell every two queries
-- apart.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN position_kept AS pg_lsn CHECK (VALUE > '0/0');
CREATE TABLE sys_values (id serial PRIMARY KEY, team text, o oid, rel regclass, typ regtype, who regrole,
                         x xid, c cid, x8 xid8, l pg_lsn, kept position_kept, ch "char", t tid, n name,
                         n_local name COLLATE "POSIX", v tsvector, q tsquery, body text);
CREATE FUNCTION check_figures() RETURNS TABLE (metric text, same boolean, same_text boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES
        ('o_max', 'o', 'oid', 'DESC'), ('o_min', 'o', 'oid', 'ASC'), ('rel_min', 'rel::oid', 'oid', 'ASC'),
        ('typ_max', 'typ::oid', 'oid', 'DESC'), ('who_max', 'who::oid', 'oid', 'DESC'),
        ('x8_max', 'x8', 'xid8', 'DESC'), ('x8_min', 'x8', 'xid8', 'ASC'),
        ('l_max', 'l', 'pg_lsn', 'DESC'), ('l_min', 'l', 'pg_lsn', 'ASC'), ('kept_max', 'kept', 'pg_lsn', 'DESC'),
        ('ahead', 'greatest(l, kept)', 'pg_lsn', 'DESC'),
        ('ch_max', 'ch', '"char"', 'DESC'), ('ch_min', 'ch', '"char"', 'ASC'),
        ('t_max', 't', 'tid', 'DESC'), ('t_min', 't', 'tid', 'ASC'),
        ('n_max', 'n', 'text', 'DESC'), ('n_local_min', 'n_local', 'text', 'ASC'),
        ('v_max', 'v', 'tsvector', 'DESC'), ('v_min', 'v', 'tsvector', 'ASC'),
        ('words_max', 'to_tsvector(''simple'', body)', 'tsvector', 'DESC')) AS c(name, col, typ, dir)
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, tally.value(%L, NULL::%s) IS NOT DISTINCT FROM l, tally.value(%L, NULL::text)::%s IS NOT DISTINCT FROM l
               FROM (SELECT (SELECT (%s)::%s FROM sys_values WHERE (%s) IS NOT NULL ORDER BY 1 %s LIMIT 1) AS l) x',
            m.name, m.name, m.typ, m.name, m.typ, m.col, m.typ, m.col, m.dir);
    END LOOP;
    FOR m IN SELECT * FROM (VALUES ('o_cd', 'o'), ('x_cd', 'x'), ('c_cd', 'c'), ('x8_cd', 'x8'), ('l_cd', 'l'),
                                   ('ch_cd', 'ch'), ('t_cd', 't'), ('n_cd', 'n'), ('v_cd', 'v'))
                        AS c(name, col)
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, tally.value(%L) = (SELECT count(*) FROM (SELECT DISTINCT %I FROM sys_values WHERE %I IS NOT NULL) d), NULL::boolean',
            m.name, m.name, m.col, m.col);
    END LOOP;
    RETURN QUERY SELECT 'l_by_team', bool_and(g.value IS NOT DISTINCT FROM x.l), NULL::boolean
      FROM tally.groups('l_by_team', NULL::pg_lsn) g
      FULL JOIN (SELECT team, max(l) AS l FROM sys_values GROUP BY team) x
        ON coalesce(x.team, '(none)') = coalesce(g.group_key, '(none)');
    -- A grouped tsvector max: per group, and over the groups (tally._sorted_pick).
    RETURN QUERY SELECT 'v_by_team', bool_and(g.value IS NOT DISTINCT FROM x.v), NULL::boolean
      FROM tally.groups('v_by_team', NULL::tsvector) g
      FULL JOIN (SELECT DISTINCT ON (team) team, v FROM sys_values ORDER BY team, v DESC NULLS LAST) x
        ON coalesce(x.team, '(none)') = coalesce(g.group_key, '(none)');
    RETURN QUERY SELECT 'v_by_team overall',
                        tally.value('v_by_team', NULL::tsvector) IS NOT DISTINCT FROM
                        (SELECT v FROM sys_values WHERE v IS NOT NULL ORDER BY v DESC LIMIT 1), NULL::boolean;
END
$fn$;

SELECT tally.create_metric(name, 'sys_values', aggregate, col)->>'column_name'
  FROM (VALUES ('o_max', 'max', 'o'), ('o_min', 'min', 'o'), ('rel_min', 'min', 'rel'), ('typ_max', 'max', 'typ'),
               ('who_max', 'max', 'who'), ('x8_max', 'max', 'x8'), ('x8_min', 'min', 'x8'),
               ('l_max', 'max', 'l'), ('l_min', 'min', 'l'), ('kept_max', 'max', 'kept'), ('ahead', 'max', 'greatest(l, kept)'),
               ('ch_max', 'max', 'ch'), ('ch_min', 'min', 'ch'), ('t_max', 'max', 't'), ('t_min', 'min', 't'),
               ('n_max', 'max', 'n'), ('n_local_min', 'min', 'n_local'), ('v_max', 'max', 'v'), ('v_min', 'min', 'v'),
               ('words_max', 'max', 'to_tsvector(''simple'', body)'),
               ('o_cd', 'count_distinct', 'o'), ('x_cd', 'count_distinct', 'x'), ('c_cd', 'count_distinct', 'c'),
               ('x8_cd', 'count_distinct', 'x8'), ('l_cd', 'count_distinct', 'l'), ('ch_cd', 'count_distinct', 'ch'),
               ('t_cd', 'count_distinct', 't'), ('n_cd', 'count_distinct', 'n'), ('v_cd', 'count_distinct', 'v'))
       AS m(name, aggregate, col)
 ORDER BY name;
SELECT tally.create_metric('l_by_team', 'sys_values', 'max', 'l', group_by => 'team')->>'group_by';
SELECT tally.create_metric('v_by_team', 'sys_values', 'max', 'v', group_by => 'team')->>'group_by';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'sys_values'::regclass ORDER BY 1;

-- Edge values: the largest oid, xid, xid8 and position; "char" past 127 and 0; tids at
-- their limits; lexemes with weights, quotes and backslashes.
INSERT INTO sys_values (team, o, rel, typ, who, x, c, x8, l, kept, ch, t, n, n_local, v, q, body) VALUES
 ('a', 4294967295, 'pg_class', 'int4', 'pg_monitor', '4294967295', '4294967295', '18446744073709551615',
  'FFFFFFFF/FFFFFFFF', '0/1', E'\\377', '(4294967295,65535)', 'zeta', 'Zeta',
  'fat:1A cat:2', 'fat:A & cat', 'The fat cat'),
 ('a', 0, 'pg_type', 'text', 'pg_read_all_data', '3', '0', '0', '0/0', '16/B374D848', E'\\200', '(0,0)', 'alpha', 'alpha',
  $$'it''s':1 'x\\'$$, 'fat:*B & cat', 'it''s a dog'),
 ('b', 7, 'pg_proc', 'int8', 'pg_monitor', '3', '1', '9', '1/0', 'FFFFFFFF/0', '', '(1,0)', '', '',
  '', $$'x\\':* | !'it''s'$$, ''),
 ('b', 12, NULL, 'pg_lsn', NULL, '5', '2', '10', '0/FFFFFFFF', '1/1', 'a', '(0,65535)', 'Ärger', 'ärger',
  'a:1,2,3 b', 'fat <-> cat', 'ärger über alles'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
COPY sys_values (team, o, x8, l, ch, t, n, v, q, body) FROM stdin;
c	99	77	A/B	z	(5,5)	mu	'z':9	'z' & !'y'	zz top
\.
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.value('o_max', NULL::oid) AS o_max, tally.value('rel_min', NULL::oid) AS rel_min,
       tally.value('x8_max', NULL::xid8) AS x8_max, tally.value('l_max', NULL::pg_lsn) AS l_max,
       tally.value('ch_max', NULL::"char") AS ch_max, tally.value('ch_min', NULL::text) AS ch_min_text,
       tally.value('t_max', NULL::tid) AS t_max, tally.value('n_local_min', NULL::text) AS n_local_min,
       tally.value('x_cd') AS x_cd, tally.value('c_cd') AS c_cd;
SELECT tally.value('v_max', NULL::tsvector) AS v_max, tally.value('words_max', NULL::tsvector) AS words_max;

-- The extremes deleted and updated away, pending and folded.
BEGIN;
DELETE FROM sys_values WHERE o = 4294967295;
UPDATE sys_values SET ch = 'b', t = '(2,2)', v = 'zz' WHERE o = 0;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
ROLLBACK;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
DELETE FROM sys_values WHERE o = 4294967295;
UPDATE sys_values SET ch = 'b', t = '(2,2)', v = 'zz' WHERE o = 0;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.value('o_max', NULL::oid) AS o_max, tally.value('x8_max', NULL::xid8) AS x8_max,
       tally.value('ch_max', NULL::"char") AS ch_max, tally.value('t_max', NULL::tid) AS t_max,
       tally.value('v_max', NULL::tsvector) AS v_max, tally.value('x_cd') AS x_cd;

-- 500 random rows (a fixed seed), then every figure again, and verify.
SELECT setseed(0.42);
INSERT INTO sys_values (team, o, x, c, x8, l, ch, t, n, v, q, body)
SELECT (ARRAY['a', 'b', 'c', NULL])[1 + (random() * 3)::int],
       (random() * 4294967295)::bigint::text::oid, (random() * 1000)::int::text::xid, (random() * 5)::int::text::cid,
       (random() * 1e18)::bigint::text::xid8, ((random() * 1e15)::bigint::numeric + '0/0'::pg_lsn),
       chr(1 + (random() * 126)::int)::"char", format('(%s,%s)', (random() * 5)::int, (random() * 5)::int)::tid,
       md5(random()::text)::name,
       array_to_string(ARRAY[chr(97 + (random() * 3)::int), chr(97 + (random() * 3)::int)], ' ')::tsvector,
       (chr(97 + (random() * 3)::int) || ' & (b & c)')::tsquery,
       md5(random()::text)
  FROM generate_series(1, 500);
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
DELETE FROM sys_values WHERE id % 3 = 0;
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT count(*) AS drift FROM tally.verify();

-- The snapshot's jsonb (strings) and the typed view's columns (the figures' types).
SELECT tally.create_dashboard('system_board', ARRAY['o_max', 'rel_min', 'x8_max', 'l_max', 'ch_min', 't_min',
                                                    'n_max', 'v_min', 'x_cd', 'l_by_team'], 'system_board_view');
SELECT jsonb_object_agg(key, jsonb_typeof(value)) FROM jsonb_each(tally.snapshot('system_board')) WHERE key <> 'as_of';
SELECT tally.snapshot('system_board') - 'as_of' - 'n_max' - 'l_by_team' - 'x8_max' - 'o_max' - 'l_max';
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'system_board_view'::regclass AND attnum > 0 ORDER BY attnum;
SELECT ch_min = (SELECT min(ch) FROM sys_values) AS same_char, t_min = (SELECT min(t) FROM sys_values) AS same_tid,
       v_min = (SELECT v FROM sys_values WHERE v IS NOT NULL ORDER BY v LIMIT 1) AS same_tsvector
  FROM system_board_view;

SELECT tally.drop_dashboard('system_board');

-- Refused: an order over xid and cid (they wrap around), sums, a tsvector too long to keep in
-- order (its count_distinct takes it), a typed read in a reg* type (figures are oids).
SELECT tally.create_metric('x_max', 'sys_values', 'max', 'x');
SELECT tally.create_metric('c_min', 'sys_values', 'min', 'c');
SELECT tally.create_metric('o_sum', 'sys_values', 'sum', 'o');
SELECT tally.create_metric('v_avg', 'sys_values', 'avg', 'v');
-- tsquery: 'a' & ('b' & 'c') and ('a' & 'b') & 'c' are two values to tsquery's comparison,
-- one text to its output (found by a review and a hostile probe before release).
SELECT tally.create_metric('q_cd', 'sys_values', 'count_distinct', 'q');
SELECT tally.create_metric('q_max', 'sys_values', 'max', 'q');
-- A tsvector its text cannot give back (binary input takes position 0, which prints as
-- 'zz':0, which the text input refuses): refused in the writer's own statement, where
-- before it made every read of its group fail (found by a hostile probe).
SELECT lo_from_bytea(0, decode('5047434f50590aff0d0a00' || '00000000' || '00000000'
                               || '0001' || '0000000b' || '00000001' || '7a7a00' || '0001' || '0000'
                               || 'ffff', 'hex')) AS zero_position \gset
SELECT lo_export(:zero_position, '/tmp/pg_tally_zero_position.copy') = 1 AS exported;
COPY sys_values (v) FROM '/tmp/pg_tally_zero_position.copy' (FORMAT binary);
SELECT lo_unlink(:zero_position) = 1 AS unlinked;
-- Binary input's repeated lexemes ('a' 'a', which Postgres compares as another value than
-- the 'a' its text reads back as) and unsorted ones: refused in the writer's statement
-- (22P03), where before they were kept as the value their text reads back as (a hostile
-- probe: a min that was no row's value, a count_distinct that merged two values).
SELECT lo_from_bytea(0, decode('5047434f50590aff0d0a00' || '00000000' || '00000000'
                               || '0001' || '0000000c' || '00000002' || '6100' || '0000' || '6100' || '0000'
                               || 'ffff', 'hex')) AS repeated \gset
SELECT lo_export(:repeated, '/tmp/pg_tally_repeated_lexemes.copy') = 1 AS exported;
COPY sys_values (v) FROM '/tmp/pg_tally_repeated_lexemes.copy' (FORMAT binary);
SELECT lo_unlink(:repeated) = 1 AS unlinked;
SELECT lo_from_bytea(0, decode('5047434f50590aff0d0a00' || '00000000' || '00000000'
                               || '0001' || '0000000e' || '00000002' || '6200' || '0000' || '6100' || '0001' || 'c002'
                               || 'ffff', 'hex')) AS unsorted \gset
SELECT lo_export(:unsorted, '/tmp/pg_tally_unsorted_lexemes.copy') = 1 AS exported;
COPY sys_values (v) FROM '/tmp/pg_tally_unsorted_lexemes.copy' (FORMAT binary);
SELECT lo_unlink(:unsorted) = 1 AS unlinked;
INSERT INTO sys_values (v) SELECT string_agg(md5(i::text), ' ')::tsvector FROM generate_series(1, 30) i;
SELECT tally.drop_metric('v_max'), tally.drop_metric('v_min'), tally.drop_metric('words_max'),
       tally.drop_metric('v_by_team');
INSERT INTO sys_values (v) SELECT string_agg(md5(i::text), ' ')::tsvector FROM generate_series(1, 30) i;
SELECT tally.value('v_cd') = (SELECT count(DISTINCT v) FROM sys_values) AS same_count;
SELECT tally.value('rel_min', NULL::regclass);

-- Hand calls of the new encoders: immutable functions of their argument only.
SELECT tally._tracked_value('16/B374D848'::pg_lsn) AS lsn, tally._tracked_value(E'\\377'::"char") AS ch,
       tally._tracked_value('(1,2)'::tid) AS tid, tally._tracked_value('4294967295'::xid) AS xid;
SELECT tally._tracked_tsvector('m', repeat('x', 601), true, true);
SELECT tally._tracked_tsvector('m', repeat('x', 601), true, false) IS NOT NULL AS any_length_counted;
SELECT tally._tracked_tsvector('m', '''a''', false, false);
-- 0.21.0: the tsvector itself, read once (its text, read back and compared by Postgres' own
-- functions): the key of its text, refused when that text reads back as another value; and
-- tally._kept_value, which keeps a tracked value or refuses one past 1024 bytes (2032 nines
-- take 1024 as a numeric, 2033 take 1026).
SELECT tally._tracked_tsvector('m', 'b:2 a:1'::tsvector, true) = tally._tracked_tsvector('m', 'b:2 a:1'::tsvector::text, true, true)
         AS same_key_in_order,
       tally._tracked_tsvector('m', 'b:2 a:1'::tsvector, false) = tally._tracked_tsvector('m', 'b:2 a:1'::tsvector::text, true, false)
         AS same_key_counted;
SELECT bool_and(tally._tracked_tsvector('m', v, true) = tally._tracked_tsvector('m', v::text, true, true))
         AS same_keys_from_table
  FROM sys_values WHERE octet_length(v::text) <= 600;
SELECT tally._tracked_tsvector('m', repeat('x', 601)::tsvector, true);
SELECT tally._kept_value('m', 'max', repeat('9', 2032)::numeric) = repeat('9', 2032)::numeric AS kept;
SELECT tally._kept_value('m', 'count_distinct', repeat('9', 2033)::numeric);
SELECT tally._kept_value('m', 'count_distinct', NULL) IS NULL AS null_kept;
-- xids past 2^31 read from a table (a tuple gives them sign-extended): pgrx's own xid read
-- them as NULL, and the ALTER TABLE hook's tally._written_now failed so (fixed in 0.20.0).
CREATE TEMPORARY TABLE xids (x xid);
INSERT INTO xids VALUES ('4294967295'), ('2147483648'), ('3');
SELECT x, tally._written_now(x) AS written_now, tally._tracked_value(x) AS key FROM xids ORDER BY key;
DROP FUNCTION check_figures();
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'sys_values'::regclass;
DROP TABLE sys_values;
DROP DOMAIN position_kept;
RESET client_min_messages;
