//! Statements that create things: the write triggers, a dashboard's typed view, the
//! throw-away probes that let Postgres judge a filter, and the query whose target list the
//! single-row path compiles.

use pgrx::pg_sys;

use super::{literal, Ident, Relation, Sql};

/// `CREATE TRIGGER <name> AFTER <event> ON <table> <referencing> FOR EACH STATEMENT` calling
/// the write trigger with its generation and, on a partition, the oid of the root table
/// whose metrics it serves. `name`, `event` and `referencing` are `trigger::TRIGGERS`
/// constants.
pub fn create_trigger_sql(
    name: &'static str,
    event: &'static str,
    referencing: &'static str,
    table: &Relation,
    generation: i64,
    root: Option<pg_sys::Oid>,
) -> Sql {
    let root = root
        .map(|oid| format!(", '{}'", oid.to_u32()))
        .unwrap_or_default();
    Sql(format!(
        "CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} \
         FOR EACH STATEMENT EXECUTE FUNCTION tally._on_write('{generation}'{root})"
    ))
}

/// A dashboard's typed view `view`: `id` (always 1, a primary key for ORMs), `as_of`, then
/// one column per metric (`metrics`: name, and whether it is grouped): numeric for an
/// ungrouped metric, jsonb {group: value} for a grouped one.
/// One metric's column of a dashboard's typed view.
pub struct ViewColumn {
    pub metric: String,
    pub grouped: bool,
    pub figure: ViewFigure,
}

