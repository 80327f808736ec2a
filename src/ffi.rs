//! Every `unsafe` block of pg_tally lives here, each with the reason it is sound.
//!
//! Six things need Postgres internals that pgrx does not wrap:
//! - registering a trigger's transition tables with SPI (pgrx's `Spi` does not),
//! - reading which columns an UPDATE statement assigned (`tg_updatedcols`),
//! - parsing a filter with the raw grammar to prove it is exactly one expression,
//! - the executor-free single-row write path (`direct`: compiled row expressions, direct
//!   inserts into `tally._delta`),
//! - the executor-free dashboard read and fold (`scan`: index lookups on pg_tally's own
//!   tables, and the fold's scan that deletes the pending changes it reads),
//! - running a probe inside a subtransaction that is always rolled back, so a Postgres
//!   ERROR raised while validating user input becomes a typed pg_tally error.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};
use std::ffi::CString;

use crate::error::{Result, TallyError};

pub mod array;
mod direct;
pub mod scan;
mod security;
pub use direct::{
    change_relid, changes_relid, relation_names, ChangeRow, ChangeWriter, RowExprs, RowValue, Side,
};
pub use security::{
    as_extension_owner, as_role, as_table_owner, caller, drop_relation, drop_trigger, lock_fold,
    session_role, with_fixed_output, with_fixed_settings,
};

/// The oid of schema `tally`, None if the extension is not installed.
pub fn tally_schema() -> Option<pg_sys::Oid> {
    // SAFETY: syscache lookup by NUL-terminated name; InvalidOid when absent, checked.
    let schema = unsafe { pg_sys::get_namespace_oid(c"tally".as_ptr(), true) };
    (schema != pg_sys::InvalidOid).then_some(schema)
}

/// The oid of relation `name` in `schema`, None if there is none.
pub fn relation_in(schema: pg_sys::Oid, name: &std::ffi::CStr) -> Option<pg_sys::Oid> {
    // SAFETY: syscache lookup by NUL-terminated name; InvalidOid when absent, checked.
    let relid = unsafe { pg_sys::get_relname_relid(name.as_ptr(), schema) };
    (relid != pg_sys::InvalidOid).then_some(relid)
}

/// Makes the transition tables of `trigger` (REFERENCING NEW/OLD TABLE) visible to queries
/// run on the current SPI connection. Must be called right after `SPI_connect`.
pub fn register_transition_tables(trigger: &PgTrigger<'_>) -> Result<()> {
    // SAFETY: trigger_data() is the TriggerData Postgres passed to this trigger call; it is
    // valid for the whole call, and SPI_register_trigger_data only reads it to register
    // the tuplestores as ephemeral named relations of the current SPI connection.
    let status = unsafe {
        pg_sys::SPI_register_trigger_data(
            trigger.trigger_data() as *const pg_sys::TriggerData as *mut pg_sys::TriggerData
        )
    };
    if status == pg_sys::SPI_OK_TD_REGISTER as i32 {
        Ok(())
    } else {
        Err(TallyError::Internal(format!(
            "SPI_register_trigger_data returned {status}"
        )))
    }
}

/// Whether the statement that fired `trigger` changed exactly one row: each of its
/// transition tables (new rows, old rows, both for an UPDATE) holds one tuple. Such
/// statements take the single-row paths.
pub fn changed_one_row(trigger: &PgTrigger<'_>) -> bool {
    let data = trigger.trigger_data();
    let tables = [data.tg_newtable, data.tg_oldtable];
    let mut present = tables.iter().filter(|t| !t.is_null());
    // SAFETY: a non-null transition table of the TriggerData of this call is a valid
    // tuplestore until the trigger returns; counting does not move its read pointers.
    present.clone().count() > 0
        && present.all(|&table| unsafe { pg_sys::tuplestore_tuple_count(table) } == 1)
}

/// The row type of a table as the write path's cached plans and compiled expressions
/// were built for: each attribute's type, typmod and whether it is dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowShape(Vec<(pg_sys::Oid, i32, bool)>);

impl RowShape {
    /// The row type of the table `trigger` fired on.
    pub fn of(trigger: &PgTrigger<'_>) -> RowShape {
        let data = trigger.trigger_data();
        // SAFETY: tg_relation is the open, locked relation the trigger fired on; its
        // descriptor holds natts attributes.
        unsafe {
            let desc = (*data.tg_relation).rd_att;
            let attrs = attributes(desc);
            RowShape(
                attrs
                    .iter()
                    .map(|a| (a.atttypid, a.atttypmod, a.attisdropped))
                    .collect(),
            )
        }
    }

