-- The write path: multi-row statements, COPY, NULLs, moves across groups, savepoints,
-- rollbacks and TRUNCATE, each checked against the live aggregate.
CREATE TABLE items (id int, grp text, v int);
SELECT tally.create_metric('items_n', 'items', group_by => 'grp') IS NOT NULL AS created;
SELECT tally.create_metric('items_sum', 'items', 'sum', 'v', group_by => 'grp') IS NOT NULL AS created;
SELECT tally.create_metric('items_count_v', 'items', 'count', 'v') IS NOT NULL AS created;
CREATE VIEW check_items AS
SELECT (SELECT count(*) FROM (
          (SELECT grp, count(*)::numeric FROM items GROUP BY grp
           EXCEPT ALL SELECT * FROM tally.groups('items_n'))
          UNION ALL
          (SELECT * FROM tally.groups('items_n')
           EXCEPT ALL SELECT grp, count(*)::numeric FROM items GROUP BY grp)) x) = 0
   AND (SELECT count(*) FROM (
          (SELECT grp, coalesce(sum(v), 0) FROM items GROUP BY grp
           EXCEPT ALL SELECT * FROM tally.groups('items_sum'))
          UNION ALL
          (SELECT * FROM tally.groups('items_sum')
           EXCEPT ALL SELECT grp, coalesce(sum(v), 0) FROM items GROUP BY grp)) y) = 0
   AND tally.value('items_count_v') = (SELECT count(v) FROM items) AS exact;

INSERT INTO items SELECT i, (ARRAY['a','b',NULL])[1 + i % 3], CASE WHEN i % 4 = 0 THEN NULL ELSE i END
  FROM generate_series(1, 300) i;
SELECT * FROM check_items;
SELECT * FROM tally.groups('items_n') ORDER BY group_key NULLS FIRST;

COPY items FROM stdin;
1001	a	5
1002	\N	\N
1003	c	7
\.
SELECT * FROM check_items;

-- Moving rows across groups is old-out/new-in; a no-op update writes no delta.
UPDATE items SET grp = 'b' WHERE grp = 'a';
SELECT * FROM check_items;
SELECT count(*) AS deltas_before FROM tally._delta \gset
UPDATE items SET v = v WHERE true;
SELECT count(*) = :deltas_before AS noop_update_wrote_nothing FROM tally._delta;
UPDATE items SET v = NULL WHERE id % 5 = 0;
SELECT * FROM check_items;

-- Savepoints and rollbacks.
BEGIN;
INSERT INTO items VALUES (2000, 'z', 1);
SAVEPOINT s1;
DELETE FROM items WHERE grp = 'b';
SELECT tally.value('items_n') = (SELECT count(*) FROM items) AS inside_savepoint;
ROLLBACK TO SAVEPOINT s1;
SELECT * FROM check_items;
ROLLBACK;
SELECT * FROM check_items;
SELECT count(*) FROM tally.groups('items_n') WHERE group_key = 'z';

-- An error raised inside the trigger (this filter divides by v) fails the statement, and
-- the deltas of the other metrics go with it.
SELECT tally.create_metric('items_ratio', 'items', filter => '100 / v > 1') IS NOT NULL AS created;
INSERT INTO items VALUES (3000, 'a', 1), (3001, 'a', 0);
SELECT * FROM check_items;
SELECT count(*) AS inserted FROM items WHERE id >= 3000;
SELECT * FROM tally.verify('items_ratio');
SELECT tally.drop_metric('items_ratio');

-- A group whose rows all go away leaves no counter row behind once folded (the fold
-- removes the rows it emptied), also when the fold that empties it folds nothing else.
INSERT INTO items VALUES (4000, 'short-lived', 5), (4001, 'short-lived', 6);
SELECT tally.compact() > 0 AS folded;
SELECT count(*) AS state_rows FROM tally._state WHERE group_key = 'short-lived';
DELETE FROM items WHERE grp = 'short-lived';
SELECT tally.compact() > 0 AS folded;
SELECT count(*) AS state_rows FROM tally._state WHERE group_key = 'short-lived';
SELECT count(*) AS empty_state_rows FROM tally._state WHERE n_rows = 0 AND n_values = 0 AND total = 0;
SELECT * FROM check_items;

