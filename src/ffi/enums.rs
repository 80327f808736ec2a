//! The unsafe calls between an enum's values and their labels (0.13.0): Postgres' own
//! `enum_out` and `enum_in`, which run no code a role wrote (a cast from or to an enum may,
//! and its owner chooses it). Used by `model::value_type`, `model::group_key` and (0.24.0,
//! an array's enum elements, a row's enum fields) `ffi::arrays`.

use pgrx::pg_sys;
use pgrx::IntoDatum;
use std::ffi::{CStr, CString};

/// Whether `type_oid` (a base type) is an enum.
pub fn is_enum(type_oid: pg_sys::Oid) -> bool {
    // SAFETY: a syscache lookup by oid; an unknown oid is no enum.
    unsafe { pg_sys::type_is_enum(type_oid) }
}

/// Waits for the transactions adding or renaming labels of `enum_type` to end, and keeps
/// new ones from starting until this transaction ends: `ALTER TYPE ... ADD VALUE` and
/// `RENAME VALUE` take an ExclusiveLock on the type, which a ShareLock conflicts with. The
/// labels read after it (in the latest snapshot) stay the enum's labels until commit.
pub fn lock_labels(enum_type: pg_sys::Oid) {
    // SAFETY: a lock-manager call on the type's object tag for this transaction, released
    // at commit or abort; a wait may raise an ERROR (cancel, deadlock), which propagates.
    unsafe {
        pg_sys::LockDatabaseObject(
            pg_sys::TypeRelationId,
            enum_type,
            0,
            pg_sys::ShareLock as pg_sys::LOCKMODE,
        )
    }
}

/// The label of an enum value (the oid its datum is), as its bytes.
pub fn label_of(value: pg_sys::Oid) -> Vec<u8> {
    // SAFETY: enum_out takes one argument, an enum value's oid, and returns a palloc'd
    // NUL-terminated label (an oid that is no label raises an ERROR, turned into a Rust
    // panic by pgrx and back into the ERROR at the SQL boundary).
    let label =
        unsafe { pgrx::direct_function_call::<&CStr>(pg_sys::enum_out, &[value.into_datum()]) };
    label
        .map(|label| label.to_bytes().to_vec())
        .unwrap_or_default()
}

/// The value of enum `enum_type` labelled `label`: an ERROR (22P02) when it has no such
/// label.
pub fn value_of(enum_type: pg_sys::Oid, label: &str) -> pg_sys::Oid {
    // A text holds no NUL (an empty label is none either: enum_in refuses it).
    let label = CString::new(label).unwrap_or_default();
    // SAFETY: enum_in takes a NUL-terminated label and the enum's oid (its typioparam), looks
    // the label up and returns the value's oid, or raises an ERROR as above.
    unsafe {
        pgrx::direct_function_call::<pg_sys::Oid>(
            pg_sys::enum_in,
            &[label.as_c_str().into_datum(), enum_type.into_datum()],
        )
    }
    .unwrap_or(pg_sys::InvalidOid)
}

/// The type of argument `index` of the call `fcinfo` (a polymorphic argument's actual
/// type), looked through a domain.
pub fn argument_type(fcinfo: pg_sys::FunctionCallInfo, index: i32) -> pg_sys::Oid {
    // SAFETY: `fcinfo` is the call's own, passed by Postgres to a function declared with
    // at least `index + 1` arguments; get_fn_expr_argtype reads its flinfo's expression
    // (InvalidOid when there is none), getBaseType looks a type up by oid.
    unsafe {
        let argument = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, index);
        if argument == pg_sys::InvalidOid {
            return argument;
        }
        pg_sys::getBaseType(argument)
    }
}
