SELECT count(*) AS total_users, count(*) FILTER (WHERE is_active) AS active_users FROM users;
SELECT count(*) AS total_orders,
       count(*) FILTER (WHERE status = 'PENDING') AS pending, count(*) FILTER (WHERE status = 'PAID') AS paid,
       count(*) FILTER (WHERE status = 'SHIPPED') AS shipped, count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
       count(*) FILTER (WHERE status = 'REFUNDED') AS refunded,
       count(*) FILTER (WHERE created_at >= date_trunc('day', now(), 'UTC')) AS orders_today,
       coalesce(sum(amount) FILTER (WHERE created_at >= date_trunc('day', now(), 'UTC')
                                      AND status IN ('PAID', 'SHIPPED')), 0) AS revenue_today
  FROM orders;
