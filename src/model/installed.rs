//! What this database's pg_tally catalog is, against this library: current, or an older
//! version's (between installing a new library and `ALTER EXTENSION pg_tally UPDATE`, when
//! writes keep being counted in the old shape and everything else asks for the update).

use crate::error::{Result, TallyError};
use crate::sql::CatalogVersion;
use pgrx::pg_sys;
use std::cell::Cell;
use std::ffi::CStr;
use std::thread::LocalKey;

thread_local! {
    /// Once the catalog is seen current it stays so for the life of the backend.
    static CATALOG_CURRENT: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.11.0 it stays so.
    static CATALOG_0_11: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.12.0 it stays so.
    static CATALOG_0_12: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.13.0 it stays so.
    static CATALOG_0_13: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.14.0 it stays so.
    static CATALOG_0_14: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.15.0 it stays so.
    static CATALOG_0_15: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.16.0 it stays so.
    static CATALOG_0_16: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.17.0 it stays so.
    static CATALOG_0_17: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.18.0 it stays so.
    static CATALOG_0_18: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.19.0 it stays so.
    static CATALOG_0_19: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.20.0 it stays so.
    static CATALOG_0_20: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.21.0 it stays so.
    static CATALOG_0_21: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.22.0 it stays so.
    static CATALOG_0_22: Cell<bool> = const { Cell::new(false) };
    /// Once the catalog is seen at 0.23.0 it stays so.
    static CATALOG_0_23: Cell<bool> = const { Cell::new(false) };
    /// Whether this transaction has the callbacks that forget the versions (`arm_forgetting`).
    static FORGETTING_ARMED: Cell<bool> = const { Cell::new(false) };
}

/// The catalog version whose shape this database has, as far as the library reads it.
pub fn catalog() -> CatalogVersion {
    if has_function(&CATALOG_0_23, c"_tracked_record", &[pg_sys::ANYELEMENTOID]) {
        CatalogVersion::V0_23
    } else if has_function(&CATALOG_0_22, c"_tracked_collated", &[pg_sys::TEXTOID]) {
        CatalogVersion::V0_22
    } else if has_function(
        &CATALOG_0_21,
        c"_kept_value",
        &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::NUMERICOID],
    ) {
        CatalogVersion::V0_21
    } else if has_function(&CATALOG_0_20, c"_tracked_value", &[pg_sys::PG_LSNOID]) {
        CatalogVersion::V0_20
    } else if has_function(&CATALOG_0_19, c"_known_value_type", &[pg_sys::TEXTOID]) {
        CatalogVersion::V0_19
    } else if has_function(&CATALOG_0_18, c"_written_now", &[pg_sys::XIDOID]) {
        CatalogVersion::V0_18
    } else if has_ordered_keys() {
        CatalogVersion::V0_17
    } else if has_relation(&CATALOG_0_16, c"_group_enum") {
        CatalogVersion::V0_16
    } else if has_column_collations() {
        CatalogVersion::V0_15
    } else if has_pending_value_readers() {
        CatalogVersion::V0_14
    } else if has_relation(&CATALOG_0_13, c"_value_enum") {
        CatalogVersion::V0_13
    } else if has_relation(&CATALOG_0_12, c"_value_type") {
        CatalogVersion::V0_12
    } else if has_relation(&CATALOG_0_11, c"_value_expression") {
        CatalogVersion::V0_11
    } else if catalog_is_current() {
        CatalogVersion::V0_9
    } else {
        CatalogVersion::V0_1
    }
}

/// Whether this database's catalog is at `version` or later: 0.11.0 for value expressions,
/// several group columns and fixed-width buckets, 0.12.0 for values of other types than
/// numbers, 0.13.0 for enums, cidr, macaddr, bytea, bit strings and floats, 0.14.0 for
/// jsonb, arrays and ranges, 0.15.0 for a column's min and max in a collation created after
/// initdb, 0.16.0 for group columns of enums, dates and timestamps and for the keys of
/// numerics without a scale, floats and jsonb, 0.17.0 for min and max over timetz and
/// ranges (and sum over money), 0.18.0 for min and max over arrays, 0.19.0 for min and max
/// over multiranges and arrays of network addresses and bit strings, 0.20.0 for the system
/// types (oid, xid8, pg_lsn, "char", tid, name...) and tsvector, 0.21.0 for the change
/// queries that name a tracked value once, 0.22.0 for count_distinct over text in a
/// nondeterministic collation (what is older works on older catalogs).
pub fn catalog_has(version: CatalogVersion) -> bool {
    catalog() >= version
}

/// Whether this database's pg_tally catalog matches the library (0.9.0: metrics can be
/// marked broken, the counters' index holds long group keys by digest). False between
/// installing a new library and `ALTER EXTENSION pg_tally UPDATE`: writes then keep
/// recording changes in the old catalog's shape, nothing folds, and everything else asks
/// for the update.
pub fn catalog_is_current() -> bool {
    has_relation(&CATALOG_CURRENT, c"_broken")
}

/// Whether the catalog has `tally._sort_collation(int)` (0.15.0 changed no relation, only
/// how the text readers find a collation), remembered once it does.
fn has_column_collations() -> bool {
    has_function(&CATALOG_0_15, c"_sort_collation", &[pg_sys::INT4OID])
}

