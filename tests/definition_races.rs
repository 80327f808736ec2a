//! A metric being defined while a schema, type or domain its filter names is renamed (0.15.0,
//! found by a hostile probe). The filter is stored as the text Postgres deparses, naming
//! what it parsed; the ALTER's hook checks only committed metrics. Without a lock between
//! the two, the stored filter could name a schema that no longer exists, whose free name
//! another role could fill with a domain whose CHECK would then run as the table's owner in
//! every write. Now `tally.create_metric` and the hooks of ALTER SCHEMA, TYPE and DOMAIN
//! wait for each other: either the definition parses the new name, or the rename is refused.

mod common;

use common::{blocked, connect, fresh_database};

const SETUP: &str = "CREATE SCHEMA shop; \
     CREATE TYPE shop.stage AS ENUM ('a', 'b', 'c'); \
     CREATE TABLE shop.jobs (id int, stage shop.stage); \
     INSERT INTO shop.jobs SELECT i, (ARRAY['a', 'b', 'c'])[1 + i % 3]::shop.stage FROM generate_series(1, 30) i;";

fn text(db: &mut postgres::Client, sql: &str) -> String {
    db.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

/// In a fresh database `name`: `definition` left open in one session, `rename` run in
/// another (it must wait for a lock), then the definition's COMMIT. Returns the rename's
/// outcome and the first session.
fn rename_during_definition(
    name: &'static str,
    definition: &str,
    rename: &'static str,
) -> (Result<(), String>, postgres::Client) {
    let mut owner = fresh_database(name);
    owner.batch_execute(SETUP).unwrap();
    let mut definer = connect(name);
    definer
        .batch_execute(&format!("BEGIN; {definition}"))
        .unwrap();
    let renamer = blocked(name, rename);
    definer.batch_execute("COMMIT").unwrap();
    (renamer.join().unwrap(), owner)
}

#[test]
fn a_definition_waits_for_an_open_schema_rename_and_parses_the_new_name() {
    let name = "tally_definition_race_1";
    let mut owner = fresh_database(name);
    owner.batch_execute(SETUP).unwrap();
    let mut renamer = connect(name);
    renamer
        .batch_execute("BEGIN; ALTER SCHEMA shop RENAME TO shop_renamed")
        .unwrap();
    let definer = blocked(
        name,
        "SELECT tally.create_metric('early', 'shop.jobs', filter => $$stage = ANY ('{a,b}')$$)",
    );
    renamer.batch_execute("COMMIT").unwrap();
    // The definition parses after the wait, in the newest catalog: it stores a filter naming
    // the renamed schema, or (its request named the table by the old one) is refused. Never
    // a filter naming the old, free name.
    let outcome = definer.join().unwrap();
    match &outcome {
        Ok(()) => {}
        Err(e) if e.starts_with("42P01") => owner
            .batch_execute(
                "SELECT tally.create_metric('early', 'shop_renamed.jobs', filter => $$stage = ANY ('{a,b}')$$)",
            )
            .unwrap(),
        Err(e) => panic!("{e}"),
    }
    owner
        .batch_execute("INSERT INTO shop_renamed.jobs VALUES (31, 'a')")
        .unwrap();
    let filter = text(
        &mut owner,
        "SELECT filter FROM tally.metrics WHERE name = 'early'",
    );
    assert!(filter.contains("shop_renamed.stage"), "{filter}");
    let exact = text(
        &mut owner,
        "SELECT (tally.value('early') = (SELECT count(*) FROM shop_renamed.jobs WHERE stage IN ('a', 'b')))::text",
    );
    assert_eq!(exact, "true");
}

#[test]
fn a_schema_rename_waits_for_an_open_definition_and_is_refused() {
    let name = "tally_definition_race_2";
    let (outcome, mut owner) = rename_during_definition(
        name,
        "SELECT tally.create_metric('pending', 'shop.jobs', filter => $$stage = ANY ('{a,b}')$$)",
        "ALTER SCHEMA shop RENAME TO shop_renamed",
    );
    // The hook saw the committed metric, whose filter names shop.stage: refused.
    assert!(
        outcome.as_ref().is_err_and(|e| e.starts_with("2BP01")),
        "{outcome:?}"
    );
    owner
        .batch_execute("INSERT INTO shop.jobs VALUES (31, 'a')")
        .unwrap();
    let exact = text(
        &mut owner,
        "SELECT (tally.value('pending') = (SELECT count(*) FROM shop.jobs WHERE stage IN ('a', 'b')))::text",
    );
    assert_eq!(exact, "true");
}

#[test]
fn an_enum_label_rename_waits_for_an_open_definition_and_is_followed_or_refused() {
    let name = "tally_definition_race_3";
    let (outcome, mut owner) = rename_during_definition(
        name,
        "SELECT tally.create_metric('bees', 'shop.jobs', filter => $$stage = 'b'$$)",
        "ALTER TYPE shop.stage RENAME VALUE 'b' TO 'bee'",
    );
    // The hook saw the committed metric, whose filter names the label 'b': refused.
    assert!(
        outcome.as_ref().is_err_and(|e| e.starts_with("2BP01")),
        "{outcome:?}"
    );
    owner
        .batch_execute("INSERT INTO shop.jobs VALUES (31, 'b')")
        .unwrap();
    let exact = text(
        &mut owner,
        "SELECT (tally.value('bees') = (SELECT count(*) FROM shop.jobs WHERE stage = 'b'))::text",
    );
    assert_eq!(exact, "true");
}

/// The same, the rename in REPEATABLE READ: its hook's snapshot predates the definition it
/// waited for, so it cannot check it and retries instead (40001), never passes it unseen.
#[test]
fn a_repeatable_read_schema_rename_that_waited_for_a_definition_retries() {
    let name = "tally_definition_race_4";
    let (outcome, mut owner) = rename_during_definition(
        name,
        "SELECT tally.create_metric('pending', 'shop.jobs', filter => $$stage = ANY ('{a,b}')$$)",
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1; ALTER SCHEMA shop RENAME TO shop_renamed; COMMIT",
    );
    assert!(
        outcome
            .as_ref()
            .is_err_and(|e| e.starts_with("40001") || e.starts_with("2BP01")),
        "{outcome:?}"
    );
    let still: String = owner
        .query_one(
            "SELECT n.nspname::text FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
              WHERE c.relname = 'jobs'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(still, "shop");
}

/// A metric defined while an ATTACH PARTITION, an INHERIT, or an ALTER COLUMN TYPE of its
/// table is in flight (0.18.0, found by hostile probes): the definition waits for the
/// table's lock and checks again, in a new snapshot, once the other commits: its table is a
/// partition, a parent or a child in an inheritance, which it refuses, or its column has
/// another type (40001: run it again). Before, it had checked only before the wait: it
/// counted a table whose rows written through the parent (into the child) it never saw, or
/// kept the old type, and every write of the table failed.
#[test]
fn a_definition_that_waited_for_an_attach_or_inherit_is_refused() {
    let name = "tally_definition_race_5";
    let mut owner = fresh_database(name);
    owner
        .batch_execute(
            "CREATE TABLE parts (id int, v int) PARTITION BY RANGE (id); \
             CREATE TABLE loose (id int, v int); INSERT INTO loose VALUES (250, 7); \
             CREATE TABLE ih (id int, v int); CREATE TABLE ihc (id int, v int); \
             CREATE TABLE ihp (id int, v int); CREATE TABLE retyped (id int, v int);",
        )
        .unwrap();
    for (ddl, definition, refused_as) in [
        (
            "ALTER TABLE parts ATTACH PARTITION loose FOR VALUES FROM (200) TO (300)",
            "SELECT tally.create_metric('loose_sum', 'loose', 'sum', 'v')",
            "0A000",
        ),
        (
            "ALTER TABLE ihc INHERIT ih",
            "SELECT tally.create_metric('ih_sum', 'ih', 'sum', 'v')",
            "42809",
        ),
        (
            "ALTER TABLE ihc INHERIT ihp",
            "SELECT tally.create_metric('ihc_sum', 'ihc', 'sum', 'v')",
            "42809",
        ),
        (
            "ALTER TABLE retyped ALTER COLUMN v TYPE text",
            "SELECT tally.create_metric('retyped_kinds', 'retyped', 'count_distinct', 'v')",
            "40001",
        ),
    ] {
        let mut altering = connect(name);
        altering.batch_execute(&format!("BEGIN; {ddl}")).unwrap();
        let definer = blocked(name, definition);
        altering.batch_execute("COMMIT").unwrap();
        match definer.join().unwrap() {
            Err(e) if e.starts_with(refused_as) => {}
            outcome => panic!("{definition} after {ddl}: {outcome:?}"),
        }
    }
    let metrics = text(&mut owner, "SELECT count(*)::text FROM tally.metrics");
    assert_eq!(metrics, "0");
}
