//! Concurrency: 8 sessions run random INSERT/UPDATE/DELETE/COPY statements at once, on the
//! same groups and buckets, in transactions that commit or roll back, with savepoints,
//! while a ninth session folds and refreshes. Afterwards `tally.verify()` returns no rows and
//! every metric equals the hand-written live aggregate (tests/common/workload.rs). Run under
//! READ COMMITTED, REPEATABLE READ and SERIALIZABLE; serialization failures and deadlocks
//! between the sessions' own row updates are retried as an application would, and counted.
//!
//! PGTALLY_CONCURRENCY_SECONDS sets the duration of each run (default 8).

mod common;

use common::workload::{self, assert_exact, define_metrics};
use common::{connect, fresh_database, Rng};
use postgres::error::SqlState;
use postgres::Client;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SESSIONS: usize = 8;

#[derive(Default)]
struct Tally {
    statements: AtomicU64,
    commits: AtomicU64,
    rollbacks: AtomicU64,
    retries: AtomicU64,
}

#[test]
fn concurrent_writers_keep_every_metric_exact() {
    let seconds: u64 = std::env::var("PGTALLY_CONCURRENCY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let seed = Rng::seed_from_env();
    for isolation in ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"] {
        let db_name = format!(
            "tally_concurrency_{}",
            isolation.split(' ').next().unwrap().to_lowercase()
        );
        let mut db = fresh_database(&db_name);
        db.batch_execute(workload::ORDERS_TABLE).unwrap();
        let mut rng = Rng::new(seed);
        for _ in 0..10 {
            db.batch_execute(&workload::insert_sql(&mut rng)).unwrap();
        }
        define_metrics(&mut db);

        let stats = Arc::new(Tally::default());
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut handles = Vec::new();
        for session in 0..SESSIONS {
            let (stats, name) = (stats.clone(), db_name.clone());
            handles.push(std::thread::spawn(move || {
                let mut client = connect(&name);
                let mut rng = Rng::new(seed ^ ((session as u64 + 1) * 0x9E37_79B9));
                while Instant::now() < deadline {
                    writer_transaction(&mut client, &mut rng, isolation, &stats);
                }
            }));
        }
        let folder = {
            let name = db_name.clone();
            std::thread::spawn(move || {
                let mut client = connect(&name);
                let mut folds = 0;
                while Instant::now() < deadline {
                    client.batch_execute("SELECT tally.compact()").unwrap();
                    folds += 1;
                    if folds % 10 == 0 {
                        client
                            .batch_execute("SELECT * FROM tally.refresh('by_status')")
                            .unwrap();
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                folds
            })
        };
        for handle in handles {
            handle.join().expect("a writer session panicked");
        }
        let folds = folder.join().expect("the folding session panicked");
        assert_exact(&mut db, &format!("after {isolation} writers (seed {seed})"));
        db.batch_execute("SELECT tally.compact()").unwrap();
        assert_exact(
            &mut db,
            &format!("after {isolation} writers and a final fold"),
        );
        println!(
            "concurrency {isolation}: {SESSIONS} sessions, {seconds}s, {} statements, {} commits, {} rollbacks, \
             {} retried conflicts, {folds} folds, drift: none",
            stats.statements.load(Ordering::Relaxed),
            stats.commits.load(Ordering::Relaxed),
            stats.rollbacks.load(Ordering::Relaxed),
            stats.retries.load(Ordering::Relaxed),
        );
    }
}

/// One transaction of random statements; retried from the start on a serialization failure
/// or a deadlock between the sessions' own UPDATE/DELETE of the same source rows.
fn writer_transaction(client: &mut Client, rng: &mut Rng, isolation: &str, stats: &Tally) {
    let statements: Vec<String> = (0..1 + rng.below(5))
        .map(|_| random_statement(rng))
        .collect();
    let savepoint_at = rng.below(statements.len() as u64 + 1) as usize;
    let commit = !rng.chance(20);
    loop {
        match attempt(client, isolation, &statements, savepoint_at, commit) {
            Ok(()) => {
                stats
                    .statements
                    .fetch_add(statements.len() as u64, Ordering::Relaxed);
                let counter = if commit {
                    &stats.commits
                } else {
                    &stats.rollbacks
                };
                counter.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) if matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                client.batch_execute("ROLLBACK").unwrap();
                stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("writer failed: {e:?}\n{statements:?}"),
        }
    }
}

fn attempt(
    client: &mut Client,
    isolation: &str,
    statements: &[String],
    savepoint_at: usize,
    commit: bool,
) -> Result<(), postgres::Error> {
    client.batch_execute(&format!("BEGIN ISOLATION LEVEL {isolation}"))?;
    for (i, sql) in statements.iter().enumerate() {
        if i == savepoint_at {
            client.batch_execute("SAVEPOINT sp")?;
        }
        client.batch_execute(sql)?;
    }
    if savepoint_at < statements.len() {
        client.batch_execute("ROLLBACK TO SAVEPOINT sp")?;
    }
    client.batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
}

/// OLTP-sized statements: a few rows each, at random ids, all in the same few groups and
/// buckets, so sessions contend on counters (never on pg_tally's storage) but rarely on rows.
fn random_statement(rng: &mut Rng) -> String {
    const AROUND: &str = "WITH t AS (SELECT (random() * max(id))::int AS x FROM orders)";
    let span = 1 + rng.below(4);
    match rng.below(10) {
        0..=3 => workload::small_insert_sql(rng),
        4..=5 => format!(
            "{AROUND} UPDATE orders SET status = '{}', amount = amount + 1 FROM t WHERE id BETWEEN t.x AND t.x + {span}",
            rng.pick(&workload::STATUSES)
        ),
        6 => format!("{AROUND} UPDATE orders SET created_at = now(), local_ts = now()::timestamp FROM t WHERE id BETWEEN t.x AND t.x + {span}"),
        7 => format!("{AROUND} UPDATE orders SET qty = NULL, is_active = NOT is_active FROM t WHERE id BETWEEN t.x AND t.x + {span}"),
        _ => format!("{AROUND} DELETE FROM orders USING t WHERE id BETWEEN t.x AND t.x + {span}"),
    }
}
