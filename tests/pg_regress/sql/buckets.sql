-- Buckets are local periods in the metric's time zone, DST-correct; weeks start on Monday.
-- Europe/Paris moved to summer time at 2026-03-29 01:00 UTC: that day is 23 hours long.
SET timezone = 'UTC';
CREATE TABLE events (id serial, at timestamptz, local_at timestamp, on_day date);
INSERT INTO events (at) VALUES
  ('2026-03-28 22:59:59+00'),  -- Mar 28, 23:59:59 in Paris (CET)
  ('2026-03-28 23:00:00+00'),  -- Mar 29, 00:00 in Paris
  ('2026-03-29 21:59:59+00'),  -- Mar 29, 23:59:59 in Paris (CEST)
  ('2026-03-29 22:00:00+00'),  -- Mar 30, 00:00 in Paris
  ('2026-03-30 10:00:00+00'),
  (NULL);
UPDATE events SET local_at = at AT TIME ZONE 'Europe/Paris', on_day = (at AT TIME ZONE 'Europe/Paris')::date;

SELECT tally.create_metric('per_day', 'events', bucket => 'day', bucket_column => 'at', time_zone => 'Europe/Paris') IS NOT NULL;
SELECT tally.create_metric('per_hour', 'events', bucket => 'hour', bucket_column => 'at', time_zone => 'Europe/Paris') IS NOT NULL;
SELECT tally.create_metric('per_week', 'events', bucket => 'week', bucket_column => 'local_at', time_zone => 'Europe/Paris') IS NOT NULL;
SELECT tally.create_metric('per_month', 'events', bucket => 'month', bucket_column => 'on_day', time_zone => 'Europe/Paris') IS NOT NULL;

SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_day', '2026-03-01', '2026-04-01');
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_hour', '2026-03-28', '2026-04-01');
SELECT bucket_start, extract(isodow FROM bucket_start AT TIME ZONE 'Europe/Paris') AS isodow, value
  FROM tally.series('per_week', '2026-03-01', '2026-04-01');
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_month', '2026-01-01', '2026-06-01');

-- Moving an event across a bucket boundary is old-out/new-in.
UPDATE events SET at = at + interval '1 hour', local_at = local_at + interval '1 hour' WHERE id = 1;
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_day', '2026-03-01', '2026-04-01');
SELECT * FROM tally.verify();

-- The current bucket: tally.value reads the bucket holding now().
INSERT INTO events (at) VALUES (now()), (now() - interval '1 minute');
SELECT tally.value('per_month') AS this_month_by_on_day, tally.value('per_day') = (
  SELECT count(*) FROM events WHERE date_trunc('day', at, 'Europe/Paris') = date_trunc('day', now(), 'Europe/Paris')) AS today_ok;

-- The range must be ordered.
SELECT * FROM tally.series('per_day', '2026-04-01', '2026-03-01');

-- Quarters and years (0.10.0), local to the metric's zone: 2026-03-31 22:30 UTC is already
-- the second quarter in Paris, 2025-12-31 23:30 UTC already 2026. Any case is accepted.
SELECT tally.create_metric('per_quarter', 'events', bucket => 'quarter', bucket_column => 'at', time_zone => 'Europe/Paris') IS NOT NULL;
SELECT tally.create_metric('per_year', 'events', bucket => ' YEAR ', bucket_column => 'on_day', time_zone => 'Europe/Paris') IS NOT NULL;
SELECT bucket FROM tally.metrics WHERE name IN ('per_quarter', 'per_year') ORDER BY name;
INSERT INTO events (at, local_at, on_day)
SELECT t, t AT TIME ZONE 'Europe/Paris', (t AT TIME ZONE 'Europe/Paris')::date
  FROM (VALUES ('2026-03-31 21:59:59+00'::timestamptz), ('2026-03-31 22:30+00'), ('2025-12-31 22:59:59+00'),
               ('2025-12-31 23:30+00'), ('2026-06-30 22:00+00')) v(t);
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_quarter', '2025-07-01', '2026-07-01');
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value FROM tally.series('per_year', '2020-01-01', '2030-01-01');
SELECT tally.value('per_quarter') = (SELECT count(*) FROM events WHERE date_trunc('quarter', at, 'Europe/Paris') = date_trunc('quarter', now(), 'Europe/Paris')) AS this_quarter_ok,
       tally.value('per_year') = (SELECT count(*) FROM events WHERE date_trunc('year', on_day::timestamp) = date_trunc('year', now() AT TIME ZONE 'Europe/Paris')) AS this_year_ok;
