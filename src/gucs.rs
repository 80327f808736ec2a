//! `tally.*` settings, registered in one place and read through small getters.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

static AUTO_COMPACT: GucSetting<bool> = GucSetting::<bool>::new(true);
static COMPACT_THRESHOLD: GucSetting<i32> = GucSetting::<i32>::new(100);
static COMPACTOR_DATABASES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static COMPACTOR_NAPTIME: GucSetting<i32> = GucSetting::<i32>::new(20);
static DIRECT_WRITES: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn register() {
    GucRegistry::define_bool_guc(
        c"tally.auto_compact",
        c"Fold pending changes from write statements, without a scheduler.",
        c"When on, a write statement that has produced tally.compact_threshold change rows in its \
          session since the last fold tries to fold all pending changes (a write statement \
          writes one row holding all of its changes). It never waits: if another \
          session is folding, it skips. Runs only at READ COMMITTED.",
        &AUTO_COMPACT,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tally.compact_threshold",
        c"Change rows (one per write statement) a session writes before it tries to fold pending changes.",
        c"Lower keeps reads cheaper under sustained writes; higher moves fold work off writers.",
        &COMPACT_THRESHOLD,
        1,
        100_000_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"tally.direct_writes",
        c"Write the changes of single-row statements without the SQL executor.",
        c"When on, a statement that inserts, updates or deletes one row evaluates the metrics' \
          compiled expressions over that row and inserts its change row directly into \
          tally._change. When off, every statement runs the prepared change INSERT. Both write \
          the same rows.",
        &DIRECT_WRITES,
        GucContext::Userset,
        GucFlags::default(),
    );
    // A server-start setting can only be defined while shared_preload_libraries is being
    // loaded (Postgres refuses it later, FATALly); without preloading it has no use anyway.
    if crate::ffi::preloading() {
        define_compactor_databases();
    }
    GucRegistry::define_int_guc(
        c"tally.compactor_naptime",
        c"Milliseconds between two folds of the background compactor.",
        c"Lower keeps fewer changes pending for reads; higher folds bigger batches.",
        &COMPACTOR_NAPTIME,
        10,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    crate::ffi::reserve_guc_prefix();
}

fn define_compactor_databases() {
    GucRegistry::define_string_guc(
        c"tally.compactor_databases",
        c"Databases a background worker folds pending changes in (comma-separated).",
        c"Only read when pg_tally is in shared_preload_libraries: one worker per database then \
          folds every tally.compactor_naptime milliseconds, and writers there fold themselves only \
          as a backstop (after ten times tally.compact_threshold change rows).",
        &COMPACTOR_DATABASES,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

pub fn auto_compact() -> bool {
    AUTO_COMPACT.get()
}

pub fn direct_writes() -> bool {
    DIRECT_WRITES.get()
}

pub fn compact_threshold() -> u64 {
    COMPACT_THRESHOLD.get().max(1) as u64
}

/// The databases named by `tally.compactor_databases`.
pub fn compactor_databases() -> Vec<String> {
    COMPACTOR_DATABASES
        .get()
        .map(|list| {
            list.to_string_lossy()
                .split(',')
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub fn compactor_naptime() -> std::time::Duration {
    std::time::Duration::from_millis(COMPACTOR_NAPTIME.get().max(10) as u64)
}
