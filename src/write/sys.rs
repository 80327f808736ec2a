//! The unsafe calls of the write path, each block with the reason it is sound.
//!
//! - The trigger's view of its statement: its transition tables registered with SPI
//!   (`register_transition_tables`, which pgrx's `Spi` does not do), whether it changed one
//!   row, the row type it fired on (`RowShape`), and `enable_always` for the triggers it
//!   (re)creates.
//! - The executor-free single-row write path (see `crate::write::single_row`): SQL
//!   expressions compiled once against a table's row shape and evaluated over the one row of
//!   a transition table, and the statement's changes stored as one `tally._change` row with
//!   `heap_insert` and index inserts.
//!
//! Why: profiling a single-row INSERT showed the SPI execution of the change INSERT — most of
//! it `ExecutorStart` building the plan's nodes, slots and expressions on every statement —
//! as a quarter of the backend's time (a third for an UPDATE). Here the expressions are
//! compiled once per table generation and a statement costs their evaluation plus the
//! inserts themselves.

use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;

use crate::error::{Result, TallyError};
use crate::ffi::{analyze_targets, attributes, with_fixed_settings};
use crate::fold::sys::array::{array_of, INT4, INT8, NUMERIC, TEXT, TIMESTAMPTZ};

/// A value computed for the current statement's row: valid until the next
/// `RowExprs::reset`, which the borrow on `RowExprs` enforces.
#[derive(Clone, Copy)]
pub struct RowValue<'a> {
    datum: Datum,
    _owner: PhantomData<&'a RowExprs>,
}

/// Which transition table a row comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Old,
    New,
}

/// SQL expressions over one table's row, parsed, planned and compiled once, evaluated
/// without the executor. Owns a memory context below TopMemoryContext holding the compiled
/// expressions, the two row slots and the per-row evaluation memory.
pub struct RowExprs {
    context: pg_sys::MemoryContext,
    econtext: *mut pg_sys::ExprContext,
    old_slot: *mut pg_sys::TupleTableSlot,
    new_slot: *mut pg_sys::TupleTableSlot,
    states: Vec<*mut pg_sys::ExprState>,
    /// Whether an expression writes a date, time or interval as text (`writes_datetime_text`).
    datetime_text: bool,
}

impl Drop for RowExprs {
    fn drop(&mut self) {
        // SAFETY: `context` was created by `compile` and owns everything else this struct
        // points to; deleting it raises no error and nothing else references it.
        unsafe { pg_sys::MemoryContextDelete(self.context) }
    }
}

