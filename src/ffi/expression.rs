//! The unsafe calls that read a user's expression (a filter, a value expression) after parse
//! analysis: which objects it uses, and whether a SQL/JSON function in it reads session
//! settings. Shared by the definition of a metric (`catalog`) and the check the write path
//! and the recounts repeat before they read a stored expression again (`model::builtin`).

use pgrx::pg_sys;
use std::ffi::CString;

use super::analyze_targets;
use super::arrays::element_type_of;
use super::datetime::{base_type, type_name};
use crate::error::{ExpressionRole, Result, TallyError};

/// Parse analysis (no planning, nothing evaluated but the input functions of the literals'
/// types) of `sql`, a `SELECT <expression> FROM ONLY <table relid>`, recording every object
/// the expression uses in pg_depend under a throw-away depender (`PROBE_DEPENDER`, the
/// pg_class entry with oid 0), as a view's rule would record them. Run inside
/// `probe_and_roll_back`, so the rows vanish with the probe, and as the table's owner
/// (`as_table_owner`): a literal of a type whose input runs code (a domain's CHECK inside an
/// array or composite) runs it with that owner's rights only.
pub fn record_expression_dependencies(
    relid: pg_sys::Oid,
    sql: &str,
    role: ExpressionRole,
) -> Result<()> {
    let text = CString::new(sql)
        .map_err(|_| TallyError::Internal("expression contains a NUL byte".into()))?;
    let expression = *analyze_targets(&text)
        .first()
        .ok_or_else(|| TallyError::Internal("expression probe has no target".into()))?;
    if let Some(type_name) = settings_dependent_json(expression) {
        return Err(TallyError::ExpressionNotAllowed {
            role,
            code: pgrx::PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
            message: format!(
                "functions in {role} must be marked IMMUTABLE: JSON_VALUE or JSON_QUERY returning {type_name} reads its text under the session's DateStyle, TimeZone or IntervalStyle"
            ),
        });
    }
    if let Some((from, to)) = implicit_cast_from_non_built_in(expression) {
        return Err(TallyError::ExpressionNotAllowed {
            role,
            code: pgrx::PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            message: format!(
                "it reads a value of type {from} as {to} through an implicit cast, so {to}'s operators compare it, not {from}'s: write the cast where that is meant (such as email::text; over citext, lower(email::text) compares as citext does)"
            ),
        });
    }
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

/// A field of a row value expression (0.23.0): its text as Postgres deparses it, its type
/// and its collation.
pub struct RowField {
    pub text: String,
    pub type_oid: pg_sys::Oid,
    pub collation: pg_sys::Oid,
    /// The name of the source's column when the field is that column alone, read as a
    /// column is (`count_distinct('lvl')`, whatever its type's owner).
    pub column: Option<String>,
}

/// The fields of the target of `sql` (a `SELECT (<expression>) FROM ONLY <table>`, the
/// table `relid`) after
/// parse analysis, when that target builds an anonymous row (`ROW(a, b)`, `(a, b)`): each
/// deparsed on its own (Postgres' `deparse_expression`, column names unqualified), in order.
/// None for any other expression. Run as `record_expression_dependencies` is (inside
/// `probe_and_roll_back`, as the table's owner under the fixed settings, which the deparse
/// of a constant reads).
pub fn row_fields(relid: pg_sys::Oid, sql: &str) -> Result<Option<Vec<RowField>>> {
    let text = CString::new(sql)
        .map_err(|_| TallyError::Internal("expression contains a NUL byte".into()))?;
    let expression = *analyze_targets(&text)
        .first()
        .ok_or_else(|| TallyError::Internal("expression probe has no target".into()))?;
    // SAFETY: `expression` is a node parse analysis just built in this memory context; a
    // T_RowExpr node is a RowExpr whose `args` is a List of expression nodes. The source is
    // the query's only relation (range table entry 1), which deparse_context_for names by
    // an alias that `forceprefix` false never prints; deparse_expression returns a palloc'd
    // NUL-terminated string; exprType and exprCollation read the nodes only.
    unsafe {
        if (*expression).type_ != pg_sys::NodeTag::T_RowExpr {
            return Ok(None);
        }
        let row = expression as *mut pg_sys::RowExpr;
        if (*row).row_typeid != pg_sys::RECORDOID {
            return Ok(None);
        }
        let context = pg_sys::deparse_context_for(c"_tally_row".as_ptr(), relid);
        let fields = pgrx::PgList::<pg_sys::Node>::from_pg((*row).args)
            .iter_ptr()
            .map(|field| RowField {
                text: std::ffi::CStr::from_ptr(pg_sys::deparse_expression(
                    field, context, false, false,
                ))
                .to_string_lossy()
                .into_owned(),
                type_oid: pg_sys::exprType(field),
                collation: pg_sys::exprCollation(field),
                column: column_of(field, relid),
            })
            .collect();
        Ok(Some(fields))
    }
}

/// The name of the column of `relid` that `field` is, when it is a reference to one of the
/// query's only relation's columns (a Var of range table entry 1, a user column).
///
/// # Safety
/// `field` must be a valid expression node of a query over `relid` alone.
unsafe fn column_of(field: *mut pg_sys::Node, relid: pg_sys::Oid) -> Option<String> {
    // SAFETY: the caller's promise; a T_Var node is a Var. get_attname returns a palloc'd
    // NUL-terminated name, or NULL for a missing attribute (missing_ok).
    unsafe {
        if (*field).type_ != pg_sys::NodeTag::T_Var {
            return None;
        }
        let var = field as *mut pg_sys::Var;
        if (*var).varno != 1 || (*var).varlevelsup != 0 || (*var).varattno <= 0 {
            return None;
        }
        let name = pg_sys::get_attname(relid, (*var).varattno, true);
        (!name.is_null()).then(|| {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        })
    }
}

/// The RETURNING type of a SQL/JSON query function (JSON_VALUE, JSON_QUERY; PostgreSQL 17) in
/// `expression` whose text-to-type conversion is not immutable (date, time, timestamp,
/// timestamptz, interval, arrays, domains), if there is one. Postgres' immutability check
/// looks only at such a function's JSON path, so an index, and a filter, would otherwise take
/// `JSON_VALUE(j, '$.d' RETURNING date)`: its value depends on the session's DateStyle, and the
/// single-row path (the writer's settings) and the statement path (fixed settings) would
/// count the same row differently.
#[cfg(any(feature = "pg17", feature = "pg18"))]
fn settings_dependent_json(expression: *mut pg_sys::Expr) -> Option<String> {
    let mut found = pg_sys::InvalidOid;
    // SAFETY: `expression` is a node tree parse analysis just built; the walker reads it only,
    // and `found` outlives the walk.
    unsafe {
        json_walker(
            expression as *mut pg_sys::Node,
            &mut found as *mut pg_sys::Oid as *mut std::ffi::c_void,
        );
    }
    (found != pg_sys::InvalidOid).then(|| type_name(found))
}

/// Before PostgreSQL 17 there is no JSON_VALUE or JSON_QUERY.
#[cfg(not(any(feature = "pg17", feature = "pg18")))]
fn settings_dependent_json(_expression: *mut pg_sys::Expr) -> Option<String> {
    None
}

/// `expression_tree_walker` callback of `settings_dependent_json`: stops at the first JsonExpr
/// whose RETURNING type's input function is not immutable, storing the type in `context`.
///
/// # Safety
/// `node` is null or a valid node; `context` points to a `pg_sys::Oid`.
#[cfg(any(feature = "pg17", feature = "pg18"))]
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn json_walker(
    node: *mut pg_sys::Node,
    context: *mut std::ffi::c_void,
) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: the caller's promise; a T_JsonExpr node is a JsonExpr whose `returning`, when
    // set, is a JsonReturning. getTypeInputInfo and func_volatile read the catalogs (an ERROR
    // for a missing type propagates as any other).
    unsafe {
        if (*node).type_ == pg_sys::NodeTag::T_JsonExpr {
            let returning = (*(node as *mut pg_sys::JsonExpr)).returning;
            if !returning.is_null() {
                let type_oid = (*returning).typid;
                let (mut input, mut io_param) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
                pg_sys::getTypeInputInfo(type_oid, &mut input, &mut io_param);
                if pg_sys::func_volatile(input) != pg_sys::PROVOLATILE_IMMUTABLE as std::ffi::c_char
                {
                    *(context as *mut pg_sys::Oid) = type_oid;
                    return true;
                }
            }
        }
        pg_sys::expression_tree_walker(node, Some(json_walker), context)
    }
}