    /// Whether the table `trigger` fired on still has this row type. An ALTER TABLE whose
    /// DDL hook did not run leaves the generation as it was: what was compiled for the old
    /// row type must then not read the new one.
    pub fn matches(&self, trigger: &PgTrigger<'_>) -> bool {
        let data = trigger.trigger_data();
        // SAFETY: as in `of`.
        unsafe {
            let desc = (*data.tg_relation).rd_att;
            let attrs = attributes(desc);
            attrs.len() == self.0.len()
                && attrs
                    .iter()
                    .zip(&self.0)
                    .all(|(a, s)| (a.atttypid, a.atttypmod, a.attisdropped) == *s)
        }
    }
}

/// Attribute numbers assigned by the UPDATE statement that fired `trigger`, or None when
/// they cannot be trusted: a BEFORE ROW UPDATE trigger on the table (or, for a partitioned
/// table, on any of its partitions) may change any column without it appearing in the
/// statement's SET list.
pub fn updated_columns(trigger: &PgTrigger<'_>) -> Option<Vec<i16>> {
    let data = trigger.trigger_data();
    // SAFETY: tg_relation is the open, locked relation the trigger fired on; its rd_rel is
    // its pg_class row, and its trigdesc is either null or a valid TriggerDesc for the
    // duration of the call.
    let (partitioned, has_before_row) = unsafe {
        let relation = data.tg_relation;
        let trigdesc = (*relation).trigdesc;
        (
            (*(*relation).rd_rel).relkind == pg_sys::RELKIND_PARTITIONED_TABLE as std::ffi::c_char,
            !trigdesc.is_null() && (*trigdesc).trig_update_before_row,
        )
    };
    // An UPDATE through a partitioned table may meet a BEFORE ROW trigger on any partition,
    // which the root's trigger descriptor does not show.
    if partitioned || has_before_row || data.tg_updatedcols.is_null() {
        return None;
    }
    let mut columns = Vec::new();
    let mut member = -1;
    loop {
        // SAFETY: tg_updatedcols is a valid Bitmapset owned by the executor for this call.
        member = unsafe { pg_sys::bms_next_member(data.tg_updatedcols, member) };
        if member < 0 {
            break;
        }
        let attnum = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
        if attnum > 0 {
            columns.push(attnum as i16);
        }
    }
    Some(columns)
}

/// A Postgres ERROR caught while validating user input.
#[derive(Debug, Clone)]
pub struct CaughtPgError {
    pub code: PgSqlErrorCode,
    pub message: String,
}

impl CaughtPgError {
    /// Whether the error is about the data at hand: SQLSTATE class 22 (data exception, such
    /// as a numeric overflow) or exactly 54000 (program limit exceeded, such as an index row
    /// too large), not about the system or the caller (out of disk, a lock, a cancel, the
    /// stack depth a caller's recursion left: 54001, the same class).
    pub fn is_about_data(&self) -> bool {
        is_data_sqlstate(self.code as isize)
    }
}

/// Whether a packed SQLSTATE (Postgres' `MAKE_SQLSTATE`: six bits per character, first
/// character lowest) is a data exception (class 22) or exactly 54000.
fn is_data_sqlstate(code: isize) -> bool {
    let class = code & 0xFFF;
    let data_exception = isize::from(b'2' - b'0') + (isize::from(b'2' - b'0') << 6);
    class == data_exception || code == PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED as isize
}

impl std::fmt::Display for CaughtPgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs `probe` inside an internal subtransaction that is always rolled back, returning its
/// result or the Postgres ERROR it raised. Nothing `probe` writes survives, which is the
/// point: probes create throw-away objects (a temp table and index) to let Postgres itself
/// judge an expression.
pub fn probe_and_roll_back<T>(
    probe: impl FnOnce() -> T + std::panic::UnwindSafe,
) -> std::result::Result<T, CaughtPgError> {
    // SAFETY: this is the PL/pgSQL exception-block protocol: remember the caller's memory
    // context and resource owner, start a subtransaction, switch back to the caller's memory
    // context so results outlive the subtransaction, and on every path roll the
    // subtransaction back and restore both. PgTryBuilder turns an ERROR's longjmp into a Rust
    // unwind and has already copied and flushed the error state when the catch runs.
    unsafe {
        let caller_context = pg_sys::CurrentMemoryContext;
        let caller_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(caller_context);

        let outcome = PgTryBuilder::new(move || Ok(probe()))
            .catch_others(|caught| Err(caught_message(&caught)))
            .execute();

        pg_sys::RollbackAndReleaseCurrentSubTransaction();
        pg_sys::MemoryContextSwitchTo(caller_context);
        pg_sys::CurrentResourceOwner = caller_owner;
        outcome
    }
}

