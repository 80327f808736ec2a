//! A column's text min and max in a collation created after initdb (0.15.0), read while the
//! collation's owner renames it and puts another collation in its old place (found by a
//! hostile probe): a read whose snapshot predates the swap must order by the column's
//! collation, by its oid, not by whatever the old name means in the newest catalog (which
//! the first 0.15.0 build looked the collation up by, and read 'a10' as the min of 'a9' and
//! 'a10').

mod common;

use common::{connect, fresh_database};

fn flag(db: &mut postgres::Client, sql: &str) -> bool {
    db.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

/// Every figure of the two metrics equals Postgres' own min and max in this session's
/// snapshot: `first` (min over the table), `last_by_team` (max per team, and over all).
const EXACT: &str = "SELECT tally.value('first', NULL::text) IS NOT DISTINCT FROM (SELECT min(name) FROM people) \
       AND tally.value('last_by_team', NULL::text) IS NOT DISTINCT FROM (SELECT max(name) FROM people) \
       AND NOT EXISTS (SELECT team::text, max(name) FROM people GROUP BY team \
                       EXCEPT SELECT * FROM tally.groups('last_by_team', NULL::text)) \
       AND (SELECT s->'first' = to_jsonb((SELECT min(name) FROM people)) FROM tally.snapshot('people_board') s)";

#[test]
fn a_read_orders_by_the_columns_collation_while_another_takes_its_name() {
    let name = "tally_collation_rename";
    let mut owner = fresh_database(name);
    // ICU orders the numbers inside a text by value ('a9' < 'a10'; byte order has 'a10'
    // first). A build without ICU has no such collation: libc's C.utf8 then, whose order is
    // byte order, and the swap below changes no figure (this build checks nothing then).
    if owner
        .batch_execute("CREATE COLLATION natural_order (provider = icu, locale = 'und-u-kn-true')")
        .is_err()
    {
        println!("collation_rename: no ICU in this build, the swap cannot change an order");
        owner
            .batch_execute("CREATE COLLATION natural_order (provider = libc, locale = 'C.utf8')")
            .unwrap();
    }
    owner
        .batch_execute(
            "CREATE TABLE people (team int, name text COLLATE natural_order); \
             INSERT INTO people VALUES (1, 'a9'), (1, 'a10'), (2, 'b9'), (2, 'b10'), (2, NULL); \
             SELECT tally.create_metric('first', 'people', 'min', 'name'); \
             SELECT tally.create_metric('last_by_team', 'people', 'max', 'name', group_by => 'team'); \
             SELECT tally.create_dashboard('people_board', ARRAY['first', 'last_by_team']); \
             SET tally.auto_compact = off; \
             INSERT INTO people VALUES (3, 'c9'), (3, 'c10')",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));

    let mut reader = connect(name);
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .unwrap();
    assert!(flag(&mut reader, EXACT), "exact before the swap");

    let mut swapper = connect(name);
    swapper
        .batch_execute(
            "BEGIN; \
             ALTER COLLATION natural_order RENAME TO natural_was; \
             CREATE COLLATION natural_order (provider = libc, locale = 'C'); \
             COMMIT",
        )
        .unwrap();

    // The reader's snapshot predates the swap; the newest catalog has 'natural_order' as
    // byte order.
    assert!(
        flag(&mut reader, EXACT),
        "exact in a snapshot from before the swap"
    );
    reader.batch_execute("COMMIT").unwrap();
    assert!(flag(&mut reader, EXACT), "exact after the swap");
    assert!(flag(&mut owner, EXACT), "exact in another session");
}
