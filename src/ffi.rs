//! The unsafe calls every concern shares, each block with the reason it is sound. A call only
//! one concern needs lives in that folder's `sys` module instead (`catalog::sys`,
//! `write::sys`, `fold::sys`, `read::sys`); `scripts/check-unsafe.py` allows `unsafe` nowhere
//! else.
//!
//! - whose rights and settings code runs with (`security`: the extension owner, the table
//!   owner, the fixed parse and output settings),
//! - subtransactions: a probe that is always rolled back, so a Postgres ERROR raised while
//!   validating user input becomes a typed pg_tally error, and `in_subtransaction`,
//! - SPI helpers under a chosen snapshot, table locks, relation lookups by name,
//! - parse analysis of a statement's target list (`analyze_targets`, for validation and the
//!   single-row path's compiled expressions), a descriptor's attributes,
//! - the process: preloading, the GUC prefix.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};
use std::ffi::CString;

use crate::error::{Result, TallyError};

pub mod arrays;
pub mod collations;
pub mod datetime;
pub mod enums;
pub mod expression;
pub mod floats;
pub mod icu;
pub mod ranges;
pub mod records;
mod security;
pub mod text_search;
pub use security::{
    as_extension_owner, as_role, as_table_owner, caller, drop_relation, drop_trigger, session_role,
    with_fixed_output, with_fixed_settings,
};

/// The reg* types: oids naming a catalog row, ordered and equated as oids (`oid_ops`), whose
/// figures are oids (0.20.0; their arrays' figures oid[], 0.21.0).
pub const REG_TYPES: [pg_sys::Oid; 11] = [
    pg_sys::REGPROCOID,
    pg_sys::REGPROCEDUREOID,
    pg_sys::REGOPEROID,
    pg_sys::REGOPERATOROID,
    pg_sys::REGCLASSOID,
    pg_sys::REGTYPEOID,
    pg_sys::REGCOLLATIONOID,
    pg_sys::REGCONFIGOID,
    pg_sys::REGDICTIONARYOID,
    pg_sys::REGNAMESPACEOID,
    pg_sys::REGROLEOID,
];

/// The bytes a numeric takes as a value of its own (0.21.0: what `pg_column_size(value + 0)`
/// measured in the writes' SQL before, the size of a fresh copy, never compressed; Postgres
/// writes one numeric of a value the same way wherever it is made).
pub fn numeric_size(value: &pgrx::AnyNumeric) -> usize {
    let Some(datum) = value.clone().into_datum() else {
        return 0;
    };
    // SAFETY: `into_datum` returns a palloc'd copy of the numeric's whole varlena (4-byte
    // header, as pgrx keeps it detoasted), read for its size and freed here.
    unsafe {
        let size = pgrx::varsize_any(datum.cast_mut_ptr());
        pg_sys::pfree(datum.cast_mut_ptr());
        size
    }
}

/// The oid of schema `tally`, None if the extension is not installed.
pub fn tally_schema() -> Option<pg_sys::Oid> {
    // SAFETY: syscache lookup by NUL-terminated name; InvalidOid when absent, checked.
    let schema = unsafe { pg_sys::get_namespace_oid(c"tally".as_ptr(), true) };
    (schema != pg_sys::InvalidOid).then_some(schema)
}

/// The oid of the relation pending changes go to: `tally._change`, or `tally._delta` on a
/// catalog older than 0.6.0. None if the extension is not installed. It identifies the
/// instance of the pg_tally catalog: DROP/CREATE EXTENSION gives a new one.
pub fn changes_relid() -> Option<pg_sys::Oid> {
    change_relid().or_else(|| relation_in(tally_schema()?, c"_delta"))
}

/// The oid of `tally._change`, None on a catalog older than 0.6.0.
pub fn change_relid() -> Option<pg_sys::Oid> {
    relation_in(tally_schema()?, c"_change")
}

/// The oid of relation `name` in `schema`, None if there is none.
pub fn relation_in(schema: pg_sys::Oid, name: &std::ffi::CStr) -> Option<pg_sys::Oid> {
    // SAFETY: syscache lookup by NUL-terminated name; InvalidOid when absent, checked.
    let relid = unsafe { pg_sys::get_relname_relid(name.as_ptr(), schema) };
    (relid != pg_sys::InvalidOid).then_some(relid)
}

/// Whether an extension script (CREATE or ALTER EXTENSION) is running in this session.
pub fn creating_extension() -> bool {
    // SAFETY: reads a global bool the backend sets around an extension script.
    unsafe { pg_sys::creating_extension }
}

/// What `on_schema_change` runs.
static SCHEMA_CHANGED: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Runs `forget` in this backend whenever a schema is created, altered or dropped, by any
/// session (an invalidation of the pg_namespace syscache, which Postgres delivers to every
/// backend, this one included at its next command): how a session learns that the extension
/// was dropped and created again (its schema with it), maybe at another version. `forget`
/// must only set cells: it runs inside invalidation processing. Registered once per
/// process (`_PG_init`); a later call changes nothing.
pub fn on_schema_change(forget: fn()) {
    if SCHEMA_CHANGED.set(forget).is_err() {
        return;
    }
    // SAFETY: registers a function with the signature Postgres calls syscache callbacks
    // with, for a syscache id Postgres defines, in this process's callback list (no
    // transaction needed: it only appends to a static array).
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::NAMESPACEOID as std::ffi::c_int,
            Some(schema_changed),
            pg_sys::Datum::from(0),
        );
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn schema_changed(
    _arg: pg_sys::Datum,
    _cache: std::ffi::c_int,
    _hash: u32,
) {
    if let Some(forget) = SCHEMA_CHANGED.get() {
        forget();
    }
}