/// Runs `body` inside an internal subtransaction: committed (released) when it returns
/// Ok, rolled back when it returns Err or raises a Postgres ERROR, which comes back as
/// `Err`. A query cancel or a statement timeout is not caught: it rolls the subtransaction
/// back and goes on to end the statement, as the user asked. The fold isolates metrics
/// this way, and a writer's statement survives a fold that failed.
pub fn in_subtransaction<T>(
    body: impl FnOnce() -> Result<T>,
) -> std::result::Result<T, CaughtPgError> {
    // Unwind safety: whatever `body` changed in the database is rolled back with the
    // subtransaction; Rust state it changed before an ERROR is the caller's to discard
    // (every caller drops it on Err).
    let body = std::panic::AssertUnwindSafe(body);
    // SAFETY: the PL/pgSQL exception-block protocol, as in `probe_and_roll_back`: remember
    // the caller's memory context and resource owner, start the subtransaction, switch back
    // to the caller's context so results outlive it; release it on success, roll it back on
    // every failure, and restore both. A cancel is rethrown after the rollback and the
    // restore, so the enclosing transaction aborts as it would have without us.
    unsafe {
        let caller_context = pg_sys::CurrentMemoryContext;
        let caller_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(caller_context);

        let outcome = PgTryBuilder::new(move || {
            let body = body;
            Ok((body.0)())
        })
        .catch_others(Err)
        .execute();
        let released = matches!(outcome, Ok(Ok(_)));
        if released {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(caller_context);
        pg_sys::CurrentResourceOwner = caller_owner;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(CaughtPgError {
                code: error.code(),
                message: error.to_string(),
            }),
            Err(caught) if is_cancel(&caught) => caught.rethrow(),
            Err(caught) => Err(caught_message(&caught)),
        }
    }
}

/// Whether `caught` is a query cancel or a timeout, which nothing may swallow.
fn is_cancel(caught: &CaughtError) -> bool {
    matches!(
        caught_message(caught).code,
        PgSqlErrorCode::ERRCODE_QUERY_CANCELED
            | PgSqlErrorCode::ERRCODE_ADMIN_SHUTDOWN
            | PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE
            | PgSqlErrorCode::ERRCODE_IDLE_IN_TRANSACTION_SESSION_TIMEOUT
    )
}

fn caught_message(caught: &CaughtError) -> CaughtPgError {
    let report = match caught {
        CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => report,
        CaughtError::RustPanic { ereport, .. } => ereport,
    };
    CaughtPgError {
        code: report.sql_error_code(),
        message: report.message().to_string(),
    }
}

