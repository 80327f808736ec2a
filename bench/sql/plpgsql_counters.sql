-- The hand-written solution: row-level plpgsql triggers keeping counter rows. Every write
-- UPDATEs shared rows (hot rows), so concurrent writers queue and can deadlock.
CREATE TABLE dashboard_counters (key text PRIMARY KEY, value numeric NOT NULL);

CREATE FUNCTION bump(k text, d numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO dashboard_counters VALUES (k, d)
  ON CONFLICT (key) DO UPDATE SET value = dashboard_counters.value + EXCLUDED.value
$$;

CREATE FUNCTION orders_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM bump('total_orders', -1);
    PERFORM bump('status:' || OLD.status, -1);
    PERFORM bump('orders_day:' || (OLD.created_at AT TIME ZONE 'UTC')::date, -1);
    IF OLD.status IN ('PAID', 'SHIPPED') THEN
      PERFORM bump('revenue_day:' || (OLD.created_at AT TIME ZONE 'UTC')::date, -OLD.amount);
    END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    PERFORM bump('total_orders', 1);
    PERFORM bump('status:' || NEW.status, 1);
    PERFORM bump('orders_day:' || (NEW.created_at AT TIME ZONE 'UTC')::date, 1);
    IF NEW.status IN ('PAID', 'SHIPPED') THEN
      PERFORM bump('revenue_day:' || (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.amount);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION users_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM bump('total_users', -1);
    IF OLD.is_active THEN PERFORM bump('active_users', -1); END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    PERFORM bump('total_users', 1);
    IF NEW.is_active THEN PERFORM bump('active_users', 1); END IF;
  END IF;
  RETURN NULL;
END $$;

-- Backfill, then the triggers.
INSERT INTO dashboard_counters
SELECT 'total_users', count(*) FROM users UNION ALL
SELECT 'active_users', count(*) FILTER (WHERE is_active) FROM users UNION ALL
SELECT 'total_orders', count(*) FROM orders UNION ALL
SELECT 'status:' || status, count(*) FROM orders GROUP BY status UNION ALL
SELECT 'orders_day:' || (created_at AT TIME ZONE 'UTC')::date, count(*) FROM orders GROUP BY 1 UNION ALL
SELECT 'revenue_day:' || (created_at AT TIME ZONE 'UTC')::date, sum(amount) FROM orders
 WHERE status IN ('PAID', 'SHIPPED') GROUP BY 1;
CREATE TRIGGER orders_counters AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION orders_counters();
CREATE TRIGGER users_counters AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_counters();
