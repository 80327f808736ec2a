//! Whose rights a piece of work runs with, the settings it is parsed under, and the locks
//! and deletions that must not go through SQL text (see docs/security.md).
//!
//! pg_tally's functions run with the extension owner's rights so they can write its own
//! tables. Everything a table owner wrote (a metric's filter, its columns' casts) is instead
//! evaluated as that table owner inside a security-restricted operation, as Postgres runs
//! index expressions and `REFRESH MATERIALIZED VIEW`: `as_table_owner`. Every statement that
//! parses stored metric expressions does so under one fixed set of settings, so no session
//! setting of the writer (`standard_conforming_strings`, `search_path`, `array_nulls`, ...)
//! can change what the text means: `with_fixed_settings`.

use pgrx::pg_sys;
use std::ffi::CStr;

use crate::error::Result;

/// The settings that change how SQL text is parsed, or how a constant in it is read, with
/// the value every stored expression is parsed and deparsed under (with `OUTPUT_SETTINGS`,
/// together the fixed settings). `search_path` puts `pg_temp` last so no temporary object
/// can shadow a catalog one.
const PARSE_SETTINGS: [(&CStr, &CStr); 10] = [
    (c"search_path", c"pg_catalog, pg_temp"),
    (c"standard_conforming_strings", c"on"),
    (c"backslash_quote", c"safe_encoding"),
    (c"array_nulls", c"on"),
    (c"transform_null_equals", c"off"),
    (c"DateStyle", c"ISO, MDY"),
    (c"IntervalStyle", c"postgres"),
    (c"TimeZone", c"UTC"),
    (c"xmloption", c"content"),
    // A money constant's text is read (and a stored expression's written) by lc_monetary
    // (0.17.0, found by a hostile probe: a writer's own lc_monetary could change what a
    // filter's `'$0.00'::money` means, or fail its statements).
    (c"lc_monetary", c"C"),
];

/// Runs `body` under the fixed settings (`PARSE_SETTINGS` and `OUTPUT_SETTINGS`), restored
/// afterwards with every setting changed inside discarded.
pub fn with_fixed_settings<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    let fixed: Vec<_> = PARSE_SETTINGS
        .iter()
        .chain(&OUTPUT_SETTINGS)
        .copied()
        .collect();
    super::with_settings(&fixed, body)
}

/// The settings an immutable built-in function reads while it runs (not only while SQL is
/// parsed), with their fixed values: a float's text follows `extra_float_digits` (any
/// value above 0 gives the shortest exact text), a bytea's `bytea_output` (and `xmlbinary`
/// inside xml), and a time zone named by an abbreviation (`date_trunc(unit, t, 'EST')`, a
/// bucket) `timezone_abbreviations`.
const OUTPUT_SETTINGS: [(&CStr, &CStr); 5] = [
    (c"extra_float_digits", c"3"),
    (c"bytea_output", c"hex"),
    (c"xmlbinary", c"base64"),
    (c"timezone_abbreviations", c"Default"),
    // quote_ident, which is immutable, quotes every identifier under it (0.11.0; found by a
    // hostile probe: a writer's SET moved length(quote_ident(s))).
    (c"quote_all_identifiers", c"off"),
];

/// Runs `body` (the single-row path's evaluation of compiled expressions) under
/// `OUTPUT_SETTINGS`: a group key or bucket is such a function's result, so a writer's own
/// settings would otherwise file its row under another key. Costs a few lookups when the
/// session already has them so. Either way `body` runs inside a nest level of its own that
/// discards every setting changed in it: a table owner's code reached there (the CHECK of
/// a domain it put in place of an enum its filter names) must not leave a search_path
/// behind in the writer's session (0.11.0; before, the fast case ran `body` bare, and a
/// superuser's next query resolved names in the owner's schema).
pub fn with_fixed_output<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    // SAFETY: reads an int global; GetConfigOption returns the current value of a built-in
    // option as a NUL-terminated string (never NULL for an existing one).
    let fixed = unsafe {
        pg_sys::extra_float_digits > 0
            && OUTPUT_SETTINGS[1..].iter().all(|(name, value)| {
                CStr::from_ptr(pg_sys::GetConfigOption(name.as_ptr(), false, false)) == *value
            })
    };
    if fixed {
        super::with_settings(&[] as &[(&CStr, &CStr)], body)
    } else {
        super::with_settings(&OUTPUT_SETTINGS, body)
    }
}