/// Proves that a text is exactly one SQL expression: `select` (`sql::single_expression_sql`:
/// `SELECT <text>`) must parse to a single SELECT with one unnamed target and no FROM, WHERE,
/// GROUP BY, set operation, locking or any other clause. This rejects "a; DROP TABLE t",
/// "x) OR (true", "1 FROM t" and the like before the text is ever embedded in another
/// statement.
pub fn check_single_expression(select: &str) -> Result<()> {
    let sql = CString::new(select).map_err(|_| TallyError::FilterNotExpression {
        detail: "The filter contains a NUL byte.".into(),
    })?;
    let verdict = probe_and_roll_back(move || {
        // SAFETY: raw_parser only reads the NUL-terminated string and returns a List of
        // RawStmt allocated in CurrentMemoryContext (the caller's, see probe_and_roll_back).
        // Every pointer read below is a node the grammar just built, checked for null
        // before it is dereferenced.
        unsafe {
            let list = pg_sys::raw_parser(sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
            let statements = PgList::<pg_sys::RawStmt>::from_pg(list);
            if statements.len() != 1 {
                return Err(format!("It holds {} statements.", statements.len()));
            }
            let raw = statements.get_ptr(0).ok_or("It holds no statement.")?;
            let node = (*raw).stmt;
            if node.is_null() || (*node).type_ != pg_sys::NodeTag::T_SelectStmt {
                return Err("It is not an expression.".to_string());
            }
            let select = node as *mut pg_sys::SelectStmt;
            let s = &*select;
            let only_target = s.distinctClause.is_null()
                && s.intoClause.is_null()
                && s.fromClause.is_null()
                && s.whereClause.is_null()
                && s.groupClause.is_null()
                && s.havingClause.is_null()
                && s.windowClause.is_null()
                && s.valuesLists.is_null()
                && s.sortClause.is_null()
                && s.limitOffset.is_null()
                && s.limitCount.is_null()
                && s.lockingClause.is_null()
                && s.withClause.is_null()
                && s.op == pg_sys::SetOperation::SETOP_NONE;
            if !only_target {
                return Err(
                    "It carries clauses beyond one expression (FROM, WHERE, UNION, ...)."
                        .to_string(),
                );
            }
            let targets = PgList::<pg_sys::ResTarget>::from_pg(s.targetList);
            if targets.len() != 1 {
                return Err(format!(
                    "It holds {} comma-separated expressions.",
                    targets.len()
                ));
            }
            let target = targets.get_ptr(0).ok_or("It holds no expression.")?;
            if !(*target).name.is_null() || !(*target).indirection.is_null() {
                return Err("It names its result with AS.".to_string());
            }
            Ok(())
        }
    });
    match verdict {
        Ok(Ok(())) => Ok(()),
        Ok(Err(detail)) => Err(TallyError::FilterNotExpression { detail }),
        Err(caught) => Err(TallyError::FilterNotExpression {
            detail: caught.message,
        }),
    }
}

/// The target expressions of `sql` (one SELECT) after raw parsing and parse analysis, in
/// order, allocated in the current memory context; nothing is planned. Empty if the text
/// holds no statement.
pub fn analyze_targets(sql: &std::ffi::CStr) -> Vec<*mut pg_sys::Expr> {
    // SAFETY: raw_parser and parse analysis read the NUL-terminated query and build nodes
    // in CurrentMemoryContext (an ERROR unwinds like any other); the statement pointer is
    // checked for null before use, and a Query's target list holds TargetEntry nodes.
    unsafe {
        let raw = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(
            sql.as_ptr(),
            pg_sys::RawParseMode::RAW_PARSE_DEFAULT,
        ));
        let Some(statement) = raw.get_ptr(0) else {
            return Vec::new();
        };
        let query = pg_sys::parse_analyze_fixedparams(
            statement,
            sql.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
        );
        PgList::<pg_sys::TargetEntry>::from_pg((*query).targetList)
            .iter_ptr()
            .map(|target| (*target).expr)
            .collect()
    }
}

/// Parse analysis (no planning, nothing evaluated but the input functions of the literals'
/// types) of `sql`, a `SELECT <expression> FROM ONLY <table relid>`, recording every object
/// the expression uses in pg_depend under a throw-away depender (`PROBE_DEPENDER`, the
/// pg_class entry with oid 0), as a view's rule would record them. Run inside
/// `probe_and_roll_back`, so the rows vanish with the probe, and as the table's owner
/// (`as_table_owner`): a literal of a type whose input runs code (a domain's CHECK inside an
/// array or composite) runs it with that owner's rights only.
pub fn record_expression_dependencies(relid: pg_sys::Oid, sql: &str) -> Result<()> {
    let text = CString::new(sql)
        .map_err(|_| TallyError::Internal("expression contains a NUL byte".into()))?;
    let expression = *analyze_targets(&text)
        .first()
        .ok_or_else(|| TallyError::Internal("expression probe has no target".into()))?;
    // SAFETY: `expression` is a node parse analysis just built in this memory context.
    // recordDependencyOnSingleRelExpr only reads it and inserts pg_depend rows for it;
    // CommandCounterIncrement makes them visible to the query that reads them back.
    unsafe {
        let depender = pg_sys::ObjectAddress {
            classId: pg_sys::RelationRelationId,
            objectId: pg_sys::InvalidOid,
            objectSubId: 0,
        };
        pg_sys::recordDependencyOnSingleRelExpr(
            &depender,
            expression as *mut pg_sys::Node,
            relid,
            pg_sys::DependencyType::DEPENDENCY_NORMAL,
            pg_sys::DependencyType::DEPENDENCY_NORMAL,
            false,
        );
        pg_sys::CommandCounterIncrement();
    }
    Ok(())
}

/// Claims the `tally.` GUC prefix so a misspelled `tally.*` setting is reported.
pub fn reserve_guc_prefix() {
    // SAFETY: called once from _PG_init with a static NUL-terminated string.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"tally".as_ptr()) }
}

