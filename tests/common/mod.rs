//! Shared helpers for integration tests that talk to a real PostgreSQL 15 over a socket.
//! The test command (scripts/test.sh) starts the cluster and installs the extension; these
//! tests fail loudly, never skip, when it is not there.

#![allow(dead_code)]

pub mod workload;

use postgres::{Client, NoTls};

/// Connection string of the cluster the test command started.
pub fn base_url() -> String {
    std::env::var("PGTALLY_TEST_URL")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5499 user=postgres".to_string())
}

/// A fresh database with the extension created, dropped first if a previous run left it.
pub fn fresh_database(name: &str) -> Client {
    let mut admin = Client::connect(&format!("{} dbname=postgres", base_url()), NoTls)
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test cluster at '{}': {e}. Run scripts/test.sh.",
                base_url()
            )
        });
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut client = connect(name);
    client.batch_execute("CREATE EXTENSION pg_tally").unwrap();
    client
}

pub fn connect(database: &str) -> Client {
    Client::connect(&format!("{} dbname={database}", base_url()), NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {database}: {e}"))
}

/// Deterministic xorshift64* generator: a failing run is reproduced from its printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn seed_from_env() -> u64 {
        std::env::var("PGTALLY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Runs `sql` in a new session of `database` on a thread, and returns once that session
/// waits for a lock (it must not finish first); joining gives the statement's outcome (its
/// error as text).
pub fn blocked(
    database: &'static str,
    sql: &'static str,
) -> std::thread::JoinHandle<Result<(), String>> {
    use std::time::{Duration, Instant};
    let handle = std::thread::spawn(move || {
        let mut db = connect(database);
        db.batch_execute(sql).map_err(|e| {
            e.as_db_error()
                .map(|d| format!("{}: {}", d.code().code(), d.message()))
                .unwrap_or_else(|| e.to_string())
        })
    });
    let mut watcher = connect(database);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND wait_event_type = 'Lock'",
                &[&sql],
            )
            .unwrap()
            .get(0);
        if waiting == 1 {
            return handle;
        }
        assert!(!handle.is_finished(), "{sql} did not wait");
        assert!(Instant::now() < deadline, "{sql} never waited");
        std::thread::sleep(Duration::from_millis(50));
    }
}
