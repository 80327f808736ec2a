//! DDL in a REPEATABLE READ or SERIALIZABLE transaction whose snapshot predates a metric
//! defined since (0.13.0, found by a hostile probe). The DDL hooks read the metrics in that
//! snapshot: a rename of an enum label would not be followed for the new metric, a rewrite
//! would not recompute it. The DDL must fail as a serialization failure (40001) instead,
//! and the figures stay exact.

mod common;

use common::{connect, fresh_database};

fn drift(db: &mut postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM tally.verify()", &[])
        .unwrap()
        .get(0)
}

/// Runs `ddl` in a transaction of `isolation` whose snapshot was taken before `define`
/// (run in another session) committed; returns the DDL's SQLSTATE, None if it succeeded.
fn ddl_after_definition(
    database: &str,
    isolation: &str,
    define: &str,
    ddl: &str,
) -> Option<String> {
    let mut old = connect(database);
    old.batch_execute(&format!("BEGIN ISOLATION LEVEL {isolation}"))
        .unwrap();
    old.batch_execute("SELECT count(*) FROM pg_class").unwrap(); // takes the snapshot
    connect(database)
        .batch_execute(define)
        .unwrap_or_else(|e| panic!("{define}: {e:?}"));
    let outcome = old.batch_execute(ddl);
    let code = outcome
        .as_ref()
        .err()
        .and_then(|e| e.code())
        .map(|code| code.code().to_string());
    if code.is_some() {
        old.batch_execute("ROLLBACK").unwrap();
    } else {
        old.batch_execute("COMMIT").unwrap();
    }
    code
}

#[test]
fn ddl_under_an_old_snapshot_is_refused_when_a_metric_is_new() {
    for isolation in ["REPEATABLE READ", "SERIALIZABLE"] {
        let name = "tally_ddl_old_snapshot";
        let mut db = fresh_database(name);
        db.batch_execute(
            "CREATE TYPE stage AS ENUM ('new', 'open'); \
             CREATE TABLE t (id int, stage stage, amount int); \
             INSERT INTO t SELECT i, 'open', i FROM generate_series(1, 100) i;",
        )
        .unwrap();
        let renamed = ddl_after_definition(
            name,
            isolation,
            "SELECT tally.create_metric('last_stage', 't', 'max', 'stage')",
            "ALTER TYPE stage RENAME VALUE 'open' TO 'opened'",
        );
        assert_eq!(renamed.as_deref(), Some("40001"), "{isolation}: the rename");
        let rewritten = ddl_after_definition(
            name,
            isolation,
            "SELECT tally.create_metric('amount_sum', 't', 'sum', 'amount')",
            "ALTER TABLE t ALTER COLUMN amount TYPE bigint USING amount * 100",
        );
        assert_eq!(
            rewritten.as_deref(),
            Some("40001"),
            "{isolation}: the rewrite"
        );
        assert_eq!(drift(&mut db), 0, "{isolation}: drift");
        // Retried in a fresh transaction, both DDL are followed.
        db.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL {isolation}; \
             ALTER TYPE stage RENAME VALUE 'open' TO 'opened'; \
             ALTER TABLE t ALTER COLUMN amount TYPE bigint USING amount * 100; \
             COMMIT;"
        ))
        .unwrap_or_else(|e| panic!("{isolation}: the retry: {e:?}"));
        let (stage, sum): (String, String) = {
            let row = db
                .query_one(
                    "SELECT tally.value('last_stage', NULL::text), tally.value('amount_sum')::text",
                    &[],
                )
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!((stage.as_str(), sum.as_str()), ("opened", "505000"));
        assert_eq!(drift(&mut db), 0, "{isolation}: drift after the retry");
    }
}
