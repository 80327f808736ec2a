//! The write path: one statement-level AFTER trigger per event on each source table. Every
//! INSERT/UPDATE/DELETE statement (COPY included) runs one cached INSERT into `_change` that
//! carries the changes of all the table's metrics; TRUNCATE clears the table's counters.
//!
//! Triggers carry a generation number as their argument. Whenever the metrics of a table
//! change, its triggers are recreated with a new number, so every backend sees a new key
//! and rebuilds its plans; no catalog lookup is needed on the hot path.

use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::sys::{self, Side};
use crate::error::{Result as TallyResult, TallyError};
use crate::ffi;
use crate::fold::compact;
use crate::fold::storage;
use crate::gucs;
use crate::model::Metric;
use crate::sql::{self, Relation, Rows};
use crate::write::single_row::SingleRow;

/// (event keyword, trigger name, REFERENCING clause)
const TRIGGERS: [(&str, &str, &str); 4] = [
    (
        "INSERT",
        "tally_insert",
        "REFERENCING NEW TABLE AS tally_new",
    ),
    (
        "UPDATE",
        "tally_update",
        "REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new",
    ),
    (
        "DELETE",
        "tally_delete",
        "REFERENCING OLD TABLE AS tally_old",
    ),
    ("TRUNCATE", "tally_truncate", ""),
];

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Event {
    Insert,
    Update,
    Delete,
}

/// The metrics of one source table at one generation.
struct SourceMetrics {
    metrics: Vec<Metric>,
    /// The owner of the source table: the metrics' expressions (filters, casts of their
    /// columns) are planned and evaluated as this role, never as the extension owner.
    owner: pg_sys::Oid,
    /// The metrics' expressions compiled for single-row statements, on first use.
    fast: RefCell<Option<SingleRow>>,
    /// The row type everything above was built for.
    shape: sys::RowShape,
}

/// One version of a table's metrics: the generation number its triggers carry, within one
/// instance of the pg_tally catalog. DROP EXTENSION + CREATE EXTENSION restarts the
/// generation sequence, so a long-lived (pooled) session could otherwise meet a number it
/// has cached for the previous instance's metrics; `catalog`, the oid of `tally._delta`,
/// changes with every instance.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Generation {
    number: i64,
    catalog: pg_sys::Oid,
    /// Whether the catalog was current (`storage::catalog_is_current`) when the plans were
    /// made: plans made before `ALTER EXTENSION pg_tally UPDATE` to 0.9.0 do not refuse the
    /// values no fold can store, and must not outlive the update in a pooled session.
    current: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PlanKey {
    relid: pg_sys::Oid,
    generation: Generation,
    event: Event,
    /// The statement changed one row (INSERT/DELETE): no aggregation needed.
    single_row: bool,
}

