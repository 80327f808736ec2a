-- The dashboard's figures as pg_tally metrics, and the dashboard itself (with a typed view
-- for an unmanaged Django model). Skips what already exists, so reruns are safe.
SELECT tally.create_metric(name, source, aggregate, column_name, filter, group_by, bucket, bucket_column, time_zone)
  FROM (VALUES
    ('total_users',       'users'::regclass,  'count', NULL,     NULL,          NULL,     NULL,  NULL,         'UTC'),
    ('active_users',      'users',            'count', NULL,     'is_active',   NULL,     NULL,  NULL,         'UTC'),
    ('total_orders',      'orders',           'count', NULL,     NULL,          NULL,     NULL,  NULL,         'UTC'),
    ('orders_per_status', 'orders',           'count', NULL,     NULL,          'status', NULL,  NULL,         'UTC'),
    ('orders_today',      'orders',           'count', NULL,     NULL,          NULL,     'day', 'created_at', 'UTC'),
    ('revenue_today',     'orders',           'sum',   'amount', $$status IN ('PAID', 'SHIPPED')$$, NULL, 'day', 'created_at', 'UTC')
  ) AS m(name, source, aggregate, column_name, filter, group_by, bucket, bucket_column, time_zone)
 WHERE NOT EXISTS (SELECT 1 FROM tally.metrics t WHERE t.name = m.name)
 ORDER BY name;

SELECT tally.create_dashboard('admin',
         ARRAY['total_users', 'active_users', 'total_orders', 'orders_per_status', 'orders_today', 'revenue_today'],
         view_name => 'public.admin_dashboard')
 WHERE NOT EXISTS (SELECT 1 FROM tally.dashboards WHERE name = 'admin');