/// Whether the current transaction runs at READ COMMITTED, where every statement sees
/// everything committed before it started.
pub fn is_read_committed() -> bool {
    // SAFETY: XactIsoLevel is a plain int global of the backend, read on the backend's thread.
    unsafe { pg_sys::XactIsoLevel == pg_sys::XACT_READ_COMMITTED as i32 }
}

/// The first column of the first row of a read-only query on a connection of its own
/// (pgrx's `Spi::get_one_with_args` runs it as a writing query, which needs a transaction
/// id: none can be had on a hot standby).
pub fn select_one<T: pgrx::IntoDatum + pgrx::FromDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> Result<Option<T>> {
    Ok(Spi::connect(|client| {
        let rows = client.select(sql, Some(1), args)?;
        if rows.is_empty() {
            Ok::<_, pgrx::spi::Error>(None)
        } else {
            rows.first().get_one::<T>()
        }
    })?)
}

/// The first two columns of the first row of a read-only query (see `select_one`).
pub fn select_pair<A, B>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> Result<(Option<A>, Option<B>)>
where
    A: pgrx::IntoDatum + pgrx::FromDatum,
    B: pgrx::IntoDatum + pgrx::FromDatum,
{
    Ok(Spi::connect(|client| {
        let rows = client.select(sql, Some(1), args)?;
        if rows.is_empty() {
            Ok::<_, pgrx::spi::Error>((None, None))
        } else {
            rows.first().get_two::<A, B>()
        }
    })?)
}

/// One value of an SPI result row (or of an SPI argument): a Datum of type `oid`, None for
/// SQL NULL. A by-reference value lives in the SPI connection's memory: valid until that
/// connection closes.
#[derive(Clone, Copy, Debug)]
pub struct SpiValue {
    pub datum: Option<pg_sys::Datum>,
    pub oid: pg_sys::Oid,
}

impl SpiValue {
    /// An int4 argument.
    pub fn of_int4(value: i32) -> Self {
        SpiValue {
            datum: Some(pg_sys::Datum::from(value)),
            oid: pg_sys::INT4OID,
        }
    }

    /// A text argument, copied into the current memory context (the SPI connection's).
    pub fn of_text(value: &str) -> Self {
        SpiValue {
            datum: value.into_datum(),
            oid: pg_sys::TEXTOID,
        }
    }

    /// SQL NULL of type `oid`.
    pub fn null(oid: pg_sys::Oid) -> Self {
        SpiValue { datum: None, oid }
    }

    /// An oid argument.
    pub fn of_oid(oid: pg_sys::Oid) -> Self {
        SpiValue {
            datum: Some(pg_sys::Datum::from(oid)),
            oid: pg_sys::OIDOID,
        }
    }
}

/// The first row of `table` as values of `types` (its columns, in order), None when it
/// has no row.
pub fn first_row(
    table: pgrx::spi::SpiTupleTable<'_>,
    types: &[pg_sys::Oid],
) -> Result<Option<Vec<SpiValue>>> {
    if table.is_empty() {
        return Ok(None);
    }
    let table = table.first();
    let mut values = Vec::with_capacity(types.len());
    for (i, &oid) in types.iter().enumerate() {
        values.push(SpiValue {
            datum: table.get_datum_by_ordinal(i + 1)?,
            oid,
        });
    }
    Ok(Some(values))
}

/// `values` as SPI arguments.
pub fn spi_args(values: &[SpiValue]) -> Vec<pgrx::datum::DatumWithOid<'_>> {
    values
        .iter()
        .map(|value| match value.datum {
            // SAFETY: the Datum is of type `value.oid` (an SpiValue is built only from a
            // result column of that type, see `first_row`) and lives in the SPI
            // connection's memory, which outlives the call it is passed to.
            Some(datum) => unsafe { pgrx::datum::DatumWithOid::new(datum, value.oid) },
            None => pgrx::datum::DatumWithOid::null_oid(value.oid),
        })
        .collect()
}

/// A registered snapshot, so that several statements can run in it: a recompute reads the
/// source as its owner and writes the counters with the extension's rights in two
/// statements that must see the same writes. The latest snapshot is used where a REPEATABLE READ / SERIALIZABLE transaction's older snapshot would miss rows
/// it must act on: TRUNCATE has removed every row of the table, including rows whose
/// changes were committed after that snapshot was taken. Postgres' own foreign-key triggers
/// use the latest snapshot for the same reason.
pub struct Snapshot(pg_sys::Snapshot);

