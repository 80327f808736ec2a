-- A NULL argument to any pg_tally function: an ERROR naming it (22004), or the documented
-- meaning of NULL (all metrics for refresh and verify, the default for aggregate and
-- time_zone, "none" for the optional parts of a metric and for a dashboard's view); never a
-- panic, never a silent no-op.
SET client_min_messages = warning;
CREATE TABLE nulls_t (id int, g text, v numeric, at timestamptz);
INSERT INTO nulls_t VALUES (1, 'a', 1, '2026-01-01'), (2, NULL, NULL, NULL);
-- create_metric: a name and a table are required; NULL elsewhere means the default or none.
SELECT tally.create_metric(NULL, 'nulls_t');
SELECT tally.create_metric('nulls_m', NULL);
SELECT tally.create_metric('nulls_m', 'nulls_t', 'sum', NULL);
SELECT tally.create_metric('nulls_m', 'nulls_t', 'count', NULL, NULL, NULL, 'day', NULL);
SELECT tally.create_metric('nulls_m', 'nulls_t', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT tally.value('nulls_m');
-- drop_metric, value, groups, series: the metric (and since, until) are required.
SELECT tally.drop_metric(NULL);
SELECT tally.value(NULL);
SELECT * FROM tally.groups(NULL);
SELECT * FROM tally.series(NULL, '-infinity');
SELECT * FROM tally.series('nulls_m', NULL);
SELECT * FROM tally.series('nulls_m', '-infinity', NULL);
-- Dashboards: a name and metrics are required; no metric of the list may be NULL; a NULL
-- view name means no typed view.
SELECT tally.create_dashboard(NULL, ARRAY['nulls_m']);
SELECT tally.create_dashboard('nulls_d', NULL);
SELECT tally.create_dashboard('nulls_d', ARRAY[NULL]);
SELECT tally.create_dashboard('nulls_d', ARRAY['nulls_m', NULL]);
SELECT tally.create_dashboard('nulls_d', ARRAY['nulls_m'], NULL);
SELECT tally.snapshot(NULL);
SELECT tally.snapshot('nulls_d') - 'as_of' AS figures;
SELECT tally.drop_dashboard(NULL);
-- refresh and verify: NULL (their default) means every metric the caller may use.
SELECT metric, groups FROM tally.refresh(NULL);
SELECT * FROM tally.verify(NULL);
SELECT tally.drop_dashboard('nulls_d');
SELECT tally.drop_metric('nulls_m');
DROP TABLE nulls_t;
RESET client_min_messages;