impl RowExprs {
    /// Compiles the `count` expressions of `query` over the rows of `relid`
    /// (`sql::row_expressions_sql`: `SELECT <exprs> FROM ONLY <table>`, schema-qualified
    /// expressions over the table's columns) by parse analysis under `search_path =
    /// pg_catalog, pg_temp`, so that no object of the writer's search_path can take part.
    pub fn compile(relid: pg_sys::Oid, query: &str, count: usize) -> Result<RowExprs> {
        let sql = CString::new(query)
            .map_err(|_| TallyError::Internal("expression contains a NUL byte".into()))?;
        with_fixed_settings(|| {
            // SAFETY: the context is created under the caller's (transaction) context and
            // moved below TopMemoryContext only once everything in it is built, so an
            // ERROR half-way frees it with the transaction. Parse analysis builds its nodes
            // there; the target list holds exactly count expressions (checked below). expression_planner
            // and ExecInitExpr copy into CurrentMemoryContext, which is ours. The slots'
            // descriptor is a copy owned by the context, so it outlives the relation
            // cache entry's.
            unsafe {
                let context = pg_sys::AllocSetContextCreateInternal(
                    pg_sys::CurrentMemoryContext,
                    c"pg_tally row expressions".as_ptr(),
                    0,
                    8 * 1024,
                    8 * 1024 * 1024,
                );
                let caller = pg_sys::MemoryContextSwitchTo(context);
                let targets = analyze_targets(&sql);
                let datetime_text = targets
                    .iter()
                    .any(|&target| writes_datetime_text(target as *mut pg_sys::Node));
                let mut states = Vec::with_capacity(count);
                for target in targets {
                    let planned = pg_sys::expression_planner(target);
                    states.push(pg_sys::ExecInitExpr(planned, std::ptr::null_mut()));
                }
                let relation = pg_sys::table_open(relid, pg_sys::AccessShareLock as i32);
                let desc = pg_sys::CreateTupleDescCopy((*relation).rd_att);
                pg_sys::table_close(relation, pg_sys::NoLock as i32);
                let old_slot = pg_sys::MakeSingleTupleTableSlot(desc, &pg_sys::TTSOpsMinimalTuple);
                let new_slot = pg_sys::MakeSingleTupleTableSlot(desc, &pg_sys::TTSOpsMinimalTuple);
                let econtext = pg_sys::CreateStandaloneExprContext();
                pg_sys::MemoryContextSwitchTo(caller);
                pg_sys::MemoryContextSetParent(context, pg_sys::TopMemoryContext);
                if states.len() != count {
                    pg_sys::MemoryContextDelete(context);
                    return Err(TallyError::Internal(format!(
                        "compiled {} of {} expressions",
                        states.len(),
                        count
                    )));
                }
                Ok(RowExprs {
                    context,
                    econtext,
                    old_slot,
                    new_slot,
                    states,
                    datetime_text,
                })
            }
        })
    }

    /// Whether an expression gives a date, time, timestamp or interval the text form DateStyle,
    /// IntervalStyle and TimeZone decide (an xml or SQL/JSON value built from one): it must be
    /// evaluated under the fixed settings, as the statement path is, or a writer's own settings
    /// would decide what is counted.
    pub fn writes_datetime_text(&self) -> bool {
        self.datetime_text
    }

    /// Frees everything computed for the previous row.
    pub fn reset(&mut self) {
        // SAFETY: the per-tuple context of our own ExprContext; values computed in it are
        // borrowed from `self`, so none can outlive this `&mut self` call.
        unsafe {
            pg_sys::ExecClearTuple(self.old_slot);
            pg_sys::ExecClearTuple(self.new_slot);
            pg_sys::MemoryContextReset((*self.econtext).ecxt_per_tuple_memory);
        }
    }

    /// Loads the one row of the `side` transition table of the statement that fired
    /// `trigger`. False if that table is absent or empty.
    pub fn load(&mut self, trigger: &PgTrigger<'_>, side: Side) -> bool {
        let data = trigger.trigger_data();
        let (table, slot) = match side {
            Side::Old => (data.tg_oldtable, self.old_slot),
            Side::New => (data.tg_newtable, self.new_slot),
        };
        if table.is_null() {
            return false;
        }
        // SAFETY: a transition table of this trigger call is a valid tuplestore until the
        // trigger returns; its rows have the trigger relation's row type, which is the
        // slot's. We read through a read pointer of our own, as a NamedTuplestoreScan
        // does, rewound first, and select pointer 0 again afterwards so other readers of
        // the shared tuplestore are unaffected. The row is not copied while the tuplestore
        // holds it in memory (it outlives every use of the slot in this call). Once the
        // tuplestore has spilled to disk (a large row, a small work_mem), the row is read
        // into a fresh allocation the slot owns and frees in `reset`: it is made in our own
        // per-tuple context, which lives until then (in the caller's context, it was freed
        // with the statement, and `reset` then freed it a second time: a crash).
        unsafe {
            let pointer =
                pg_sys::tuplestore_alloc_read_pointer(table, pg_sys::EXEC_FLAG_REWIND as i32);
            pg_sys::tuplestore_select_read_pointer(table, pointer);
            pg_sys::tuplestore_rescan(table);
            let caller = pg_sys::MemoryContextSwitchTo((*self.econtext).ecxt_per_tuple_memory);
            let found = pg_sys::tuplestore_gettupleslot(table, true, false, slot);
            pg_sys::MemoryContextSwitchTo(caller);
            pg_sys::tuplestore_select_read_pointer(table, 0);
            found
        }
    }