impl Snapshot {
    /// Everything committed so far.
    pub fn latest() -> Self {
        // SAFETY: GetLatestSnapshot returns a static snapshot; RegisterSnapshot copies it and
        // records it in the current resource owner (released at (sub)transaction abort).
        Snapshot(unsafe { pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot()) })
    }

    /// The snapshot the calling statement runs in (what a read-only SPI query sees).
    pub fn active() -> Self {
        // SAFETY: inside a statement there is an active snapshot; RegisterSnapshot copies or
        // pins it in the current resource owner.
        Snapshot(unsafe { pg_sys::RegisterSnapshot(pg_sys::GetActiveSnapshot()) })
    }

    /// Unregisters the snapshot once its statements ran.
    pub fn release(self) {
        // SAFETY: registered by `latest` or `active` on this resource owner and not yet unregistered.
        unsafe { pg_sys::UnregisterSnapshot(self.0) }
    }
}

/// SQL text built by pg_tally's SQL builder (`crate::sql`, which implements this for its
/// statements): the only text `execute_in_snapshot` runs.
pub trait Query {
    fn text(&self) -> &str;
}

/// Runs `sql` with `params` (`$1`, ...) on the current SPI connection in `snapshot`,
/// returning the rows processed and the first row's values (of `result_types`) if it
/// returned rows.
pub fn execute_in_snapshot(
    snapshot: &Snapshot,
    statement: &impl Query,
    params: &[SpiValue],
    result_types: &[pg_sys::Oid],
) -> Result<(u64, Option<Vec<SpiValue>>)> {
    let sql = statement.text();
    let query =
        CString::new(sql).map_err(|_| TallyError::Internal("query contains a NUL byte".into()))?;
    let mut arg_types: Vec<pg_sys::Oid> = params.iter().map(|p| p.oid).collect();
    let mut values: Vec<pg_sys::Datum> = params
        .iter()
        .map(|p| p.datum.unwrap_or(pg_sys::Datum::from(0)))
        .collect();
    let nulls: Vec<std::ffi::c_char> = params
        .iter()
        .map(|p| if p.datum.is_some() { b' ' } else { b'n' } as std::ffi::c_char)
        .collect();
    // SAFETY: the caller is inside an SPI connection (Spi::connect_mut). SPI_prepare copies
    // the query text and argument types; the plan is freed before returning.
    // The snapshot is registered (`Snapshot`) and SPI_execute_snapshot pushes a copy
    // as the active snapshot. `values` and `nulls` outlive the call and match the
    // plan's argument count. The result row is read from SPI_tuptable, which stays
    // allocated in the connection's memory until it closes, and checked against the
    // number of columns asked for.
    unsafe {
        let plan = pg_sys::SPI_prepare(
            query.as_ptr(),
            arg_types.len() as i32,
            arg_types.as_mut_ptr(),
        );
        if plan.is_null() {
            return Err(TallyError::Internal(format!(
                "SPI_prepare failed for {sql}"
            )));
        }
        let status = pg_sys::SPI_execute_snapshot(
            plan,
            values.as_mut_ptr(),
            nulls.as_ptr(),
            snapshot.0,
            std::ptr::null_mut(),
            false,
            true,
            0,
        );
        let processed = pg_sys::SPI_processed;
        pg_sys::SPI_freeplan(plan);
        if status < 0 {
            return Err(TallyError::Internal(format!(
                "SPI_execute_snapshot returned {status}"
            )));
        }
        let table = pg_sys::SPI_tuptable;
        if result_types.is_empty() || processed == 0 || table.is_null() {
            return Ok((processed, None));
        }
        if (*(*table).tupdesc).natts as usize != result_types.len() {
            return Err(TallyError::Internal(format!(
                "expected {} result columns from {sql}",
                result_types.len()
            )));
        }
        let tuple = *(*table).vals;
        let mut row = Vec::with_capacity(result_types.len());
        for (i, &oid) in result_types.iter().enumerate() {
            let mut is_null = false;
            let datum = pg_sys::SPI_getbinval(tuple, (*table).tupdesc, i as i32 + 1, &mut is_null);
            row.push(SpiValue {
                datum: (!is_null).then_some(datum),
                oid,
            });
        }
        Ok((processed, Some(row)))
    }
}

/// Locks table `relid` in `mode` until the transaction ends, as `LOCK TABLE` would, without
/// naming it in SQL. The caller has checked it may.
pub fn lock_table(relid: pg_sys::Oid, mode: u32) {
    // SAFETY: takes a relation lock through the lock manager; an ERROR (cancel, deadlock)
    // propagates like any other.
    unsafe { pg_sys::LockRelationOid(relid, mode as pg_sys::LOCKMODE) }
}