thread_local! {
    static SOURCES: RefCell<HashMap<(pg_sys::Oid, Generation), Rc<SourceMetrics>>> = RefCell::new(HashMap::new());
    static PLANS: RefCell<HashMap<PlanKey, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

#[pg_trigger]
fn _on_write<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> std::result::Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, TallyError> {
    if let Err(error) = on_write(trigger) {
        error.raise();
    }
    Ok(None)
}

fn on_write(trigger: &PgTrigger<'_>) -> TallyResult<()> {
    let relid = trigger.relid().map_err(trigger_error)?;
    let args = TriggerArgs::parse(&trigger.extra_args().map_err(trigger_error)?)?;
    // Metrics are defined on the root of a partition tree; a partition's triggers name it.
    let source = args.root.unwrap_or(relid);
    let event = match trigger.op().map_err(trigger_error)? {
        PgTriggerOperation::Insert => Event::Insert,
        PgTriggerOperation::Update => Event::Update,
        PgTriggerOperation::Delete => Event::Delete,
        PgTriggerOperation::Truncate if args.root.is_some() => {
            return ffi::with_fixed_settings(|| on_partition_truncate(source))
        }
        PgTriggerOperation::Truncate => return ffi::with_fixed_settings(|| on_truncate(relid)),
    };
    let generation = Generation {
        number: args.generation,
        catalog: ffi::changes_relid().unwrap_or(pg_sys::InvalidOid),
        current: crate::model::installed::catalog_is_current(),
    };
    let single_row = sys::changed_one_row(trigger);
    if single_row {
        if let Some(written) = write_directly(trigger, relid, source, generation, event)? {
            return compact::after_write(written);
        }
    }
    // SECURITY DEFINER without a SET clause (see `ffi::with_fixed_settings`): every
    // statement this path parses or plans must not see the writer's search_path.
    let written = ffi::with_fixed_settings(|| {
        write_through_sql(trigger, relid, source, generation, event, single_row)
    })?;
    compact::after_write(written)
}

/// Any statement the single-row path does not take: the prepared, cached change INSERT over
/// the transition tables. Returns the rows written (one `tally._change` row, or one
/// `tally._delta` row per change on a catalog older than 0.6.0).
fn write_through_sql(
    trigger: &PgTrigger<'_>,
    relid: pg_sys::Oid,
    source: pg_sys::Oid,
    generation: Generation,
    event: Event,
    single_row: bool,
) -> TallyResult<u64> {
    Spi::connect_mut(|client| -> TallyResult<u64> {
        sys::register_transition_tables(trigger)?;
        let metrics = source_metrics(client, trigger, relid, source, generation)?;
        if metrics.metrics.is_empty() {
            return Ok(0);
        }
        let key = PlanKey {
            relid,
            generation,
            event,
            single_row: event != Event::Update && single_row,
        };
        // The metrics' expressions run as the table owner (planning included: it folds
        // constants); only the insert into tally's own table runs with the extension's rights.
        let changes = ffi::as_table_owner(metrics.owner, || {
            let plan = plan_for(client, &metrics, key)?;
            ffi::first_row(client.select(&*plan, None, &[])?, &sql::CHANGE_ARRAY_TYPES)
        })?;
        let Some(changes) = changes else {
            return Ok(0);
        };
        let insert = insert_plan(client)?;
        Ok(client
            .update(&*insert, None, &ffi::spi_args(&changes))?
            .len() as u64)
    })
}

// Every statement computes every metric of its table, an UPDATE's too. An UPDATE that changes
// nothing a metric reads nets to no change (the single-row path drops equal old/new parts, the
// SQL path's HAVING drops zero rows). The columns the statement assigned (`tg_updatedcols`)
// cannot narrow it: PostgreSQL gives an AFTER STATEMENT trigger the SET list of only the last
// UPDATE of the table in a query, while the transition tables hold the rows of every one (an
// UPDATE in a WITH clause beside the main UPDATE or MERGE), so a metric reading a column only
// the other one set lost its change.

/// The single-row path without the SQL executor (see `write::single_row`). None when it cannot be
/// taken: the catalog is not yet known to be current in this session, or `_delta` has a
/// shape it does not write; the SQL path then handles the statement.
fn write_directly(
    trigger: &PgTrigger<'_>,
    relid: pg_sys::Oid,
    source: pg_sys::Oid,
    generation: Generation,
    event: Event,
) -> TallyResult<Option<u64>> {
    // `generation.catalog` is the oid of tally._delta, looked up once for this statement.
    if !gucs::direct_writes()
        || !crate::model::installed::catalog_known_current()
        || generation.catalog == pg_sys::InvalidOid
    {
        return Ok(None);
    }
    let metrics = match cached_source(trigger, relid, generation) {
        Some(found) => found,
        None => ffi::with_fixed_settings(|| {
            Spi::connect(|client| source_metrics(client, trigger, relid, source, generation))
        })?,
    };
    if metrics.metrics.is_empty() {
        return Ok(Some(0));
    }
    let sides: &[Side] = match event {
        Event::Insert => &[Side::New],
        Event::Delete => &[Side::Old],
        Event::Update => &[Side::Old, Side::New],
    };
    // Compiled and evaluated as the table owner (see `write_through_sql`); the `_change`
    // row is inserted below the SQL layer, where no rights are checked. The settings are
    // fixed before the switch: some cannot be set inside a security-restricted operation.
    let mut fast = metrics.fast.borrow_mut();
    let compiled = match fast.as_mut() {
        Some(compiled) => compiled,
        None => fast.insert(ffi::as_table_owner(metrics.owner, || {
            SingleRow::compile(relid, &metrics.metrics)
        })?),
    };
    // An xml or SQL/JSON value built from a date or time is text DateStyle, IntervalStyle and
    // TimeZone decide: the statement path evaluates it under the fixed settings, so this one
    // must too; the rest need only the fixed output settings, set only when the session has
    // others (a cost on every single-row statement otherwise).
    let all_settings = compiled.writes_datetime_text();
    let write = || {
        ffi::as_role(metrics.owner, true, || {
            compiled.write(trigger, generation.catalog, sides)
        })
    };
    if all_settings {
        ffi::with_fixed_settings(write)
    } else {
        ffi::with_fixed_output(write)
    }
}

/// A pg_tally trigger's arguments: the generation, and for a partition the root table.
struct TriggerArgs {
    generation: i64,
    root: Option<pg_sys::Oid>,
}

impl TriggerArgs {
    fn parse(args: &[String]) -> TallyResult<Self> {
        let bad =
            || TallyError::Internal(format!("unexpected pg_tally trigger arguments {args:?}"));
        let generation = args
            .first()
            .and_then(|a| a.parse::<i64>().ok())
            .ok_or_else(bad)?;
        let root = match args.get(1) {
            None => None,
            Some(root) => Some(pg_sys::Oid::from(root.parse::<u32>().map_err(|_| bad())?)),
        };
        Ok(TriggerArgs { generation, root })
    }
}

/// TRUNCATE of one partition removes only its rows: the root's metrics are recomputed.
fn on_partition_truncate(root: pg_sys::Oid) -> TallyResult<()> {
    Spi::connect_mut(|client| crate::fold::storage::recompute_source(client, root))
}

fn trigger_error(error: pgrx::PgTriggerError) -> TallyError {
    TallyError::Internal(format!("trigger context: {error}"))
}

/// TRUNCATE removes every row at once: the table's counters become empty. Waits for the
/// fold lock so a concurrent compaction cannot re-add what it had read before.
fn on_truncate(relid: pg_sys::Oid) -> TallyResult<()> {
    Spi::connect_mut(|client| {
        storage::lock_folding()?;
        storage::clear_source(client, relid)
    })
}

/// The cached metrics of `relid` at `generation`, if they were built for the table's
/// current row type; else None, with everything cached for the table forgotten.
fn cached_source(
    trigger: &PgTrigger<'_>,
    relid: pg_sys::Oid,
    generation: Generation,
) -> Option<Rc<SourceMetrics>> {
    let found = SOURCES.with(|s| s.borrow().get(&(relid, generation)).cloned())?;
    if found.shape.matches(trigger) {
        return Some(found);
    }
    SOURCES.with(|s| s.borrow_mut().retain(|(r, _), _| *r != relid));
    PLANS.with(|p| p.borrow_mut().retain(|key, _| key.relid != relid));
    None
}

fn source_metrics(
    client: &SpiClient<'_>,
    trigger: &PgTrigger<'_>,
    relid: pg_sys::Oid,
    source: pg_sys::Oid,
    generation: Generation,
) -> TallyResult<Rc<SourceMetrics>> {
    if let Some(found) = cached_source(trigger, relid, generation) {
        return Ok(found);
    }
    let metrics = Metric::load_for_source(client, source)?;
    // Every metric of a table has the table's owner.
    let owner = metrics.first().map_or(pg_sys::InvalidOid, |m| m.owner);
    let loaded = Rc::new(SourceMetrics {
        metrics,
        owner,
        fast: RefCell::new(None),
        shape: sys::RowShape::of(trigger),
    });
    SOURCES.with(|s| {
        let mut sources = s.borrow_mut();
        sources.retain(|(r, _), _| *r != relid);
        sources.insert((relid, generation), loaded.clone());
    });
    PLANS.with(|p| {
        p.borrow_mut()
            .retain(|key, _| key.relid != relid || key.generation == generation)
    });
    Ok(loaded)
}

fn plan_for(
    client: &SpiClient<'_>,
    source: &SourceMetrics,
    key: PlanKey,
) -> TallyResult<Rc<OwnedPreparedStatement>> {
    if let Some(plan) = PLANS.with(|p| p.borrow().get(&key).cloned()) {
        return Ok(plan);
    }
    let parts = source
        .metrics
        .iter()
        .map(|metric| match (key.event, key.single_row) {
            (Event::Insert, true) => metric.single_row_sql(Rows::New, 1),
            (Event::Delete, true) => metric.single_row_sql(Rows::Old, -1),
            (Event::Insert, false) => metric.aggregate_sql(Rows::New, 1, false),
            (Event::Delete, false) => metric.aggregate_sql(Rows::Old, -1, false),
            (Event::Update, _) => metric.update_sql(),
        })
        .collect();
    let sql = sql::changes_select_sql(parts)
        .ok_or_else(|| TallyError::Internal("no metric to compute".into()))?;
    let plan = Rc::new(client.prepare_mut(sql.as_str(), &[])?.keep());
    PLANS.with(|p| p.borrow_mut().insert(key, plan.clone()));
    Ok(plan)
}

thread_local! {
    /// The insert of one statement's changes, for the catalog shape it was prepared for.
    static INSERT_PLAN: RefCell<Option<(sql::ChangeShape, Rc<OwnedPreparedStatement>)>> =
        const { RefCell::new(None) };
}

/// The prepared insert of one statement's changes (the seven arrays `changes_select_sql`
/// returns, as `$1`..`$7`) into this catalog's change table.
fn insert_plan(client: &SpiClient<'_>) -> TallyResult<Rc<OwnedPreparedStatement>> {
    let shape = storage::change_shape(client)?;
    if let Some((cached, plan)) = INSERT_PLAN.with(|p| p.borrow().clone()) {
        if cached == shape {
            return Ok(plan);
        }
    }
    let plan = Rc::new(
        client
            .prepare_mut(
                sql::changes_insert_sql(shape),
                &sql::CHANGE_ARRAY_TYPES.map(pgrx::PgOid::from),
            )?
            .keep(),
    );
    INSERT_PLAN.with(|p| *p.borrow_mut() = Some((shape, plan.clone())));
    Ok(plan)
}

/// After ALTER TABLE: rebuilds the table's triggers with a new generation (every session
/// then re-plans for the new row shape), but only if they are there. During pg_restore the
/// metrics are loaded before the table's constraints (whose ALTER TABLE lands here) and
/// before the dumped triggers, which must be the ones that get created.
pub fn reinstall_if_present(client: &mut SpiClient<'_>, source: pg_sys::Oid) -> TallyResult<()> {
    if installed_triggers(client, source)?.is_empty() {
        return Ok(());
    }
    install(client, source)
}

/// Every pg_tally trigger belonging to `source`, by oid: on the table itself, on its
/// partitions, and on tables detached from it since (their triggers still name it as root).
/// Found by their function, never by name: a table owner may rename them.
fn installed_triggers(
    client: &SpiClient<'_>,
    source: pg_sys::Oid,
) -> TallyResult<Vec<pg_sys::Oid>> {
    let rows = client.select(
        "SELECT t.oid FROM pg_catalog.pg_trigger t \
          WHERE t.tgfoid = 'tally._on_write()'::pg_catalog.regprocedure \
            AND (t.tgrelid = $1::pg_catalog.oid \
                 OR pg_catalog.split_part(pg_catalog.encode(t.tgargs, 'escape'), '\\000', 2) = $1::pg_catalog.oid::pg_catalog.text)",
        None,
        &[source.into()],
    )?;
    let mut triggers = Vec::new();
    for row in rows {
        triggers.extend(row.get::<pg_sys::Oid>(1)?);
    }
    Ok(triggers)
}

/// Records the partitions of `source` (see tally._partition).
fn remember_partitions(client: &mut SpiClient<'_>, source: pg_sys::Oid) -> TallyResult<()> {
    client.update(
        "DELETE FROM tally._partition WHERE root = $1::pg_catalog.oid",
        None,
        &[source.into()],
    )?;
    client.update(
        "INSERT INTO tally._partition (relid, root) \
         SELECT relid, $1::pg_catalog.oid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid) \
          WHERE relid <> $1::pg_catalog.oid",
        None,
        &[source.into()],
    )?;
    Ok(())
}

/// A table that carries triggers of a source: the source itself or one of its partitions.
struct Target {
    relid: pg_sys::Oid,
    table: Relation,
    /// The root whose metrics a partition's triggers serve; None for the source itself.
    root: Option<pg_sys::Oid>,
}

/// `source` and every partition below it.
/// (pg_partition_tree returns nothing for an ordinary table, hence the explicit first row.)
fn trigger_targets(client: &SpiClient<'_>, source: pg_sys::Oid) -> TallyResult<Vec<Target>> {
    let rows = client.select(
        "SELECT t.relid, pg_catalog.format('%I.%I', n.nspname, c.relname) \
           FROM (SELECT $1::pg_catalog.oid AS relid, 0 AS level \
                 UNION \
                 SELECT relid, level FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid)) t \
           JOIN pg_catalog.pg_class c ON c.oid = t.relid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          ORDER BY t.level, 2",
        None,
        &[source.into()],
    )?;
    let mut targets = Vec::new();
    for row in rows {
        if let (Some(relid), Some(table)) = (row.get::<pg_sys::Oid>(1)?, row.get::<String>(2)?) {
            targets.push(Target {
                relid,
                table: Relation::from_catalog(table),
                root: (relid != source).then_some(source),
            });
        }
    }
    Ok(targets)
}

/// Forgets the partitions remembered for `source` once no metric names it.
pub fn forget_partitions(client: &mut SpiClient<'_>, source: pg_sys::Oid) -> TallyResult<()> {
    client.update(
        "DELETE FROM tally._partition p WHERE p.root = $1::pg_catalog.oid \
            AND NOT EXISTS (SELECT 1 FROM tally._metric m WHERE m.source::pg_catalog.oid = p.root)",
        None,
        &[source.into()],
    )?;
    Ok(())
}

/// Recreates the triggers of `source` (and of each of its partitions: direct writes to a
/// partition do not fire the parent's statement triggers) after its metrics or its
/// partitions changed, with a new generation, or removes them when no metric is left.
/// Caller holds SHARE ROW EXCLUSIVE on the table.
///
/// The triggers fire whatever `session_replication_role` is (`ENABLE ALWAYS`): a session
/// that sets it to `replica` to skip foreign-key checks during a bulk load still writes
/// rows, and an ordinary trigger would miss them. (Logical replication's apply worker fires
/// no statement trigger for INSERT/UPDATE/DELETE at all; its TRUNCATE does fire them.)
pub fn install(client: &mut SpiClient<'_>, source: pg_sys::Oid) -> TallyResult<()> {
    for trigger in installed_triggers(client, source)? {
        ffi::drop_trigger(trigger);
    }
    let remaining = client
        .select(
            "SELECT pg_catalog.count(*) FROM tally._metric WHERE source = $1::pg_catalog.oid",
            Some(1),
            &[source.into()],
        )?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0);
    if remaining == 0 {
        return forget_partitions(client, source);
    }
    let generation = client
        .update(
            "SELECT pg_catalog.nextval('tally._generation')",
            Some(1),
            &[],
        )?
        .first()
        .get_one::<i64>()?
        .unwrap_or(0);
    remember_partitions(client, source)?;
    for Target { relid, table, root } in trigger_targets(client, source)? {
        for (event, name, referencing) in TRIGGERS {
            let create =
                sql::create_trigger_sql(name, event, referencing, &table, generation, root);
            client.update(create.as_str(), None, &[])?;
        }
        sys::enable_always(relid, &TRIGGERS.map(|(_, name, _)| name))?;
    }
    Ok(())
}

