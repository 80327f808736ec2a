\set id random(1, :orders)
\set st random(1, 5)
UPDATE orders SET status = (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[:st] WHERE id = :id;
