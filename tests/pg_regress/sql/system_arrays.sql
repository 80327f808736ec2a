-- Arrays of Postgres' own types (0.21.0): min and max over arrays of oid (and of the reg*
-- types, whose figures are oid[]), xid8, pg_lsn, "char", tid and name, in array_cmp's order
-- (elements first, a NULL element above every value, then the shorter, then dimensions and
-- bounds); count_distinct over those and over arrays of xid, cid and aclitem, over aclitem
-- itself (equality, no order) and over oidvector and int2vector. Each figure is compared with
-- Postgres' own answer (ORDER BY's first row; a count of GROUP BY's groups, which hashes the
-- types that have no order), as a value and as its text read back.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN positions AS pg_lsn[] CHECK (cardinality(VALUE) < 100);
CREATE COLLATION arrays_local (provider = libc, locale = 'C.utf8');
CREATE TABLE sys_arrays (id serial PRIMARY KEY, team text, o oid[], rel regclass[], x xid[], c cid[],
                         x8 xid8[], l positions, ch "char"[], t tid[], n name[], a aclitem, acl aclitem[],
                         ov oidvector, iv int2vector, v tsvector[],
                         n_local name[] COLLATE arrays_local);
CREATE FUNCTION check_figures() RETURNS TABLE (metric text, same boolean, same_text boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES
        ('o_max', 'o', 'oid[]', 'DESC'), ('o_min', 'o', 'oid[]', 'ASC'), ('rel_max', 'rel::oid[]', 'oid[]', 'DESC'),
        ('x8_max', 'x8', 'xid8[]', 'DESC'), ('x8_min', 'x8', 'xid8[]', 'ASC'),
        ('l_max', 'l', 'pg_lsn[]', 'DESC'), ('l_min', 'l', 'pg_lsn[]', 'ASC'),
        ('l_first', 'l[1:1]', 'pg_lsn[]', 'DESC'),
        ('ch_max', 'ch', '"char"[]', 'DESC'), ('ch_min', 'ch', '"char"[]', 'ASC'),
        ('t_max', 't', 'tid[]', 'DESC'), ('t_min', 't', 'tid[]', 'ASC'),
        ('n_max', 'n', 'name[]', 'DESC'), ('n_min', 'n', 'name[]', 'ASC')) AS c(name, col, typ, dir)
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, tally.value(%L, NULL::%s) IS NOT DISTINCT FROM l, tally.value(%L, NULL::text)::%s IS NOT DISTINCT FROM l
               FROM (SELECT (SELECT (%s)::%s FROM sys_arrays WHERE (%s) IS NOT NULL ORDER BY 1 %s LIMIT 1) AS l) x',
            m.name, m.name, m.typ, m.name, m.typ, m.col, m.typ, m.col, m.dir);
    END LOOP;
    FOR m IN SELECT * FROM (VALUES ('o_cd', 'o'), ('rel_cd', 'rel'), ('x_cd', 'x'), ('c_cd', 'c'), ('x8_cd', 'x8'),
                                   ('l_cd', 'l'), ('ch_cd', 'ch'), ('t_cd', 't'), ('n_cd', 'n'), ('a_cd', 'a'),
                                   ('acl_cd', 'acl'), ('ov_cd', 'ov'), ('iv_cd', 'iv'))
                        AS c(name, col)
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, tally.value(%L) = (SELECT count(*) FROM (SELECT %I FROM sys_arrays WHERE %I IS NOT NULL GROUP BY 1) d), NULL::boolean',
            m.name, m.name, m.col, m.col);
    END LOOP;
    RETURN QUERY SELECT 'l_by_team', bool_and(g.value IS NOT DISTINCT FROM x.l), NULL::boolean
      FROM tally.groups('l_by_team', NULL::pg_lsn[]) g
      FULL JOIN (SELECT team, max(l::pg_lsn[]) AS l FROM sys_arrays GROUP BY team) x
        ON coalesce(x.team, '(none)') = coalesce(g.group_key, '(none)');
END
$fn$;