    /// Evaluates expression `index` over the row loaded for `side`; None for SQL NULL.
    pub fn eval(&self, index: usize, side: Side) -> Option<RowValue<'_>> {
        let state = *self.states.get(index)?;
        let mut is_null = false;
        // SAFETY: `state` was compiled for this table's row type; the scan tuple is one of
        // our slots of that type. Evaluation allocates in the per-tuple context, freed
        // only by `reset`, which needs `&mut self` while the result borrows `self`.
        let datum = unsafe {
            (*self.econtext).ecxt_scantuple = match side {
                Side::Old => self.old_slot,
                Side::New => self.new_slot,
            };
            pg_sys::ExecEvalExprSwitchContext(state, self.econtext, &mut is_null)
        };
        (!is_null).then_some(RowValue {
            datum,
            _owner: PhantomData,
        })
    }

    /// The boolean value of expression `index` (a filter): NULL counts as false, as in WHERE.
    pub fn test(&self, index: usize, side: Side) -> bool {
        self.eval(index, side)
            .is_some_and(|value| value.datum.value() != 0)
    }

    /// `-value` for a numeric value.
    pub fn negate<'a>(&'a self, value: RowValue<'a>) -> RowValue<'a> {
        self.numeric_difference(None, value)
    }

    /// `minuend - subtrahend` for numeric values.
    pub fn subtract<'a>(&'a self, minuend: RowValue<'a>, subtrahend: RowValue<'a>) -> RowValue<'a> {
        self.numeric_difference(Some(minuend), subtrahend)
    }

    fn numeric_difference<'a>(
        &'a self,
        minuend: Option<RowValue<'a>>,
        subtrahend: RowValue<'a>,
    ) -> RowValue<'a> {
        // SAFETY: both values are numeric datums (the expressions cast to numeric);
        // pg_detoast_datum gives them the plain 4-byte-header form numeric arithmetic
        // expects. The result is allocated in our per-tuple context like the inputs.
        let datum = unsafe {
            let caller = pg_sys::MemoryContextSwitchTo((*self.econtext).ecxt_per_tuple_memory);
            let left = match minuend {
                Some(value) => detoasted(value.datum) as pg_sys::Numeric,
                None => pg_sys::int64_to_numeric(0),
            };
            let right = detoasted(subtrahend.datum) as pg_sys::Numeric;
            let result = pg_sys::numeric_sub_opt_error(left, right, std::ptr::null_mut());
            pg_sys::MemoryContextSwitchTo(caller);
            Datum::from(result)
        };
        RowValue {
            datum,
            _owner: PhantomData,
        }
    }
}

impl RowValue<'_> {
    /// Whether two values of the same by-value type (timestamptz) are equal.
    pub fn same_scalar(self, other: RowValue<'_>) -> bool {
        self.datum == other.datum
    }

    /// Whether two values of the same varlena type (text, numeric) have the same bytes.
    /// Equal bytes mean equal values; a false "different" (numeric 1.0 vs 1.00) only costs
    /// an extra change row, which the fold nets.
    pub fn same_bytes(self, other: RowValue<'_>) -> bool {
        // SAFETY: both are varlena datums of the same type computed for this row;
        // pg_detoast_datum_packed returns them (or an inline copy) with a valid header.
        unsafe {
            let a = pg_sys::pg_detoast_datum_packed(self.datum.cast_mut_ptr());
            let b = pg_sys::pg_detoast_datum_packed(other.datum.cast_mut_ptr());
            let (a_len, b_len) = (
                pgrx::varlena::varsize_any_exhdr(a),
                pgrx::varlena::varsize_any_exhdr(b),
            );
            a_len == b_len
                && std::slice::from_raw_parts(pgrx::varlena::vardata_any(a) as *const u8, a_len)
                    == std::slice::from_raw_parts(pgrx::varlena::vardata_any(b) as *const u8, b_len)
        }
    }
}