-- A fold inside a writing transaction takes that transaction's own pending changes too;
-- rolling back to a savepoint before the fold undoes the fold with the writes after it.
SET tally.auto_compact = off;
SELECT tally.compact() >= 0 AS folded;
BEGIN;
INSERT INTO items VALUES (6000, 'fold-in-tx', 1);
SAVEPOINT before_fold;
INSERT INTO items VALUES (6001, 'fold-in-tx', 2);
SELECT count(*) AS pending_before FROM tally._change;
SELECT tally.compact() AS folded_own_changes;
SELECT count(*) AS pending_after FROM tally._change;
SELECT * FROM check_items;
ROLLBACK TO SAVEPOINT before_fold;
SELECT count(*) AS pending_again FROM tally._change;
SELECT * FROM check_items;
COMMIT;
SELECT * FROM check_items;
SELECT tally.compact() AS folded;
SELECT * FROM check_items;
DELETE FROM items WHERE grp = 'fold-in-tx';
RESET tally.auto_compact;

-- One write statement is one tally._change row holding the changes of every metric it
-- touched (0.6.0). Refreshing or dropping one metric takes only its changes out of those
-- rows, keeps each row's transaction, and removes a row left with no change.
SELECT tally.compact() >= 0 AS folded;
SET tally.auto_compact = off;
SELECT tally.create_metric('items_spare', 'items', 'sum', 'id') IS NOT NULL AS created;
SELECT id AS spare_id FROM tally._metric WHERE name = 'items_spare' \gset
INSERT INTO items VALUES (5000, 'p', 1);
INSERT INTO items VALUES (5001, 'q', 2), (5002, 'p', 3);
UPDATE items SET id = 5004 WHERE id = 5002;  -- only items_spare reads id
SELECT count(*) AS change_rows, sum(cardinality(metric_id)) AS changes FROM tally._change;
SELECT array_agg(xact_id ORDER BY xact_id) AS kept_xacts FROM tally._change
 WHERE metric_id <> ARRAY[:spare_id] \gset
SET client_min_messages = warning;  -- refresh reports its timing
SELECT metric FROM tally.refresh('items_spare');
RESET client_min_messages;
SELECT count(*) AS change_rows, sum(cardinality(metric_id)) AS changes,
       bool_and(:spare_id <> ALL (metric_id)) AS spare_changes_gone,
       array_agg(xact_id ORDER BY xact_id) = :'kept_xacts' AS same_transactions
  FROM tally._change;
SELECT * FROM check_items;
SELECT tally.value('items_spare') = (SELECT sum(id) FROM items) AS spare_exact;
INSERT INTO items VALUES (5003, 'q', 4);
SELECT tally.drop_metric('items_spare');
SELECT count(*) AS change_rows, sum(cardinality(metric_id)) AS changes,
       bool_and(:spare_id <> ALL (metric_id)) AS spare_changes_gone
  FROM tally._change;
SELECT * FROM check_items;
SELECT count(*) AS drift FROM tally.verify();
RESET tally.auto_compact;
SELECT tally.compact() AS folded;
SELECT count(*) AS change_rows FROM tally._change;
SELECT * FROM check_items;

TRUNCATE items;
SELECT * FROM check_items;
SELECT tally.value('items_n'), tally.value('items_sum'), count(*) AS rows FROM tally.groups('items_n');
INSERT INTO items VALUES (1, 'a', 1);
SELECT * FROM check_items;

DROP VIEW check_items;
SELECT tally.drop_metric('items_n'), tally.drop_metric('items_sum'), tally.drop_metric('items_count_v');
DROP TABLE items;

