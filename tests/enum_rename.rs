//! Enum labels renamed or added while pg_tally is in the middle of something (0.13.0).
//! pg_tally keeps enum values by label and saves the enum's labels when a metric is defined:
//! - a writer that read the old label has not committed: the ALTER TYPE's hook must wait for
//!   it (it locks the table against writers) and recompute after it;
//! - a metric is being defined (found by a hostile probe): a label renamed or added
//!   meanwhile must wait for the definition to commit (it locks the enum's labels), so that
//!   the labels it saved are the enum's and a later rename is seen.

mod common;

use common::{blocked, fresh_database};

fn text(db: &mut postgres::Client, sql: &str) -> String {
    db.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

/// The metric's figure (as text) is `expected`, and `tally.verify` finds no drift.
fn assert_exact(db: &mut postgres::Client, metric: &str, expected: &str) {
    let figure = text(db, &format!("SELECT tally.value('{metric}', NULL::text)"));
    assert_eq!(figure, expected, "{metric}");
    let drift: i64 = db
        .query_one("SELECT count(*) FROM tally.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(drift, 0, "verify found drift");
}

#[test]
fn a_rename_waits_for_writers_of_the_old_label() {
    let name = "tally_enum_rename";
    let mut writer = fresh_database(name);
    writer
        .batch_execute(
            "CREATE TYPE stage AS ENUM ('new', 'open', 'done'); \
             CREATE TABLE tickets (id int, stage stage); \
             INSERT INTO tickets VALUES (1, 'new'); \
             SELECT tally.create_metric('last_stage', 'tickets', 'max', 'stage'); \
             SELECT tally.create_metric('stages', 'tickets', 'count_distinct', 'stage', group_by => 'id');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    writer
        .batch_execute("BEGIN; INSERT INTO tickets VALUES (2, 'done')")
        .unwrap();

    // The rename commits its own catalog change only after the hook: it must be waiting for
    // the writer's lock, not finished.
    let renamer = blocked(name, "ALTER TYPE stage RENAME VALUE 'done' TO 'closed'");
    writer.batch_execute("COMMIT").unwrap();
    renamer.join().unwrap().unwrap();

    assert_exact(&mut writer, "last_stage", "closed");
    assert_eq!(
        text(
            &mut writer,
            "SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('stages')"
        ),
        "1=1,2=1"
    );
    // Later writers see the new label.
    writer
        .batch_execute("INSERT INTO tickets VALUES (3, 'closed'); DELETE FROM tickets WHERE id = 2")
        .unwrap();
    assert_eq!(
        text(&mut writer, "SELECT tally.value('last_stage', NULL::text)"),
        "closed"
    );
}

#[test]
fn a_rename_waits_for_a_metric_being_defined() {
    let name = "tally_enum_rename_define";
    let mut definer = fresh_database(name);
    definer
        .batch_execute(
            "CREATE TYPE level AS ENUM ('low', 'mid', 'high'); \
             CREATE TABLE items (id int, level level); \
             INSERT INTO items VALUES (1, 'mid'), (2, 'high');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    definer
        .batch_execute("BEGIN")
        .and_then(|_| {
            definer
                .batch_execute("SELECT tally.create_metric('top_level', 'items', 'max', 'level')")
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    let renamer = blocked(name, "ALTER TYPE level RENAME VALUE 'high' TO 'top'");
    definer.batch_execute("COMMIT").unwrap();
    renamer.join().unwrap().unwrap();
    assert_exact(&mut definer, "top_level", "top");
}

#[test]
fn a_metric_defined_while_a_label_is_added_sees_it_renamed_later() {
    let name = "tally_enum_add_define";
    let mut adder = fresh_database(name);
    adder
        .batch_execute(
            "CREATE TYPE priority AS ENUM ('p3', 'p2', 'p1'); \
             CREATE TABLE jobs (id int, priority priority); \
             INSERT INTO jobs VALUES (1, 'p3'), (2, 'p2');",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    adder
        .batch_execute("BEGIN")
        .and_then(|_| adder.batch_execute("ALTER TYPE priority ADD VALUE 'p0'"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let definer = blocked(
        name,
        "SELECT tally.create_metric('top_priority', 'jobs', 'max', 'priority')",
    );
    adder.batch_execute("COMMIT").unwrap();
    definer.join().unwrap().unwrap();
    adder
        .batch_execute(
            "INSERT INTO jobs VALUES (3, 'p0'); \
             ALTER TYPE priority RENAME VALUE 'p0' TO 'p0_urgent';",
        )
        .unwrap();
    assert_exact(&mut adder, "top_priority", "p0_urgent");
}
