//! The unsafe calls of metric validation, each block with the reason it is sound: the raw
//! grammar proving a filter is exactly one expression, and the parse analysis that records
//! what an expression uses.

use pgrx::pg_sys;
use pgrx::{AnyElement, PgList};
use std::ffi::CString;

use crate::error::{ExpressionRole, Result, TallyError};
use crate::ffi::probe_and_roll_back;

/// Proves that a text is exactly one SQL expression: `select` (`sql::single_expression_sql`:
/// `SELECT <text>`) must parse to a single SELECT with one unnamed target and no FROM, WHERE,
/// GROUP BY, set operation, locking or any other clause. This rejects "a; DROP TABLE t",
/// "x) OR (true", "1 FROM t" and the like before the text is ever embedded in another
/// statement.
pub fn check_single_expression(select: &str, role: ExpressionRole) -> Result<()> {
    let sql = CString::new(select).map_err(|_| TallyError::NotOneExpression {
        role,
        detail: format!("The {role} contains a NUL byte."),
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
        Ok(Err(detail)) => Err(TallyError::NotOneExpression { role, detail }),
        Err(caught) => Err(TallyError::NotOneExpression {
            role,
            detail: caught.message,
        }),
    }
}

/// What a `group_by` argument (`anycompatible`) holds.
pub enum GroupByArgument {
    /// A text or varchar: one column (or none, when blank).
    Column(String),
    /// A text or varchar array: several columns (NULL elements kept, for the caller to refuse).
    Columns(Vec<Option<String>>),
    /// A text or varchar array of more than one dimension, or not counted from 1.
    NotAList,
}

/// Reads `argument` as a column name or an array of them, by its type; None for any other
/// type.
pub fn group_by_argument(argument: &AnyElement) -> Option<GroupByArgument> {
    let oid = argument.oid();
    if oid == pg_sys::TEXTOID || oid == pg_sys::VARCHAROID {
        // SAFETY: the datum is a text or varchar (checked above), which share text's varlena
        // layout; it is not NULL (AnyElement holds only non-NULL values).
        unsafe { argument.into::<String>() }.map(GroupByArgument::Column)
    } else if oid == pg_sys::TEXTARRAYOID || oid == pg_sys::VARCHARARRAYOID {
        if !is_a_list(argument) {
            return Some(GroupByArgument::NotAList);
        }
        // SAFETY: the datum is an array of text or varchar (checked above), read as an array
        // of text, elements of the same varlena layout; NULL elements come back as None.
        unsafe { argument.into::<Vec<Option<String>>>() }.map(GroupByArgument::Columns)
    } else {
        None
    }
}

/// Whether the array `argument` is a list: one dimension counted from 1, or empty (pgrx
/// would flatten `ARRAY[['a', 'b'], ['c', 'd']]` or `'[2:3]={a,b}'` into one).
fn is_a_list(argument: &AnyElement) -> bool {
    // SAFETY: `argument` holds a non-NULL array datum (its type was checked by the caller);
    // pg_detoast_datum returns it or a palloc'd plain copy, whose header (ndim) and, for
    // ndim dimensions, the lower bounds after the dimensions (ARR_LBOUND) are read.
    unsafe {
        let array =
            pg_sys::pg_detoast_datum(argument.datum().cast_mut_ptr()) as *const pg_sys::ArrayType;
        let ndim = (*array).ndim;
        let lower_bounds = (array as *const u8).add(
            std::mem::size_of::<pg_sys::ArrayType>() + std::mem::size_of::<i32>() * ndim as usize,
        ) as *const i32;
        ndim == 0 || (ndim == 1 && lower_bounds.read_unaligned() == 1)
    }
}

/// The SQL name of type `oid`, for an error message.
pub fn type_name(oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd NUL-terminated string for any oid (a
    // placeholder for an unknown one); it is copied before the memory context goes.
    unsafe {
        std::ffi::CStr::from_ptr(pg_sys::format_type_be(oid))
            .to_string_lossy()
            .into_owned()
    }
}
