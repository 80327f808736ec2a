INSERT INTO orders (user_id, status, amount, created_at)
SELECT 1 + i % :users, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + i % 5],
       round((5 + (i % 4950) / 10.0)::numeric, 2), now() - (i % 365) * interval '1 day'
  FROM generate_series(1, 100000) i;
