-- pg_tally 0.3.0 -> 0.4.0: reads and folds skip the deltas already folded.
--
-- Every delta records the transaction that wrote it, and tally._fold keeps the horizon of
-- the last fold (see bootstrap.sql). The _delta_metric index is rebuilt on (metric_id,
-- xact_id) so that a read or a fold seeks straight to the deltas at or after the horizon.
-- Deltas pending at the update take this transaction's id: the first fold still finds them.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.4.0'" to load this file. \quit

ALTER TABLE tally._delta ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id();
DROP INDEX tally._delta_metric;
CREATE INDEX _delta_metric ON tally._delta (metric_id, xact_id);

CREATE TABLE tally._fold (
    id      int PRIMARY KEY CHECK (id = 1),
    horizon xid8 NOT NULL
);
INSERT INTO tally._fold VALUES (1, '0');
