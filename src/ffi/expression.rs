//! The unsafe calls that read a user's expression (a filter, a value expression) after parse
//! analysis: which objects it uses, and whether a SQL/JSON function in it reads session
//! settings. Shared by the definition of a metric (`catalog`) and the check the write path
//! and the recounts repeat before they read a stored expression again (`model::builtin`).

use pgrx::pg_sys;
use std::ffi::CString;

use super::analyze_targets;
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
    (found != pg_sys::InvalidOid).then(|| {
        // SAFETY: format_type_be reads the type's catalog row and returns a palloc'd string.
        unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(found)) }
            .to_string_lossy()
            .into_owned()
    })
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
