SELECT key, value FROM dashboard_counters
 WHERE key IN ('total_users', 'active_users', 'total_orders')
    OR key LIKE 'status:%'
    OR key IN ('orders_day:' || (now() AT TIME ZONE 'UTC')::date, 'revenue_day:' || (now() AT TIME ZONE 'UTC')::date);
