//! Which objects a user's expression (a filter, a value expression) may use: only built-in
//! ones, and enum types its table's owner owns in a schema it controls. Checked when a
//! metric is defined and whenever the DDL hooks validate it again (`catalog::define`).

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::error::{ExpressionRole, Result, TallyError};
use crate::ffi::CaughtPgError;

/// The first object that the expression recorded for the probe index named `$3` uses (NULL:
/// the owner's parse, `super::sys::record_expression_dependencies`, under the pg_class entry 0)
/// that is not built in (created after initdb: oid at or past FirstNormalObjectId, or gone
/// since it was recorded), other than the columns of the source table `$1` and the probe's
/// copy of it (a `regclass` constant naming the source is refused: the stored text would
/// name it). Enum types (and arrays of them) carry no code
/// and are allowed, so a filter may compare an enum column with a label, if the table's
/// owner `$2` owns them (0.11.0; before, any role it is a member of) and controls their
/// schema, or a superuser owns the schema (the stored
/// text names the type: whoever may drop it, its owner or its schema's, may put a domain of
/// that name in its place, whose CHECK would then run as the table's owner; 0.11.0, found
/// by a hostile probe: a schema's owner swapped another role's enum; `public` is owned by
/// the database's owner) and they are not temporary (a temporary type's name
/// would be looked up in each writer's own temporary schema). A value expression (`$4`,
/// 0.15.0) may also use the collation of a column of its table (Django's case-insensitive
/// email, read as `lower(email) COLLATE "C"`): it reaches the expression through the column,
/// which each parse finds again, never by a name the stored text holds; one the stored text
/// (`$5`, Postgres' deparse: ` COLLATE schema.name`, or ` COLLATE name` for one in
/// pg_catalog, which the fixed search_path makes visible) names is refused, as one the canonical text cannot yet be checked
/// for (`$5` NULL, the owner's first parse) is let through to the second check. Never a
/// temporary one (found by a hostile probe: its name, `pg_temp.x`, is each writer's own).
/// A system column of the source (`ctid`, `xmin`, `tableoid`: a dependency on the table with
/// a negative column number) is named as such (0.24.0; "table ... is not built in" before).
const FOREIGN_OBJECT_SQL: &str = "\
SELECT coalesce(pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0), \
                'an object dropped while the filter was read'), \
       (SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a \
         WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
           AND d.refobjid = $1::pg_catalog.oid AND d.refobjsubid < 0 \
           AND a.attrelid = d.refobjid AND a.attnum = d.refobjsubid) \
  FROM pg_catalog.pg_depend d \
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
   AND d.objid = coalesce(pg_catalog.to_regclass($3)::pg_catalog.oid, 0::pg_catalog.oid) \
   AND NOT (d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
            AND ((d.refobjid = $1::pg_catalog.oid AND d.refobjsubid > 0) \
                 OR d.refobjid = coalesce(pg_catalog.to_regclass('pg_temp._tally_probe')::pg_catalog.oid, 0::pg_catalog.oid))) \
   AND d.refobjid >= 16384::pg_catalog.oid \
   AND NOT ($4 AND d.refclassid = 'pg_catalog.pg_collation'::pg_catalog.regclass \
            AND d.refobjid IN (SELECT a.attcollation FROM pg_catalog.pg_attribute a \
                                WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped) \
            AND EXISTS (SELECT 1 FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace \
                         WHERE c.oid = d.refobjid \
                           AND NOT pg_catalog.pg_is_other_temp_schema(c.collnamespace) \
                           AND c.collnamespace <> pg_catalog.pg_my_temp_schema() \
                           AND pg_catalog.strpos(coalesce($5, ''), ' COLLATE ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(n.nspname) \
                                                 OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.collname)) = 0 \
                           AND pg_catalog.strpos(coalesce($5, ''), ' COLLATE ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.collname)) = 0)) \
   AND NOT (d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass \
            AND coalesce((SELECT coalesce(e.typtype, t.typtype) = 'e' \
                        AND coalesce(e.typowner, t.typowner) = $2::pg_catalog.oid \
                        AND coalesce((SELECT pg_catalog.pg_has_role($2::pg_catalog.oid, r.oid, 'USAGE') OR r.rolsuper \
                                        FROM pg_catalog.pg_namespace n \
                                        JOIN pg_catalog.pg_roles r \
                                          ON r.oid = CASE WHEN n.nspowner = 'pg_database_owner'::pg_catalog.regrole \
                                                          THEN (SELECT d.datdba FROM pg_catalog.pg_database d \
                                                                 WHERE d.datname = pg_catalog.current_database()) \
                                                          ELSE n.nspowner END \
                                       WHERE n.oid = coalesce(e.typnamespace, t.typnamespace)), false) \
                        AND NOT pg_catalog.pg_is_other_temp_schema(coalesce(e.typnamespace, t.typnamespace)) \
                        AND coalesce(e.typnamespace, t.typnamespace) <> pg_catalog.pg_my_temp_schema() \
                   FROM pg_catalog.pg_type t \
                   LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
                  WHERE t.oid = d.refobjid), false)) \
 ORDER BY 1 LIMIT 1";

/// Fails with the first object the probed expression uses that is not built in
/// (`FOREIGN_OBJECT_SQL`), as recorded by the owner's parse (`canonical` None) or by probe
/// index `index`, whose deparse is `canonical`.
pub fn require_built_in(
    client: &SpiClient<'_>,
    relid: pg_sys::Oid,
    owner: pg_sys::Oid,
    index: Option<&str>,
    canonical: Option<&str>,
    role: ExpressionRole,
) -> Result<()> {
    let foreign = client
        .select(
            FOREIGN_OBJECT_SQL,
            Some(1),
            &[
                relid.into(),
                owner.into(),
                index.into(),
                (role == ExpressionRole::Value).into(),
                canonical.into(),
            ],
        )?
        .next()
        .map(|row| Ok::<_, TallyError>((row.get::<String>(1)?, row.get::<String>(2)?)))
        .transpose()?;
    match foreign {
        Some((_, Some(column))) => Err(TallyError::ExpressionNotAllowed {
            role,
            code: pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            message: format!("system column {column} is not one of the row's own columns"),
        }),
        // Any row found refuses (column 1 is never NULL: coalesce).
        Some((object, None)) => Err(not_built_in(object.as_deref().unwrap_or("an object"), role)),
        None => Ok(()),
    }
}

/// The refusal of an expression that uses `object` ("collation public.x"), which is not built
/// in (`42501`).
pub fn not_built_in(object: &str, role: ExpressionRole) -> TallyError {
    TallyError::ExpressionNotAllowed {
        role,
        code: pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("{object} is not built in"),
    }
}

/// Postgres' messages speak of "index expressions"; the user wrote a filter or a value
/// expression.
pub fn expression_rejected(caught: CaughtPgError, role: ExpressionRole) -> TallyError {
    let (plural, singular) = match role {
        ExpressionRole::Filter => ("filters", "filter"),
        ExpressionRole::Value | ExpressionRole::GroupKey => {
            ("value expressions", "value expression")
        }
    };
    let message = caught
        .message
        .replace("index expressions", plural)
        .replace("index expression", singular);
    TallyError::ExpressionNotAllowed {
        role,
        code: caught.code,
        message,
    }
}
