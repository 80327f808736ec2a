//! The fold horizon (`tally._fold`): reads and folds look up pending deltas only from the
//! horizon on, so every delta a fold has not deleted must have been written by a transaction
//! at or after it. These tests hold writers open across folds in the ways that could break
//! that — a transaction that wrote before the fold and commits after it, one that only gets
//! its transaction id after the fold, one that writes in a subtransaction, multi-row
//! statements (the prepared INSERT fills `xact_id` by its default) and single-row ones (the
//! direct path) — and check after each step that every figure equals the live aggregate and
//! that no visible delta lies before the horizon.

mod common;

use common::{connect, fresh_database};
use postgres::Client;

const DB: &str = "tally_fold_horizon";

fn setup() -> Client {
    let mut db = fresh_database(DB);
    db.batch_execute(&format!(
        "CREATE TABLE t (id serial PRIMARY KEY, grp text, v numeric); \
         SELECT tally.create_metric('n', 't'); \
         SELECT tally.create_metric('total', 't', 'sum', 'v'); \
         SELECT tally.create_metric('per_grp', 't', group_by => 'grp'); \
         SELECT tally.create_metric('values', 't', 'count_distinct', 'v'); \
         SELECT tally.create_dashboard('board', ARRAY['n', 'total', 'per_grp']); \
         ALTER DATABASE {DB} SET tally.auto_compact = off;"
    ))
    .unwrap();
    db
}

/// Every figure equals the live aggregate (through the dashboard read, its query-based
/// fallback and the SQL reads), and no delta visible now was written before the horizon.
fn assert_exact(db: &mut Client, when: &str) {
    let row = db
        .query_one(
            "SELECT tally.snapshot('board') - 'as_of' = jsonb_build_object( \
                      'n', (SELECT count(*) FROM t), \
                      'total', (SELECT coalesce(sum(v), 0) FROM t), \
                      'per_grp', (SELECT coalesce(jsonb_object_agg(coalesce(grp, 'null'), c), '{}') \
                                    FROM (SELECT grp, count(*) AS c FROM t GROUP BY grp) g)), \
                    tally._snapshot_counters('board') IS NOT NULL, \
                    tally.value('values') = (SELECT count(DISTINCT v) FROM t), \
                    (SELECT count(*) FROM tally.verify()), \
                    (SELECT count(*) FROM tally._delta WHERE xact_id < (SELECT horizon FROM tally._fold)), \
                    tally._snapshot_sql('board') - 'as_of' = tally.snapshot('board') - 'as_of'",
            &[],
        )
        .unwrap_or_else(|e| panic!("{when}: {e:?}"));
    let (snapshot_exact, native, distinct_exact, drift, behind, query_read_same): (
        bool,
        bool,
        bool,
        i64,
        i64,
        bool,
    ) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    );
    assert!(
        native,
        "{when}: the dashboard was not read by index lookups"
    );
    assert!(
        snapshot_exact,
        "{when}: tally.snapshot differs from the live figures"
    );
    assert!(
        query_read_same,
        "{when}: the query-based read (tally._snapshot_sql) differs from tally.snapshot"
    );
    assert!(
        distinct_exact,
        "{when}: count_distinct differs from the live figure"
    );
    assert_eq!(drift, 0, "{when}: tally.verify() reported drift");
    assert_eq!(
        behind, 0,
        "{when}: pending deltas lie before the fold horizon"
    );
}

fn compact(db: &mut Client) -> i64 {
    db.query_one("SELECT tally.compact()", &[]).unwrap().get(0)
}

fn horizon(db: &mut Client) -> String {
    db.query_one("SELECT horizon::text FROM tally._fold", &[])
        .unwrap()
        .get(0)
}

/// Another session writes (single-row and multi-row statements) and folds, three times.
fn write_and_fold(other: &mut Client, when: &str) {
    for round in 0..3 {
        write(other, round);
        assert!(compact(other) > 0, "{when}: round {round} folded nothing");
        assert_exact(other, &format!("{when}, round {round}"));
    }
}

/// A single-row INSERT (direct path), a multi-row INSERT (prepared INSERT) and a single-row
/// UPDATE that moves a row between groups.
fn write(other: &mut Client, round: i32) {
    other
        .batch_execute(&format!(
            "INSERT INTO t (grp, v) VALUES ('b{round}', {round}.5); \
             INSERT INTO t (grp, v) SELECT 'c' || i % 3, i FROM generate_series(1, 5) i; \
             UPDATE t SET grp = 'u' WHERE id = (SELECT min(id) FROM t WHERE grp LIKE 'c%');"
        ))
        .unwrap();
}

