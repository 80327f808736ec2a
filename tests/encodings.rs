//! A database not encoded in UTF8 (0.16.0, found by hostile probes): enum labels and jsonb
//! texts that are not UTF-8 must never become one lossy group key, nor a text key one the
//! reads cannot return. A new group column there must be of a type whose text is ASCII
//! (numbers, dates, ...): an enum, a text or a jsonb is refused (`0A000`), as are text and
//! enum values (0.12.0, 0.13.0).

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
         CREATE TABLE visits (id int PRIMARY KEY, place cafe, note text, doc jsonb, \
                              id_parity int GENERATED ALWAYS AS (id % 2) STORED); \
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
    // A tsvector's text and a name (0.20.0) are kept as UTF-8 texts are: refused there too,
    // for min and max and for count_distinct.
    db.batch_execute("ALTER TABLE visits ADD COLUMN words tsvector, ADD COLUMN host name")
        .unwrap();
    for (aggregate, column) in [
        ("max", "words"),
        ("count_distinct", "words"),
        ("min", "host"),
    ] {
        assert_eq!(
            sqlstate(db.query(
                "SELECT tally.create_metric($1 || '_' || $2, 'visits', $1, $2)",
                &[&aggregate, &column]
            )),
            "0A000",
            "a {aggregate} over {column} in a SQL_ASCII database"
        );
    }
    // A new text or jsonb group column there is refused too (its keys are read back as
    // UTF-8: a key that is not raised an internal error, since 0.1.0); a number's is taken.
    for column in ["note", "doc"] {
        assert_eq!(
            sqlstate(db.query(
                "SELECT tally.create_metric('by_' || $1, 'visits', group_by => $1)",
                &[&column]
            )),
            "0A000",
            "a {column} group column in a SQL_ASCII database"
        );
    }
    db.batch_execute(
        "SELECT tally.create_metric('by_id_parity', 'visits', group_by => 'id_parity'); \
         INSERT INTO visits VALUES (6, NULL, 'cafe', '{\"a\": 1.00}')",
    )
    .unwrap();
    let groups = sorted_pairs(
        &mut db,
        "SELECT convert_to(group_key, 'SQL_ASCII'), value::text FROM tally.groups('by_id_parity')",
    );
    let live = sorted_pairs(
        &mut db,
        "SELECT convert_to(id_parity::text, 'SQL_ASCII'), count(*)::text FROM visits GROUP BY id_parity",
    );
    assert_eq!(groups, live, "integer groups in a SQL_ASCII database");
    let drift: i64 = db
        .query_one("SELECT count(*) FROM tally.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(drift, 0);
}
