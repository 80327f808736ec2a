//! TRUNCATE in a REPEATABLE READ transaction whose snapshot predates another session's
//! committed write: that write's pending delta is invisible to the transaction's snapshot, yet
//! TRUNCATE removes its row. The counters must still end up empty (pg_tally clears them with
//! the latest snapshot, as Postgres' own foreign-key triggers do).

mod common;

use common::{connect, fresh_database};

fn figure(db: &mut postgres::Client, metric: &str) -> String {
    db.query_one(&format!("SELECT tally.value('{metric}')::text"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn truncate_under_an_old_snapshot_clears_every_delta() {
    for isolation in ["REPEATABLE READ", "SERIALIZABLE"] {
        let name = format!(
            "tally_truncate_{}",
            isolation.split(' ').next().unwrap().to_lowercase()
        );
        let mut a = fresh_database(&name);
        a.batch_execute(&format!(
            "CREATE TABLE t (id int, v int); \
             SELECT tally.create_metric('t_n', 't'); \
             SELECT tally.create_metric('t_sum', 't', 'sum', 'v'); \
             ALTER DATABASE {name} SET tally.auto_compact = off;"
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut b = connect(&name);
        b.batch_execute("INSERT INTO t VALUES (1, 10)").unwrap();
        b.batch_execute("SELECT tally.compact()").unwrap();

        a.batch_execute(&format!("BEGIN ISOLATION LEVEL {isolation}"))
            .unwrap();
        a.batch_execute("SELECT count(*) FROM pg_class").unwrap(); // takes the snapshot
        b.batch_execute("INSERT INTO t VALUES (2, 20)").unwrap(); // committed, pending delta
        a.batch_execute("TRUNCATE t").unwrap();
        a.batch_execute("COMMIT").unwrap();

        assert_eq!(
            b.query_one("SELECT count(*) FROM t", &[])
                .unwrap()
                .get::<_, i64>(0),
            0
        );
        assert_eq!(
            figure(&mut b, "t_n"),
            "0",
            "{isolation}: a delta outlived TRUNCATE"
        );
        assert_eq!(
            figure(&mut b, "t_sum"),
            "0",
            "{isolation}: a delta outlived TRUNCATE"
        );
        let drift: i64 = b
            .query_one("SELECT count(*) FROM tally.verify()", &[])
            .unwrap()
            .get(0);
        assert_eq!(drift, 0);
    }
}
