//! An enum label renamed while a writer that read the old label has not committed (0.13.0):
//! pg_tally keeps enum values by label, so the writer's change holds the old one. The ALTER
//! TYPE's hook must wait for that writer (it locks the table against writers) and recompute
//! after it: the figures then hold the new label, as the table does.

mod common;

use common::{connect, fresh_database};
use std::time::{Duration, Instant};

fn text(db: &mut postgres::Client, sql: &str) -> String {
    db.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
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

    let renamer = std::thread::spawn(move || {
        let mut db = connect(name);
        db.batch_execute("ALTER TYPE stage RENAME VALUE 'done' TO 'closed'")
            .unwrap_or_else(|e| panic!("the rename failed: {e:?}"));
    });
    // The rename commits its own catalog change only after the hook: it must be waiting for
    // the writer's lock, not finished.
    let mut watcher = connect(name);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                  WHERE query LIKE 'ALTER TYPE stage%' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting == 1 {
            break;
        }
        assert!(
            !renamer.is_finished(),
            "the rename finished while a writer of the old label was in flight"
        );
        assert!(Instant::now() < deadline, "the rename never waited");
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.batch_execute("COMMIT").unwrap();
    renamer.join().unwrap();

    assert_eq!(
        text(&mut writer, "SELECT tally.value('last_stage', NULL::text)"),
        "closed"
    );
    assert_eq!(
        text(
            &mut writer,
            "SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('stages')"
        ),
        "1=1,2=1"
    );
    let drift: i64 = writer
        .query_one("SELECT count(*) FROM tally.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(drift, 0, "verify found drift after the rename");
    // Later writers see the new label.
    writer
        .batch_execute("INSERT INTO tickets VALUES (3, 'closed'); DELETE FROM tickets WHERE id = 2")
        .unwrap();
    assert_eq!(
        text(&mut writer, "SELECT tally.value('last_stage', NULL::text)"),
        "closed"
    );
}