/// How the typed view reads an ungrouped metric's figure from the snapshot's text of it.
pub enum ViewFigure {
    /// Cast to the SQL type of its figures (`ValueType::sql_type`): a constant of this
    /// crate, never a user's text.
    Cast(&'static str),
    /// A jsonb figure (0.14.0), the snapshot's JSON value itself; JSON null (no figure, or
    /// a figure that is jsonb's null) is NULL, as every other type's null is.
    Json,
    /// An enum's label, made the enum's value by `tally._enum_value` (0.13.0: never a cast,
    /// which the enum's owner may define and the view would run with its owner's rights).
    /// The enum's schema and name, quoted here.
    Enum { schema: String, name: String },
    /// An array figure (0.19.0, found by a hostile probe), read back from its text by
    /// `tally._array_figure` under `array_nulls = on`: a reader's `array_nulls = off` takes
    /// the text's `NULL` elements literally (a text, or an error for an inet). The array
    /// type's SQL name, a constant of this crate.
    Array(&'static str),
}

pub fn create_view_sql(view: &Relation, dashboard: &str, metrics: &[ViewColumn]) -> Sql {
    let columns: Vec<String> = metrics
        .iter()
        .map(|column| {
            let key = literal(&column.metric);
            let name = Ident::new(&column.metric);
            if column.grouped {
                format!("s -> {key} AS {name}")
            } else {
                match &column.figure {
                    ViewFigure::Cast(sql_type) => format!("(s ->> {key})::{sql_type} AS {name}"),
                    ViewFigure::Array(sql_type) => {
                        format!("tally._array_figure(s ->> {key}, NULL::{sql_type}) AS {name}")
                    }
                    ViewFigure::Json => {
                        format!("NULLIF(s -> {key}, 'null'::pg_catalog.jsonb) AS {name}")
                    }
                    ViewFigure::Enum {
                        schema,
                        name: type_name,
                    } => format!(
                        "tally._enum_value(s ->> {key}, NULL::{}.{}) AS {name}",
                        Ident::new(schema),
                        Ident::new(type_name)
                    ),
                }
            }
        })
        .collect();
    Sql(format!(
        "CREATE VIEW {view} AS SELECT 1 AS id, (s ->> 'as_of')::pg_catalog.timestamptz AS as_of, {} \
           FROM tally.snapshot({}) AS s",
        columns.join(", "),
        literal(dashboard)
    ))
}

/// Waits for every transaction writing `source` (or any of its partitions) to end, and keeps
/// new writers out until this one ends: SHARE conflicts with their ROW EXCLUSIVE.
pub fn lock_out_writers_sql(source: &Relation) -> Sql {
    Sql(format!("LOCK TABLE {source} IN SHARE MODE"))
}

/// Hands the typed view to its dashboard's owner.
pub fn view_owner_sql(view: &Relation, owner: &str) -> Sql {
    Sql(format!("ALTER VIEW {view} OWNER TO {}", Ident::new(owner)))
}

/// The statements of a validation probe (`define::probe_expression`), run in a
/// subtransaction that is always rolled back: the query whose parse analysis records the
/// objects `expression` uses (`catalog::sys::record_expression_dependencies`), an empty temporary
/// copy of `source`, an index on the expression (Postgres' rules for index expressions). `expression` is the caller's own text, proved to be exactly one expression
/// by the raw grammar (`catalog::sys::check_single_expression`) or a column cast built here: the one
/// place text a user wrote enters a statement, which never runs beyond this probe.
pub struct Probe {
    pub dependencies: Sql,
    pub table: Sql,
    pub index: Sql,
}

pub fn probe_sql(source: &Relation, expression: &str) -> Probe {
    // The newlines end any trailing "--" comment inside the expression.
    Probe {
        table: Sql(format!(
            "CREATE TEMPORARY TABLE _tally_probe (LIKE {source})"
        )),
        dependencies: Sql(format!("SELECT (\n{expression}\n) FROM ONLY {source}")),
        index: Sql(format!(
            "CREATE INDEX _tally_probe_idx ON pg_temp._tally_probe ((\n{expression}\n))"
        )),
    }
}

/// Index number `round` on a deparsed text of the probe's expression, to see what it reads
/// back as under the fixed settings.
pub fn canonical_probe_sql(round: u8, canonical: &str) -> Sql {
    Sql(format!(
        "CREATE INDEX _tally_probe_canonical_{round} ON pg_temp._tally_probe ((\n{canonical}\n))"
    ))
}

/// A column's text form, the expression a group key is made of.
pub fn text_form_sql(column: &str) -> String {
    format!("{}::pg_catalog.text", Ident::new(column))
}

/// A citext column's values as citext's equality compares them (0.21.0): their text lowered
/// in the database's default collation, which is what `citext_eq` compares byte for byte (it
/// lowers both sides in that collation, whatever the column's). The text is checked as any
/// value expression is (`define::check_expression`) before it is stored.
pub fn citext_lowered_sql(column: &str) -> String {
    format!(
        "pg_catalog.lower({}::pg_catalog.text COLLATE pg_catalog.\"default\")",
        Ident::new(column)
    )
}

/// A row of value expressions (0.23.0, count_distinct over `(user_id, day)`): `ROW(` each
/// field's canonical text in parentheses `)`. Each field has been checked as a value
/// expression of its own (`define::check_expression`), and the row is checked to parse back
/// to fields of the same types and collations before it is stored.
pub fn row_sql(fields: &[String]) -> String {
    let fields = fields
        .iter()
        .map(|field| format!("({field})"))
        .collect::<Vec<_>>();
    format!("ROW({})", fields.join(", "))
}

/// `SELECT <expressions> FROM ONLY <table>`: parse analysis of it gives the compiled
/// expressions of the single-row path (`write::sys::RowExprs`).
pub fn row_expressions_sql(table: &Relation, expressions: &[Sql]) -> Sql {
    let list: Vec<&str> = expressions.iter().map(Sql::as_str).collect();
    Sql(format!("SELECT {} FROM ONLY {table}", list.join(", ")))
}

/// `SELECT <text>`, which the raw grammar alone (nothing is analysed or run) must parse to a
/// single target for `text` to be one expression (`catalog::sys::check_single_expression`). The
/// newline ends a trailing "--" comment.
pub fn single_expression_sql(text: &str) -> Sql {
    Sql(format!("SELECT {text}\n"))
}
