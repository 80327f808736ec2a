\set uid random(1, :users)
\set st random(1, 5)
INSERT INTO orders (user_id, status, amount)
VALUES (:uid, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[:st], round((5 + random() * 495)::numeric, 2));
