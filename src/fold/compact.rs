//! Folding pending changes into `_state` keeps reads O(groups) however many writes happened.
//! Two drivers: `tally.compact()` for DBA jobs and pg_cron, and writers themselves once they
//! have produced `tally.compact_threshold` change rows (`tally.auto_compact`). Both take the
//! fold lock with try-lock semantics, so no writer ever waits for a fold.

use pgrx::prelude::*;
use std::cell::Cell;
use std::time::Instant;

use crate::error::{Result, SqlResult, TallyError};
use crate::{ffi, fold, gucs};

thread_local! {
    static WRITTEN_SINCE_FOLD: Cell<u64> = const { Cell::new(0) };
}

/// Folds all committed changes if no other session is folding. Returns the change rows folded.
#[pg_extern(volatile, parallel_unsafe)]
fn compact() -> SqlResult<i64> {
    if !ffi::is_read_committed() {
        return Err(TallyError::NeedsReadCommitted("tally.compact").into());
    }
    let started = Instant::now();
    let folded = ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| -> Result<Option<fold::Folded>> {
            crate::model::installed::require_current_catalog()?;
            fold::fold_if_free(client)
        })
    })?;
    match folded {
        Some(folded) => {
            WRITTEN_SINCE_FOLD.with(|w| w.set(0));
            pgrx::debug1!(
                "tally.compact: folded {} changes into {} groups in {:.1} ms",
                folded.changes,
                folded.groups,
                started.elapsed().as_secs_f64() * 1e3
            );
            Ok(folded.changes)
        }
        None => {
            notice!("tally.compact: another session is folding; nothing done");
            Ok(0)
        }
    }
}

/// Called by the trigger after each write statement: counts change rows and, past the
/// threshold, folds opportunistically (never waiting, only at READ COMMITTED, where a fold
/// cannot hit a serialization failure).
pub fn after_write(written: u64) -> Result<()> {
    let total = WRITTEN_SINCE_FOLD.with(|w| {
        let total = w.get().saturating_add(written);
        w.set(total);
        total
    });
    // With a background compactor serving this database, writers fold only as a backstop.
    let threshold = if crate::fold::compactor::serves_this_database() {
        gucs::compact_threshold().saturating_mul(10)
    } else {
        gucs::compact_threshold()
    };
    if total < threshold || !gucs::auto_compact() || !ffi::is_read_committed() {
        return Ok(());
    }
    WRITTEN_SINCE_FOLD.with(|w| w.set(0));
    // Best effort: the writer's statement stands whatever happens to the fold, which runs in
    // a subtransaction of its own; what it could not fold waits for the next fold.
    let folded = ffi::in_subtransaction(|| {
        // Called from the write trigger, which leaves search_path alone on its single-row path.
        ffi::with_fixed_settings(|| {
            Spi::connect_mut(|client| {
                // On an old catalog changes simply wait for ALTER EXTENSION pg_tally UPDATE.
                if crate::model::installed::catalog_is_current() {
                    fold::fold_if_free(client)?;
                }
                Ok(())
            })
        })
    });
    if let Err(failed) = folded {
        pgrx::warning!("pg_tally: folding pending changes failed, the write stands: {failed}");
    }
    Ok(())
}
