-- Runs first: the extension every other file uses.
CREATE EXTENSION pg_tally;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_tally';
\dx+ pg_tally