SELECT count(*) AS drift FROM tally.verify();
-- Other units are refused with the list of those there are.
SELECT tally.create_metric('per_decade', 'events', bucket => 'decade', bucket_column => 'at');

-- Fixed widths (0.11.0). N minutes count real time from the local hour's start: Kathmandu
-- is UTC+5:45, so its quarter hours start at :00, :15, :30, :45 there, which is :15, :30, :45,
-- :00 UTC. N hours count the local clock from local midnight: on 2026-10-25, when Paris goes
-- back from 03:00 to 02:00, its 00:00-06:00 bucket lasts seven hours.
SELECT tally.create_metric('per_quarter_hour', 'events', bucket => '15 minutes', bucket_column => 'at', time_zone => 'Asia/Kathmandu')->>'bucket';
SELECT tally.create_metric('per_six_hours', 'events', bucket => ' 6  HOURS', bucket_column => 'at', time_zone => 'Europe/Paris')->>'bucket';
SELECT tally.create_metric('per_minute_local', 'events', bucket => '1 minutes', bucket_column => 'local_at', time_zone => 'Europe/Paris')->>'bucket';
SELECT name, bucket FROM tally.metrics WHERE name IN ('per_quarter_hour', 'per_six_hours', 'per_minute_local') ORDER BY name;
INSERT INTO events (at, local_at, on_day)
SELECT t, t AT TIME ZONE 'Europe/Paris', (t AT TIME ZONE 'Europe/Paris')::date
  FROM generate_series('2026-10-24 21:50+00'::timestamptz, '2026-10-25 05:10+00', '20 minutes') t;
SELECT bucket_start, bucket_start AT TIME ZONE 'Asia/Kathmandu' AS kathmandu_start, value
  FROM tally.series('per_quarter_hour', '2026-10-24 21:50+00', '2026-10-24 23:00+00');
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Paris' AS paris_start, value
  FROM tally.series('per_six_hours', '2026-10-24 21:00+00', '2026-10-25 12:00+00');
SELECT count(*) AS minutes, sum(value) AS rows FROM tally.series('per_minute_local', '2026-10-24', '2026-10-26');
SELECT tally.value('per_six_hours') = (SELECT count(*) FROM events
         WHERE date_trunc('day', at AT TIME ZONE 'Europe/Paris') + floor(extract(hour FROM at AT TIME ZONE 'Europe/Paris') / 6) * interval '6 hours'
             = date_trunc('day', now() AT TIME ZONE 'Europe/Paris') + floor(extract(hour FROM now() AT TIME ZONE 'Europe/Paris') / 6) * interval '6 hours') AS this_six_hours_ok;
-- The snapshot's direct read (the current bucket computed in Rust) equals its query read.
INSERT INTO events (at, local_at) VALUES (now(), now() AT TIME ZONE 'Europe/Paris');
SELECT tally.create_dashboard('widths', ARRAY['per_quarter_hour', 'per_six_hours', 'per_minute_local']);
SELECT tally._snapshot_counters('widths') IS NOT NULL AS direct,
       tally.snapshot('widths') - 'as_of' = tally._snapshot_sql('widths') - 'as_of' AS same,
       (tally.snapshot('widths')->>'per_six_hours')::int >= 1 AS counted;
SELECT tally.drop_dashboard('widths');
SELECT count(*) AS drift FROM tally.verify();
-- Widths that do not divide an hour or a day are refused, with the list of those there are.
SELECT tally.create_metric('per_7_minutes', 'events', bucket => '7 minutes', bucket_column => 'at');
SELECT tally.create_metric('per_5_hours', 'events', bucket => '5 hours', bucket_column => 'at');
SELECT tally.create_metric('per_90_minutes', 'events', bucket => '90 minutes', bucket_column => 'at');

SELECT tally.drop_metric(m) FROM unnest(ARRAY['per_day','per_hour','per_week','per_month','per_quarter','per_year',
                                              'per_quarter_hour','per_six_hours','per_minute_local']) m;
DROP TABLE events;
RESET timezone;