/// Runs `body` with the settings a plan over the queue table `tally._change` needs:
/// `enable_seqscan` and `enable_bitmapscan` off, so it walks the `_change_xact` index from
/// the fold horizon rather than every dead heap tuple (bitmap scans never mark dead index
/// entries, so they would keep the index bloated); and `jit` off. Between two vacuums the
/// planner sees a large `_change` and prices the plan past `jit_above_cost`: JIT then
/// compiled the fold's ~100 expressions on every execution, 2.4 s each under 8 writers,
/// while the plan itself runs in well under a millisecond. `plan_cache_mode` forces the
/// generic plan: with parameters (the batch size, the summed arrays) the plan cache would
/// otherwise keep planning the fold's statements anew on every call, which took longer
/// than running them (`tally.compact()` of 100 statements: 2.3 ms with replanning, 1.2 ms
/// without, through psql; the two statements run in 0.45 ms). Used by the fold
/// (`fold::fold_all`); the SQL reads of pending changes get `jit = off` from their
/// function's SET clause (finalize.sql).
pub fn with_queue_plan_settings<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    with_settings(
        &[
            (c"enable_seqscan", c"off"),
            (c"enable_bitmapscan", c"off"),
            (c"jit", c"off"),
            (c"plan_cache_mode", c"force_generic_plan"),
        ],
        body,
    )
}

/// Makes the triggers `names` of table `relid` fire whatever `session_replication_role` is,
/// as `ALTER TABLE ... ENABLE ALWAYS TRIGGER` does. Not through ALTER TABLE: the triggers
/// are rebuilt from the extension's ALTER TABLE event trigger, while the user's ALTER TABLE
/// still has the table open, and a nested ALTER TABLE refuses a table in use. The caller
/// holds SHARE ROW EXCLUSIVE on the table (the lock ALTER TABLE would take).
pub fn enable_always(relid: pg_sys::Oid, names: &[&str]) -> Result<()> {
    let names = names
        .iter()
        .map(|name| CString::new(*name).map_err(|e| TallyError::Internal(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let lock = pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: the table exists and is locked by the caller; `EnableDisableTrigger` updates
    // the trigger's pg_trigger row and invalidates the relcache entry, raising an ERROR
    // (which unwinds like any other) if no such trigger exists. The CommandCounterIncrement
    // makes the change visible to the commands that follow in this transaction.
    unsafe {
        let relation = pg_sys::table_open(relid, lock);
        for name in &names {
            enable_disable_trigger(relation, name, lock);
        }
        pg_sys::table_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
        pg_sys::CommandCounterIncrement();
    }
    Ok(())
}

/// The attributes of a tuple descriptor, in column order.
///
/// # Safety
/// `desc` is a valid tuple descriptor that outlives the slice.
pub(crate) unsafe fn attributes<'a>(
    desc: pg_sys::TupleDesc,
) -> &'a [pg_sys::FormData_pg_attribute] {
    // SAFETY: a descriptor holds `natts` attributes, contiguous.
    unsafe {
        let count = (*desc).natts.max(0) as usize;
        // PostgreSQL 18 keeps them after a compact copy of each (`compact_attrs`), reached
        // through TupleDescAttr; before, they were the array `attrs`.
        #[cfg(feature = "pg18")]
        let first = pg_sys::TupleDescAttr(desc, 0);
        #[cfg(not(feature = "pg18"))]
        let first = (*desc).attrs.as_ptr().cast_mut();
        std::slice::from_raw_parts(first, count)
    }
}

/// `ALTER TABLE ... ENABLE ALWAYS TRIGGER name` on `relation`, that table's trigger only.
///
/// # Safety
/// `relation` is open and locked with `lock`.
unsafe fn enable_disable_trigger(
    relation: pg_sys::Relation,
    name: &std::ffi::CStr,
    lock: pg_sys::LOCKMODE,
) {
    let fires = pg_sys::TRIGGER_FIRES_ALWAYS as std::ffi::c_char;
    // SAFETY: the caller's promise; `name` is NUL-terminated.
    #[cfg(feature = "pg15")]
    unsafe {
        pg_sys::EnableDisableTrigger(relation, name.as_ptr(), fires, false, lock)
    };
    // PostgreSQL 16 added the parent trigger to match (InvalidOid: any) and whether to recurse
    // into partitions (no: pg_tally sets each partition's triggers itself).
    // SAFETY: as above.
    #[cfg(not(feature = "pg15"))]
    unsafe {
        pg_sys::EnableDisableTrigger(
            relation,
            name.as_ptr(),
            pg_sys::InvalidOid,
            fires,
            false,
            false,
            lock,
        )
    };
}

/// Runs `body` with the user-settable `settings` changed, restored afterwards with every
/// other setting changed inside (a new GUC nest level, popped and discarded on return; on
/// error the aborting transaction pops it).
pub fn with_settings<'a, T>(
    settings: impl IntoIterator<Item = &'a (&'a std::ffi::CStr, &'a std::ffi::CStr)>,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    // SAFETY: NewGUCNestLevel/AtEOXact_GUC are paired on the success path; on a Rust error
    // we still pop the level before returning it. set_config_option gets NUL-terminated
    // strings and only changes user-settable options at this nest level; a value it cannot
    // set is an ERROR (never silently left as the session had it), which unwinds and
    // leaves the level to the aborting transaction.
    let nest = unsafe {
        let nest = pg_sys::NewGUCNestLevel();
        for (name, value) in settings {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                pg_sys::PGERROR as i32,
                false,
            );
        }
        nest
    };
    let result = body();
    // SAFETY: pops exactly the nest level opened above, restoring the previous values.
    // isCommit = false discards every change made inside too, a plain SET included (with
    // true, Postgres keeps a plain SET past the level, as after a function's SET clause):
    // code a table owner wrote may run in `body` (`as_table_owner`) and must not leave a
    // search_path behind for what runs next with the extension owner's rights. Postgres'
    // index builds pop their level the same way.
    unsafe { pg_sys::AtEOXact_GUC(false, nest) };
    result
}

