-- Single-row statements take the direct write path (tally.direct_writes, on by default):
-- the metrics' expressions are compiled per table and evaluated over the one row.

-- A partition whose columns are numbered differently from its root's (created apart, with
-- a dropped column, then attached) is compiled against its own row shape.
CREATE TABLE dp (id int, grp text, v numeric) PARTITION BY RANGE (id);
CREATE TABLE dp_low PARTITION OF dp FOR VALUES FROM (0) TO (100);
CREATE TABLE dp_high (junk int, v numeric, grp text, id int);
ALTER TABLE dp_high DROP COLUMN junk;
ALTER TABLE dp ATTACH PARTITION dp_high FOR VALUES FROM (100) TO (200);
SELECT tally.create_metric('dp_sum', 'dp', 'sum', 'v', group_by => 'grp') IS NOT NULL AS created;
INSERT INTO dp VALUES (1, 'a', 1.5);
INSERT INTO dp_high VALUES (2.25, 'b', 150);       -- straight into the partition
INSERT INTO dp VALUES (160, 'a', 10);
UPDATE dp SET v = v + 1 WHERE id = 160;
UPDATE dp SET id = 50 WHERE id = 160;             -- moves to the other partition
UPDATE dp_high SET grp = 'c' WHERE id = 150;
DELETE FROM dp_low WHERE id = 1;
SELECT * FROM tally.groups('dp_sum') ORDER BY group_key;
SELECT grp, sum(v) FROM dp GROUP BY grp ORDER BY grp;
SELECT count(*) AS drifted FROM tally.verify('dp_sum');

-- An ERROR raised while evaluating a metric's filter over the row fails the statement and
-- leaves every counter as it was; the session goes on writing through the same path.
CREATE TABLE ratios (id int, num int, den int);
SELECT tally.create_metric('big_ratios', 'ratios', filter => 'num / den > 1') IS NOT NULL AS created;
SELECT tally.create_metric('all_ratios', 'ratios') IS NOT NULL AS created;
INSERT INTO ratios VALUES (1, 10, 2);
INSERT INTO ratios VALUES (2, 10, 0);
UPDATE ratios SET den = 0 WHERE id = 1;
BEGIN;
INSERT INTO ratios VALUES (3, 9, 3);
SAVEPOINT s;
INSERT INTO ratios VALUES (4, 1, 0);
ROLLBACK TO SAVEPOINT s;
INSERT INTO ratios VALUES (5, 4, 1);
COMMIT;
SELECT tally.value('big_ratios') AS big, tally.value('all_ratios') AS all_rows,
       (SELECT count(*) FROM ratios) AS actual_rows;
SELECT count(*) AS drifted FROM tally.verify();