/// Runs `body` as `role` inside a security-restricted operation, under the fixed settings:
/// how pg_tally evaluates (and plans, which may fold constants) anything a table owner
/// wrote. The role cannot change its identity, create temporary objects or otherwise escape
/// the operation (Postgres enforces `SECURITY_RESTRICTED_OPERATION`), so code it reaches
/// gains nothing over what the table owner could run directly.
pub fn as_table_owner<T>(role: pg_sys::Oid, body: impl FnOnce() -> Result<T>) -> Result<T> {
    // Settings first: some cannot be set inside a security-restricted operation.
    with_fixed_settings(|| as_role(role, true, body))
}

thread_local! {
    /// The roles whose calls into pg_tally's API are in progress, innermost last (see
    /// `as_extension_owner`).
    static CALLERS: std::cell::RefCell<Vec<pg_sys::Oid>> = const { std::cell::RefCell::new(Vec::new()) };
    /// pg_tally's extension oid and owner, looked up once per backend and per extension.
    static OWNER: std::cell::Cell<Option<(pg_sys::Oid, pg_sys::Oid)>> = const { std::cell::Cell::new(None) };
}

/// The role whose rights pg_tally checks: the current user when the API function was called
/// (`as_extension_owner` remembers it), else the current user. That is the identity
/// Postgres itself would check: inside another role's SECURITY DEFINER function, or an index
/// expression that ANALYZE runs as the table owner, it is that role, not the session's.
pub fn caller() -> pg_sys::Oid {
    CALLERS
        .with(|c| c.borrow().last().copied())
        .unwrap_or_else(current_user)
}

/// The session's role (after SET ROLE), whoever called: what 0.7.0 checked. Only for
/// `read::_invoker` on a catalog older than 0.8.0.
pub fn session_role() -> pg_sys::Oid {
    // SAFETY: GetOuterUserId only reads a backend global.
    unsafe { pg_sys::GetOuterUserId() }
}

fn current_user() -> pg_sys::Oid {
    // SAFETY: GetUserId only reads a backend global.
    unsafe { pg_sys::GetUserId() }
}

/// The role that owns pg_tally (and its tables). Fails on a catalog older than 0.8.0
/// (between installing this library and `ALTER EXTENSION pg_tally UPDATE`): there the API
/// functions are still SECURITY DEFINER, so the role calling them cannot be known.
fn extension_owner() -> Result<pg_sys::Oid> {
    // SAFETY: a catalog index lookup by NUL-terminated name; InvalidOid when absent.
    let extension = unsafe { pg_sys::get_extension_oid(c"pg_tally".as_ptr(), true) };
    if let Some((cached, owner)) = OWNER.with(|o| o.get()) {
        if cached == extension {
            return Ok(owner);
        }
    }
    // Read-only (works on a hot standby, where a writing query could not get an xid).
    let (owner, version) = crate::ffi::select_pair::<pg_sys::Oid, String>(
        "SELECT extowner, extversion FROM pg_catalog.pg_extension WHERE oid = $1",
        &[extension.into()],
    )?;
    let owner = owner
        .ok_or_else(|| crate::error::TallyError::Internal("pg_tally is not installed".into()))?;
    if !checks_its_callers(&version.unwrap_or_default()) {
        return Err(crate::error::TallyError::CatalogOutdated);
    }
    OWNER.with(|o| o.set(Some((extension, owner))));
    Ok(owner)
}

/// Whether a catalog of version `version` has API functions that are not SECURITY DEFINER
/// (0.8.0 and later).
fn checks_its_callers(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (0, 8)
}