/// Refuses, in the writer's own statement, a group key longer than a metric keeps (see
/// `sql::change`, `GROUP_KEY_LIMIT_BYTES`). Volatile (0.17.0; immutable before): it raises
/// for any input, and the planner evaluates an immutable call whose arguments are constants
/// while it plans, even in a CASE branch no row takes.
#[pg_extern(volatile, parallel_safe)]
fn _refuse_group_key(metric: &str, key: &str) -> crate::error::SqlResult<String> {
    Err(TallyError::GroupKeyTooLong {
        metric: metric.to_string(),
        bytes: key.len(),
    }
    .into())
}

/// Refuses, in the writer's own statement, a value that no metric could fold: called by the
/// change queries only for a value past the limits `sql::change` sets (a summed value
/// whose magnitude is 1e900 or more, a tracked value stored in more than 1024 bytes).
/// Volatile (0.17.0, found by a hostile probe; immutable before): it raises for any input,
/// and the planner evaluated an immutable call on a value expression that folds to a
/// constant (`coalesce('1'::money, price)`) while planning the change query, so such a
/// metric was refused as if its value were too long.
#[pg_extern(volatile, parallel_safe)]
fn _refuse_value(
    metric: &str,
    aggregate: &str,
    value: pgrx::AnyNumeric,
) -> crate::error::SqlResult<pgrx::AnyNumeric> {
    let text = value.to_string();
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let error = if aggregate == "sum" || aggregate == "avg" {
        TallyError::ValueOutOfRange {
            metric: metric.to_string(),
            value: if text.len() <= 24 {
                text
            } else {
                format!("a value of {digits} digits")
            },
        }
    } else {
        TallyError::ValueTooLong {
            metric: metric.to_string(),
            digits,
        }
    };
    Err(error.into())
}

