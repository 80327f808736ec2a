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
