//! `tally.*` settings, registered in one place and read through small getters.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

static AUTO_COMPACT: GucSetting<bool> = GucSetting::<bool>::new(true);
static COMPACT_THRESHOLD: GucSetting<i32> = GucSetting::<i32>::new(100);

pub fn register() {
    GucRegistry::define_bool_guc(
        c"tally.auto_compact",
        c"Fold pending deltas from write statements, without a scheduler.",
        c"When on, a write statement that has produced tally.compact_threshold delta rows in its \
          session since the last fold tries to fold all pending deltas. It never waits: if another \
          session is folding, it skips. Runs only at READ COMMITTED.",
        &AUTO_COMPACT,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tally.compact_threshold",
        c"Delta rows a session writes before it tries to fold pending deltas.",
        c"Lower keeps reads cheaper under sustained writes; higher moves fold work off writers.",
        &COMPACT_THRESHOLD,
        1,
        100_000_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    crate::ffi::reserve_guc_prefix();
}

pub fn auto_compact() -> bool {
    AUTO_COMPACT.get()
}

pub fn compact_threshold() -> u64 {
    COMPACT_THRESHOLD.get().max(1) as u64
}
