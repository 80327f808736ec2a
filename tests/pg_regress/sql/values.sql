-- min, max and count_distinct: exact when the current extreme is deleted or updated away,
-- under savepoints, rollbacks, TRUNCATE and NULLs, whether the changes are still pending
-- deltas or already folded. Every figure is compared with the live aggregate.
SET tally.auto_compact = off;   -- keep changes pending until the explicit compact() below
CREATE TABLE sales (id int, shop text, customer int, amount numeric(10,2), sold_on date);
INSERT INTO sales
SELECT i, (ARRAY['north','south'])[1 + i % 2], i % 7, (i % 50) + 0.25, date '2026-11-01' + i % 10
  FROM generate_series(1, 200) i;
SELECT tally.create_metric('cheapest', 'sales', 'min', 'amount') IS NOT NULL AS created;
SELECT tally.create_metric('priciest_by_shop', 'sales', 'max', 'amount', group_by => 'shop') IS NOT NULL AS created;
SELECT tally.create_metric('customers', 'sales', 'count_distinct', 'customer') IS NOT NULL AS created;
SELECT tally.create_metric('customers_by_shop', 'sales', 'count_distinct', 'customer', group_by => 'shop') IS NOT NULL AS created;
SELECT tally.create_metric('daily_customers', 'sales', 'count_distinct', 'customer',
                           bucket => 'day', bucket_column => 'sold_on') IS NOT NULL AS created;
CREATE VIEW check_sales AS
SELECT tally.value('cheapest') IS NOT DISTINCT FROM (SELECT min(amount) FROM sales)
   AND tally.value('priciest_by_shop') IS NOT DISTINCT FROM (SELECT max(amount) FROM sales)
   AND tally.value('customers') = (SELECT count(DISTINCT customer) FROM sales)
   AND tally.value('customers_by_shop') = (SELECT count(DISTINCT customer) FROM sales)
   AND (SELECT count(*) FROM (
          (SELECT shop, max(amount) FROM sales GROUP BY shop
           EXCEPT ALL SELECT * FROM tally.groups('priciest_by_shop'))
          UNION ALL
          (SELECT * FROM tally.groups('priciest_by_shop')
           EXCEPT ALL SELECT shop, max(amount) FROM sales GROUP BY shop)) x) = 0
   AND (SELECT count(*) FROM (
          (SELECT shop, count(DISTINCT customer)::numeric FROM sales GROUP BY shop
           EXCEPT ALL SELECT * FROM tally.groups('customers_by_shop'))
          UNION ALL
          (SELECT * FROM tally.groups('customers_by_shop')
           EXCEPT ALL SELECT shop, count(DISTINCT customer)::numeric FROM sales GROUP BY shop)) y) = 0
   AND (SELECT count(*) FROM (
          (SELECT timezone('UTC', sold_on::timestamp), NULL::text, count(DISTINCT customer)::numeric FROM sales GROUP BY sold_on
           EXCEPT ALL SELECT * FROM tally.series('daily_customers', '2026-01-01', '2027-01-01'))
          UNION ALL
          (SELECT * FROM tally.series('daily_customers', '2026-01-01', '2027-01-01')
           EXCEPT ALL SELECT timezone('UTC', sold_on::timestamp), NULL::text, count(DISTINCT customer)::numeric FROM sales GROUP BY sold_on)) z) = 0
   AND NOT EXISTS (SELECT FROM tally.verify()) AS exact;
SET client_min_messages = warning;  -- verify() reports progress per metric as NOTICEs
SELECT * FROM check_sales;
SELECT tally.value('cheapest') AS cheapest, tally.value('customers') AS customers;
SELECT * FROM tally.groups('priciest_by_shop');

-- Delete the current minimum (several rows hold it): the next value takes over, no rescan.
DELETE FROM sales WHERE amount = 0.25 AND id < 100;
SELECT tally.value('cheapest') AS still_025, * FROM check_sales;
DELETE FROM sales WHERE amount = 0.25;
SELECT tally.value('cheapest') AS next_min, * FROM check_sales;

-- Update the maximum of one shop away, then into the other shop.
UPDATE sales SET amount = 1.00 WHERE amount = 49.25;
SELECT * FROM tally.groups('priciest_by_shop');
UPDATE sales SET shop = 'north', amount = 99.99 WHERE id = 2;
SELECT * FROM tally.groups('priciest_by_shop');
SELECT * FROM check_sales;

-- A customer disappears entirely, another appears; one moves between shops.
DELETE FROM sales WHERE customer = 3;
INSERT INTO sales VALUES (1000, 'south', 42, 10, '2026-11-05');
UPDATE sales SET shop = 'south' WHERE customer = 5 AND shop = 'north';
SELECT tally.value('customers') AS customers, * FROM check_sales;
SELECT * FROM tally.groups('customers_by_shop');

-- NULL values are not values: they count as rows of a group but never as a min or a customer.
INSERT INTO sales VALUES (1001, 'east', NULL, NULL, '2026-11-05');
SELECT * FROM tally.groups('priciest_by_shop');
SELECT * FROM tally.groups('customers_by_shop');
SELECT * FROM check_sales;

-- Savepoints and rollbacks leave nothing behind.
BEGIN;
DELETE FROM sales WHERE amount < 5;
SAVEPOINT s;
INSERT INTO sales VALUES (1002, 'north', 77, 0.01, '2026-11-06');
SELECT tally.value('cheapest') AS inside_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT tally.value('cheapest') AS after_rollback_to, * FROM check_sales;
ROLLBACK;
SELECT tally.value('cheapest') AS after_rollback, * FROM check_sales;

-- Folding the pending deltas changes no figure.
SELECT tally.compact() > 0 AS folded;
SELECT tally.value('cheapest') AS cheapest, tally.value('customers') AS customers, * FROM check_sales;

-- The whole minimum group leaves after folding; then TRUNCATE empties everything.
DELETE FROM sales WHERE amount = (SELECT min(amount) FROM sales);
SELECT * FROM check_sales;
SELECT tally.compact() > 0 AS folded;
SELECT * FROM check_sales;
TRUNCATE sales;
SELECT tally.value('cheapest') AS cheapest, tally.value('customers') AS customers, * FROM check_sales;
SELECT * FROM tally.groups('priciest_by_shop');
INSERT INTO sales VALUES (1, 'north', 1, 3.50, '2026-11-07'), (2, 'north', 1, 2.50, '2026-11-07');
SELECT tally.value('cheapest') AS cheapest, tally.value('customers') AS customers, * FROM check_sales;

-- In a dashboard: one row, min/max/count_distinct next to each other.
SELECT tally.create_dashboard('sales_board', ARRAY['cheapest', 'priciest_by_shop', 'customers'], 'sales_board_view');
SELECT cheapest, priciest_by_shop, customers FROM sales_board_view;

-- Refresh recomputes exactly what the deltas had built.
SELECT metric, groups FROM tally.refresh('customers_by_shop');
SELECT * FROM check_sales;

SELECT tally.drop_dashboard('sales_board');
DROP VIEW check_sales;
SELECT tally.drop_metric(m) FROM unnest(ARRAY['cheapest', 'priciest_by_shop', 'customers',
                                              'customers_by_shop', 'daily_customers']) m;
DROP TABLE sales;
RESET client_min_messages;
RESET tally.auto_compact;
