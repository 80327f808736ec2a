//! The unsafe calls of the read path, each block with the reason it is sound: whether a role
//! may read a table's figures, and the current bucket computed without a query. The index
//! lookups themselves are the store's (`fold::sys::scan`).

use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;

/// Whether `role` may read the figures of table `relid` directly: it may SELECT from the
/// table, and row-level security, if the table has it, would show it every row (it owns
/// the table without FORCE ROW LEVEL SECURITY, has BYPASSRLS, or is a superuser). A figure
/// counts every row, so anyone else would learn about rows hidden from them.
pub fn may_read(relid: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: pg_class_aclcheck and check_enable_rls (with noError) read catalogs and raise
    // an ERROR (not UB) for a missing relation; sources of metrics cannot be dropped while a
    // metric uses them.
    unsafe {
        pg_sys::pg_class_aclcheck(relid, role, pg_sys::ACL_SELECT as pg_sys::AclMode)
            == pg_sys::AclResult::ACLCHECK_OK
            && pg_sys::check_enable_rls(relid, role, true) as u32
                != pg_sys::CheckEnableRlsResult::RLS_ENABLED
    }
}

/// `date_trunc(bucket, now(), time_zone)`: the start of the bucket holding the
/// transaction's timestamp, as `tally._current_bucket` (sql/bootstrap.sql) computes it for the
/// SQL reads; `tests::the_current_bucket_is_the_same_in_rust_and_sql` holds the two together.
pub fn current_bucket(bucket: &str, time_zone: &str) -> Option<pg_sys::TimestampTz> {
    // SAFETY: GetCurrentTransactionStartTimestamp reads a backend global (it is now()).
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    bucket_start_at(bucket, time_zone, now)
}

/// `date_trunc(bucket, at, time_zone)`: the start of the bucket holding `at`.
pub(crate) fn bucket_start_at(
    bucket: &str,
    time_zone: &str,
    at: pg_sys::TimestampTz,
) -> Option<pg_sys::TimestampTz> {
    // SAFETY: timestamptz_trunc_zone (the C function of date_trunc(text, timestamptz, text))
    // takes a text, a timestamptz by value and a text, and returns a timestamptz by value; a
    // bad unit or zone raises an ERROR like the SQL function would.
    unsafe {
        pgrx::direct_function_call::<i64>(
            pg_sys::timestamptz_trunc_zone,
            &[
                bucket.into_datum(),
                Some(Datum::from(at)),
                time_zone.into_datum(),
            ],
        )
    }
}
