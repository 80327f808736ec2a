-- pg_tally 0.17.0 -> 0.18.0 (CHANGELOG "0.18.0"): sum over money. Its amounts are added as
-- read from the datum by tally._tracked_ordered (0.17.0), so the catalog does not change:
-- the library takes such a metric on a 0.17.0 catalog too, and no metric changes.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.18.0'" to load this file. \quit
