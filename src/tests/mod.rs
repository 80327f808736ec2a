//! `#[pg_test]` unit tests: internals that need a live backend (the raw parser, the probe
//! subtransaction, trigger plan regeneration). The SQL API is covered by tests/pg_regress
//! and the randomized differential test in tests/differential.rs.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// `catalog::sys::check_single_expression` of a text, as `define::check_filter` calls it.
    fn check_single_expression(text: &str) -> crate::error::Result<()> {
        crate::catalog::sys::check_single_expression(
            crate::sql::single_expression_sql(text).as_str(),
            crate::error::ExpressionRole::Filter,
        )
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql)
            .expect("query runs")
            .expect("a count")
    }

    /// The current bucket is one rule in two languages: `tally._bucket_start` (through
    /// `tally._current_bucket`) for the SQL reads (value, groups, series, the snapshot's query
    /// read) and `read::sys::bucket_start_at` for the snapshot's direct read, for calendar
    /// units and fixed widths. Both truncate a calendar unit as `date_trunc(unit, ts, zone)` does at
    /// instants around DST changes, in zones with half- and quarter-hour offsets and across
    /// the date line; both read the same now(); an unbucketed metric has no current bucket.
    #[pg_test]
    fn the_current_bucket_is_the_same_in_rust_and_sql() {
        let instants = [
            "2026-03-29 00:30:00+00",
            "2026-03-29 01:30:00+00",
            "2026-10-25 00:30:00+00",
            "2026-10-25 01:30:00+00",
            "2026-03-08 06:30:00+00",
            "2026-11-01 05:30:00+00",
            "2026-04-04 13:45:00+00",
            "2026-12-31 23:59:59.999999+00",
            "2026-10-25 00:52:13+00",
            "2026-11-01 06:07:00+00",
        ];
        let zones = [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "America/St_Johns",
            "Asia/Kathmandu",
            "Pacific/Chatham",
            "Pacific/Kiritimati",
        ];
        let micros = |sql: &str, args: &[&str]| -> Option<pgrx::pg_sys::TimestampTz> {
            let args: Vec<pgrx::datum::DatumWithOid> = args.iter().map(|a| (*a).into()).collect();
            Spi::get_one_with_args::<TimestampWithTimeZone>(sql, &args)
                .expect("query runs")
                .map(pgrx::pg_sys::TimestampTz::from)
        };
        let calendar = ["hour", "day", "week", "month", "quarter", "year"];
        let widths = [
            "1 minute",
            "15 minutes",
            "30 minutes",
            "2 hours",
            "6 hours",
            "12 hours",
        ];
        for unit in calendar.into_iter().chain(widths) {
            for zone in zones {
                for at in instants {
                    let ts = micros("SELECT $1::timestamptz", &[at]).expect("a timestamp");
                    let sql = micros(
                        "SELECT tally._bucket_start($1, $3::timestamptz, $2)",
                        &[unit, zone, at],
                    );
                    assert_eq!(
                        sql,
                        crate::read::sys::bucket_start_at(unit, zone, ts),
                        "{unit} in {zone} at {at}"
                    );
                    if calendar.contains(&unit) {
                        assert_eq!(
                            sql,
                            micros(
                                "SELECT date_trunc($1, $3::timestamptz, $2)",
                                &[unit, zone, at]
                            ),
                            "{unit} in {zone} at {at}"
                        );
                    }
                }
                assert_eq!(
                    micros("SELECT tally._current_bucket($1, $2)", &[unit, zone]),
                    crate::read::sys::current_bucket(unit, zone),
                    "current {unit} in {zone}"
                );
            }
        }
        assert_eq!(
            micros("SELECT tally._current_bucket(NULL, 'UTC')", &[]),
            None
        );
    }

    #[pg_test]
    fn single_expressions_are_accepted() {
        for ok in [
            "status = 'PAID'",
            "amount > 10 AND (qty IS NULL OR qty < 3)",
            "is_active",
            "x -- trailing comment",
        ] {
            assert!(
                check_single_expression(ok).is_ok(),
                "{ok} should be accepted"
            );
        }
    }

    #[pg_test]
    fn anything_beyond_one_expression_is_rejected() {
        for bad in [
            "true; DROP TABLE t",
            "1 FROM pg_class",
            "a, b",
            "x AS y",
            "true UNION SELECT true",
            "status = 'PAID') OR (true",
            "(",
            "",
            "true FOR UPDATE",
        ] {
            assert!(
                check_single_expression(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[pg_test]
    fn a_rejected_filter_leaves_no_probe_and_no_metric() {
        Spi::run("CREATE TABLE t (id int, status text)").unwrap();
        let failed = PgTryBuilder::new(|| {
            Spi::run("SELECT tally.create_metric('m', 't', filter => 'random() > 0.5')").is_ok()
        })
        .catch_others(|_| false)
        .execute();
        assert!(!failed);
        assert_eq!(
            count("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_tally\\_probe%'"),
            0
        );
    }

    #[pg_test]
    fn triggers_follow_metric_changes() {
        Spi::run("CREATE TABLE s (id int, g text)").unwrap();
        Spi::run("INSERT INTO s SELECT i, (i % 3)::text FROM generate_series(1, 30) i").unwrap();
        Spi::run("SELECT tally.create_metric('s_count', 's')").unwrap();
        Spi::run("INSERT INTO s VALUES (31, '1')").unwrap();
        assert_eq!(
            Spi::get_one::<pgrx::AnyNumeric>("SELECT tally.value('s_count')")
                .unwrap()
                .unwrap(),
            31.into()
        );
        // A second metric regenerates the triggers; cached plans of the old generation go.
        Spi::run("SELECT tally.create_metric('s_by_g', 's', group_by => 'g')").unwrap();
        Spi::run("DELETE FROM s WHERE g = '0'").unwrap();
        assert_eq!(
            Spi::get_one::<pgrx::AnyNumeric>("SELECT tally.value('s_count')")
                .unwrap()
                .unwrap(),
            21.into()
        );
        assert_eq!(count("SELECT count(*) FROM tally.groups('s_by_g')"), 2);
        Spi::run("SELECT tally.drop_metric('s_by_g')").unwrap();
        Spi::run("SELECT tally.drop_metric('s_count')").unwrap();
        assert_eq!(
            count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 's'::regclass"),
            0
        );
        assert_eq!(count("SELECT count(*) FROM tally._state"), 0);
    }

    #[pg_test]
    fn update_of_unrelated_columns_writes_no_change() {
        Spi::run("CREATE TABLE u (id int, status text, note text)").unwrap();
        Spi::run("SELECT tally.create_metric('u_by_status', 'u', group_by => 'status')").unwrap();
        Spi::run("INSERT INTO u SELECT i, 'A', 'x' FROM generate_series(1, 10) i").unwrap();
        let before = count("SELECT count(*) FROM tally._delta");
        Spi::run("UPDATE u SET note = 'y'").unwrap();
        assert_eq!(count("SELECT count(*) FROM tally._delta"), before);
        Spi::run("UPDATE u SET status = 'B' WHERE id <= 3").unwrap();
        assert_eq!(count("SELECT count(*) FROM tally._delta"), before + 2);
    }

    #[pg_test]
    fn figures_of_empty_metrics() {
        Spi::run("CREATE TABLE e (v int)").unwrap();
        Spi::run("SELECT tally.create_metric('e_count', 'e')").unwrap();
        Spi::run("SELECT tally.create_metric('e_sum', 'e', 'sum', 'v')").unwrap();
        Spi::run("SELECT tally.create_metric('e_avg', 'e', 'avg', 'v')").unwrap();
        assert_eq!(
            Spi::get_one::<pgrx::AnyNumeric>("SELECT tally.value('e_count')")
                .unwrap()
                .unwrap(),
            0.into()
        );
        assert_eq!(
            Spi::get_one::<pgrx::AnyNumeric>("SELECT tally.value('e_sum')")
                .unwrap()
                .unwrap(),
            0.into()
        );
        assert_eq!(
            Spi::get_one::<pgrx::AnyNumeric>("SELECT tally.value('e_avg')").unwrap(),
            None
        );
    }

    /// Defines the same metrics (every aggregate, filter, group, bucket in a DST zone) on
    /// `table`, named `<table>_<metric>`.
    fn define_twin_metrics(table: &str) {
        for (name, args) in [
            ("all", "'count'"),
            ("by_status", "'count', group_by => 'status'"),
            ("qty_count", "'count', 'qty'"),
            ("paid_sum", "'sum', 'amount', filter => $$status = 'A' AND qty > 0$$"),
            ("hourly_avg", "'avg', 'amount', bucket => 'hour', bucket_column => 'at', time_zone => 'Europe/Paris'"),
            ("min_by_status", "'min', 'amount', group_by => 'status'"),
            ("daily_qtys", "'count_distinct', 'qty', bucket => 'day', bucket_column => 'at', time_zone => 'Europe/Paris'"),
        ] {
            Spi::run(&format!(
                "SELECT tally.create_metric('{table}_{name}', '{table}', {args})"
            ))
            .unwrap();
        }
    }

    /// The change rows written for `table`'s metrics, keyed by metric name without the table.
    fn deltas_of(table: &str) -> String {
        format!(
            "SELECT substr(m.name, {skip}), d.bucket_start, d.group_key, d.value, d.n_rows, d.n_values, d.total \
               FROM tally._delta d JOIN tally._metric m ON m.id = d.metric_id WHERE m.source = '{table}'::regclass",
            skip = table.len() + 2
        )
    }

    #[pg_test]
    fn single_row_statements_write_directly_the_rows_sql_writes() {
        Spi::run("SET LOCAL tally.auto_compact = off").unwrap();
        for table in ["direct", "planned"] {
            Spi::run(&format!(
                "CREATE TABLE {table} (id int PRIMARY KEY, status text, amount numeric(12,2), qty int, at timestamptz)"
            ))
            .unwrap();
            Spi::run(&format!(
                "INSERT INTO {table} SELECT i, (ARRAY['A', 'B', NULL])[1 + i % 3], i * 1.25, \
                        CASE WHEN i % 4 = 0 THEN NULL ELSE i % 5 END, \
                        '2026-03-29 00:30+00'::timestamptz + i * interval '1 hour' \
                   FROM generate_series(1, 20) i"
            ))
            .unwrap();
            define_twin_metrics(table);
        }
        let statements = [
            "INSERT INTO {t} VALUES (21, 'A', 7.25, 3, '2026-03-29 01:59+00')",
            "INSERT INTO {t} VALUES (22, NULL, NULL, NULL, NULL)",
            "UPDATE {t} SET status = 'B', amount = amount + 1 WHERE id = 3",
            "UPDATE {t} SET amount = amount WHERE id = 4",
            "UPDATE {t} SET qty = NULL, at = at + interval '1 day' WHERE id = 6",
            "UPDATE {t} SET status = 'A', qty = 2 WHERE id = 22",
            "DELETE FROM {t} WHERE id = 5",
            "DELETE FROM {t} WHERE id = 22",
        ];
        // Runs every statement on `table`; returns how many took the direct path.
        let run_all = |table: &str| {
            let before = crate::write::single_row::direct_statements();
            for statement in statements {
                Spi::run(&statement.replace("{t}", table)).unwrap();
            }
            crate::write::single_row::direct_statements() - before
        };
        assert_eq!(
            run_all("direct"),
            statements.len() as u64,
            "every single-row statement took the direct path"
        );
        Spi::run("SET LOCAL tally.direct_writes = off").unwrap();
        assert_eq!(
            run_all("planned"),
            0,
            "tally.direct_writes = off takes the SQL path"
        );
        let (direct, planned) = (deltas_of("direct"), deltas_of("planned"));
        assert!(count(&format!("SELECT count(*) FROM ({direct}) d")) > 0);
        for (one, other, path) in [(&direct, &planned, "direct"), (&planned, &direct, "SQL")] {
            assert_eq!(
                count(&format!(
                    "SELECT count(*) FROM (({one}) EXCEPT ALL ({other})) x"
                )),
                0,
                "the {path} path wrote a row the other path did not"
            );
        }
        assert_eq!(count("SELECT count(*) FROM tally.verify()"), 0);
    }

    /// Sums of intervals packed into numerics (`model::value_type::pack_interval`) add their
    /// months, days and microseconds apart and unpack exactly, at the extremes each part can
    /// take and for many rows, and an avg divides as Postgres' own `avg(interval)`:
    /// both compared with Postgres' sum and avg of the same intervals, as text.
    #[pg_test]
    fn packed_interval_sums_are_postgres_sums() {
        use crate::model::value_type::{interval_figure, pack_interval, unpack_interval};
        use crate::model::Aggregate;
        use pgrx::AnyNumeric;
        let parts: [(i32, i32, i64); 7] = [
            (1, 0, 0),
            (0, 30, 0),
            (0, 0, -7_200_000_000),
            (-5, 17, 123_456),
            // Within float8's exact integers: the expected side builds them with one.
            (i32::MAX / 4, -(i32::MAX / 4), 1 << 52),
            (-(i32::MAX / 4), i32::MAX / 4, -(1 << 52)),
            (3, -2, 1),
        ];
        for extreme in [
            (i32::MAX, i32::MAX, i64::MAX),
            (i32::MIN, i32::MIN, i64::MIN),
            (i32::MIN, i32::MAX, i64::MIN),
        ] {
            let (m, d, u) = extreme;
            assert_eq!(unpack_interval(&pack_interval(m, d, u)), Some(extreme));
            let mut many = AnyNumeric::from(0);
            for _ in 0..1000 {
                many += pack_interval(m, d, u);
            }
            // A thousand of them is past what an interval holds: no figure, not a wrong one.
            assert_eq!(unpack_interval(&many), None);
        }
        let mut total = AnyNumeric::from(0);
        for (months, days, micros) in parts {
            assert_eq!(
                unpack_interval(&pack_interval(months, days, micros)),
                Some((months, days, micros))
            );
            total += pack_interval(months, days, micros);
        }
        let values = parts
            .iter()
            .map(|(m, d, u)| format!("pg_catalog.make_interval(months => {m}, days => {d}) + {u} * interval '1 microsecond'"))
            .collect::<Vec<_>>()
            .join("), (");
        let expected = |aggregate: &str| {
            Spi::get_one::<String>(&format!(
                "SET LOCAL IntervalStyle = 'iso_8601'; SELECT {aggregate}(v)::text FROM (VALUES ({values})) AS t(v)"
            ))
            .expect("query runs")
            .expect("a figure")
        };
        let count = AnyNumeric::from(parts.len() as i64);
        for (aggregate, name) in [(Aggregate::Sum, "sum"), (Aggregate::Avg, "avg")] {
            let figure = interval_figure(aggregate, &count, &total)
                .expect("in range")
                .expect("rows");
            let read = crate::model::value_type::figure_text(
                crate::model::ValueType::Interval,
                aggregate,
                &figure,
            )
            .expect("an interval");
            assert_eq!(read, expected(name), "{name}");
        }
    }

    /// A min or max over text in a collation whose order is not byte order is picked when
    /// read, by that collation (`tally._sorted_extreme`): under ICU's root collation 'a' <
    /// 'B' (in bytes 'B' < 'a'). Postgres built without ICU (the PyPI trees of 16-18) has no
    /// such collation of pg_catalog: the test says so and checks nothing there.
    #[pg_test]
    fn a_collation_orders_text_figures_when_read() {
        let icu = Spi::get_one::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_collation WHERE collname = 'und-x-icu')",
        )
        .expect("query runs")
        .unwrap_or(false);
        if !icu {
            eprintln!("a_collation_orders_text_figures_when_read: no ICU in this build, skipped");
            return;
        }
        Spi::run(
            "CREATE TABLE words (w text); \
             INSERT INTO words VALUES ('a'), ('B'), ('c'), ('Á'), ('b'); \
             SELECT tally.create_metric('last_word', 'words', 'max', 'w COLLATE \"und-x-icu\"'); \
             SELECT tally.create_metric('first_word', 'words', 'min', 'w COLLATE \"und-x-icu\"'); \
             DELETE FROM words WHERE w = 'c'",
        )
        .expect("metrics over an ICU collation");
        let read = |sql: &str| {
            Spi::get_one::<String>(sql)
                .expect("query runs")
                .expect("a word")
        };
        let last = read("SELECT tally.value('last_word', NULL::text)");
        assert_eq!(last, read("SELECT max(w COLLATE \"und-x-icu\") FROM words"));
        assert_ne!(
            last,
            read("SELECT max(w COLLATE \"C\") FROM words"),
            "the collation orders otherwise"
        );
        let first = read("SELECT tally.value('first_word', NULL::text)");
        assert_eq!(
            first,
            read("SELECT min(w COLLATE \"und-x-icu\") FROM words")
        );
        assert_ne!(
            first,
            read("SELECT min(w COLLATE \"C\") FROM words"),
            "the collation orders otherwise"
        );
    }
}
