//! Dashboards: a named list of metrics read together in one row by `tally.snapshot` (in
//! sql/read.sql: the jsonb is built and returned by Postgres so numerics stay exact), and
//! optionally a one-row view with a typed column per metric (for an unmanaged Django model).

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::error::{Result, SqlResult, TallyError};
use crate::ffi;
use crate::model::ValueType;
use crate::read::{named_row_exists, require_read};
use crate::sql::{self, Relation, ViewColumn, ViewFigure};

/// Behind `tally.create_dashboard` (sql/dashboard.sql), which passes the caller's
/// current schema: this function runs with a fixed search_path and would otherwise put an
/// unqualified view name in pg_catalog.
#[pg_extern(volatile, parallel_unsafe)]
fn _create_dashboard(
    name: Option<&str>,
    metrics: Option<Vec<Option<String>>>,
    view_name: Option<&str>,
    caller_schema: Option<&str>,
) -> SqlResult<()> {
    let name = crate::error::required(name, "dashboard name")?.trim();
    let metrics = crate::error::required(metrics, "metrics")?;
    ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| -> Result<()> {
            if name.is_empty() {
                return Err(TallyError::EmptyName("dashboard name"));
            }
            let metrics = check_metrics(client, metrics)?;
            if dashboard_exists(client, name)? {
                return Err(TallyError::DuplicateDashboard(name.to_string()));
            }
            let view = view_name.map(str::trim).filter(|v| !v.is_empty());
            let quoted_view = view
                .map(|v| view_in_schema(client, v, caller_schema))
                .transpose()?;
            // The typed view is held by oid: renaming it keeps the dashboard's own view, and
            // no later view of its old name is ever taken for it.
            let view_oid = match quoted_view {
                Some(view) => Some(create_view(client, name, &metrics, &view)?),
                None => None,
            };
            client.update(
            "INSERT INTO tally._dashboard (name, metrics, view_name, owner) \
             VALUES ($1, $2, $3::pg_catalog.oid::pg_catalog.regclass, $4::pg_catalog.oid::pg_catalog.regrole)",
            None,
            &[
                name.into(),
                metrics.clone().into(),
                view_oid.into(),
                ffi::caller().into(),
            ],
        )?;
            Ok(())
        })
    })?;
    Ok(())
}

#[pg_extern(volatile, parallel_unsafe)]
fn drop_dashboard(name: Option<&str>) -> SqlResult<()> {
    let name = crate::error::required(name, "dashboard name")?;
    ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| -> Result<()> {
            let row = client.update(
            "DELETE FROM tally._dashboard WHERE name = $1 \
             RETURNING view_name::pg_catalog.oid, pg_catalog.pg_has_role($2::pg_catalog.oid, owner, 'USAGE')",
            Some(1),
            &[name.into(), ffi::caller().into()],
        )?;
            if row.is_empty() {
                return Err(TallyError::UnknownDashboard(name.to_string()));
            }
            let row = row.first();
            if row.get::<bool>(2)? != Some(true) {
                return Err(TallyError::NotOwnerOfDashboard(name.to_string()));
            }
            if let Some(view) = row.get::<pg_sys::Oid>(1)? {
                drop_view_if_owned(client, name, view)?;
            }
            Ok(())
        })
    })?;
    Ok(())
}

/// Drops the dashboard's typed view (by oid) if it still exists and the caller owns it; a
/// view someone else owns by now is left alone, with a notice.
fn drop_view_if_owned(client: &SpiClient<'_>, dashboard: &str, view: pg_sys::Oid) -> Result<()> {
    let row = client.select(
        "SELECT pg_catalog.pg_has_role($2::pg_catalog.oid, c.relowner, 'USAGE'), c.oid::pg_catalog.regclass::pg_catalog.text \
           FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid AND c.relkind = 'v'",
        Some(1),
        &[view.into(), ffi::caller().into()],
    )?;
    let Some(row) = row.into_iter().next() else {
        return Ok(());
    };
    if row.get::<bool>(1)? == Some(true) {
        ffi::drop_relation(view);
    } else {
        notice!(
            "tally.drop_dashboard: view {} of dashboard \"{dashboard}\" is owned by another role; left in place",
            row.get::<String>(2)?.unwrap_or_default()
        );
    }
    Ok(())
}

fn check_metrics(client: &SpiClient<'_>, metrics: Vec<Option<String>>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(metrics.len());
    for metric in metrics {
        let metric = crate::error::required(metric, "a metric name in metrics")?;
        // Unknown metric, or one the caller may not read: a dashboard shows its figures to
        // whoever may read the dashboard, so its creator must be allowed to read each one.
        require_read(client, &metric)?;
        if names.contains(&metric) {
            return Err(TallyError::RepeatedDashboardMetric(metric));
        }
        names.push(metric);
    }
    if names.is_empty() {
        return Err(TallyError::EmptyDashboard);
    }
    Ok(names)
}

fn dashboard_exists(client: &SpiClient<'_>, name: &str) -> Result<bool> {
    named_row_exists(
        client,
        "SELECT 1 FROM tally._dashboard WHERE name = $1",
        name,
    )
}