SELECT tally.create_metric(name, 'sys_arrays', aggregate, col)->>'column_name'
  FROM (VALUES ('o_max', 'max', 'o'), ('o_min', 'min', 'o'), ('rel_max', 'max', 'rel'),
               ('x8_max', 'max', 'x8'), ('x8_min', 'min', 'x8'), ('l_max', 'max', 'l'), ('l_min', 'min', 'l'),
               ('l_first', 'max', 'l[1:1]'),
               ('ch_max', 'max', 'ch'), ('ch_min', 'min', 'ch'), ('t_max', 'max', 't'), ('t_min', 'min', 't'),
               ('n_max', 'max', 'n'), ('n_min', 'min', 'n'),
               ('o_cd', 'count_distinct', 'o'), ('rel_cd', 'count_distinct', 'rel'), ('x_cd', 'count_distinct', 'x'),
               ('c_cd', 'count_distinct', 'c'), ('x8_cd', 'count_distinct', 'x8'), ('l_cd', 'count_distinct', 'l'),
               ('ch_cd', 'count_distinct', 'ch'), ('t_cd', 'count_distinct', 't'), ('n_cd', 'count_distinct', 'n'),
               ('a_cd', 'count_distinct', 'a'), ('acl_cd', 'count_distinct', 'acl'), ('ov_cd', 'count_distinct', 'ov'),
               ('iv_cd', 'count_distinct', 'iv'))
       AS m(name, aggregate, col)
 ORDER BY name;
SELECT tally.create_metric('l_by_team', 'sys_arrays', 'max', 'l', group_by => 'team')->>'group_by';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'sys_arrays'::regclass ORDER BY 1;

