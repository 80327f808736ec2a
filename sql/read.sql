-- tally.snapshot: the one-row dashboard read. Written in PL/pgSQL on purpose: the jsonb is
-- built by Postgres and returned as is, so numeric figures stay exact (a round trip through
-- a JSON library would turn them into floats), and PL/pgSQL caches the plan per session.
-- Read-only: works on a hot standby.
CREATE FUNCTION tally.snapshot(dashboard text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result jsonb;
BEGIN
    WITH d AS (SELECT metrics FROM tally._dashboard WHERE name = dashboard),
         m AS (SELECT u.ord, mt.id, mt.name, mt.aggregate, mt.group_by IS NOT NULL AS grouped,
                      tally._current_bucket(mt.bucket, mt.time_zone) AS cur
                 FROM d CROSS JOIN LATERAL unnest(d.metrics) WITH ORDINALITY AS u(name, ord)
                 JOIN tally._metric mt ON mt.name = u.name),
         r AS (SELECT s.metric_id, s.group_key, s.n_rows, s.n_values, s.total
                 FROM m JOIN tally._state s ON s.metric_id = m.id AND (m.cur IS NULL OR s.bucket_start = m.cur)
               UNION ALL
               SELECT x.metric_id, x.group_key, x.n_rows, x.n_values, x.total
                 FROM m JOIN tally._delta x ON x.metric_id = m.id AND (m.cur IS NULL OR x.bucket_start = m.cur)),
         g AS (SELECT metric_id, group_key, sum(n_rows) AS n_rows, sum(n_values) AS n_values, sum(total) AS total
                 FROM r GROUP BY metric_id, group_key),
         f AS (SELECT m.name,
                      CASE WHEN m.grouped THEN
                             coalesce((SELECT jsonb_object_agg(coalesce(g.group_key, 'null'),
                                                               tally._figure(m.aggregate, g.n_values, g.total))
                                         FROM g WHERE g.metric_id = m.id AND g.n_rows <> 0), '{}'::jsonb)
                           ELSE to_jsonb(tally._figure(m.aggregate,
                                  (SELECT sum(g.n_values) FROM g WHERE g.metric_id = m.id),
                                  (SELECT sum(g.total) FROM g WHERE g.metric_id = m.id)))
                      END AS figure
                 FROM m)
    SELECT jsonb_build_object('as_of', now())
           || coalesce((SELECT jsonb_object_agg(f.name, coalesce(f.figure, 'null'::jsonb)) FROM f), '{}')
      INTO result
      FROM d;
    IF result IS NULL THEN
        RAISE EXCEPTION 'dashboard "%" does not exist', dashboard
              USING ERRCODE = 'undefined_object',
                    HINT = 'SELECT name FROM tally.dashboards lists the dashboards.';
    END IF;
    RETURN result;
END
$fn$;
