//! The fields of a row value (0.23.0, count_distinct over `(user_id, day)`), read with
//! Postgres' own accessors: `DatumGetHeapTupleHeader` (the function of the minors patched
//! for versioned composite datums, found by name; the detoasting its macro does before
//! them), the row type's descriptor from the type cache (`lookup_rowtype_tupdesc`), and
//! `GetAttributeByNum` for each field; never pgrx's composite helpers (CVE-2026-6460). Only
//! an anonymous row (a `ROW(...)` the statement builds, never a versioned datum) is read,
//! and each field only as the built-in type it is (`arrays::Element`), or an enum's by its
//! label (0.24.0, Postgres' own `enum_out`): no cast and no output function a role wrote
//! runs.

use pgrx::pg_sys;
use std::sync::OnceLock;

use super::arrays::{element, reads_elements_of, Element};
use super::datetime::base_type;

/// The fields of the row `value`, in order (None for NULL), or None, having read nothing,
/// when `value` is no anonymous row or a field's type (a domain's by its base type) is not
/// one `arrays::reads_elements_of` takes.
pub fn fields_of(value: &pgrx::AnyElement) -> Option<Vec<Option<Element>>> {
    if value.oid() != pg_sys::RECORDOID {
        return None;
    }
    // SAFETY: a non-NULL argument (the functions taking one are strict) of type record: its
    // datum is a composite datum.
    let header = unsafe { row_header(value.datum()) };
    // SAFETY: `header` is a composite datum's header, in memory that lives as long as the
    // calling function's context, whose type is read first (an anonymous row's is record,
    // never versioned: its typmod is no version's part). Its typmod names the
    // descriptor this backend blessed for it (`BlessTupleDesc`), which the type cache holds;
    // `lookup_rowtype_tupdesc` pins it (an ERROR for an unknown one; a shared one is not
    // counted) until it is released below, and nothing between can raise an ERROR: the
    // field types are only copied.
    let types = unsafe {
        if (*header).t_choice.t_datum.datum_typeid != pg_sys::RECORDOID {
            return None;
        }
        let typmod = (*header).t_choice.t_datum.datum_typmod;
        let descriptor = pg_sys::lookup_rowtype_tupdesc(pg_sys::RECORDOID, typmod);
        let types = super::attributes(descriptor)
            .iter()
            .map(|attribute| (!attribute.attisdropped).then_some(attribute.atttypid))
            .collect::<Vec<_>>();
        // As Postgres' ReleaseTupleDesc: a descriptor of the session's shared record
        // registry (there once a parallel query ran) is not counted (tdrefcount -1), and
        // `lookup_rowtype_tupdesc` pinned nothing (found by a hostile probe: every later
        // write failed with "tupdesc reference ... is not owned by resource owner").
        if (*descriptor).tdrefcount >= 0 {
            pg_sys::DecrTupleDescRefCount(descriptor);
        }
        types
    };
    let bases = types
        .iter()
        .map(|type_oid| type_oid.map(base_type))
        .collect::<Vec<_>>();
    if bases.iter().flatten().any(|base| !reads_elements_of(*base)) {
        return None;
    }
    let mut fields = Vec::with_capacity(bases.len());
    for (at, base) in bases.into_iter().enumerate() {
        let Some(base) = base else { continue };
        let number = i16::try_from(at + 1).ok()?;
        let mut is_null = false;
        // SAFETY: `header` is the row's header (above); `number` one of its fields (1-based,
        // below its descriptor's count). GetAttributeByNum looks the descriptor up again and
        // returns the field's datum, pointing into the row for a by-reference one.
        let datum = unsafe { pg_sys::GetAttributeByNum(header, number, &mut is_null) };
        fields.push(if is_null {
            None
        } else {
            // SAFETY: a non-NULL field of the row: of its attribute's type, whose base type
            // (a domain's representation is its base type's) is `base`, one `element` reads.
            Some(unsafe { element(base, datum) }?)
        });
    }
    Some(fields)
}

/// `HeapTupleHeader DatumGetHeapTupleHeader(Datum)`: a function in the minors patched for
/// versioned composite datums (Debian's 15.20 exports it), a macro (`pg_detoast_datum`)
/// before them; taken by name, so one build serves both.
type DatumAccessor = unsafe extern "C-unwind" fn(pg_sys::Datum) -> pg_sys::HeapTupleHeader;

/// The server's `DatumGetHeapTupleHeader`, looked up once; None on a server whose headers
/// make it a macro.
fn datum_accessor() -> Option<DatumAccessor> {
    static ACCESSOR: OnceLock<Option<usize>> = OnceLock::new();
    let address = (*ACCESSOR.get_or_init(|| {
        super::server_symbol("DatumGetHeapTupleHeader").map(|address| address as usize)
    }))?;
    // SAFETY: the address of the server's own DatumGetHeapTupleHeader, of the signature
    // fmgr.h declares for it.
    Some(unsafe { std::mem::transmute::<usize, DatumAccessor>(address) })
}

/// The header of the composite datum `datum`, through the accessor Postgres' own functions
/// use (`PG_GETARG_HEAPTUPLEHEADER`): the patched minors' function, which detoasts the datum
/// and marks an old unmarked one as a datum (a copy), or, where there is none, the
/// detoasting the macro does.
///
/// # Safety
/// `datum` must be a non-NULL composite datum.
unsafe fn row_header(datum: pg_sys::Datum) -> pg_sys::HeapTupleHeader {
    match datum_accessor() {
        // SAFETY: the caller's promise; the call may raise a Postgres ERROR (out of memory),
        // which pgrx's guard turns into a Rust panic, as for every binding.
        Some(accessor) => unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| accessor(datum)) },
        // SAFETY: the caller's promise; pg_detoast_datum returns the datum or a palloc'd
        // plain copy of it, whose varlena header is a HeapTupleHeader.
        None => unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast() },
    }
}