-- Edge values: the largest oid, xid, xid8 and position; "char" past 127, 0, a backslash, a
-- quote and a space; tids at their limits; NULL elements (above every value), a prefix (below
-- its longer array), empty arrays, two dimensions, lower bounds other than 1; aclitems that
-- differ in one field only.
INSERT INTO sys_arrays (team, o, rel, x, c, x8, l, ch, t, n, a, acl, ov, iv) VALUES
 ('a', '{4294967295,0}', '{pg_class,pg_type}', '{4294967295,3}', '{4294967295}', '{18446744073709551615}',
  '{FFFFFFFF/FFFFFFFF,0/0}', E'{"\\\\377","\\\\\\\\",""}', '{"(4294967295,65535)","(0,0)"}', '{zeta,"a b"}',
  'postgres=arwdDxt/postgres', '{postgres=r/postgres,=r/postgres}', '4294967295 0', '32767 -32768'),
 ('a', '{4294967295}', '{pg_proc}', '{3,4294967295}', '{0,1}', '{0,NULL}', '{16/B374D848,NULL}',
  E'{a,"\\"","\\\\200"," "}', '{"(1,0)",NULL}', '{zeta}', 'postgres=r/postgres', '{postgres=arwdDxt/postgres}',
  '4294967295', '32767'),
 ('b', '{4294967295,0,NULL}', '[0:1]={pg_class,pg_class}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
  '=r/postgres', '{}', '', ''),
 ('b', '{{1,2},{3,4}}', '{{pg_class},{pg_proc}}', '{{1},{2}}', '{{1,2}}', '{{1,2},{3,4}}', '{{0/1},{0/2}}',
  '{{a,b}}', '{{"(0,1)"},{"(0,2)"}}', '{{a},{b}}', 'postgres=r*/postgres', '{{=r/postgres},{=w/postgres}}',
  '1 2', '1 2'),
 ('c', '[0:0]={7}', '[2:2]={pg_type}', '[0:0]={7}', '[0:0]={7}', '[0:0]={7}', '[0:0]={7/7}', '[0:0]={z}',
  '[0:0]={"(7,7)"}', '[0:0]={z}', NULL, '[0:0]={=r/postgres}', '7', '7'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
COPY sys_arrays (team, o, x8, l, ch, t, n, a, ov) FROM stdin;
c	{99,NULL}	{77}	{A/B}	{z,y}	{"(5,5)"}	{mu,NULL}	=X/postgres	99 98
\.
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.value('o_max', NULL::oid[]) AS o_max, tally.value('o_min', NULL::oid[]) AS o_min,
       tally.value('rel_max', NULL::oid[]) AS rel_max, tally.value('x8_max', NULL::xid8[]) AS x8_max,
       tally.value('l_max', NULL::pg_lsn[]) AS l_max;
SELECT tally.value('ch_max', NULL::"char"[]) AS ch_max, tally.value('ch_min', NULL::text) AS ch_min_text,
       tally.value('t_max', NULL::tid[]) AS t_max, tally.value('t_min', NULL::tid[]) AS t_min,
       tally.value('n_max', NULL::name[]) AS n_max, tally.value('n_min', NULL::name[]) AS n_min;
SELECT tally.value('x_cd') AS x_cd, tally.value('c_cd') AS c_cd, tally.value('a_cd') AS a_cd,
       tally.value('acl_cd') AS acl_cd, tally.value('ov_cd') AS ov_cd, tally.value('iv_cd') AS iv_cd;

-- The extremes deleted and updated away, pending and folded.
BEGIN;
DELETE FROM sys_arrays WHERE o[1] = 4294967295;
UPDATE sys_arrays SET ch = '{b}', t = '{"(2,2)"}', a = '=r/postgres' WHERE o[1] = 1;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
ROLLBACK;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
DELETE FROM sys_arrays WHERE o[1] = 4294967295;
UPDATE sys_arrays SET ch = '{b}', t = '{"(2,2)"}', a = '=r/postgres' WHERE o[1][1] = 1;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT tally.value('o_max', NULL::oid[]) AS o_max, tally.value('x8_max', NULL::xid8[]) AS x8_max,
       tally.value('ch_max', NULL::"char"[]) AS ch_max, tally.value('t_max', NULL::tid[]) AS t_max,
       tally.value('a_cd') AS a_cd;

-- 400 random rows (a fixed seed), then every figure again, and verify.
SELECT setseed(0.21);
INSERT INTO sys_arrays (team, o, rel, x, c, x8, l, ch, t, n, a, acl, ov, iv)
SELECT (ARRAY['a', 'b', 'c', NULL])[1 + (random() * 3)::int],
       ARRAY[(random() * 4)::int::text::oid, CASE WHEN random() < 0.2 THEN NULL ELSE (random() * 4294967295)::bigint::text::oid END],
       ARRAY[(ARRAY['pg_class', 'pg_type', 'pg_proc'])[1 + (random() * 2)::int]::regclass],
       ARRAY[(random() * 3)::int::text::xid], ARRAY[(random() * 3)::int::text::cid],
       ARRAY[(random() * 3)::int::text::xid8, (random() * 1e19)::numeric(20)::text::xid8],
       ARRAY[((random() * 3)::int::numeric + '0/0'::pg_lsn), ((random() * 1e15)::bigint::numeric + '0/0'::pg_lsn)],
       ARRAY[chr(97 + (random() * 2)::int)::"char", chr(1 + (random() * 126)::int)::"char"],
       ARRAY[format('(%s,%s)', (random() * 3)::int, (random() * 3)::int)::tid],
       ARRAY[chr(97 + (random() * 2)::int)::name, left(md5(random()::text), 2)::name],
       format('%s=%s/postgres', CASE WHEN random() < 0.5 THEN 'postgres' ELSE '' END,
              (ARRAY['r', 'w', 'rw', 'r*'])[1 + (random() * 3)::int])::aclitem,
       ARRAY[format('=%s/postgres', (ARRAY['r', 'w'])[1 + (random())::int])::aclitem],
       format('%s %s', (random() * 3)::int, (random() * 3)::int)::oidvector,
       format('%s', (random() * 5)::int)::int2vector
  FROM generate_series(1, 400);
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
DELETE FROM sys_arrays WHERE id % 3 = 0;
SELECT tally.compact() >= 0 AS compacted;
SELECT metric, same, same_text FROM check_figures() WHERE same IS NOT TRUE OR same_text IS FALSE;
SELECT count(*) AS drift FROM tally.verify();

-- The snapshot's jsonb (arrays of strings or numbers, as an array figure's) and the typed
-- view's columns (the figures' types: oid[] for an array of a reg* type).
SELECT tally.create_dashboard('system_arrays_board', ARRAY['o_max', 'rel_max', 'x8_max', 'l_max', 'ch_min', 't_min',
                                                           'n_max', 'acl_cd'], 'system_arrays_view');
