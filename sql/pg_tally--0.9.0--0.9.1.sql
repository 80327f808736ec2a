-- pg_tally 0.9.0 -> 0.9.1: no catalog change (CHANGELOG "0.9.1"). The fixes are in the library:
-- a metric over a VIRTUAL generated column (PostgreSQL 18) is refused. Install the new library,
-- then run ALTER EXTENSION pg_tally UPDATE; writes keep being counted across both steps.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.9.1'" to load this file. \quit
