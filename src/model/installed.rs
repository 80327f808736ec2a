//! What this database's pg_tally catalog is, against this library: current, or an older
//! version's (between installing a new library and `ALTER EXTENSION pg_tally UPDATE`, when
//! writes keep being counted in the old shape and everything else asks for the update).

use crate::error::{Result, TallyError};
use crate::sql::CatalogVersion;

thread_local! {
    /// Once the catalog is seen current it stays so for the life of the backend.
    static CATALOG_CURRENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Once the catalog is seen holding value expressions it stays so.
    static HAS_VALUE_EXPRESSIONS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The catalog version whose shape this database has, as far as the library reads it.
pub fn catalog() -> CatalogVersion {
    if has_value_expressions() {
        CatalogVersion::V0_11
    } else if catalog_is_current() {
        CatalogVersion::V0_9
    } else {
        CatalogVersion::V0_1
    }
}

/// Whether this database's catalog has `tally._value_expression` (0.11.0): metrics may
/// then aggregate an expression. Metrics over columns work on older catalogs too.
pub fn has_value_expressions() -> bool {
    if HAS_VALUE_EXPRESSIONS.with(|c| c.get()) {
        return true;
    }
    let has = crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, c"_value_expression"))
        .is_some();
    HAS_VALUE_EXPRESSIONS.with(|c| c.set(has));
    has
}

/// Whether this database's pg_tally catalog matches the library (0.9.0: metrics can be
/// marked broken, the counters' index holds long group keys by digest). False between
/// installing a new library and `ALTER EXTENSION pg_tally UPDATE`: writes then keep
/// recording changes in the old catalog's shape, nothing folds, and everything else asks
/// for the update.
pub fn catalog_is_current() -> bool {
    if CATALOG_CURRENT.with(|c| c.get()) {
        return true;
    }
    let current = crate::ffi::tally_schema()
        .and_then(|schema| crate::ffi::relation_in(schema, c"_broken"))
        .is_some();
    CATALOG_CURRENT.with(|c| c.set(current));
    current
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