/// `writer` runs `begin`, the other session writes and folds three times, then `writer`
/// runs `finish` (which commits): every figure must still be exact.
fn held_open_across_folds(
    writer: &mut Client,
    other: &mut Client,
    begin: &str,
    finish: &str,
    when: &str,
) {
    writer.batch_execute(begin).unwrap();
    write_and_fold(other, &format!("{when} is open"));
    writer.batch_execute(finish).unwrap();
    assert_exact(other, &format!("{when} committed after the folds"));
}

#[test]
fn writers_open_across_folds_are_never_skipped() {
    let mut other = setup();
    let mut writer = connect(DB);

    // Wrote before the folds, commits after them: the horizon must stay at or below its id.
    writer
        .batch_execute("BEGIN; INSERT INTO t (grp, v) VALUES ('early', 1), ('early', 2)")
        .unwrap();
    let id: String = writer
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .unwrap()
        .get(0);
    write_and_fold(&mut other, "a transaction that wrote earlier is open");
    let behind: bool = other
        .query_one("SELECT horizon > $1::text::xid8 FROM tally._fold", &[&id])
        .unwrap()
        .get(0);
    assert!(
        !behind,
        "the horizon passed a transaction that is still open"
    );
    writer
        .batch_execute("INSERT INTO t (grp, v) VALUES ('early', 3); COMMIT")
        .unwrap();
    assert_exact(&mut other, "the early writer committed after three folds");
    assert!(compact(&mut other) > 0);
    let passed: bool = other
        .query_one("SELECT horizon > $1::text::xid8 FROM tally._fold", &[&id])
        .unwrap()
        .get(0);
    assert!(
        passed,
        "the horizon did not move past a finished transaction"
    );
    assert_exact(&mut other, "the early writer's deltas folded");

    // Began (and read) before the folds, but writes, and so gets its id, only after them.
    held_open_across_folds(
        &mut writer,
        &mut other,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t",
        "INSERT INTO t (grp, v) VALUES ('late', 4); DELETE FROM t WHERE grp = 'early' AND v = 1; COMMIT",
        "a transaction that takes its id after the folds",
    );

    // Writes inside subtransactions, one rolled back, across folds.
    held_open_across_folds(
        &mut writer,
        &mut other,
        "BEGIN; SAVEPOINT a; INSERT INTO t (grp, v) VALUES ('sub', 5); RELEASE a; \
         SAVEPOINT b; INSERT INTO t (grp, v) VALUES ('gone', 6); ROLLBACK TO b",
        "SAVEPOINT c; INSERT INTO t (grp, v) SELECT 'sub', i FROM generate_series(1, 3) i; RELEASE c; COMMIT",
        "a transaction with subtransactions",
    );

    // A writer that folds inside its own open transaction (its own deltas included), then
    // writes more. It holds the fold lock until it commits: the other session cannot fold.
    write(&mut other, 7);
    writer
        .batch_execute(
            "BEGIN; INSERT INTO t (grp, v) VALUES ('self', 7); SELECT tally.compact(); \
             INSERT INTO t (grp, v) VALUES ('self', 8)",
        )
        .unwrap();
    write(&mut other, 8);
    assert_eq!(
        compact(&mut other),
        0,
        "folded while another session held the fold lock"
    );
    assert_exact(
        &mut other,
        "a transaction that folded its own deltas is open",
    );
    writer.batch_execute("COMMIT").unwrap();
    assert_exact(&mut other, "the self-folding writer committed");
    assert!(compact(&mut other) > 0);
    assert_exact(&mut other, "all folded");
    assert_ne!(horizon(&mut other), "0");

    // A refresh removes a metric's pending deltas from the horizon on: those of a writer
    // held open across folds (its id is the horizon) must go too, or they count twice.
    held_open_across_folds(
        &mut writer,
        &mut other,
        "BEGIN; INSERT INTO t (grp, v) VALUES ('refreshed', 9)",
        "COMMIT",
        "a writer open across folds, before a refresh",
    );
    other
        .batch_execute("SELECT count(*) FROM tally.refresh()")
        .unwrap();
    assert_exact(&mut other, "refreshed after that writer committed");
}

/// A fold that finds nothing writes nothing: an idle database gets no WAL from a scheduled
/// `tally.compact()` or the background compactor.
#[test]
fn a_fold_with_nothing_to_do_leaves_the_horizon_alone() {
    let mut db = setup();
    db.batch_execute("INSERT INTO t (grp, v) VALUES ('a', 1)")
        .unwrap();
    assert!(compact(&mut db) > 0);
    let (before, xmin): (String, String) = {
        let row = db
            .query_one("SELECT horizon::text, xmin::text FROM tally._fold", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(compact(&mut db), 0);
    let row = db
        .query_one("SELECT horizon::text, xmin::text FROM tally._fold", &[])
        .unwrap();
    let (after, xmin_after): (String, String) = (row.get(0), row.get(1));
    assert_eq!(before, after);
    assert_eq!(xmin, xmin_after, "an empty fold rewrote the horizon row");
    assert_exact(&mut db, "after an empty fold");
}
