//! The safe SQL builder: the one place where SQL text is assembled from parts
//! (docs/security.md, "No SQL text from names").
//!
//! - Identifiers enter only as `Ident` (quoted by Postgres' rules) or `Relation` (a table's
//!   quoted `schema.name`, as the catalog spells it for an oid).
//! - Values enter as `$n` parameters; the few constants written into text (an aggregate's
//!   name, a time zone, a metric id) go through `literal` or are numbers.
//! - A stored filter is text Postgres deparsed under the fixed settings
//!   (`ffi::with_fixed_settings`) and enters as `Expression`, only ever parsed under them.
//! - Statements leave as `Sql`, whose text no other module can build (`model::sql`, a
//!   metric's own expressions, composes them from these parts through `Sql::assembled`).
//!
//! `scripts/check-sql.sh` (part of the test command) fails on SQL built with `format!`
//! outside this folder and `src/model/sql.rs`, and on `Sql::assembled` anywhere else.
//!
//! Files: `change` (the rules every change follows: transition tables, the seven change
//! arrays, value limits, the non-finite encoding), `store`
//! (statements over pg_tally's own tables), `ddl` (triggers, typed views, validation probes,
//! compiled row expressions).

use pgrx::spi::{quote_identifier, quote_literal};
use serde::{Serialize, Serializer};
use std::fmt;

mod change;
mod ddl;
mod store;

pub use change::*;
pub use ddl::*;
pub use store::*;

/// A statement (or expression) text built by this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sql(String);

impl Sql {
    /// A metric's expression or query, assembled by `model::sql` from this module's parts.
    /// `scripts/check-sql.sh` fails on a call anywhere else: no other text becomes `Sql`.
    pub(crate) fn assembled(text: String) -> Sql {
        Sql(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// What pg_tally's own SPI entry points (`ffi::execute_in_snapshot`) accept: a statement
// built here, or a constant.
impl crate::ffi::Query for Sql {
    fn text(&self) -> &str {
        &self.0
    }
}

impl crate::ffi::Query for &'static str {
    fn text(&self) -> &str {
        self
    }
}

/// An identifier (column, table, role name), quoted: `Ident::new("a\"b")` is `"a""b"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident(String);

impl Ident {
    pub fn new(name: &str) -> Ident {
        Ident(quote_identifier(name))
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A relation's `schema.name`, each part quoted: only as the catalog spells it for an oid
/// (Postgres' `format('%I.%I', nspname, relname)` over pg_class and pg_namespace) or from
/// two names quoted here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation(String);

impl Relation {
    /// The text a catalog query computed with `format('%I.%I', n.nspname, c.relname)`.
    pub fn from_catalog(quoted: String) -> Relation {
        Relation(quoted)
    }

    /// `schema.name` from its two parts.
    pub fn qualified(schema: &str, name: &str) -> Relation {
        Relation(format!("{}.{}", Ident::new(schema), Ident::new(name)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Relation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A boolean expression over a source row that passed `define::check_filter`: Postgres'
/// own deparse under the fixed settings, read back there as itself. Only ever parsed under
/// those settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression(String);

impl Expression {
    /// A filter as stored in `tally._metric` (checked when it was defined, and again by
    /// the DDL hook after every ALTER TABLE of its source).
    pub fn stored(text: String) -> Expression {
        Expression(text)
    }
}

impl Expression {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string constant, quoted.
pub fn literal(value: &str) -> String {
    quote_literal(value)
}