/// `name` or `schema.name`, as Postgres parses identifiers, returned quoted.
/// `name` or `schema.name` as Postgres parses identifiers, qualified with the caller's schema
/// when unqualified, and quoted; the caller must be allowed to create objects there.
fn view_in_schema(
    client: &SpiClient<'_>,
    view: &str,
    caller_schema: Option<&str>,
) -> Result<Relation> {
    let mut parts = parse_view_name(view)?;
    if parts.len() == 1 {
        let schema = caller_schema.ok_or_else(|| TallyError::BadViewName(view.to_string()))?;
        parts.insert(0, schema.to_string());
    }
    let may_create = client
        .select(
            "SELECT pg_catalog.has_schema_privilege($1::pg_catalog.oid, n.oid, 'CREATE') \
               FROM pg_catalog.pg_namespace n WHERE n.nspname = $2",
            Some(1),
            &[ffi::caller().into(), parts[0].as_str().into()],
        )?
        .next()
        .map(|row| row.get::<bool>(1))
        .transpose()?
        .flatten();
    match may_create {
        None => Err(TallyError::UnknownSchema(parts[0].clone())),
        Some(false) => Err(TallyError::NoCreateInSchema(parts[0].clone())),
        Some(true) => Ok(Relation::qualified(&parts[0], &parts[1])),
    }
}

fn parse_view_name(view: &str) -> Result<Vec<String>> {
    let owned = view.to_string();
    let parsed = ffi::probe_and_roll_back(move || {
        Spi::connect(|c| -> Result<Option<Vec<String>>> {
            Ok(c.select(
                "SELECT pg_catalog.parse_ident($1)",
                Some(1),
                &[owned.as_str().into()],
            )?
            .first()
            .get_one::<Vec<String>>()?)
        })
    });
    match parsed {
        Ok(Ok(Some(parts))) if (1..=2).contains(&parts.len()) => Ok(parts),
        _ => Err(TallyError::BadViewName(view.to_string())),
    }
}

/// The metrics among `metrics` whose figures are not numeric (0.12.0: min and max over
/// other types, sum and avg over intervals: `tally._value_type`), with how the typed view
/// reads them (`ValueType::sql_type`, an enum's own type).
fn figure_types(client: &SpiClient<'_>, metrics: &[String]) -> Result<Vec<(String, ViewFigure)>> {
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_12) {
        return Ok(Vec::new());
    }
    let rows = client.select(
        crate::sql::figure_types_sql(crate::model::installed::catalog()),
        None,
        &[metrics.to_vec().into()],
    )?;
    let mut typed = Vec::new();
    for row in rows {
        let name = row.get::<String>(1)?.unwrap_or_default();
        let value_type = ValueType::parse(&row.get::<String>(2)?.unwrap_or_default())?;
        let figure = match (row.get::<String>(3)?, row.get::<String>(4)?) {
            (Some(schema), Some(name)) if value_type == ValueType::Enum => {
                ViewFigure::Enum { schema, name }
            }
            _ if value_type == ValueType::Jsonb => ViewFigure::Json,
            // tally._array_figure (0.19.0); on an older catalog, the cast those views had
            // (found by a review: the view named a function the catalog lacked).
            _ if matches!(value_type, ValueType::OrderedArray(_))
                && crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_19) =>
            {
                ViewFigure::Array(value_type.sql_type())
            }
            _ => ViewFigure::Cast(value_type.sql_type()),
        };
        typed.push((name, figure));
    }
    Ok(typed)
}

/// The typed view: `id` (always 1, a primary key for ORMs), `as_of`, then one column per
/// metric: of its figures' type (numeric, or a min or max metric's other type) for an
/// ungrouped metric, jsonb {group: value} for a grouped one.
fn create_view(
    client: &mut SpiClient<'_>,
    dashboard: &str,
    metrics: &[String],
    view: &Relation,
) -> Result<pg_sys::Oid> {
    let grouped = client
        .select(
            "SELECT pg_catalog.array_agg(name ORDER BY name) FROM tally._metric \
              WHERE name = ANY ($1) AND group_by IS NOT NULL",
            Some(1),
            &[metrics.to_vec().into()],
        )?
        .first()
        .get_one::<Vec<String>>()?
        .unwrap_or_default();
    let mut typed = figure_types(client, metrics)?;
    let columns: Vec<ViewColumn> = metrics
        .iter()
        .map(|metric| ViewColumn {
            metric: metric.clone(),
            grouped: grouped.contains(metric),
            figure: match typed.iter().position(|(name, _)| name == metric) {
                Some(at) => typed.swap_remove(at).1,
                None => ViewFigure::Cast("pg_catalog.numeric"),
            },
        })
        .collect();
    client.update(
        sql::create_view_sql(view, dashboard, &columns).as_str(),
        None,
        &[],
    )?;
    // Created with the extension owner's rights; owned, and grantable, by the caller.
    let owner = client
        .select(
            "SELECT rolname::pg_catalog.text FROM pg_catalog.pg_roles WHERE oid = $1::pg_catalog.oid",
            Some(1),
            &[ffi::caller().into()],
        )?
        .first()
        .get_one::<String>()?
        .ok_or_else(|| TallyError::Internal("caller role has no name".into()))?;
    client.update(sql::view_owner_sql(view, &owner).as_str(), None, &[])?;
    client
        .select(
            "SELECT pg_catalog.regclass($1)::pg_catalog.oid",
            Some(1),
            &[view.as_str().into()],
        )?
        .first()
        .get_one::<pg_sys::Oid>()?
        .ok_or_else(|| TallyError::Internal("typed view vanished".into()))
}