/// Whether this database is encoded in UTF8.
pub fn database_is_utf8() -> bool {
    // SAFETY: reads the database encoding, set for the life of the backend.
    unsafe { pg_sys::GetDatabaseEncoding() == pg_sys::pg_enc::PG_UTF8 as std::ffi::c_int }
}

/// Whether `schema` holds a function `name` taking exactly `arg_types`.
pub fn function_in(schema: pg_sys::Oid, name: &std::ffi::CStr, arg_types: &[pg_sys::Oid]) -> bool {
    let count = i32::try_from(arg_types.len()).expect("a function takes fewer than 2^31 arguments");
    // SAFETY: buildoidvector copies `count` oids from a live slice into a palloc'd vector in
    // the current memory context; the syscache lookup (pg_proc by name, argument types and
    // schema, as Postgres' own lookups key it: the name as a C string) only reads its keys.
    unsafe {
        let args = pg_sys::buildoidvector(arg_types.as_ptr(), count);
        pg_sys::SearchSysCacheExists(
            pg_sys::SysCacheIdentifier::PROCNAMEARGSNSP as i32,
            pg_sys::Datum::from(name.as_ptr()),
            pg_sys::Datum::from(args),
            pg_sys::Datum::from(schema),
            pg_sys::Datum::from(0),
        )
    }
}

/// Whether syscache `cache` (one keyed by an oid alone: TYPEOID, COLLOID...) has an entry
/// for `oid` in the newest catalog.
pub fn cached_by_oid(cache: pg_sys::SysCacheIdentifier::Type, oid: pg_sys::Oid) -> bool {
    // SAFETY: a syscache existence check by one oid key; no tuple is kept.
    unsafe {
        pg_sys::SearchSysCacheExists(
            cache as std::ffi::c_int,
            pg_sys::Datum::from(oid),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
        )
    }
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

extern "C" {
    /// libc's, with glibc's RTLD_DEFAULT (a null handle): the symbols of the server and the
    /// libraries it was linked with.
    fn dlsym(
        handle: *mut std::ffi::c_void,
        symbol: *const std::ffi::c_char,
    ) -> *mut std::ffi::c_void;
}

/// The address of symbol `name` in the server's process (ICU's functions, 0.22.0; an accessor
/// only a patched minor exports, 0.23.0), None when it has none.
pub(crate) fn server_symbol(name: &str) -> Option<*mut std::ffi::c_void> {
    let name = CString::new(name).ok()?;
    // SAFETY: dlsym with RTLD_DEFAULT reads a NUL-terminated name and returns the symbol's
    // address or null.
    let address = unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) };
    (!address.is_null()).then_some(address)
}

/// Claims the `tally.` GUC prefix so a misspelled `tally.*` setting is reported.
pub fn reserve_guc_prefix() {
    // SAFETY: called once from _PG_init with a static NUL-terminated string.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"tally".as_ptr()) }
}

/// Whether `xid` is this transaction's, or one of its subtransactions' not rolled back: a
/// catalog row whose xmin it is was written by this transaction.
pub fn is_current_transaction(xid: pg_sys::TransactionId) -> bool {
    // SAFETY: reads this backend's own transaction state; any xid value is accepted.
    unsafe { pg_sys::TransactionIdIsCurrentTransactionId(xid) }
}

/// Runs `f` with a new snapshot as the active one (at READ COMMITTED: of everything committed
/// by now), so that its read-only queries see what committed while this statement waited
/// for a lock (they read the active snapshot, this statement's own otherwise).
pub fn with_latest_snapshot<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: GetTransactionSnapshot returns the transaction's snapshot (a new one at READ
    // COMMITTED, which `define` requires), which PushActiveSnapshot copies onto the stack.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    let result = f();
    // SAFETY: pops the snapshot pushed above: `f` pushes and pops its own in pairs, and an
    // error in it ends the (sub)transaction, whose abort pops what it left.
    unsafe { pg_sys::PopActiveSnapshot() };
    result
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

    /// The text of a text result column, None for NULL or another type.
    pub fn text(&self) -> Option<String> {
        if self.oid != pg_sys::TEXTOID {
            return None;
        }
        // SAFETY: a text Datum (checked above) of a result row, in the SPI connection's
        // memory, which is still open (an SpiValue does not outlive it).
        self.datum
            .and_then(|datum| unsafe { String::from_datum(datum, false) })
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

/// Whether this library is being loaded through shared_preload_libraries (in the postmaster).
pub fn preloading() -> bool {
    // SAFETY: a plain global flag of the postmaster, read during _PG_init.
    unsafe { pg_sys::process_shared_preload_libraries_in_progress }
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