/// Runs the body of one of pg_tally's API functions: remembers the calling role (`caller`,
/// whose rights the body checks), then acts as the extension owner, which may read and
/// write pg_tally's tables, under the fixed settings. The functions are not SECURITY
/// DEFINER: a SECURITY DEFINER function cannot tell who called it (`GetOuterUserId` is the
/// session's role, not the role of a SECURITY DEFINER function or index expression that
/// called it), so it would check the wrong role's rights.
pub fn as_extension_owner<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    let owner = extension_owner()?;
    CALLERS.with(|c| c.borrow_mut().push(current_user()));
    let _forget = ForgetCaller;
    switch_user(owner, false, false, || with_fixed_settings(body))
}

struct ForgetCaller;

impl Drop for ForgetCaller {
    fn drop(&mut self) {
        CALLERS.with(|c| c.borrow_mut().pop());
    }
}

/// Runs `body` as `role`, the owner of a table whose code may run in it (restricted: inside
/// a security-restricted operation). A pg_tally function that code calls answers to `role`,
/// not to whoever called the API function that got here. Unrestricted only for the
/// validation probes of `define`, which create (and roll back) temporary objects, which a
/// restricted operation may not; the identity change alone already forbids `SET ROLE`.
pub fn as_role<T>(
    role: pg_sys::Oid,
    restricted: bool,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    switch_user(role, restricted, true, body)
}

fn switch_user<T>(
    role: pg_sys::Oid,
    restricted: bool,
    as_caller: bool,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if role == pg_sys::InvalidOid {
        return Err(crate::error::TallyError::Internal(
            "no role to evaluate the metric's expressions as".into(),
        ));
    }
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: reads two backend globals into our locals.
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let mut switched = context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32;
    if restricted {
        switched |= pg_sys::SECURITY_RESTRICTED_OPERATION as i32;
    }
    // SAFETY: sets two backend globals, as SECURITY DEFINER calls and index builds do; the
    // guard restores them when `body` returns or unwinds, and an ERROR that escapes to
    // Postgres restores them again when its (sub)transaction aborts.
    unsafe { pg_sys::SetUserIdAndSecContext(role, switched) };
    let _restore = RestoreUser { user, context };
    if !as_caller {
        return body();
    }
    CALLERS.with(|c| c.borrow_mut().push(role));
    let _forget = ForgetCaller;
    body()
}

struct RestoreUser {
    user: pg_sys::Oid,
    context: i32,
}

impl Drop for RestoreUser {
    fn drop(&mut self) {
        // SAFETY: puts back the values read before the switch; raises no error.
        unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) }
    }
}

/// Drops the trigger with oid `trigger`, as `DROP TRIGGER` does, without naming it in SQL
/// (a trigger's name is chosen by the table owner, who may rename it).
pub fn drop_trigger(trigger: pg_sys::Oid) {
    drop_object(pg_sys::TriggerRelationId, trigger);
}

/// Drops the relation (a dashboard's typed view) with oid `relid`, as `DROP VIEW` does,
/// without naming it in SQL. The caller has checked it may.
pub fn drop_relation(relid: pg_sys::Oid) {
    drop_object(pg_sys::RelationRelationId, relid);
}

fn drop_object(class: pg_sys::Oid, oid: pg_sys::Oid) {
    let object = pg_sys::ObjectAddress {
        classId: class,
        objectId: oid,
        objectSubId: 0,
    };
    // SAFETY: performDeletion deletes the object and its dependents (none for a trigger),
    // raising an ERROR if it vanished; the address is a valid local.
    unsafe {
        pg_sys::performDeletion(
            &object,
            pg_sys::DropBehavior::DROP_RESTRICT,
            pg_sys::PERFORM_DELETION_INTERNAL as i32,
        );
        pg_sys::CommandCounterIncrement();
    }
}

#[cfg(test)]
mod unit {
    use super::checks_its_callers;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn catalogs_from_0_8_on_check_their_callers(major in 0u32..20, minor in 0u32..40, patch in 0u32..10) {
            prop_assert_eq!(
                checks_its_callers(&format!("{major}.{minor}.{patch}")),
                (major, minor) >= (0, 8)
            );
        }

        #[test]
        fn versions_it_cannot_read_do_not(text in "[^0-9]*") {
            prop_assert!(!checks_its_callers(&text));
        }
    }
}
