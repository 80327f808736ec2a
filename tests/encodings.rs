//! A database not encoded in UTF8 (0.16.0, found by a hostile probe): enum labels and jsonb
//! texts that are not UTF-8 must never become one lossy group key. Grouping by an enum is
//! refused there (`0A000`), as are text and enum values (0.12.0, 0.13.0); a jsonb group
//! column keeps its text cast, one group per text. (Reading back a text group key that is
//! not UTF-8 fails there, `XX000`, as since 0.1.0: the keys read here are ASCII.)

mod common;

use common::{base_url, connect};
use postgres::{Client, NoTls};

fn sql_ascii_database(name: &str) -> Client {
    let mut admin = Client::connect(&format!("{} dbname=postgres", base_url()), NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ))
        .unwrap();
    let mut client = connect(name);
    client.batch_execute("CREATE EXTENSION pg_tally").unwrap();
    client
}

fn sqlstate(result: Result<Vec<postgres::Row>, postgres::Error>) -> String {
    match result {
        Ok(_) => "accepted".to_string(),
        Err(e) => e
            .code()
            .map_or_else(|| format!("no SQLSTATE: {e}"), |c| c.code().to_string()),
    }
}

/// The rows of `sql` (bytes, text), sorted.
fn sorted_pairs(db: &mut Client, sql: &str) -> Vec<(Vec<u8>, String)> {
    let mut rows: Vec<(Vec<u8>, String)> = db
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    rows.sort();
    rows
}

#[test]
fn labels_and_texts_that_are_not_utf8_never_share_a_group() {
    let mut db = sql_ascii_database("tally_encodings");
    // Two labels whose bytes are not UTF-8: a lossy copy would make both U+FFFD.
    db.batch_execute(
        "DO $$ BEGIN EXECUTE format('CREATE TYPE cafe AS ENUM (%L, %L)', E'caf\\xe9', E'caf\\xe8'); END $$; \
         CREATE TABLE visits (id int PRIMARY KEY, place cafe, note text, doc jsonb); \
         INSERT INTO visits SELECT i, (enum_range(NULL::cafe))[1 + i % 2], \
                (ARRAY['cafe', 'Cafe'])[1 + i % 2], \
                (ARRAY['{\"a\": 1.0}', '{\"a\": 1}'])[1 + i % 2]::jsonb \
           FROM generate_series(1, 5) i",
    )
    .unwrap();
    assert_eq!(
        sqlstate(db.query(
            "SELECT tally.create_metric('by_place', 'visits', group_by => 'place')",
            &[]
        )),
        "0A000",
        "an enum group column in a SQL_ASCII database"
    );
    assert_eq!(
        sqlstate(db.query(
            "SELECT tally.create_metric('places', 'visits', 'count_distinct', 'place')",
            &[]
        )),
        "0A000",
        "an enum value in a SQL_ASCII database"
    );
    // A text group column: two groups, as GROUP BY has them.
    db.batch_execute(
        "SELECT tally.create_metric('by_note', 'visits', group_by => 'note'); \
         SELECT tally.create_metric('by_doc', 'visits', group_by => 'doc')",
    )
    .unwrap();
    db.batch_execute("INSERT INTO visits VALUES (6, NULL, 'cafe', '{\"a\": 1.00}')")
        .unwrap();
    let by_note =
        "SELECT convert_to(group_key, 'SQL_ASCII'), value::text FROM tally.groups('by_note')";
    let note_groups = sorted_pairs(&mut db, by_note);
    let live_notes = sorted_pairs(
        &mut db,
        "SELECT convert_to(note, 'SQL_ASCII'), count(*)::text FROM visits GROUP BY note",
    );
    assert_eq!(
        note_groups, live_notes,
        "text groups in a SQL_ASCII database"
    );
    assert_eq!(note_groups.len(), 2);
    // jsonb keeps its text cast there: one group per text ('{"a": 1.00}' is its own).
    let doc_groups = sorted_pairs(
        &mut db,
        "SELECT convert_to(group_key, 'SQL_ASCII'), value::text FROM tally.groups('by_doc')",
    );
    let texts: Vec<String> = doc_groups
        .iter()
        .map(|(key, _)| String::from_utf8(key.clone()).unwrap())
        .collect();
    assert_eq!(texts, vec!["{\"a\": 1.00}", "{\"a\": 1.0}", "{\"a\": 1}"]);
    let drift: i64 = db
        .query_one("SELECT count(*) FROM tally.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(drift, 0);
}
