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

/// The start of the bucket holding the transaction's timestamp, as `tally._current_bucket`
/// (sql/bootstrap.sql) computes it for the SQL reads;
/// `tests::the_current_bucket_is_the_same_in_rust_and_sql` holds the two together.
pub fn current_bucket(bucket: &str, time_zone: &str) -> Option<pg_sys::TimestampTz> {
    // SAFETY: GetCurrentTransactionStartTimestamp reads a backend global (it is now()).
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    bucket_start_at(bucket, time_zone, now)
}

/// `tally._bucket_start(bucket, at, time_zone)`: the start of the bucket holding `at` (a
/// calendar unit through `date_trunc(unit, at, zone)`; N minutes from the local hour's start;
/// N hours on the local clock from local midnight), with the same C functions the SQL calls.
pub(crate) fn bucket_start_at(
    bucket: &str,
    time_zone: &str,
    at: pg_sys::TimestampTz,
) -> Option<pg_sys::TimestampTz> {
    match crate::model::Bucket::parse(bucket) {
        Ok(crate::model::Bucket::Minutes(count)) => {
            let hour = truncated_in_zone("hour", at, time_zone)?;
            binned(pg_sys::timestamptz_bin, minutes(count), at, hour)
        }
        Ok(crate::model::Bucket::Hours(count)) => {
            let local = in_zone(pg_sys::timestamptz_zone, time_zone, at)?;
            let midnight = truncated_local("day", local)?;
            let start = binned(pg_sys::timestamp_bin, hours(count), local, midnight)?;
            in_zone(pg_sys::timestamp_zone, time_zone, start)
        }
        _ => truncated_in_zone(bucket, at, time_zone),
    }
}

fn minutes(count: u8) -> pg_sys::Interval {
    pg_sys::Interval {
        time: i64::from(count) * 60 * 1_000_000,
        day: 0,
        month: 0,
    }
}

fn hours(count: u8) -> pg_sys::Interval {
    pg_sys::Interval {
        time: i64::from(count) * 3600 * 1_000_000,
        day: 0,
        month: 0,
    }
}

/// `date_trunc(unit, at, zone)` of a timestamptz.
fn truncated_in_zone(unit: &str, at: i64, time_zone: &str) -> Option<i64> {
    // SAFETY: timestamptz_trunc_zone (the C function of date_trunc(text, timestamptz, text))
    // takes a text, a timestamptz by value and a text, and returns a timestamptz by value; a
    // bad unit or zone raises an ERROR like the SQL function would.
    unsafe {
        pgrx::direct_function_call::<i64>(
            pg_sys::timestamptz_trunc_zone,
            &[
                unit.into_datum(),
                Some(Datum::from(at)),
                time_zone.into_datum(),
            ],
        )
    }
}

/// `date_trunc(unit, local)` of a timestamp.
fn truncated_local(unit: &str, local: i64) -> Option<i64> {
    // SAFETY: timestamp_trunc takes a text and a timestamp by value and returns a timestamp
    // by value; an unknown unit raises an ERROR.
    unsafe {
        pgrx::direct_function_call::<i64>(
            pg_sys::timestamp_trunc,
            &[unit.into_datum(), Some(Datum::from(local))],
        )
    }
}

/// `timezone(zone, value)`: `timestamptz_zone` (timestamptz to local timestamp) or
/// `timestamp_zone` (local timestamp to timestamptz).
fn in_zone(
    function: unsafe fn(pg_sys::FunctionCallInfo) -> Datum,
    time_zone: &str,
    value: i64,
) -> Option<i64> {
    // SAFETY: both take a text and a timestamp(tz) by value and return one by value; an
    // unknown zone or a value out of range raises an ERROR.
    unsafe {
        pgrx::direct_function_call::<i64>(
            function,
            &[time_zone.into_datum(), Some(Datum::from(value))],
        )
    }
}

/// `date_bin(stride, value, origin)`: `timestamptz_bin` or `timestamp_bin`.
fn binned(
    function: unsafe fn(pg_sys::FunctionCallInfo) -> Datum,
    stride: pg_sys::Interval,
    value: i64,
    origin: i64,
) -> Option<i64> {
    // SAFETY: both take an interval by reference and two timestamps by value and return one
    // by value; `stride` lives on this frame for the whole call and is only read.
    unsafe {
        pgrx::direct_function_call::<i64>(
            function,
            &[
                Some(Datum::from(&stride as *const pg_sys::Interval)),
                Some(Datum::from(value)),
                Some(Datum::from(origin)),
            ],
        )
    }
}