-- The fold takes every pending change in one index scan and sums them in Rust before
-- one upsert: a backlog of 12,001 statements folds completely in one call, and values that
-- are equal as numbers but written differently (1.0, 1.00) fold into one counter.
CREATE TABLE ledger (id int PRIMARY KEY, account text, amount numeric);
SELECT tally.create_metric('ledger_n', 'ledger', 'count', group_by => 'account') IS NOT NULL AS created;
SELECT tally.create_metric('ledger_sum', 'ledger', 'sum', 'amount', group_by => 'account') IS NOT NULL AS created;
SELECT tally.create_metric('ledger_amounts', 'ledger', 'count_distinct', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('ledger_min', 'ledger', 'min', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('ledger_gone', 'ledger', 'count') IS NOT NULL AS created;
CREATE VIEW check_ledger AS
SELECT tally.value('ledger_n') = (SELECT count(*) FROM ledger) AS n_exact,
       (SELECT jsonb_object_agg(group_key, value) FROM tally.groups('ledger_sum'))
         IS NOT DISTINCT FROM (SELECT jsonb_object_agg(account, s) FROM (SELECT account, sum(amount) AS s FROM ledger GROUP BY account) g) AS sum_exact,
       tally.value('ledger_amounts') = (SELECT count(DISTINCT amount) FROM ledger) AS distinct_exact,
       tally.value('ledger_min') IS NOT DISTINCT FROM (SELECT min(amount) FROM ledger) AS min_exact;
SET tally.auto_compact = off;
INSERT INTO ledger VALUES (1, 'a', 1.0);
INSERT INTO ledger VALUES (2, 'a', 1.00);
INSERT INTO ledger VALUES (3, 'b', 1);
DO $$ BEGIN FOR i IN 4..12001 LOOP
  INSERT INTO ledger VALUES (i, CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END, (i % 7) * 0.5);
END LOOP; END $$;
UPDATE ledger SET amount = amount + 1 WHERE id % 10 = 0;
DELETE FROM ledger WHERE id % 13 = 0;
SELECT tally.drop_metric('ledger_gone');
SELECT count(*) AS change_rows FROM tally._change;
SELECT horizon AS horizon_before FROM tally._fold \gset
SELECT * FROM check_ledger;
SELECT tally.compact() AS folded;  -- every change but the dropped metric's
SELECT count(*) AS change_rows FROM tally._change;
SELECT horizon > :'horizon_before' AS horizon_moved FROM tally._fold;
SELECT * FROM check_ledger;
SELECT count(*) AS amount_rows FROM tally._state s JOIN tally._metric m ON m.id = s.metric_id
 WHERE m.name = 'ledger_amounts' AND s.value IS NOT NULL;
SELECT count(DISTINCT amount) AS live_amounts FROM ledger;
SELECT count(*) AS drift FROM tally.verify();
RESET tally.auto_compact;
DROP VIEW check_ledger;
SELECT tally.drop_metric(name) FROM unnest(ARRAY['ledger_n', 'ledger_sum', 'ledger_amounts', 'ledger_min']) name;
DROP TABLE ledger;

-- A sum keeps the decimals its values bring, also when they are all zero: the fold and the
-- dashboard read skip the plain 0 a count's change carries, never a 0.00. An average of
-- values that are all a plain 0 is 0 (with the scale avg() gives it), not null.
CREATE TABLE tills (id int, amount numeric, qty int);
SELECT tally.create_metric('tills_sum', 'tills', 'sum', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('tills_qty_avg', 'tills', 'avg', 'qty') IS NOT NULL AS created;
SELECT tally.create_metric('tills_qty_sum', 'tills', 'sum', 'qty') IS NOT NULL AS created;
SELECT tally.create_dashboard('tills_board', ARRAY['tills_sum', 'tills_qty_avg', 'tills_qty_sum']) IS NOT NULL AS created;
CREATE VIEW check_tills AS
SELECT tally.value('tills_sum')::text AS sum_value, s->>'tills_sum' AS sum_snapshot, live.sum_amount::text AS live_sum,
       tally.value('tills_qty_avg')::text AS avg_value, s->>'tills_qty_avg' AS avg_snapshot, live.avg_qty::text AS live_avg,
       tally.value('tills_qty_sum')::text AS qty_value, s->>'tills_qty_sum' AS qty_snapshot, live.sum_qty::text AS live_qty
  FROM tally.snapshot('tills_board') s,
       (SELECT sum(amount) AS sum_amount, avg(qty) AS avg_qty, coalesce(sum(qty), 0) AS sum_qty FROM tills) live;
SET tally.auto_compact = off;
INSERT INTO tills VALUES (1, 0.00, 0);
INSERT INTO tills VALUES (2, 0, 0);
\x on
SELECT * FROM check_tills;
SELECT tally.compact() AS folded;
SELECT * FROM check_tills;
-- Pending plain zeros over a folded plain zero.
INSERT INTO tills VALUES (3, 0, 0);
SELECT * FROM check_tills;
\x off
RESET tally.auto_compact;
DROP VIEW check_tills;
SELECT tally.drop_dashboard('tills_board');
SELECT tally.drop_metric(name) FROM unnest(ARRAY['tills_sum', 'tills_qty_avg', 'tills_qty_sum']) name;
DROP TABLE tills;

-- A session with session_replication_role = replica (a bulk load skipping foreign-key
-- checks) still writes rows: the triggers fire ALWAYS, so every figure follows them.
CREATE TABLE replica_load (id int, status text, amount numeric(12,2));
SELECT tally.create_metric('rl_n', 'replica_load') IS NOT NULL AS created;
SELECT tally.create_metric('rl_by_status', 'replica_load', 'sum', 'amount', group_by => 'status') IS NOT NULL AS created;
SELECT count(*) AS triggers, bool_and(tgenabled = 'A') AS fire_always
  FROM pg_trigger WHERE tgrelid = 'replica_load'::regclass;
SET session_replication_role = replica;
INSERT INTO replica_load VALUES (1, 'PAID', 10.00);
INSERT INTO replica_load SELECT i, 'PENDING', i FROM generate_series(2, 50) i;
UPDATE replica_load SET status = 'PAID' WHERE id % 3 = 0;
DELETE FROM replica_load WHERE id % 5 = 0;
COPY replica_load FROM STDIN;
100	SHIPPED	1.50
101	\N	2.50
\.
SELECT tally.value('rl_n') AS n, (SELECT count(*) FROM replica_load) AS live_n;
SELECT count(*) AS drift FROM tally.verify();
TRUNCATE replica_load;
INSERT INTO replica_load VALUES (7, 'PAID', 7.00);
RESET session_replication_role;
SELECT tally.value('rl_n') AS n, (SELECT count(*) FROM replica_load) AS live_n;
SELECT count(*) AS drift FROM tally.verify();
-- The ALTER TABLE that rebuilds the triggers keeps them firing ALWAYS.
ALTER TABLE replica_load ADD COLUMN note text;
SELECT count(*) AS triggers, bool_and(tgenabled = 'A') AS fire_always
  FROM pg_trigger WHERE tgrelid = 'replica_load'::regclass;
SELECT tally.drop_metric(name) FROM unnest(ARRAY['rl_n', 'rl_by_status']) name;
DROP TABLE replica_load;

-- Two UPDATEs of one table in one query (an UPDATE in a WITH clause beside the main UPDATE
-- or MERGE) share the transition tables, and the statement trigger fires once, with the SET
-- list of only one of them: a metric reading a column only the other one set still follows
-- (before 0.10.0 it was skipped, and the figure drifted).
CREATE TABLE two_updates (id int PRIMARY KEY, grp text, amt int);
INSERT INTO two_updates VALUES (9, 'g0', 9), (10, 'g1', 10), (11, 'g1', 11), (12, 'g2', 12);
SELECT tally.create_metric('tu_groups', 'two_updates', group_by => 'grp') IS NOT NULL AS created;
SELECT tally.create_metric('tu_amt', 'two_updates', 'sum', 'amt') IS NOT NULL AS created;
WITH x AS (UPDATE two_updates SET amt = amt * 2 WHERE id = 9 RETURNING id)
UPDATE two_updates SET grp = 'moved' WHERE id = 11;
WITH x AS (UPDATE two_updates SET grp = 'g9' WHERE id = 12 RETURNING id)
UPDATE two_updates SET amt = amt + 100 WHERE id = 10;
WITH x AS (UPDATE two_updates SET amt = 0 WHERE id = 11 RETURNING id)
MERGE INTO two_updates t USING (VALUES (10)) s(id) ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET grp = 'merged';
SELECT group_key, value FROM tally.groups('tu_groups') ORDER BY group_key;
SELECT grp, count(*) FROM two_updates GROUP BY grp ORDER BY grp;
SELECT tally.value('tu_amt') AS amt, (SELECT sum(amt) FROM two_updates) AS live_amt;
SELECT count(*) AS drift FROM tally.verify();
SELECT tally.drop_metric(name) FROM unnest(ARRAY['tu_groups', 'tu_amt']) name;
DROP TABLE two_updates;