SELECT jsonb_object_agg(key, jsonb_typeof(value)) FROM jsonb_each(tally.snapshot('system_arrays_board'))
 WHERE key <> 'as_of';
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'system_arrays_view'::regclass AND attnum > 0 ORDER BY attnum;
SELECT ch_min = (SELECT min(ch) FROM sys_arrays) AS same_char, t_min = (SELECT min(t) FROM sys_arrays) AS same_tid,
       rel_max = (SELECT max(rel::oid[]) FROM sys_arrays) AS same_oids
  FROM system_arrays_view;
SELECT tally.drop_dashboard('system_arrays_board');

-- Refused: an order over arrays of xid, cid and aclitem and over aclitem (none has one),
-- oidvector's (by its length first, unlike an array's), arrays of tsvector (a binary
-- tsvector's text may read back as another value: 0.20.0 checks each scalar one), a name[]
-- in a collation whose order is not byte order.
SELECT tally.create_metric('x_max', 'sys_arrays', 'max', 'x');
SELECT tally.create_metric('c_min', 'sys_arrays', 'min', 'c');
SELECT tally.create_metric('acl_max', 'sys_arrays', 'max', 'acl');
SELECT tally.create_metric('a_min', 'sys_arrays', 'min', 'a');
SELECT tally.create_metric('ov_max', 'sys_arrays', 'max', 'ov');
SELECT tally.create_metric('v_cd', 'sys_arrays', 'count_distinct', 'v');
SELECT tally.create_metric('n_local_min', 'sys_arrays', 'min', 'n_local');

-- An array without elements but with a dimension (an empty oidvector or int2vector cast to
-- an array: one dimension of length 0, lower bound 0) is the min: its figure is written `{}`,
-- as Postgres writes it, where `[0:-1]={}` was refused by the array input, and every typed
-- read of the metric failed, its dashboard's view too (found by a hostile probe; int2[]
-- since 0.18.0).
CREATE TABLE signatures (id int PRIMARY KEY, argtypes oid[], attnums int2[]);
SELECT tally.create_metric('first_signature', 'signatures', 'min', 'argtypes') IS NOT NULL AS defined,
       tally.create_metric('first_attnums', 'signatures', 'min', 'attnums') IS NOT NULL AS defined;
INSERT INTO signatures VALUES (1, '{23,25}', '{2}'), (2, ''::oidvector::oid[], ''::int2vector::int2[]),
                              (3, ARRAY[''::oidvector::oid[], ''::oidvector::oid[]], '{1}');
SELECT tally.value('first_signature', NULL::text) AS first_signature, (SELECT min(argtypes)::text FROM signatures) AS postgres,
       tally.value('first_signature', NULL::oid[]) AS typed, tally.value('first_attnums', NULL::int2[]) AS attnums;
SELECT tally.create_dashboard('signature_board', ARRAY['first_signature', 'first_attnums'], 'signature_view');
SELECT first_signature, first_attnums FROM signature_view;
SELECT tally.drop_dashboard('signature_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'signatures'::regclass;
DROP TABLE signatures;

-- Hand calls of the encoders over the new elements: immutable functions of their argument.
SELECT tally._tracked_array('{1,4294967295}'::oid[]) = tally._tracked_array('{1,4294967295}'::regclass[]) AS oids_alike,
       tally._tracked_array('{=r/postgres}'::aclitem[]) <> tally._tracked_array('{=r*/postgres}'::aclitem[]) AS grant_options_apart,
       tally._tracked_ordered('m', '{a,b}'::name[]) < tally._tracked_ordered('m', '{a,b,NULL}'::name[]) AS prefix_first;
-- An array of a type no count_distinct keeps, by hand: 42804 (XX000 before 0.21.0).
SELECT tally._tracked_array(ARRAY['1 2'::oidvector]);
-- count_distinct over an aclitem value expression: 42704, as for xid and cid (the check of
-- expressions indexes them with btree, which aclitem lacks); a column of them is kept above.
SELECT tally.create_metric('acl_expr_cd', 'sys_arrays', 'count_distinct', 'makeaclitem(10, 10, ''SELECT'', false)');
DROP FUNCTION check_figures();
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'sys_arrays'::regclass;
DROP TABLE sys_arrays;
DROP DOMAIN positions;
DROP COLLATION arrays_local;
RESET client_min_messages;