/// The name of the database this backend is connected to.
pub fn current_database_name() -> Option<String> {
    // SAFETY: MyDatabaseId is set once the backend is connected; get_database_name returns
    // a palloc'd copy (or NULL) that we only read here.
    unsafe {
        if pg_sys::MyDatabaseId == pg_sys::InvalidOid {
            return None;
        }
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        (!name.is_null()).then(|| {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        })
    }
}

/// Re-reads postgresql.conf after SIGHUP (background worker).
pub fn reload_configuration() {
    // SAFETY: called from the worker's main loop, outside any transaction, as Postgres'
    // own background processes do on SIGHUP.
    unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
}

/// Whether this library is being loaded through shared_preload_libraries (in the postmaster).
pub fn preloading() -> bool {
    // SAFETY: a plain global flag of the postmaster, read during _PG_init.
    unsafe { pg_sys::process_shared_preload_libraries_in_progress }
}

/// Ends a background worker so that the postmaster starts it again after its restart time
/// (exit code 0 would unregister it): a compactor stopped by pg_terminate_backend or
/// DROP DATABASE ... WITH (FORCE) comes back; at shutdown nothing is restarted anyway.
pub fn exit_to_be_restarted() -> ! {
    // SAFETY: proc_exit runs the backend's exit callbacks and never returns; called at the
    // end of the worker's main loop, outside any transaction.
    unsafe { pg_sys::proc_exit(1) };
    // PostgreSQL 18's header no longer marks proc_exit as not returning (for the bindings).
    #[cfg(feature = "pg18")]
    unreachable!("proc_exit returned")
}

#[cfg(test)]
mod unit {
    use super::is_data_sqlstate;
    use proptest::prelude::*;

    /// Postgres' MAKE_SQLSTATE of a five-character SQLSTATE.
    fn packed(sqlstate: &str) -> isize {
        sqlstate
            .bytes()
            .enumerate()
            .map(|(i, c)| isize::from((c - b'0') & 0x3F) << (6 * i))
            .sum()
    }

    proptest! {
        #[test]
        fn data_sqlstates_are_class_22_and_54000(sqlstate in "[0-9A-Z]{5}") {
            let expected = sqlstate.starts_with("22") || sqlstate == "54000";
            prop_assert_eq!(is_data_sqlstate(packed(&sqlstate)), expected);
        }
    }

    #[test]
    fn known_codes() {
        assert!(is_data_sqlstate(packed("22003"))); // numeric_value_out_of_range
        assert!(is_data_sqlstate(packed("54000"))); // program_limit_exceeded
        assert!(!is_data_sqlstate(packed("54001"))); // statement_too_complex (stack depth)
        assert!(!is_data_sqlstate(packed("53100"))); // disk_full
        assert!(!is_data_sqlstate(packed("57014"))); // query_canceled
    }
}