/// Whether the catalog has `tally._tracked_ordered(text, anyelement)` (0.17.0 changed no
/// relation), remembered once it does.
fn has_ordered_keys() -> bool {
    has_function(
        &CATALOG_0_17,
        c"_tracked_ordered",
        &[pg_sys::TEXTOID, pg_sys::ANYELEMENTOID],
    )
}

/// Whether schema tally holds function `name(arguments)`, remembered in `seen` once it does.
fn has_function(
    seen: &'static LocalKey<Cell<bool>>,
    name: &CStr,
    arguments: &[pg_sys::Oid],
) -> bool {
    if seen.with(Cell::get) {
        return true;
    }
    let has = crate::ffi::tally_schema()
        .is_some_and(|schema| crate::ffi::function_in(schema, name, arguments));
    remember(seen, has);
    has
}

/// Whether the catalog's `tally._extreme` takes a group's pending values as arguments
/// (0.14.0 changed no relation, only the readers' signatures), remembered once it does.
fn has_pending_value_readers() -> bool {
    has_function(
        &CATALOG_0_14,
        c"_extreme",
        &[
            pg_sys::INT4OID,
            pg_sys::TEXTOID,
            pg_sys::TIMESTAMPTZOID,
            pg_sys::TEXTOID,
            pg_sys::NUMERICARRAYOID,
            pg_sys::INT8ARRAYOID,
        ],
    )
}

/// Whether schema tally holds `relation`, remembered in `seen` once it does (a catalog is
/// only ever updated forward while a backend lives).
fn has_relation(seen: &'static LocalKey<Cell<bool>>, relation: &CStr) -> bool {
    if seen.with(Cell::get) {
        return true;
    }
    let has = crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, relation))
        .is_some();
    remember(seen, has);
    has
}

/// Remembers in `seen` what a lookup found, except while an extension script runs; and
/// forgets every version remembered should this transaction, or (0.17.0) any subtransaction
/// of it, abort (0.16.0, found by a review and a hostile probe: the update runs library
/// code, and any statement after it in its transaction sees the catalog it creates; should
/// the update roll back, to a savepoint too, the session went on as if it had committed,
/// and its writes and definitions failed). Forgetting more than needed costs a catalog
/// lookup on the next read of the version, nothing else.
fn remember(seen: &'static LocalKey<Cell<bool>>, has: bool) {
    if crate::ffi::creating_extension() {
        return;
    }
    seen.with(|c| c.set(has));
    if has {
        arm_forgetting();
    }
}

/// Registers, once per transaction, the callbacks that forget the versions on its abort, a
/// subtransaction's, or its PREPARE TRANSACTION (what it created is not this session's
/// catalog until COMMIT PREPARED, which another session may run) (a transaction that rolls
/// back to savepoints many times would otherwise collect one callback per lookup, each run
/// on every abort). pgrx drops a transaction's callbacks when it commits or aborts (after a
/// PREPARE, when the session's next transaction does: they only set cells); each of those
/// ends disarms this.
fn arm_forgetting() {
    if FORGETTING_ARMED.with(Cell::get) {
        return;
    }
    FORGETTING_ARMED.with(|c| c.set(true));
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Abort, || {
        forget_versions();
        FORGETTING_ARMED.with(|c| c.set(false));
    });
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, || {
        FORGETTING_ARMED.with(|c| c.set(false));
    });
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Prepare, || {
        forget_versions();
        FORGETTING_ARMED.with(|c| c.set(false));
    });
    pgrx::register_subxact_callback(pgrx::PgSubXactCallbackEvent::AbortSub, |_, _| {
        forget_versions()
    });
}

/// Forgets the catalog versions whenever a schema changes (0.17.0, found by a hostile
/// probe: a session that had seen one version went on with it after the extension was
/// dropped and created again at an older one, and its definitions failed). Called once per
/// process, from `_PG_init`.
pub fn forget_versions_on_schema_change() {
    crate::ffi::on_schema_change(forget_versions);
}

/// Forgets every catalog version this session remembered (a transaction or subtransaction
/// abort callback, a schema's invalidation: sets cells only, which can neither fail nor
/// raise).
fn forget_versions() {
    for seen in [
        &CATALOG_CURRENT,
        &CATALOG_0_11,
        &CATALOG_0_12,
        &CATALOG_0_13,
        &CATALOG_0_14,
        &CATALOG_0_15,
        &CATALOG_0_16,
        &CATALOG_0_17,
        &CATALOG_0_18,
        &CATALOG_0_19,
        &CATALOG_0_20,
        &CATALOG_0_21,
        &CATALOG_0_22,
        &CATALOG_0_23,
    ] {
        seen.with(|c| c.set(false));
    }
}

/// Whether this session has already seen the catalog current, without asking the database
/// (the single-row write path needs no SPI connection when it has).
pub fn catalog_known_current() -> bool {
    CATALOG_CURRENT.with(|c| c.get())
}

/// Fails with a hint to run `ALTER EXTENSION pg_tally UPDATE` on an old catalog.
pub fn require_current_catalog() -> Result<()> {
    if catalog_is_current() {
        Ok(())
    } else {
        Err(TallyError::CatalogOutdated)
    }
}