/// # Safety
/// `datum` must be a varlena datum.
unsafe fn detoasted(datum: Datum) -> *mut pg_sys::varlena {
    // SAFETY: the caller's promise.
    unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) }
}

/// The schema and name of relation `relid`.
pub fn relation_names(relid: pg_sys::Oid) -> Result<(String, String)> {
    // SAFETY: lsyscache lookups return palloc'd copies or NULL, checked before use.
    unsafe {
        let name = pg_sys::get_rel_name(relid);
        let schema = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid));
        if name.is_null() || schema.is_null() {
            return Err(TallyError::Internal(format!(
                "relation {relid:?} not found"
            )));
        }
        Ok((
            CStr::from_ptr(schema).to_string_lossy().into_owned(),
            CStr::from_ptr(name).to_string_lossy().into_owned(),
        ))
    }
}

/// One change: element i of each array of a `tally._change` row (one row of the view
/// `tally._delta`). `total: None` is 0.
pub struct ChangeRow<'a> {
    pub metric_id: i32,
    pub bucket: Option<RowValue<'a>>,
    pub group: Option<RowValue<'a>>,
    pub value: Option<RowValue<'a>>,
    pub n_rows: i64,
    pub n_values: i64,
    pub total: Option<RowValue<'a>>,
}

/// The columns of `tally._change` this writer fills, in order (bootstrap.sql).
const CHANGE_COLUMNS: [(&CStr, pg_sys::Oid); 8] = [
    (c"xact_id", pg_sys::XID8OID),
    (c"metric_id", pg_sys::INT4ARRAYOID),
    (c"bucket_start", pg_sys::TIMESTAMPTZARRAYOID),
    (c"group_key", pg_sys::TEXTARRAYOID),
    (c"n_rows", pg_sys::INT8ARRAYOID),
    (c"n_values", pg_sys::INT8ARRAYOID),
    (c"total", pg_sys::NUMERICARRAYOID),
    (c"value", pg_sys::NUMERICARRAYOID),
];

/// `tally._change` opened for direct inserts for one statement. Closed explicitly; on an
/// ERROR the aborting transaction releases the relation, its indexes and the slot.
pub struct ChangeWriter {
    relation: pg_sys::Relation,
    indexes: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    zero: Datum,
    /// The top-level transaction's id, as `pg_current_xact_id()` gives it (xid8 is passed
    /// by value).
    xact_id: Datum,
}

impl ChangeWriter {
    /// Opens `tally._change` (`relid`, from `changes_relid`) with ROW EXCLUSIVE, as an INSERT
    /// would. None when its shape is not exactly the one this library writes, or an index
    /// needs the executor (expression, partial or exclusion index): the caller then uses the
    /// SQL path.
    pub fn open(relid: pg_sys::Oid) -> Option<ChangeWriter> {
        // SAFETY: `relid` names an existing relation (checked by the caller's lookup in this
        // statement); table_open locks and pins it; the ResultRelInfo is zeroed, tagged and initialized as
        // InitResultRelInfo expects, and ExecOpenIndices fills its index arrays (opened
        // with ROW EXCLUSIVE). Every early return closes what was opened.
        // GetTopFullTransactionId assigns the transaction its id if it has none yet, as the
        // first insert would.
        unsafe {
            let relation = pg_sys::table_open(relid, pg_sys::RowExclusiveLock as i32);
            if !has_change_shape((*relation).rd_att) {
                pg_sys::table_close(relation, pg_sys::NoLock as i32);
                return None;
            }
            let indexes = pg_sys::palloc0(std::mem::size_of::<pg_sys::ResultRelInfo>())
                as *mut pg_sys::ResultRelInfo;
            (*indexes).type_ = pg_sys::NodeTag::T_ResultRelInfo;
            pg_sys::InitResultRelInfo(indexes, relation, 1, std::ptr::null_mut(), 0);
            pg_sys::ExecOpenIndices(indexes, false);
            let writer = ChangeWriter {
                relation,
                indexes,
                slot: pg_sys::MakeSingleTupleTableSlot(
                    (*relation).rd_att,
                    &pg_sys::TTSOpsHeapTuple,
                ),
                zero: Datum::from(pg_sys::int64_to_numeric(0)),
                xact_id: Datum::from(pg_sys::GetTopFullTransactionId().value),
            };
            if writer.index_infos().any(|(_, info)| {
                !(*info).ii_Expressions.is_null()
                    || !(*info).ii_Predicate.is_null()
                    || !(*info).ii_ExclusionOps.is_null()
            }) {
                writer.close();
                return None;
            }
            Some(writer)
        }
    }

