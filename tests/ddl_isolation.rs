//! One role's DDL never waits on pg_tally's catalog rows, or its fold lock, for another role's
//! open transaction (0.15.0, each case found by a hostile probe). Another session runs a DDL
//! statement the hooks follow and keeps its transaction open; the table owner's statements
//! must not wait for it (lock_timeout 5 s), and every figure is exact afterwards.

mod common;

use common::{connect, fresh_database};

/// One case: `setup` in a fresh database `name`, `held` in another session left open, then
/// `meanwhile` in the first session (it must not wait), the other session's COMMIT, and
/// `exact` (one boolean) true.
struct Case {
    name: &'static str,
    setup: &'static str,
    held: &'static str,
    meanwhile: &'static str,
    exact: &'static str,
}

fn run(case: Case) {
    let mut owner = fresh_database(case.name);
    owner
        .batch_execute(case.setup)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut other = connect(case.name);
    other
        .batch_execute(&format!("BEGIN; {}", case.held))
        .unwrap();
    owner
        .batch_execute(&format!("SET lock_timeout = '5s'; {}", case.meanwhile))
        .unwrap_or_else(|e| panic!("waited for the open `{}`: {e:?}", case.held));
    other.batch_execute("COMMIT").unwrap();
    let exact: bool = owner
        .query_one(case.exact, &[])
        .unwrap_or_else(|e| panic!("{}: {e:?}", case.exact))
        .get(0);
    assert!(exact, "figures after `{}`", case.meanwhile);
}

/// After any ALTER SCHEMA the hooks check every table with a filter or value expression
/// again; they wrote each table's recorded column types (`tally._read_types`) even when
/// unchanged, which locked those rows until the schema owner's transaction ended: the table
/// owner's ALTER TABLE then waited, holding its lock on the table, and the table's writers
/// queued behind it.
#[test]
fn an_open_alter_schema_does_not_stall_another_tables_alter_table() {
    run(Case {
        name: "tally_ddl_isolation",
        setup: "CREATE SCHEMA unrelated; \
                CREATE TABLE readings (id int, level int); \
                INSERT INTO readings SELECT i, i % 7 - 3 FROM generate_series(1, 100) i; \
                SELECT tally.create_metric('positive', 'readings', filter => 'level > 0'); \
                SELECT tally.create_metric('doubled', 'readings', 'sum', 'level * 2');",
        held: "ALTER SCHEMA unrelated RENAME TO unrelated_too",
        meanwhile: "ALTER TABLE readings ADD COLUMN note text; \
                    INSERT INTO readings (id, level) VALUES (101, 5)",
        exact: "SELECT tally.value('positive') = (SELECT count(*) FROM readings WHERE level > 0) \
                   AND tally.value('doubled') = (SELECT sum(level * 2) FROM readings) \
                   AND NOT EXISTS (SELECT 1 FROM tally.verify())",
    });
}

/// A role that owns a domain another role's table reads renames it. Renaming changes no type
/// the metrics read (0.15.0 records types by oid), so nothing is recomputed under that
/// transaction, which held the fold lock: other roles' TRUNCATEs, refreshes and drops of
/// metrics waited for it.
#[test]
fn an_open_domain_rename_does_not_hold_the_fold_lock() {
    run(Case {
        name: "tally_ddl_isolation_domain",
        setup: "CREATE DOMAIN mail AS text; \
                CREATE TABLE accounts (id int, address mail); \
                INSERT INTO accounts SELECT i, 'a' || (i % 30) FROM generate_series(1, 100) i; \
                SELECT tally.create_metric('addresses', 'accounts', 'count_distinct', 'address'); \
                CREATE TABLE visits (id int); \
                INSERT INTO visits SELECT generate_series(1, 50); \
                SELECT tally.create_metric('all_visits', 'visits');",
        held: "ALTER DOMAIN mail RENAME TO address_text",
        meanwhile: "TRUNCATE visits; \
                    INSERT INTO visits VALUES (1), (2); \
                    SELECT tally.refresh('all_visits')",
        exact: "SELECT tally.value('all_visits') = 2 \
                   AND tally.value('addresses') = (SELECT count(DISTINCT address) FROM accounts) \
                   AND NOT EXISTS (SELECT 1 FROM tally.verify())",
    });
}

/// An open ALTER SCHEMA of an unrelated schema does not make the owner of an enum a metric
/// reads wait to add a label (the hooks lock an enum's labels only when they changed since
/// they were saved).
#[test]
fn an_open_alter_schema_does_not_stall_adding_a_label() {
    run(Case {
        name: "tally_ddl_isolation_enum",
        setup: "CREATE SCHEMA unrelated; \
                CREATE TYPE stage AS ENUM ('new', 'done'); \
                CREATE TABLE jobs (id int, stage stage, n int); \
                INSERT INTO jobs VALUES (1, 'new', 1), (2, 'done', 2); \
                SELECT tally.create_metric('last_stage', 'jobs', 'max', 'stage'); \
                SELECT tally.create_metric('positive', 'jobs', filter => 'n > 0');",
        held: "ALTER SCHEMA unrelated RENAME TO unrelated_too",
        meanwhile: "ALTER TYPE stage ADD VALUE 'late'",
        exact: "SELECT tally.value('last_stage', NULL::stage) = (SELECT max(stage) FROM jobs) \
                   AND tally.value('positive') = 2 \
                   AND NOT EXISTS (SELECT 1 FROM tally.verify())",
    });
}
