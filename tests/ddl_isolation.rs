//! One role's DDL never waits on pg_tally's catalog rows for another role's open transaction
//! (0.15.0, found by a hostile probe). After any ALTER SCHEMA the hooks check every table with
//! a filter or value expression again; they wrote each table's recorded column types
//! (`tally._read_types`) even when unchanged, which locked those rows until the schema
//! owner's transaction ended: the table owner's ALTER TABLE then waited, holding its lock on
//! the table, and the table's writers queued behind it.

mod common;

use common::{connect, fresh_database};

#[test]
fn an_open_alter_schema_does_not_stall_another_tables_alter_table() {
    let name = "tally_ddl_isolation";
    let mut owner = fresh_database(name);
    owner
        .batch_execute(
            "CREATE SCHEMA unrelated; \
             CREATE TABLE readings (id int, level int); \
             INSERT INTO readings SELECT i, i % 7 - 3 FROM generate_series(1, 100) i; \
             SELECT tally.create_metric('positive', 'readings', filter => 'level > 0'); \
             SELECT tally.create_metric('doubled', 'readings', 'sum', 'level * 2');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));

    // Another session renames an unrelated schema and keeps its transaction open.
    let mut other = connect(name);
    other
        .batch_execute("BEGIN; ALTER SCHEMA unrelated RENAME TO unrelated_too")
        .unwrap();

    owner
        .batch_execute(
            "SET lock_timeout = '5s'; \
             ALTER TABLE readings ADD COLUMN note text; \
             INSERT INTO readings (id, level) VALUES (101, 5)",
        )
        .unwrap_or_else(|e| panic!("the ALTER TABLE waited for the open ALTER SCHEMA: {e:?}"));
    other.batch_execute("COMMIT").unwrap();

    let exact: bool = owner
        .query_one(
            "SELECT tally.value('positive') = (SELECT count(*) FROM readings WHERE level > 0) \
                AND tally.value('doubled') = (SELECT sum(level * 2) FROM readings) \
                AND NOT EXISTS (SELECT 1 FROM tally.verify())",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(exact, "figures after the ALTER TABLE");
}

/// The same probe: a role that owns a domain another role's table reads renames it and keeps
/// its transaction open. Renaming changes no type the metrics read (0.15.0 records types by
/// oid), so nothing is recomputed under that transaction, which held the fold lock: other
/// roles' TRUNCATEs, refreshes and drops of metrics waited for it.
#[test]
fn an_open_domain_rename_does_not_hold_the_fold_lock() {
    let name = "tally_ddl_isolation_domain";
    let mut owner = fresh_database(name);
    owner
        .batch_execute(
            "CREATE DOMAIN mail AS text; \
             CREATE TABLE accounts (id int, address mail); \
             INSERT INTO accounts SELECT i, 'a' || (i % 30) FROM generate_series(1, 100) i; \
             SELECT tally.create_metric('addresses', 'accounts', 'count_distinct', 'address'); \
             CREATE TABLE visits (id int); \
             INSERT INTO visits SELECT generate_series(1, 50); \
             SELECT tally.create_metric('all_visits', 'visits');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));

    let mut other = connect(name);
    other
        .batch_execute("BEGIN; ALTER DOMAIN mail RENAME TO address_text")
        .unwrap();

    owner
        .batch_execute(
            "SET lock_timeout = '5s'; \
             TRUNCATE visits; \
             INSERT INTO visits VALUES (1), (2); \
             SELECT tally.refresh('all_visits')",
        )
        .unwrap_or_else(|e| panic!("waited for the open domain rename: {e:?}"));
    other.batch_execute("COMMIT").unwrap();

    let exact: bool = owner
        .query_one(
            "SELECT tally.value('all_visits') = 2 \
                AND tally.value('addresses') = (SELECT count(DISTINCT address) FROM accounts) \
                AND NOT EXISTS (SELECT 1 FROM tally.verify())",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(exact, "figures after the rename");
}

/// The same probe: an open ALTER SCHEMA of an unrelated schema does not make the owner of an
/// enum a metric reads wait to add a label (the hooks lock an enum's labels only when they
/// changed since they were saved).
#[test]
fn an_open_alter_schema_does_not_stall_adding_a_label() {
    let name = "tally_ddl_isolation_enum";
    let mut owner = fresh_database(name);
    owner
        .batch_execute(
            "CREATE SCHEMA unrelated; \
             CREATE TYPE stage AS ENUM ('new', 'done'); \
             CREATE TABLE jobs (id int, stage stage, n int); \
             INSERT INTO jobs VALUES (1, 'new', 1), (2, 'done', 2); \
             SELECT tally.create_metric('last_stage', 'jobs', 'max', 'stage'); \
             SELECT tally.create_metric('positive', 'jobs', filter => 'n > 0');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));

    let mut other = connect(name);
    other
        .batch_execute("BEGIN; ALTER SCHEMA unrelated RENAME TO unrelated_too")
        .unwrap();

    owner
        .batch_execute("SET lock_timeout = '5s'; ALTER TYPE stage ADD VALUE 'late'")
        .unwrap_or_else(|e| panic!("the ADD VALUE waited for the open ALTER SCHEMA: {e:?}"));
    other.batch_execute("COMMIT").unwrap();
    owner
        .batch_execute("INSERT INTO jobs VALUES (3, 'late', 3)")
        .unwrap();

    let exact: bool = owner
        .query_one(
            "SELECT tally.value('last_stage', NULL::stage) = (SELECT max(stage) FROM jobs) \
                AND tally.value('positive') = 3 \
                AND NOT EXISTS (SELECT 1 FROM tally.verify())",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(exact, "figures after the new label");
}