    /// The opened indexes of `_delta` with their IndexInfo.
    fn index_infos(&self) -> impl Iterator<Item = (pg_sys::Relation, *mut pg_sys::IndexInfo)> + '_ {
        // SAFETY: ExecOpenIndices sized both arrays to ri_NumIndices.
        let count = unsafe { (*self.indexes).ri_NumIndices.max(0) as usize };
        // SAFETY: `i` < ri_NumIndices, the length of both arrays.
        (0..count).map(move |i| unsafe {
            (
                *(*self.indexes).ri_IndexRelationDescs.add(i),
                *(*self.indexes).ri_IndexRelationInfo.add(i),
            )
        })
    }

    /// Inserts one `tally._change` row holding `rows` (at least one) and its index entries,
    /// as part of the current command.
    pub fn insert(&mut self, rows: &[ChangeRow<'_>]) {
        let datum = |value: Option<RowValue<'_>>| value.map(|v| v.datum);
        let columns = [
            self.xact_id,
            array_of(&INT4, rows.iter().map(|r| Some(Datum::from(r.metric_id)))),
            array_of(&TIMESTAMPTZ, rows.iter().map(|r| datum(r.bucket))),
            array_of(&TEXT, rows.iter().map(|r| datum(r.group))),
            array_of(&INT8, rows.iter().map(|r| Some(Datum::from(r.n_rows)))),
            array_of(&INT8, rows.iter().map(|r| Some(Datum::from(r.n_values)))),
            array_of(
                &NUMERIC,
                rows.iter()
                    .map(|r| Some(datum(r.total).unwrap_or(self.zero))),
            ),
            array_of(&NUMERIC, rows.iter().map(|r| datum(r.value))),
        ];
        let mut values = columns;
        let mut nulls = [false; CHANGE_COLUMNS.len()];
        // SAFETY: values/nulls match the 8-column descriptor checked in `open`, with
        // datums of the checked types. simple_heap_insert stamps the tuple with the current
        // command id and WAL-logs it (toasting values as needed); the slot
        // only lends the tuple to FormIndexDatum, which needs no EState for plain-column
        // indexes (checked in `open`). Index entries point at the tuple's new ctid.
        unsafe {
            let tuple = pg_sys::heap_form_tuple(
                (*self.relation).rd_att,
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
            );
            pg_sys::simple_heap_insert(self.relation, tuple);
            pg_sys::ExecStoreHeapTuple(tuple, self.slot, false);
            for (index, info) in self.index_infos() {
                if !(*info).ii_ReadyForInserts {
                    continue;
                }
                let mut key = [Datum::from(0); pg_sys::INDEX_MAX_KEYS as usize];
                let mut key_nulls = [false; pg_sys::INDEX_MAX_KEYS as usize];
                pg_sys::FormIndexDatum(
                    info,
                    self.slot,
                    std::ptr::null_mut(),
                    key.as_mut_ptr(),
                    key_nulls.as_mut_ptr(),
                );
                let unique = if (*(*index).rd_index).indisunique {
                    pg_sys::IndexUniqueCheck::UNIQUE_CHECK_YES
                } else {
                    pg_sys::IndexUniqueCheck::UNIQUE_CHECK_NO
                };
                pg_sys::index_insert(
                    index,
                    key.as_mut_ptr(),
                    key_nulls.as_mut_ptr(),
                    &mut (*tuple).t_self,
                    self.relation,
                    unique,
                    false,
                    info,
                );
            }
            pg_sys::ExecClearTuple(self.slot);
            pg_sys::heap_freetuple(tuple);
        }
    }

    /// Closes the indexes and the table; the lock is kept until the transaction ends.
    pub fn close(self) {
        // SAFETY: undoes `open` in reverse order, once (consumes self).
        unsafe {
            pg_sys::ExecDropSingleTupleTableSlot(self.slot);
            pg_sys::ExecCloseIndices(self.indexes);
            pg_sys::table_close(self.relation, pg_sys::NoLock as i32);
        }
    }
}