/// The first implicit cast in `expression` from a type not built in (0.21.0, found by a
/// hostile probe), as the names of its source and target types. A filter is read with only
/// Postgres' own operators in sight, so `email = 'a'` over citext reads as
/// `email::text = 'a'::text`, text's case-sensitive equality, where the writer of the filter
/// meant citext's: refused, so that the conversion is written (`email::text`) when meant. A
/// domain counts by its base type, an array by its element's: a domain over a built-in
/// type converts to it as it is, and a domain to its own base type converts nothing.
fn implicit_cast_from_non_built_in(expression: *mut pg_sys::Expr) -> Option<(String, String)> {
    let mut found = [pg_sys::InvalidOid; 2];
    // SAFETY: `expression` is a node tree parse analysis just built; the walker reads it only,
    // and `found` outlives the walk.
    unsafe {
        implicit_cast_walker(
            expression as *mut pg_sys::Node,
            found.as_mut_ptr() as *mut std::ffi::c_void,
        );
    }
    (found[0] != pg_sys::InvalidOid).then(|| (type_name(found[0]), type_name(found[1])))
}

/// Whether a value of `type_oid` is of a built-in type, by its base type (a domain's), an
/// array's by its element's base type.
fn is_built_in_type(type_oid: pg_sys::Oid) -> bool {
    let base = base_type(type_oid);
    let base = element_type_of(base).map_or(base, base_type);
    base.to_u32() < pg_sys::FirstNormalObjectId
}

