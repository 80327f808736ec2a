//! Per-session cache of prepared SPI plans for fixed SQL texts: parsing and planning the
//! fold and the reads on every call cost more than running them.

use pgrx::pg_sys;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};
use pgrx::PgOid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::error::Result;

/// Whether the statement only reads (runs read-only, so it works on a hot standby) or writes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

thread_local! {
    static PLANS: RefCell<HashMap<(&'static str, Access), Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// The plan for `sql`, prepared on first use in this session. Plans of the tally catalog's
/// own tables stay valid across metric changes (Postgres replans them itself on DDL).
pub fn cached(
    client: &SpiClient<'_>,
    sql: &'static str,
    arg_types: &[pg_sys::Oid],
    access: Access,
) -> Result<Rc<OwnedPreparedStatement>> {
    if let Some(plan) = PLANS.with(|p| p.borrow().get(&(sql, access)).cloned()) {
        return Ok(plan);
    }
    let types: Vec<PgOid> = arg_types.iter().map(|&oid| PgOid::from(oid)).collect();
    let prepared = match access {
        Access::Read => client.prepare(sql, &types)?,
        Access::Write => client.prepare_mut(sql, &types)?,
    };
    let plan = Rc::new(prepared.keep());
    PLANS.with(|p| p.borrow_mut().insert((sql, access), plan.clone()));
    Ok(plan)
}
