-- pg_tally 0.23.0 -> 0.24.0 (CHANGELOG "0.24.0"): count_distinct over arrays of enums and
-- rows with enum fields (their labels saved in tally._group_enum, which 0.16.0 made), and
-- clearer refusals of filters and value expressions, all in the library. The catalog does
-- not change: this update only moves the version.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.24.0'" to load this file. \quit