/// Whether `desc` is exactly the columns of `CHANGE_COLUMNS`, none dropped.
fn has_change_shape(desc: pg_sys::TupleDesc) -> bool {
    // SAFETY: a relation's descriptor has `natts` attributes.
    unsafe {
        if (*desc).natts as usize != CHANGE_COLUMNS.len() {
            return false;
        }
        let attrs = attributes(desc);
        attrs
            .iter()
            .zip(CHANGE_COLUMNS)
            .all(|(attr, (name, type_oid))| {
                !attr.attisdropped
                    && attr.atttypid == type_oid
                    && CStr::from_ptr(attr.attname.data.as_ptr()) == name
            })
    }
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

/// Whether the expression `node` holds an xml or SQL/JSON constructor or query (`XmlExpr`;
/// `JsonConstructorExpr` from PostgreSQL 16; `JsonExpr` from 17). Postgres calls them
/// immutable, yet the text they give a date, time, timestamp or interval follows DateStyle,
/// IntervalStyle and TimeZone (`xmlelement(name a, ts)`, `JSON_VALUE(j, '$x' PASSING ts AS x
/// RETURNING text)`).
///
/// # Safety
/// `node` is null or a valid expression tree.
unsafe fn writes_datetime_text(node: *mut pg_sys::Node) -> bool {
    // SAFETY: the caller's promise; the walker only reads the tree.
    unsafe { datetime_text_walker(node, std::ptr::null_mut()) }
}

/// `expression_tree_walker` callback of `writes_datetime_text`.
///
/// # Safety
/// `node` is null or a valid node.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn datetime_text_walker(
    node: *mut pg_sys::Node,
    context: *mut std::ffi::c_void,
) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: the caller's promise: a valid node, whose tag is read and whose children the
    // walker visits.
    unsafe {
        let tag = (*node).type_;
        if tag == pg_sys::NodeTag::T_XmlExpr || is_sql_json(tag) {
            return true;
        }
        pg_sys::expression_tree_walker(node, Some(datetime_text_walker), context)
    }
}

/// SQL/JSON value constructors and queries: PostgreSQL 15 has none (they were withdrawn before
/// its release).
#[cfg(feature = "pg15")]
fn is_sql_json(_tag: pg_sys::NodeTag) -> bool {
    false
}

/// PostgreSQL 16 added the SQL/JSON constructors (JSON_OBJECT, JSON_ARRAY, ...).
#[cfg(feature = "pg16")]
fn is_sql_json(tag: pg_sys::NodeTag) -> bool {
    tag == pg_sys::NodeTag::T_JsonConstructorExpr
}

/// PostgreSQL 17 added the SQL/JSON query functions (JSON_VALUE, JSON_QUERY, JSON_EXISTS).
#[cfg(any(feature = "pg17", feature = "pg18"))]
fn is_sql_json(tag: pg_sys::NodeTag) -> bool {
    tag == pg_sys::NodeTag::T_JsonConstructorExpr || tag == pg_sys::NodeTag::T_JsonExpr
}