/// A tracked value (min, max, count_distinct) as the change queries keep it (0.21.0): itself,
/// or refused in the writer's own statement when it takes more than `TRACKED_LIMIT_BYTES`
/// (which no index of `tally._state` could take), as `pg_column_size(value + 0)` measured it
/// in the change queries before. One call per value: the queries named the value (its
/// encoder's call, over the row's value expression) twice before, in the check and in the
/// kept branch. Stable, not immutable, so that constant folding does not call it on a
/// constant value while planning a change query whose rows may be none (the queries name
/// it only in the target list, GROUP BY and a HAVING `IS NOT NULL`, where nothing else
/// evaluates it while planning).
#[pg_extern(stable, strict, parallel_safe)]
fn _kept_value(
    metric: &str,
    aggregate: &str,
    value: pgrx::AnyNumeric,
) -> crate::error::SqlResult<pgrx::AnyNumeric> {
    if crate::ffi::numeric_size(&value) <= crate::sql::TRACKED_LIMIT_BYTES as usize {
        return Ok(value);
    }
    _refuse_value(metric, aggregate, value)
}

#[cfg(test)]
mod unit {
    use super::TriggerArgs;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arguments_read_back(generation in any::<i64>(), root in proptest::option::of(any::<u32>())) {
            let mut args = vec![generation.to_string()];
            args.extend(root.map(|r| r.to_string()));
            let parsed = TriggerArgs::parse(&args).expect("pg_tally's own arguments parse");
            prop_assert_eq!(parsed.generation, generation);
            prop_assert_eq!(parsed.root.map(|r| r.to_u32()), root);
        }

        #[test]
        // Not a digit, '-' or '+' first: Rust's i64 parse takes "+0" (a rehearsal's run drew it).
        fn other_arguments_are_refused(generation in "[^0-9+-][^\\x00]*") {
            prop_assert!(TriggerArgs::parse(&[generation]).is_err());
        }
    }
}