/// `expression_tree_walker` callback of `implicit_cast_from_non_built_in`: stops at the first
/// implicit cast (a relabeling, an I/O conversion, a cast function, an array's element
/// conversion) of a value of a type not built in to another type, storing its input and
/// result types in `context`.
///
/// # Safety
/// `node` is null or a valid node; `context` points to two `pg_sys::Oid`s.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn implicit_cast_walker(
    node: *mut pg_sys::Node,
    context: *mut std::ffi::c_void,
) -> bool {
    if node.is_null() {
        return false;
    }
    let implicit = pg_sys::CoercionForm::COERCE_IMPLICIT_CAST;
    // SAFETY: the caller's promise; each tag names the node's struct, whose `arg` (or first
    // argument) is an expression node exprType reads.
    unsafe {
        let cast: Option<(*mut pg_sys::Node, pg_sys::Oid)> = match (*node).type_ {
            pg_sys::NodeTag::T_RelabelType => {
                let relabel = node as *mut pg_sys::RelabelType;
                ((*relabel).relabelformat == implicit)
                    .then(|| ((*relabel).arg as *mut pg_sys::Node, (*relabel).resulttype))
            }
            pg_sys::NodeTag::T_CoerceViaIO => {
                let coerce = node as *mut pg_sys::CoerceViaIO;
                ((*coerce).coerceformat == implicit)
                    .then(|| ((*coerce).arg as *mut pg_sys::Node, (*coerce).resulttype))
            }
            pg_sys::NodeTag::T_ArrayCoerceExpr => {
                let coerce = node as *mut pg_sys::ArrayCoerceExpr;
                ((*coerce).coerceformat == implicit)
                    .then(|| ((*coerce).arg as *mut pg_sys::Node, (*coerce).resulttype))
            }
            pg_sys::NodeTag::T_FuncExpr => {
                let call = node as *mut pg_sys::FuncExpr;
                let args = pgrx::PgList::<pg_sys::Node>::from_pg((*call).args);
                match args.get_ptr(0) {
                    Some(first) if (*call).funcformat == implicit => {
                        Some((first, (*call).funcresulttype))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some((arg, result)) = cast {
            let from = pg_sys::exprType(arg);
            if !is_built_in_type(from) && base_type(from) != base_type(result) {
                let found = context as *mut pg_sys::Oid;
                *found = from;
                *found.add(1) = result;
                return true;
            }
        }
        pg_sys::expression_tree_walker(node, Some(implicit_cast_walker), context)
    }
}
