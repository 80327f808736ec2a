//! `tally.create_metric` and `tally.drop_metric`. Everything a user passes is validated
//! before anything is written, and the whole definition (catalog row, backfill, triggers)
//! happens in the caller's transaction: an error leaves nothing behind.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{JsonB, PgRelation};

use crate::error::{ExpressionRole, Result, SqlResult, TallyError};
use crate::ffi::expression::RowField;
use crate::ffi::{self, CaughtPgError};
use crate::fold::storage;
use crate::model::builtin::{expression_rejected, not_built_in, require_built_in};
use crate::model::ordered_array::ElementOf;
use crate::model::ordered_key::RangeOf;
use crate::model::{Aggregate, Bucket, Metric, Value, ValueKind, ValueType};
use crate::read::metric_exists;
use crate::write::trigger;

/// Column types the aggregates that fold values take (integers and numeric).
const SUMMABLE_TYPES: [pg_sys::Oid; 4] = [
    pg_sys::INT2OID,
    pg_sys::INT4OID,
    pg_sys::INT8OID,
    pg_sys::NUMERICOID,
];
/// Column types a bucket is computed from.
const BUCKET_TYPES: [pg_sys::Oid; 3] = [
    pg_sys::DATEOID,
    pg_sys::TIMESTAMPOID,
    pg_sys::TIMESTAMPTZOID,
];

/// A source table as the definition needs it.
struct Source {
    oid: pg_sys::Oid,
    /// The table's owner, as whom its expressions are parsed and evaluated.
    owner: pg_sys::Oid,
    /// `schema.table`, quoted by the catalog.
    relation: crate::sql::Relation,
}

/// One column of the source table.
struct Column {
    name: String,
    type_oid: pg_sys::Oid,
    type_name: String,
    collation: pg_sys::Oid,
}

/// `tally.create_metric`. `group_by` is declared `anycompatible DEFAULT NULL::text` (the SQL
/// below), so one function takes one column as text (`group_by => 'status'`, an untyped
/// literal resolves to text) and several as an array (0.11.0: `group_by => ARRAY['status',
/// 'channel']`), whatever the other arguments' notation. An overload taking text[] could not
/// do both: with defaults on both, a call naming no group would match either.
#[allow(clippy::too_many_arguments)]
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = "
CREATE FUNCTION tally.create_metric(
    name text, source regclass, aggregate text DEFAULT 'count', column_name text DEFAULT NULL,
    filter text DEFAULT NULL, group_by anycompatible DEFAULT NULL::text, bucket text DEFAULT NULL,
    bucket_column text DEFAULT NULL, time_zone text DEFAULT 'UTC'
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'create_metric_wrapper';"
)]
fn create_metric(
    name: Option<&str>,
    source: Option<PgRelation>,
    aggregate: Option<&str>,
    column_name: Option<&str>,
    filter: Option<&str>,
    group_by: Option<pgrx::AnyElement>,
    bucket: Option<&str>,
    bucket_column: Option<&str>,
    time_zone: Option<&str>,
) -> SqlResult<JsonB> {
    let columns = group_columns(group_by)?;
    let request = Request {
        name: crate::error::required(name, "metric name")?.trim(),
        source: Some(crate::error::required(source, "source")?.oid()),
        aggregate: aggregate.unwrap_or("count"),
        value: non_empty(column_name).map(ValueRequest::ColumnOrExpression),
        filter: non_empty(filter),
        group_by: columns.iter().map(String::as_str).collect(),
        bucket: non_empty(bucket),
        bucket_column: non_empty(bucket_column),
        time_zone: non_empty(time_zone).unwrap_or("UTC"),
    };
    create(request)
}

/// The group columns `group_by` names: none (NULL, or a blank text), one (a text), or the
/// elements of a text array (none of them NULL, at least one).
fn group_columns(group_by: Option<pgrx::AnyElement>) -> Result<Vec<String>> {
    let Some(argument) = group_by else {
        return Ok(Vec::new());
    };
    match super::sys::group_by_argument(&argument) {
        Some(super::sys::GroupByArgument::Column(text)) => Ok(non_empty(Some(&text))
            .map(str::to_string)
            .into_iter()
            .collect()),
        Some(super::sys::GroupByArgument::Columns(columns)) => {
            if columns.is_empty() {
                return Err(TallyError::EmptyName("group_by"));
            }
            columns
                .into_iter()
                .map(|column| crate::error::required(column, "a group_by column"))
                .collect()
        }
        Some(super::sys::GroupByArgument::NotAList) => Err(TallyError::WrongGroupByType(
            "an array of more than one dimension, or not counted from 1".into(),
        )),
        None => Err(TallyError::WrongGroupByType(super::sys::type_name(
            argument.oid(),
        ))),
    }
}

/// Defines the requested metric with the extension's rights, once the caller's are checked.
fn create(request: Request<'_>) -> SqlResult<JsonB> {
    let metric = ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| {
            crate::model::installed::require_current_catalog()?;
            define(client, &request)
        })
    })?;
    let json = serde_json::to_value(&metric).map_err(|e| TallyError::Internal(e.to_string()))?;
    Ok(JsonB(json))
}

#[pg_extern(volatile, parallel_unsafe)]
fn drop_metric(name: Option<&str>) -> SqlResult<()> {
    let name = crate::error::required(name, "metric name")?;
    ffi::as_extension_owner(|| {
        Spi::connect_mut(|client| -> Result<()> {
            // Pending changes are taken out of the 0.6.0 `tally._change` rows.
            crate::model::installed::require_current_catalog()?;
            let metric = match Metric::load(client, name) {
                Ok(metric) => metric,
                Err(TallyError::UnknownMetric(missing)) => {
                    return match drop_orphaned(client, name)? {
                        true => Ok(()),
                        false => Err(TallyError::UnknownMetric(missing)),
                    };
                }
                Err(other) => return Err(other),
            };
            require_owner(client, metric.source_oid)?;
            release_from_dashboards(client, name)?;
            lock_source(metric.source_oid);
            delete_metric(client, metric.id)?;
            trigger::install(client, metric.source_oid)?;
            Ok(())
        })
    })?;
    Ok(())
}

/// Drops metric `name` if its table is gone (false if there is no such metric), which only
/// happens when the table was dropped with event triggers off (a superuser's
/// `session_replication_role = replica`, or `ALTER EVENT TRIGGER ... DISABLE`): no hook took
/// the metric with it, and with no table there is no owner to ask, so a superuser may.
fn drop_orphaned(client: &mut SpiClient<'_>, name: &str) -> Result<bool> {
    let orphan = client
        .select(
            "SELECT m.id, m.source::pg_catalog.oid FROM tally._metric m WHERE m.name = $1 \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = m.source::pg_catalog.oid)",
            Some(1),
            &[name.into()],
        )?
        .next();
    let Some(row) = orphan else {
        return Ok(false);
    };
    let (Some(id), Some(source)) = (row.get::<i32>(1)?, row.get::<pg_sys::Oid>(2)?) else {
        return Ok(false);
    };
    let superuser = client
        .select(
            "SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = $1::pg_catalog.oid",
            Some(1),
            &[ffi::caller().into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false);
    if !superuser {
        return Err(TallyError::OrphanedMetric(name.to_string()));
    }
    // As for any metric (for a superuser, any dashboard is one of its own: pg_has_role gives
    // it every role's).
    release_from_dashboards(client, name)?;
    delete_metric(client, id)?;
    // Not `trigger::install`, which would look the table up: only its partitions, so that a
    // later table given one of their oids is not taken for a partition of a tracked one.
    trigger::forget_partitions(client, source)?;
    notice!("tally.drop_metric: metric \"{name}\" had lost its table (dropped with event triggers off); it is gone now");
    Ok(true)
}

/// Refuses to drop metric `name` while a dashboard of the caller shows it, and takes it out
/// of other roles' dashboards.
fn release_from_dashboards(client: &mut SpiClient<'_>, name: &str) -> Result<()> {
    if let Some(dashboard) = own_dashboard_using(client, name)? {
        return Err(TallyError::MetricInUse {
            metric: name.to_string(),
            dashboard,
        });
    }
    detach_from_dashboards(client, name)
}

/// Deletes metric `id` and its pending changes, under the fold lock (its counters and type
/// rows go with it: foreign keys ON DELETE CASCADE).
fn delete_metric(client: &mut SpiClient<'_>, id: i32) -> Result<()> {
    storage::lock_folding()?;
    client.update(crate::sql::drop_pending_sql().as_str(), None, &[id.into()])?;
    client.update(
        "DELETE FROM tally._metric WHERE id = $1",
        None,
        &[id.into()],
    )?;
    Ok(())
}

/// Called after ALTER TABLE on a source table (sql/ddl.sql): every metric of the table must
/// still validate against its stored definition, else the ALTER is rejected. When they all
/// do, the triggers are reinstalled so every session rebuilds its plans for the new shape.
#[pg_extern(volatile, parallel_unsafe)]
fn _revalidate_source(source: PgRelation) -> SqlResult<()> {
    // Stored filters are canonical text, parsed only under the fixed settings.
    ffi::with_fixed_settings(|| revalidate_source(source.oid(), Rebuild::Triggers))?;
    Ok(())
}

/// `_revalidate_source` without rebuilding the triggers, for the DDL that must not rebuild
/// them: an ALTER TABLE under `check_function_bodies = off` (pg_restore creates the triggers
/// itself, one statement at a time), and an ALTER TYPE, which did not lock the table (a
/// rebuild would lock it until that transaction ends: anyone's ALTER TYPE of a type of
/// theirs would lock other roles' tables).
#[pg_extern(volatile, parallel_unsafe)]
fn _check_source(source: PgRelation) -> SqlResult<()> {
    ffi::with_fixed_settings(|| revalidate_source(source.oid(), Rebuild::Nothing))?;
    Ok(())
}

/// Whether a catalog row with this `xmin` was written by this transaction (0.18.0): the
/// ALTER TABLE hook (sql/ddl.sql) tells a table that command attached as a partition, or
/// made an inheritance child, by its pg_inherits row, from one attached or made so before
/// (metrics defined on such tables before are left as they were). The xid is read as the
/// 4-byte integer Postgres passes it by (0.20.0): pgrx's own xid read one a join had carried
/// (sign-extended, as any 4-byte value a tuple gives) as NULL from 2^31 on, so the hook failed
/// with XX000 once the database had used that many transaction ids (found while adding xid
/// metrics). Same SQL signature as 0.18.0's.
#[pg_extern(
    volatile,
    strict,
    parallel_unsafe,
    sql = "CREATE FUNCTION tally._written_now(\"xmin\" xid) RETURNS bool
VOLATILE STRICT PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_written_now_wrapper';"
)]
fn _written_now(xmin: i32) -> bool {
    ffi::is_current_transaction(pg_sys::TransactionId::from_inner(xmin as u32))
}

/// Called first by the DDL hooks (sql/ddl.sql). In a REPEATABLE READ or SERIALIZABLE
/// transaction, the hooks read the metrics in the transaction's snapshot, which may predate
/// a metric defined (or dropped) while the DDL waited for its locks: an ALTER TYPE would not
/// follow a renamed label for it, a rewrite would not recompute it. Such a DDL is refused as
/// a serialization failure (40001), which a client retries. READ COMMITTED reads the
/// metrics anew in each statement of the hooks, after the DDL's locks were granted.
#[pg_extern(volatile, parallel_unsafe)]
fn _require_current_metrics() -> SqlResult<()> {
    if ffi::is_read_committed() {
        return Ok(());
    }
    Spi::connect_mut(|client| -> Result<()> {
        let in_snapshot = client
            .select(crate::sql::METRIC_IDS_SQL, Some(1), &[])?
            .first()
            .get_one::<String>()?;
        let snapshot = ffi::Snapshot::latest();
        let (_, latest) = ffi::execute_in_snapshot(
            &snapshot,
            &crate::sql::METRIC_IDS_SQL,
            &[],
            &[pg_sys::TEXTOID],
        )?;
        snapshot.release();
        let latest = latest.and_then(|row| row.first().and_then(ffi::SpiValue::text));
        if latest != in_snapshot {
            return Err(TallyError::MetricsChangedSinceSnapshot);
        }
        Ok(())
    })?;
    Ok(())
}

/// What a revalidation rebuilds besides checking.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rebuild {
    /// The triggers, and the counters of a partitioned source (ATTACH / DETACH PARTITION).
    Triggers,
    Nothing,
}

fn revalidate_source(source: pg_sys::Oid, rebuild: Rebuild) -> Result<()> {
    Spi::connect_mut(|client| -> Result<()> {
        let metrics = Metric::load_for_source(client, source)?;
        let Some(first) = metrics.first() else {
            return Ok(());
        };
        // The metrics a column they read changed type for (recorded now; the statement's
        // failure below takes the record back with it).
        let retyped = follow_read_types(client, first.source_oid)?;
        for metric in &metrics {
            let request = Request {
                name: &metric.name,
                source: Some(metric.source_oid),
                aggregate: metric.aggregate.as_str(),
                value: metric.value.as_ref().map(|value| match value {
                    Value::Column(name) => ValueRequest::Column(name),
                    Value::Expression(expression) => ValueRequest::Expression(expression.as_str()),
                }),
                filter: metric.filter.as_ref().map(|f| f.as_str()),
                group_by: metric.group_by.iter().map(String::as_str).collect(),
                bucket: metric.bucket.map(Bucket::as_str),
                bucket_column: metric.bucket_column.as_deref(),
                time_zone: &metric.time_zone,
            };
            let validation = Validation::Existing {
                retyped: retyped.contains(&metric.id),
            };
            let valid = validate(client, &request, validation).map_err(|cause| {
                TallyError::SourceChangeBreaks {
                    metric: metric.name.clone(),
                    cause: cause.to_string(),
                }
            })?;
            // A column's collation renamed, moved or changed for another (0.15.0) is
            // followed by the reads, which find it through the column; the catalog keeps the
            // name it was defined with, which only errors show (writing it here would lock
            // the row until the renamer's transaction ends: found by a hostile probe).
            // (A 0.14.0 catalog's readers order by the stored name: not there.)
            let of_column = matches!(metric.value, Some(Value::Column(_)))
                && crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_15);
            // Only a grouped metric, or one over an array or a row (0.24.0: of enums, maybe),
            // can have saved key enums to follow (no query for every other metric).
            let may_key_enums = !metric.group_by.is_empty()
                || matches!(
                    metric.value_kind.value_type,
                    ValueType::Array | ValueType::Record
                );
            if may_key_enums
                && crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_16)
            {
                follow_key_enums(client, metric.id, &valid.key_enums)?;
            }
            if !valid.value_kind.keeps_as(&metric.value_kind, of_column) {
                // The change queries encode values by the type the metric was defined over,
                // and its counters hold them so: a new type needs a new metric.
                return Err(TallyError::SourceChangeBreaks {
                    metric: metric.name.clone(),
                    cause: format!(
                        "it tracks values of type {}, which would become {}",
                        metric.value_kind.describe(),
                        valid.value_kind.describe()
                    ),
                });
            }
        }
        let relabelled = follow_enum_labels(client, first.source_oid, &first.source)?;
        if rebuild == Rebuild::Triggers {
            trigger::reinstall_if_present(client, first.source_oid)?;
            if is_partitioned(client, first.source_oid)? {
                // ATTACH / DETACH PARTITION add or remove rows without any DML.
                return crate::fold::storage::recompute_source(client, first.source_oid);
            }
        }
        // A rewrite of the table (sql/ddl.sql, tally._on_table_rewrite) marked its metrics
        // broken: the values they read may have changed. A column they read changed type
        // without a rewrite: what they compute may have.
        for metric in metrics
            .iter()
            .filter(|m| m.broken.is_some() || retyped.contains(&m.id) || relabelled.contains(&m.id))
        {
            crate::fold::storage::recompute(metric)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Records the types of the columns the metrics of `source` read (`tally._read_types`) and
/// returns the metrics for which they changed since they were last recorded.
fn follow_read_types(client: &mut SpiClient<'_>, source: pg_sys::Oid) -> Result<Vec<i32>> {
    Ok(client
        .update(crate::sql::FOLLOW_READ_TYPES_SQL, Some(1), &[source.into()])?
        .first()
        .get::<Vec<i32>>(1)?
        .unwrap_or_default())
}

/// Saves the labels of the enums the metrics of `source` read and returns the metrics one of
/// whose labels was renamed (0.13.0): their counters keep values by label, so they are
/// recomputed. The enums are locked against other renames and additions first, and their
/// labels read in the latest snapshot (a REPEATABLE READ transaction's own could predate a
/// label added since, and save a list that hides that label's later rename). A writer that
/// read the old label may not have committed yet: the table is locked against writers
/// before the recompute (until this transaction ends, which a rename of a label justifies;
/// adding a label changes nothing kept and locks no table).
fn follow_enum_labels(
    client: &mut SpiClient<'_>,
    source_oid: pg_sys::Oid,
    source: &crate::sql::Relation,
) -> Result<Vec<i32>> {
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_13) {
        return Ok(Vec::new());
    }
    let enums = client
        .select(
            crate::sql::enums_of_source_sql(crate::model::installed::catalog()),
            Some(1),
            &[source_oid.into()],
        )?
        .first()
        .get::<Vec<pg_sys::Oid>>(1)?
        .unwrap_or_default();
    if enums.is_empty() {
        return Ok(Vec::new());
    }
    enums.iter().copied().for_each(ffi::enums::lock_labels);
    let snapshot = ffi::Snapshot::latest();
    let (_, row) = ffi::execute_in_snapshot(
        &snapshot,
        &crate::sql::follow_enum_labels_sql(crate::model::installed::catalog()),
        &[ffi::SpiValue::of_oid(source_oid)],
        &[pg_sys::TEXTOID],
    )?;
    snapshot.release();
    let relabelled: Vec<i32> = row
        .and_then(|row| row.first().and_then(ffi::SpiValue::text))
        .unwrap_or_default()
        .split(',')
        .filter_map(|id| id.parse().ok())
        .collect();
    if !relabelled.is_empty() {
        client.update(crate::sql::lock_out_writers_sql(source).as_str(), None, &[])?;
    }
    Ok(relabelled)
}

fn is_partitioned(client: &SpiClient<'_>, table: pg_sys::Oid) -> Result<bool> {
    Ok(client
        .select(
            "SELECT relkind = 'p' FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
            Some(1),
            &[table.into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

struct Request<'a> {
    name: &'a str,
    source: Option<pg_sys::Oid>,
    aggregate: &'a str,
    value: Option<ValueRequest<'a>>,
    filter: Option<&'a str>,
    /// No column, one (the text form names it), or several (the array form).
    group_by: Vec<&'a str>,
    bucket: Option<&'a str>,
    bucket_column: Option<&'a str>,
    time_zone: &'a str,
}

/// What `column_name` was given as.
#[derive(Clone, Copy)]
enum ValueRequest<'a> {
    /// From the caller: a column when it names one, or looks like a name (a misspelled
    /// column is reported as one); otherwise one expression over the row's columns.
    ColumnOrExpression(&'a str),
    /// A stored metric's column.
    Column(&'a str),
    /// A stored metric's value expression: checked again as an expression, whatever columns
    /// the table has gained since (a column named like its text must not change its meaning).
    Expression(&'a str),
}

/// What validation produced: the canonical values to store.
struct Validated {
    source: Source,
    aggregate: Aggregate,
    /// The column, or the canonical text of the value expression.
    value: Option<Value>,
    /// The type of the values a min, max, count_distinct, sum or avg metric reads (numeric
    /// for count, and for numbers).
    value_kind: ValueKind,
    /// The group columns, as the catalog spells them.
    group_by: Vec<String>,
    /// The enums whose labels the metric's keys hold, each once: those its group columns
    /// are of (0.16.0), and (0.24.0) those of its value's array elements or row fields.
    /// Their labels are saved (`tally._group_enum`, named for its first use) so that a
    /// label renamed is followed.
    key_enums: Vec<pg_sys::Oid>,
    bucket: Option<Bucket>,
    time_zone: String,
    filter: Option<String>,
    depends_on: Vec<String>,
}

fn define(client: &mut SpiClient<'_>, request: &Request<'_>) -> Result<Metric> {
    if !ffi::is_read_committed() {
        // The backfill must see every row committed before the table lock was granted.
        return Err(TallyError::NeedsReadCommitted("tally.create_metric"));
    }
    // Before anything is parsed (0.15.0, found by a hostile probe): an ALTER SCHEMA, TYPE or
    // DOMAIN whose hook is running or has run waits for this metric's commit, or this waits
    // for its, so the hook checks this metric, or this parses what it renamed (the
    // hooks take SHARE on tally._metric: sql/ddl.sql).
    // SHARE ROW EXCLUSIVE: it conflicts with SHARE and with another definition, not with
    // writers or reads; taken directly, as the source's lock is (an SPI statement would ask
    // for a transaction id first, which a standby refuses with an internal error).
    let metrics = ffi::tally_schema()
        .and_then(|schema| ffi::relation_in(schema, c"_metric"))
        .ok_or(TallyError::CatalogOutdated)?;
    ffi::lock_table(metrics, pg_sys::ShareRowExclusiveLock);
    let valid = validate(client, request, Validation::New)?;
    refuse_unseen_writes(client, valid.source.oid)?;
    // Before the table, as an ALTER TYPE's hook takes them (the enum, then the table): the
    // labels this metric saves stay the enums' until it commits.
    valid
        .value_kind
        .enum_type
        .iter()
        .chain(&valid.key_enums)
        .copied()
        .for_each(ffi::enums::lock_labels);
    lock_source(valid.source.oid);
    // Once more, now that the table is locked (0.18.0, found by hostile probes), in a
    // snapshot taken after the lock: the checks above read the catalog as this statement
    // began, before any wait for the lock, and an ALTER TABLE (a column's new type), ATTACH
    // PARTITION or INHERIT that committed meanwhile shows only now.
    ffi::with_latest_snapshot(|| recheck_locked(client, request, &valid))?;
    let id = insert_definition(client, request, &valid)?;
    let metric = Metric::load(client, request.name)?;
    debug_assert_eq!(metric.id, id);
    backfill(&metric)?;
    trigger::install(client, valid.source.oid)?;
    // Records what the new metric reads (it had nothing recorded: it is not among those
    // returned). Another metric of the table whose columns changed type while the ALTER
    // TABLE hook did not run is recomputed here.
    let retyped = follow_read_types(client, valid.source.oid)?;
    if !retyped.is_empty() {
        for other in Metric::load_for_source(client, valid.source.oid)?
            .iter()
            .filter(|m| retyped.contains(&m.id))
        {
            crate::fold::storage::recompute(other)?;
        }
    }
    warn_if_subscribed(client, &metric.name, &valid.source)?;
    Ok(metric)
}

/// Warns when a logical replication subscription writes into the source (or one of its
/// partitions): the apply worker fires row triggers only, never statement triggers, so
/// pg_tally's figures would not follow the replicated changes (docs/scaling.md).
/// `pg_subscription_rel` is readable by everyone; a subscription created later is not
/// seen here, and `tally.verify` reports the drift either way.
fn warn_if_subscribed(client: &SpiClient<'_>, metric: &str, source: &Source) -> Result<()> {
    let subscriptions = client
        .select(
            "SELECT pg_catalog.string_agg(DISTINCT s.subname::pg_catalog.text, ', ') \
               FROM pg_catalog.pg_subscription_rel r \
               JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid \
              WHERE r.srrelid = $1::pg_catalog.oid \
                 OR r.srrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid))",
            Some(1),
            &[source.oid.into()],
        )?
        .first()
        .get::<String>(1)?;
    if let Some(subscriptions) = subscriptions {
        ErrorReport::new(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!(
                "metric \"{metric}\" will not count the rows that logical replication writes into {}",
                source.relation
            ),
            "pg_tally",
        )
        .set_detail(format!(
            "Subscription {subscriptions} writes into this table, and the apply worker fires no \
             statement trigger for the rows it inserts, updates or deletes: the figures follow \
             local writes only."
        ))
        .set_hint(
            "Define the metric on the publisher and read it there or on a streaming replica, \
             or run tally.refresh() for this table's metrics after replication catches up.",
        )
        .report(PgLogLevel::WARNING);
    }
    Ok(())
}

/// What a validation checks a definition as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Validation {
    /// A metric being defined.
    New,
    /// A metric's definition again, after a change to its table (the DDL hook); `retyped`
    /// when a column it reads changed type.
    Existing { retyped: bool },
}

fn validate(
    client: &mut SpiClient<'_>,
    request: &Request<'_>,
    validation: Validation,
) -> Result<Validated> {
    let is_new = validation == Validation::New;
    if request.name.is_empty() {
        return Err(TallyError::EmptyName("metric name"));
    }
    if is_new && metric_exists(client, request.name)? {
        return Err(TallyError::DuplicateMetric(request.name.to_string()));
    }
    let source = check_source(client, request.source)?;
    crate::fold::storage::require_whole_table_readable(source.oid, &source.relation)?;
    let aggregate = Aggregate::parse(request.aggregate)?;
    let mut depends_on = Vec::new();
    let mut key_enums = Vec::new();

    let (value, value_kind) = match (request.value, aggregate.needs_column()) {
        (None, true) => return Err(TallyError::MissingColumn(aggregate.as_str().into())),
        (None, false) => (None, ValueKind::of(ValueType::Numeric)),
        (Some(value), _) => {
            let (value, value_kind) = check_value(
                client,
                &source,
                aggregate,
                value,
                &mut depends_on,
                &mut key_enums,
            )?;
            // 0.17.0: a value that reads no column is the same for every row (a count of
            // rows names no column); refused with what it is.
            if is_new && matches!(value, Value::Expression(_)) && depends_on.is_empty() {
                return Err(TallyError::ConstantValue(aggregate.as_str().into()));
            }
            (Some(value), value_kind)
        }
    };

    let (group_by, group_enums) = check_group_by(client, &source, &request.group_by, validation)?;
    for enum_type in group_enums {
        note_enum(&mut key_enums, enum_type);
    }
    depends_on.extend(group_by.iter().cloned());

    let bucket = match (request.bucket, request.bucket_column) {
        (None, None) => None,
        (Some(bucket), Some(name)) => {
            let bucket = Bucket::parse(bucket)?;
            if !catalog_takes(client, bucket)? {
                return Err(TallyError::CatalogOutdated);
            }
            let column = find_column(client, &source, name, "bucket_column")?;
            if !BUCKET_TYPES.contains(&column.type_oid) {
                return Err(TallyError::WrongBucketType {
                    column: column.name,
                    type_name: column.type_name,
                });
            }
            depends_on.push(column.name);
            Some(bucket)
        }
        _ => return Err(TallyError::BucketPairing),
    };
    let time_zone = canonical_time_zone(client, request.time_zone)?;

    let filter = match request.filter {
        None => None,
        Some(text) => {
            let checked = check_filter(&source, text)?;
            refuse_unreadable_columns(client, &source, &checked.columns, ExpressionRole::Filter)?;
            depends_on.extend(checked.columns);
            Some(checked.canonical)
        }
    };
    depends_on.sort();
    depends_on.dedup();
    refuse_temporary_dependencies(client, &source, &depends_on)?;
    Ok(Validated {
        source,
        aggregate,
        value,
        value_kind,
        group_by,
        key_enums,
        bucket,
        time_zone,
        filter,
        depends_on,
    })
}

/// The caller must own the table (be a member of its owner role, or a superuser).
pub fn require_owner(client: &SpiClient<'_>, table: pg_sys::Oid) -> Result<()> {
    check_source(client, Some(table)).map(|_| ())
}

fn check_source(client: &SpiClient<'_>, oid: Option<pg_sys::Oid>) -> Result<Source> {
    let oid = oid.ok_or(TallyError::EmptyName("source"))?;
    let row = client
        .select(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relkind::pg_catalog.text, \
                    pg_catalog.pg_has_role($2::pg_catalog.oid, c.relowner, 'USAGE'), c.relowner, \
                    c.relpersistence = 't', \
                    c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) \
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.oid = $1::pg_catalog.oid",
            Some(1),
            &[oid.into(), ffi::caller().into()],
        )?
        .first();
    let quoted = row
        .get::<String>(1)?
        .ok_or_else(|| TallyError::Internal("source vanished".into()))?;
    let kind = row.get::<String>(2)?.unwrap_or_default();
    let owns = row.get::<bool>(3)?.unwrap_or(false);
    let owner = row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid);
    // A temporary table vanishes with its session, and its metric with no one left to drop it.
    let temporary = row.get::<bool>(5)?.unwrap_or(false);
    // Rows of an inheritance child are read with the parent's but written without its
    // triggers: its figures would drift.
    let inherited = row.get::<bool>(6)?.unwrap_or(false);
    if kind != "r" && kind != "p" || temporary || inherited {
        let kind = match (temporary, inherited) {
            (true, _) => "t",
            (_, true) => "h",
            _ => kind.as_str(),
        };
        let kind = match kind {
            "t" => "temporary table",
            "h" => "table with inheritance children",
            "v" => "view",
            "m" => "materialized view",
            "f" => "foreign table",
            "S" => "sequence",
            "i" | "I" => "index",
            _ => "relation of another kind",
        };
        return Err(TallyError::NotATable {
            relation: quoted,
            kind: kind.into(),
        });
    }
    if !owns {
        return Err(TallyError::NotOwner(quoted));
    }
    Ok(Source {
        oid,
        owner,
        relation: crate::sql::Relation::from_catalog(quoted),
    })
}

/// Column `name` of the source (named as `role`): it must exist and be one the write path
/// can read.
fn find_column(
    client: &SpiClient<'_>,
    source: &Source,
    name: &str,
    role: &'static str,
) -> Result<Column> {
    require_column(
        client,
        source,
        name,
        role,
        lookup_column(client, source, name)?,
    )
}

/// `find_column` of a column already looked up (`found`).
fn require_column(
    client: &SpiClient<'_>,
    source: &Source,
    name: &str,
    role: &'static str,
    found: Option<Column>,
) -> Result<Column> {
    let column = found.ok_or_else(|| TallyError::UnknownColumn {
        table: source.relation.to_string(),
        column: name.to_string(),
        role,
    })?;
    refuse_virtual(client, source, &[name.to_string()], role)?;
    Ok(column)
}

/// Column `name` of the source, if it has one.
fn lookup_column(client: &SpiClient<'_>, source: &Source, name: &str) -> Result<Option<Column>> {
    let rows = client.select(
        "SELECT a.attname::pg_catalog.text, a.atttypid::pg_catalog.int8, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                a.attcollation \
           FROM pg_catalog.pg_attribute a \
          WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        Some(1),
        &[source.oid.into(), name.into()],
    )?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Column {
        name: row.get::<String>(1)?.unwrap_or_default(),
        type_oid: pg_sys::Oid::from(row.get::<i64>(2)?.unwrap_or_default() as u32),
        type_name: row.get::<String>(3)?.unwrap_or_default(),
        collation: row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
    }))
}

/// Whether this database's catalog takes `bucket`: 0.10.0 added quarter and year, 0.11.0
/// the fixed widths, which the constraint of an older catalog refuses (between installing
/// the library and `ALTER EXTENSION pg_tally UPDATE`, when the other buckets work on).
fn catalog_takes(client: &SpiClient<'_>, bucket: Bucket) -> Result<bool> {
    if matches!(
        bucket,
        Bucket::Hour | Bucket::Day | Bucket::Week | Bucket::Month
    ) {
        return Ok(true);
    }
    Ok(client
        .select(
            "SELECT pg_catalog.strpos(pg_catalog.pg_get_constraintdef(c.oid), pg_catalog.quote_literal($1)) > 0 \
               FROM pg_catalog.pg_constraint c \
              WHERE c.conrelid = 'tally._metric'::pg_catalog.regclass AND c.conname = '_metric_bucket_check'",
            Some(1),
            &[bucket.as_str().into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false))
}

/// The columns a filter or value expression reads must be readable by the write path
/// (`refuse_virtual`) and of types no other role can add casts from (`refuse_foreign_types`).
fn refuse_unreadable_columns(
    client: &SpiClient<'_>,
    source: &Source,
    columns: &[String],
    role: ExpressionRole,
) -> Result<()> {
    let argument = match role {
        ExpressionRole::Filter => "filter",
        ExpressionRole::Value | ExpressionRole::GroupKey => "column_name",
    };
    refuse_virtual(client, source, columns, argument)?;
    refuse_foreign_types(client, source, columns, role)
}

/// Fails when the metric would depend on an object in a temporary schema (0.13.0, found by
/// two hostile probes): Postgres drops a session's temporary objects when it ends, and with
/// them, by cascade, whatever depends on them, firing no event trigger. A column the metric
/// reads (of a temporary type or collation, a range over one, a domain over one; generated
/// from a temporary function), or the table itself or one of its partitions (a typed table of
/// a temporary type; a partition key over a temporary function or collation) would vanish so:
/// the metric would keep a stale figure, unmarked, and the table's writes would fail, or rows
/// would leave the table unseen. This follows `pg_depend` from the table and each partition
/// (their own dependencies, not their other columns'), each column read and the generation
/// expression of a generated one, through every object they depend on (a composite type's
/// attributes included; built-in objects, which depend on nothing temporary, not followed),
/// and names the first temporary one found, not its schema, as `pg_temp.name` whichever
/// session's it is.
fn refuse_temporary_dependencies(
    client: &SpiClient<'_>,
    source: &Source,
    columns: &[String],
) -> Result<()> {
    let temporary = first_text_over_columns(
        client,
        "WITH RECURSIVE tables(relid) AS ( \
                 SELECT $1::pg_catalog.regclass \
                 UNION SELECT t.relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass) t), \
             used(attrelid, attnum, generated) AS ( \
                 SELECT a.attrelid, a.attnum, a.attgenerated <> '' \
                   FROM tables t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid \
                  WHERE a.attname = ANY ($2::pg_catalog.text[]) AND a.attnum > 0 AND NOT a.attisdropped), \
             reached(classid, objid, objsubid) AS ( \
                 SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, t.relid::pg_catalog.oid, 0 \
                   FROM tables t \
                 UNION \
                 SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, u.attrelid, u.attnum::pg_catalog.int4 \
                   FROM used u \
                 UNION \
                 SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid, ad.oid, 0 \
                   FROM used u JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = u.attrelid AND ad.adnum = u.attnum \
                  WHERE u.generated \
                 UNION \
                 SELECT d.refclassid, d.refobjid, d.refobjsubid FROM reached r \
                   JOIN pg_catalog.pg_depend d ON d.classid = r.classid AND d.objid = r.objid \
                    AND (d.objsubid = r.objsubid \
                         OR r.classid <> 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid \
                         OR (r.objsubid = 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
                                                         WHERE c.oid = r.objid AND c.relkind = 'c'))) \
                  WHERE d.refobjid >= 16384::pg_catalog.oid) \
             SELECT pg_catalog.regexp_replace(i.type || ' ' || i.identity, 'pg_(toast_)?temp_[0-9]+', 'pg_temp', 'g') \
               FROM reached r \
              CROSS JOIN LATERAL pg_catalog.pg_identify_object(r.classid, r.objid, r.objsubid) i \
              WHERE i.schema ~ '^pg_(toast_)?temp' \
                 OR (r.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid \
                     AND i.name ~ '^pg_(toast_)?temp') \
              ORDER BY r.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid, 1 LIMIT 1",
        source,
        columns,
    )?;
    match temporary {
        Some(object) => Err(TallyError::TemporaryObject { object }),
        None => Ok(()),
    }
}

/// Fails when an expression reads a column whose type, or a type it is made of (an array's
/// element, a domain's base, a range's subtype, a multirange's range, a composite's
/// attributes, all the way down), is neither built in nor owned by the table's owner: built-in
/// functions reach each of them (`upper(multirange)`). The stored text is parsed again on every
/// write, and whoever owns a type the expression meets may add a cast from it (CREATE CAST
/// needs only that) or an implicit one, which the same text would then run: as the table's
/// owner, a superuser for a superuser's table (0.11.0, found by a hostile probe). Types of
/// the owner's own can only be changed by it; the bootstrap superuser's (0.21.0: such as
/// citext's when a role that is no superuser created the extension, whose script then runs as
/// that role, or when that role did) only by a superuser, who could run anything as anyone
/// anyway. Not another superuser's: REASSIGN OWNED BY that role, which fires no event
/// trigger, could give its types to anyone (found by a hostile probe); Postgres refuses it
/// for the bootstrap superuser's objects. (That role can lose SUPERUSER on PostgreSQL 15
/// only: its types count as foreign again then.)
fn refuse_foreign_types(
    client: &SpiClient<'_>,
    source: &Source,
    columns: &[String],
    role: ExpressionRole,
) -> Result<()> {
    let foreign = client
        .select(
            "WITH RECURSIVE used(column_name, type_oid) AS ( \
                 SELECT a.attname::pg_catalog.text, a.atttypid FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = ANY ($2::pg_catalog.text[]) \
                    AND a.attnum > 0 AND NOT a.attisdropped \
                 UNION \
                 SELECT u.column_name, n.type_oid FROM used u \
                   JOIN pg_catalog.pg_type t ON t.oid = u.type_oid \
                  CROSS JOIN LATERAL ( \
                        VALUES (t.typelem), (t.typbasetype), \
                               ((SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)), \
                               ((SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid)) \
                        UNION ALL \
                        SELECT f.atttypid FROM pg_catalog.pg_attribute f \
                         WHERE t.typrelid <> 0 AND f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped \
                  ) n(type_oid) \
                  WHERE n.type_oid IS NOT NULL AND n.type_oid <> 0) \
             SELECT pg_catalog.format('column \"%s\" uses type %s, which neither the table''s owner nor the bootstrap superuser owns', \
                                      u.column_name, pg_catalog.format_type(u.type_oid, NULL)) \
               FROM used u JOIN pg_catalog.pg_type t ON t.oid = u.type_oid \
              WHERE u.type_oid >= 16384::pg_catalog.oid AND t.typowner <> $3::pg_catalog.oid \
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_roles r \
                                 WHERE r.oid = t.typowner AND r.oid = $4::pg_catalog.oid AND r.rolsuper) \
              ORDER BY 1 LIMIT 1",
            Some(1),
            &[
                source.oid.into(),
                columns.to_vec().into(),
                source.owner.into(),
                pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID).into(),
            ],
        )?
        .next()
        .map(|row| row.get::<String>(1))
        .transpose()?
        .flatten();
    match foreign {
        Some(message) => Err(TallyError::ExpressionNotAllowed {
            role,
            code: pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            message,
        }),
        None => Ok(()),
    }
}

/// The text the first row of `query` gives (NULL as None), run over the source's oid (`$1`)
/// and the names of `columns` (`$2`): the checks of the columns a metric reads.
fn first_text_over_columns(
    client: &SpiClient<'_>,
    query: &str,
    source: &Source,
    columns: &[String],
) -> Result<Option<String>> {
    Ok(client
        .select(
            query,
            Some(1),
            &[source.oid.into(), columns.to_vec().into()],
        )?
        .next()
        .map(|row| row.get::<String>(1))
        .transpose()?
        .flatten())
}

/// Fails when one of `columns` of the source is a VIRTUAL generated column (PostgreSQL 18):
/// its value is computed when a query reads the row, not stored, so the write path, which
/// reads the rows a statement stored (transition tables, the single-row path's tuple), would
/// see NULL, and a statement over them fails. Before 18 no column is virtual.
fn refuse_virtual(
    client: &SpiClient<'_>,
    source: &Source,
    columns: &[String],
    role: &'static str,
) -> Result<()> {
    let virtual_column = first_text_over_columns(
        client,
        "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a \
          WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = ANY ($2::pg_catalog.text[]) \
            AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = 'v' \
          ORDER BY a.attnum LIMIT 1",
        source,
        columns,
    )?;
    match virtual_column {
        Some(column) => Err(TallyError::VirtualColumn {
            table: source.relation.to_string(),
            column,
            role,
        }),
        None => Ok(()),
    }
}

fn canonical_time_zone(client: &SpiClient<'_>, zone: &str) -> Result<String> {
    let found = client
        .select(
            "SELECT name FROM pg_catalog.pg_timezone_names WHERE pg_catalog.lower(name) = pg_catalog.lower($1) \
              ORDER BY name = $1 DESC LIMIT 1",
            Some(1),
            &[zone.into()],
        )?
        .next()
        .map(|row| row.get::<String>(1))
        .transpose()?
        .flatten();
    found.ok_or_else(|| TallyError::BadTimeZone(zone.to_string()))
}

/// Group columns: each names a column of the source once, with a stable text form; several
/// (at most `MAX_GROUP_COLUMNS`) need the 0.11.0 catalog. With the enums they are of.
fn check_group_by(
    client: &SpiClient<'_>,
    source: &Source,
    names: &[&str],
    validation: Validation,
) -> Result<(Vec<String>, Vec<pg_sys::Oid>)> {
    if names.len() > MAX_GROUP_COLUMNS {
        return Err(TallyError::TooManyGroupColumns(names.len()));
    }
    if names.len() > 1 && !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_11) {
        return Err(TallyError::CatalogOutdated);
    }
    let mut columns: Vec<String> = Vec::with_capacity(names.len());
    let mut enums: Vec<pg_sys::Oid> = Vec::new();
    for name in names {
        let column = find_column(client, source, name, "group_by")?;
        if columns.contains(&column.name) {
            return Err(TallyError::RepeatedGroupColumn(column.name));
        }
        match validation {
            Validation::New => check_new_group_column(&column)?,
            // A stored metric's group column changed to such a type (ALTER TABLE ... TYPE
            // citext, cube, seg: found by hostile probes): its groups would keep apart what
            // the type's equality takes as one (`(0)` and `(-0)` as cubes). A metric grouped
            // by one before 0.16.0 keeps working while its columns keep their types.
            Validation::Existing { retyped: true } => require_known_group_equality(&column)?,
            Validation::Existing { retyped: false } => {}
        }
        if let Some(enum_type) = check_group_text_form(source, &column)? {
            if !enums.contains(&enum_type) {
                enums.push(enum_type);
            }
        }
        columns.push(column.name);
    }
    Ok((columns, enums))
}

/// What a new metric's group column must be besides (0.16.0, found by a hostile probe;
/// metrics defined before keep working while their columns keep their types): of a built-in
/// type or an enum (a type an extension or a role created may equate what its text cast
/// writes apart: citext, case-insensitive), and in a database not encoded in UTF8 of a type
/// whose text is ASCII (the reads return keys as UTF-8).
fn check_new_group_column(column: &Column) -> Result<()> {
    require_known_group_equality(column)?;
    let base = ffi::datetime::base_type(column.type_oid);
    if !ffi::database_is_utf8() && !ASCII_TEXT_TYPES.contains(&base) {
        return Err(TallyError::GroupNotUtf8 {
            what: format!("column \"{}\" of type {}", column.name, column.type_name),
        });
    }
    Ok(())
}

/// A group column must be of a built-in type or an enum (0.16.0 for new metrics; 0.21.0 for a
/// column an ALTER TABLE changes): pg_tally groups by the text form, which only those
/// types' equality follows.
fn require_known_group_equality(column: &Column) -> Result<()> {
    let base = ffi::datetime::base_type(column.type_oid);
    if base.to_u32() >= pg_sys::FirstNormalObjectId && !ffi::enums::is_enum(base) {
        return Err(TallyError::UnknownGroupEquality {
            column: column.name.clone(),
            type_name: column.type_name.clone(),
        });
    }
    Ok(())
}

/// The group column types whose key is ASCII whatever the values (numbers, booleans, uuids,
/// dates and times, network addresses, bit strings).
const ASCII_TEXT_TYPES: [pg_sys::Oid; 17] = [
    pg_sys::INT2OID,
    pg_sys::INT4OID,
    pg_sys::INT8OID,
    pg_sys::NUMERICOID,
    pg_sys::FLOAT4OID,
    pg_sys::FLOAT8OID,
    pg_sys::BOOLOID,
    pg_sys::UUIDOID,
    pg_sys::DATEOID,
    pg_sys::TIMESTAMPOID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::INETOID,
    pg_sys::CIDROID,
    pg_sys::MACADDROID,
    pg_sys::MACADDR8OID,
    pg_sys::BITOID,
    pg_sys::VARBITOID,
];

/// A new metric may not be defined on a partition (0.16.0, found by a hostile probe), nor
/// on an inheritance child (0.18.0, found by a hostile probe): rows written through its
/// parent (a partition's), or changed by its parent's UPDATE or DELETE (a child's), fire no
/// statement trigger of it, so its figures would miss them. (Metrics defined on one before
/// keep working as they did.)
fn refuse_unseen_writes(client: &SpiClient<'_>, table: pg_sys::Oid) -> Result<()> {
    let row = client
        .select(crate::sql::PARTITION_ROOT_SQL, Some(1), &[table.into()])?
        .first();
    if let (Some(relation), Some(root)) = (row.get::<String>(1)?, row.get::<String>(2)?) {
        return Err(TallyError::PartitionSource { relation, root });
    }
    if let Some(relation) = row.get::<String>(3)? {
        return Err(TallyError::NotATable {
            relation,
            kind: "child table of an inheritance parent".into(),
        });
    }
    Ok(())
}

/// `define`'s checks again once the source is locked, in a new snapshot (`define`): the
/// definition must be what it was (else 40001: the table changed while it was being defined,
/// and running it again defines it as the table now is), and the table still no partition or
/// inheritance child.
fn recheck_locked(
    client: &mut SpiClient<'_>,
    request: &Request<'_>,
    valid: &Validated,
) -> Result<()> {
    let again = validate(client, request, Validation::New)?;
    refuse_unseen_writes(client, again.source.oid)?;
    if again.value != valid.value
        || again.value_kind != valid.value_kind
        || again.group_by != valid.group_by
        || again.key_enums != valid.key_enums
        || again.filter != valid.filter
    {
        return Err(TallyError::SourceChangedDuringDefinition {
            metric: request.name.to_string(),
            relation: again.source.relation.to_string(),
        });
    }
    Ok(())
}

/// The most columns a metric groups by: a dashboard's breakdown, not a table's key.
const MAX_GROUP_COLUMNS: usize = 8;

/// A group key is the column's text form; it must not depend on session settings (a
/// timestamptz prints in the session's TimeZone), or two sessions would count one row in
/// two groups. An enum, a date or a timestamp (0.16.0, a 0.16.0 catalog) is keyed by
/// pg_tally's own text of it (`model::group_key`), as are numerics without a scale, floats
/// and jsonb there; for any other type Postgres judges: the cast must be usable in an index
/// expression. The enum a column is of, if it is.
fn check_group_text_form(source: &Source, column: &Column) -> Result<Option<pg_sys::Oid>> {
    let (base, typmod) = ffi::datetime::column_base_type(source.oid, &column.name);
    let keyed_0_16 = crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_16);
    if crate::model::group_key::requires_group_text(base) {
        if !keyed_0_16 {
            return Err(TallyError::CatalogOutdated);
        }
        if !ffi::enums::is_enum(base) {
            return Ok(None);
        }
        // Labels are keys as UTF-8 (found by a hostile probe: a lossy copy merged two).
        if !ffi::database_is_utf8() {
            return Err(TallyError::GroupNotUtf8 {
                what: format!("enum column \"{}\"", column.name),
            });
        }
        return Ok(Some(base));
    }
    if keyed_0_16 && crate::model::group_key::keyed_by_group_text(base, typmod) {
        return Ok(None);
    }
    if matches!(
        base,
        pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID
    ) && column.collation.to_u32() >= pg_sys::FirstNormalObjectId
    {
        // A collation created after initdb (0.16.0): the key is the text's bytes, its cast
        // runs no collation, and in a deterministic collation equal texts have equal bytes.
        return check_group_collation(column).map(|()| None);
    }
    let expression = crate::sql::text_form_sql(&column.name);
    probe_expression(source, &expression, ExpressionRole::GroupKey, |_, _| Ok(())).map_err(
        |_| TallyError::WrongGroupType {
            column: column.name.clone(),
            type_name: column.type_name.clone(),
        },
    )??;
    Ok(None)
}

/// A text group column in a collation created after initdb is taken when the collation is
/// deterministic (0.16.0): GROUP BY equates texts as their bytes then.
fn check_group_collation(column: &Column) -> Result<()> {
    let (name, deterministic) = ffi::collations::name_and_determinism(column.collation);
    if deterministic {
        return Ok(());
    }
    Err(TallyError::NondeterministicGroupColumn {
        column: column.name.clone(),
        collation: name,
    })
}

/// What `column_name` reads, with the columns it reads added to `depends_on`: a column of
/// the source, or one expression over the row's columns (0.11.0), checked as a filter is;
/// and the type of the values it gives (`value_kind`).
fn check_value(
    client: &SpiClient<'_>,
    source: &Source,
    aggregate: Aggregate,
    request: ValueRequest<'_>,
    depends_on: &mut Vec<String>,
    key_enums: &mut Vec<pg_sys::Oid>,
) -> Result<(Value, ValueKind)> {
    let column = match request {
        ValueRequest::Column(name) => Some(find_column(client, source, name, "column_name")?),
        ValueRequest::Expression(_) => None,
        ValueRequest::ColumnOrExpression(text) => {
            let found = lookup_column(client, source, text)?;
            if found.is_some() || looks_like_a_name(text) {
                Some(require_column(client, source, text, "column_name", found)?)
            } else {
                None
            }
        }
    };
    if let Some(column) = column {
        if aggregate.tracks_values() && compares_as_citext(client, column.type_oid)? {
            if let ValueRequest::Column(_) = request {
                // A stored metric's column, now citext (ALTER TABLE ... TYPE citext): its
                // counters keep apart what citext's equality takes as one value.
                return Err(TallyError::ChangedToCitext {
                    aggregate: aggregate.as_str().into(),
                    column: column.name,
                });
            }
            let what = format!("column \"{}\"", column.name);
            let key = crate::sql::citext_lowered_sql(&column.name);
            return citext_value(client, source, aggregate, &what, &key, depends_on);
        }
        let wrong = || TallyError::WrongColumnType {
            aggregate: aggregate.as_str().into(),
            column: column.name.clone(),
            type_name: column.type_name.clone(),
        };
        let what = format!("column \"{}\"", column.name);
        let value_kind = value_kind(
            client,
            aggregate,
            column.type_oid,
            Collation::OfColumn(column.collation),
            &what,
            wrong,
        )?;
        note_array_enum(key_enums, &value_kind, column.type_oid);
        depends_on.push(column.name.clone());
        return Ok((Value::Column(column.name), value_kind));
    }
    let text = match request {
        ValueRequest::Column(text)
        | ValueRequest::Expression(text)
        | ValueRequest::ColumnOrExpression(text) => text,
    };
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_11) {
        return Err(TallyError::CatalogOutdated);
    }
    if let Some(fields) = row_fields(source, text)? {
        return row_value(client, source, aggregate, &fields, depends_on, key_enums);
    }
    let checked = check_expression(source, text, ExpressionRole::Value)?;
    refuse_unreadable_columns(client, source, &checked.columns, ExpressionRole::Value)?;
    let wrong = || TallyError::WrongValueType {
        aggregate: aggregate.as_str().into(),
        type_name: checked.type_name.clone(),
    };
    let value_kind = value_kind(
        client,
        aggregate,
        checked.type_oid,
        Collation::OfExpression(checked.collation),
        "a value expression",
        wrong,
    )?;
    note_array_enum(key_enums, &value_kind, checked.type_oid);
    depends_on.extend(checked.columns);
    Ok((
        Value::Expression(crate::sql::Expression::stored(checked.canonical)),
        value_kind,
    ))
}

/// Adds `enum_type` to `enums` (`Validated::key_enums`) unless it is there.
fn note_enum(enums: &mut Vec<pg_sys::Oid>, enum_type: pg_sys::Oid) {
    if !enums.contains(&enum_type) {
        enums.push(enum_type);
    }
}

/// Adds to `enums` the enum of the elements of a count_distinct's array of type `type_oid`
/// (a domain's by its base type, an element's too; 0.24.0), whose keys hold their labels.
fn note_array_enum(enums: &mut Vec<pg_sys::Oid>, kind: &ValueKind, type_oid: pg_sys::Oid) {
    if kind.value_type != ValueType::Array {
        return;
    }
    let base = crate::ffi::datetime::base_type(type_oid);
    if let Some(element) = crate::ffi::arrays::element_type_of(base) {
        let element = crate::ffi::datetime::base_type(element);
        if crate::ffi::enums::is_enum(element) {
            note_enum(enums, element);
        }
    }
}

/// Refuses a count_distinct whose keys would hold an enum's labels as an array's elements
/// or a row's fields (0.24.0) where they cannot be kept: on a catalog older than 0.23.0
/// (the library takes them on 0.23.0's, whose `tally._group_enum` saves their labels and
/// whose `tally._tracked_record` reads rows), or in a database whose encoding is not UTF-8
/// (labels are keyed as UTF-8 texts).
fn require_enum_keys(client: &SpiClient<'_>, aggregate: Aggregate) -> Result<()> {
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_23) {
        return Err(TallyError::CatalogOutdated);
    }
    require_utf8(client, aggregate)
}

/// The fields of value expression `text` when it builds an anonymous row (0.23.0,
/// `ffi::expression::row_fields`), None for any other expression; first checked to be one
/// expression, then parsed as the table's owner, as `check_expression` parses it.
fn row_fields(source: &Source, text: &str) -> Result<Option<Vec<RowField>>> {
    let role = ExpressionRole::Value;
    super::sys::check_single_expression(crate::sql::single_expression_sql(text).as_str(), role)?;
    let probe = crate::sql::probe_sql(&source.relation, text);
    let (relid, owner) = (source.oid, source.owner);
    let found = ffi::probe_and_roll_back(move || {
        ffi::as_table_owner(owner, || {
            crate::ffi::expression::row_fields(relid, probe.dependencies.as_str())
        })
    });
    match found {
        Ok(fields) => fields,
        Err(caught) => Err(expression_rejected(caught, role)),
    }
}

/// A count_distinct over a row (0.23.0: "distinct (user, day) pairs", `(user_id, day)`),
/// counted as `count(DISTINCT (user_id, day))` counts: two rows are one value when each
/// field is equal by its type's equality (NULL equal to NULL). Each field is checked as a
/// value expression of its own (`check_expression`: built-in objects only, immutable, its
/// canonical text), or, when it is a column alone, as a column is (`find_column`: a domain
/// of the owner's is read by its base type, as `count_distinct('lvl')` reads it), and must
/// be of a type an array's elements may be (its key is theirs),
/// text in a deterministic collation; the row is stored as `ROW(` its fields' canonical
/// texts `)`, which must parse back to fields of the same types and collations.
fn row_value(
    client: &SpiClient<'_>,
    source: &Source,
    aggregate: Aggregate,
    fields: &[RowField],
    depends_on: &mut Vec<String>,
    key_enums: &mut Vec<pg_sys::Oid>,
) -> Result<(Value, ValueKind)> {
    if aggregate != Aggregate::CountDistinct {
        return Err(TallyError::WrongValueType {
            aggregate: aggregate.as_str().into(),
            type_name: "record".into(),
        });
    }
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_23) {
        return Err(TallyError::CatalogOutdated);
    }
    let mut canonical = Vec::with_capacity(fields.len());
    let mut checked_fields = Vec::with_capacity(fields.len());
    let mut columns = Vec::new();
    for (at, field) in fields.iter().enumerate() {
        let wrong = |type_name| TallyError::WrongRowFieldType {
            field: at + 1,
            type_name,
        };
        // Said first, by the field's parsed type: a nested row never reaches the probe
        // (whose index cannot hold one).
        let parsed = crate::ffi::datetime::base_type(field.type_oid);
        if !crate::ffi::arrays::reads_elements_of(parsed) {
            return Err(wrong(crate::ffi::datetime::type_name(field.type_oid)));
        }
        let checked = match &field.column {
            // A column alone is read as a column is (its type a domain of the owner's, say),
            // kept by its name.
            Some(name) => {
                let column = find_column(client, source, name, "column_name")?;
                CheckedExpression {
                    canonical: crate::sql::Ident::new(&column.name).to_string(),
                    columns: vec![column.name],
                    type_oid: column.type_oid,
                    type_name: column.type_name,
                    collation: column.collation,
                }
            }
            None => {
                let checked = check_expression(source, &field.text, ExpressionRole::Value)?;
                refuse_unreadable_columns(client, source, &checked.columns, ExpressionRole::Value)?;
                checked
            }
        };
        let base = crate::ffi::datetime::base_type(checked.type_oid);
        if !crate::ffi::arrays::reads_elements_of(base) {
            // By the field's own type: the probe's index keeps a name as cstring.
            return Err(wrong(crate::ffi::datetime::type_name(field.type_oid)));
        }
        if crate::ffi::enums::is_enum(base) {
            // 0.24.0: "distinct (customer, status) pairs" over an enum status.
            require_enum_keys(client, aggregate)?;
            note_enum(key_enums, base);
        }
        if matches!(base, pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::NAMEOID) {
            let what = format!("field {} of the row", at + 1);
            check_text_collation(
                client,
                aggregate,
                Collation::OfExpression(checked.collation),
                &what,
            )?;
        }
        canonical.push(checked.canonical);
        checked_fields.push((base, checked.collation));
        columns.extend(checked.columns);
    }
    let stored = crate::sql::row_sql(&canonical);
    let again = row_fields(source, &stored)?.unwrap_or_default();
    let reads_back = again.len() == checked_fields.len()
        && again
            .iter()
            .zip(&checked_fields)
            .all(|(field, (base, collation))| {
                crate::ffi::datetime::base_type(field.type_oid) == *base
                    && field.collation == *collation
            });
    if !reads_back {
        return Err(TallyError::ExpressionNotAllowed {
            role: ExpressionRole::Value,
            code: pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            message: format!("the row does not read back as itself: {stored}"),
        });
    }
    depends_on.extend(columns);
    Ok((
        Value::Expression(crate::sql::Expression::stored(stored)),
        ValueKind::of(ValueType::Record),
    ))
}

/// Whether values of type `type_oid` (a domain's by its base type) compare as citext's
/// (0.21.0): its default btree operator class tests equality with `citext_eq` of the citext
/// library. Only a superuser can create a C function or an operator class (a trusted
/// extension's script runs as one), so a type that passes compares as citext does, whatever
/// it is named; a role's domain or enum named citext does not pass. Asked for columns only:
/// a value expression of type citext is refused as not built in.
fn compares_as_citext(client: &SpiClient<'_>, type_oid: pg_sys::Oid) -> Result<bool> {
    let base = crate::ffi::datetime::base_type(type_oid);
    if base.to_u32() < pg_sys::FirstNormalObjectId {
        return Ok(false);
    }
    Ok(client
        .select(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_opclass c \
                 JOIN pg_catalog.pg_amop o ON o.amopfamily = c.opcfamily AND o.amopstrategy = 3 \
                                          AND o.amoplefttype = c.opcintype AND o.amoprighttype = c.opcintype \
                 JOIN pg_catalog.pg_operator op ON op.oid = o.amopopr \
                 JOIN pg_catalog.pg_proc p ON p.oid = op.oprcode \
                WHERE c.opcmethod = 403 AND c.opcdefault AND c.opcintype = $1 \
                  AND p.prolang = 13 AND p.prosrc = 'citext_eq' AND p.probin = '$libdir/citext')",
            Some(1),
            &[base.into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false))
}

/// A count_distinct over a citext column (0.21.0) counts it as citext's equality tells values
/// apart: by `key` (`sql::citext_lowered_sql`, their text lowered as `citext_eq` lowers it),
/// which is checked and kept as any value expression is, so the metric shows it as its
/// value expression. min and max are refused (`CitextOrder`): citext's order ties values
/// that differ only in case, and which of them a min is depends on the order a scan meets
/// them.
fn citext_value(
    client: &SpiClient<'_>,
    source: &Source,
    aggregate: Aggregate,
    what: &str,
    key: &str,
    depends_on: &mut Vec<String>,
) -> Result<(Value, ValueKind)> {
    if aggregate != Aggregate::CountDistinct {
        return Err(TallyError::CitextOrder {
            aggregate: aggregate.as_str().into(),
            what: what.into(),
        });
    }
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_12) {
        return Err(TallyError::CatalogOutdated);
    }
    let checked = check_expression(source, key, ExpressionRole::Value)?;
    refuse_unreadable_columns(client, source, &checked.columns, ExpressionRole::Value)?;
    let value_kind = value_kind(
        client,
        aggregate,
        checked.type_oid,
        Collation::OfExpression(checked.collation),
        what,
        || TallyError::Internal(format!("citext's lowered text of {what} is not text")),
    )?;
    depends_on.extend(checked.columns);
    Ok((
        Value::Expression(crate::sql::Expression::stored(checked.canonical)),
        value_kind,
    ))
}

/// The type of the values an aggregate reads from a column or expression of type
/// `type_oid` (a domain's base type) in `collation`, or `wrong` when it cannot read them:
/// count reads any (it only counts them); sum and avg integers, numeric and (0.12.0)
/// interval; min, max and count_distinct (0.12.0; cidr, macaddr, macaddr8, bytea, bit,
/// varbit, real, double precision and any enum 0.13.0; jsonb 0.14.0) the types of
/// `ValueType`, text in a deterministic collation (whose equality is the encoding's byte
/// equality, `check_text_collation`); count_distinct also arrays (0.14.0, `array_kind`), min
/// and max too (0.18.0); Postgres' own types and tsvector (0.20.0: oid and the reg* types,
/// xid8, pg_lsn, "char", tid, name, tsvector; xid and cid for count_distinct only).
fn value_kind(
    client: &SpiClient<'_>,
    aggregate: Aggregate,
    type_oid: pg_sys::Oid,
    collation: Collation,
    what: &str,
    wrong: impl FnOnce() -> TallyError,
) -> Result<ValueKind> {
    if aggregate == Aggregate::Count {
        return Ok(ValueKind::of(ValueType::Numeric));
    }
    let base = crate::ffi::datetime::base_type(type_oid);
    if let Some(element) = crate::ffi::arrays::element_type_of(base) {
        return array_kind(client, aggregate, (base, element), collation, what, wrong);
    }
    if let Some((value_type, since)) = kept_apart(aggregate, base) {
        if !crate::model::installed::catalog_has(since) {
            return Err(TallyError::CatalogOutdated);
        }
        return Ok(ValueKind::of(value_type));
    }
    if crate::ffi::ranges::RANGE_TYPES.contains(&base) || base == pg_sys::MONEYOID {
        // A sum or avg of a range; an avg of money, which Postgres has no aggregate for
        // (an avg of its amounts is `avg(price::numeric)`'s).
        return Err(wrong());
    }
    let is_enum = crate::ffi::enums::is_enum(base);
    let value_type = match ValueType::of_base_type(base).or(is_enum.then_some(ValueType::Enum)) {
        Some(ValueType::Numeric) if aggregate.sums_values() && !SUMMABLE_TYPES.contains(&base) => {
            return Err(wrong())
        }
        Some(value_type @ (ValueType::Numeric | ValueType::Interval)) => value_type,
        Some(_) if aggregate.sums_values() => return Err(wrong()),
        Some(value_type) => value_type,
        None => return Err(wrong()),
    };
    if value_type == ValueType::Numeric {
        return Ok(ValueKind::of(value_type));
    }
    let since = match value_type {
        ValueType::Cidr
        | ValueType::Macaddr
        | ValueType::Macaddr8
        | ValueType::Enum
        | ValueType::Bytea
        | ValueType::Bit
        | ValueType::Float4
        | ValueType::Float8 => crate::sql::CatalogVersion::V0_13,
        ValueType::Jsonb => crate::sql::CatalogVersion::V0_14,
        // xid and cid have an equality, no order (xids wrap around).
        ValueType::Xid | ValueType::Cid if aggregate != Aggregate::CountDistinct => {
            return Err(wrong())
        }
        ValueType::Oid
        | ValueType::Xid
        | ValueType::Cid
        | ValueType::Xid8
        | ValueType::PgLsn
        | ValueType::Char
        | ValueType::Tid
        | ValueType::Tsvector => crate::sql::CatalogVersion::V0_20,
        // name (0.20.0) is kept as text is; its encoders are text's.
        ValueType::Text if base == pg_sys::NAMEOID => crate::sql::CatalogVersion::V0_20,
        _ => crate::sql::CatalogVersion::V0_12,
    };
    if !crate::model::installed::catalog_has(since) {
        return Err(TallyError::CatalogOutdated);
    }
    if matches!(
        value_type,
        ValueType::Enum | ValueType::Jsonb | ValueType::Tsvector
    ) {
        // Labels and the text of a jsonb or tsvector are kept and read back as
        // UTF-8, as texts are.
        require_utf8(client, aggregate)?;
    }
    if value_type == ValueType::Text
        && aggregate == Aggregate::CountDistinct
        && is_nondeterministic(collation)
    {
        // 0.22.0: counted by the key the collation tells texts apart by.
        if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_22) {
            return Err(TallyError::CatalogOutdated);
        }
        require_utf8(client, aggregate)?;
        require_faithful_sort_keys(client, collation, what)?;
        return Ok(ValueKind::of(ValueType::NondeterministicText));
    }
    Ok(ValueKind {
        value_type,
        collation: match value_type {
            ValueType::Text => check_text_collation(client, aggregate, collation, what)?,
            _ => None,
        },
        enum_type: is_enum.then_some(base),
    })
}

/// The value type of ranges, multiranges, money and timetz values (whose encoders read the
/// datum, not a cast) that `aggregate` takes, with the catalog version that has their
/// encoder: the built-in ranges for count_distinct (0.14.0) and for min and max (0.17.0);
/// money and timetz for count_distinct (0.16.0) and min and max (0.17.0); money for sum
/// (0.18.0: its amounts added, by the encoder min and max read them with); the built-in
/// multiranges for count_distinct (0.18.0) and for min and max (0.19.0); aclitem for
/// count_distinct (0.21.0). None for the rest.
fn kept_apart(
    aggregate: Aggregate,
    base: pg_sys::Oid,
) -> Option<(ValueType, crate::sql::CatalogVersion)> {
    use crate::sql::CatalogVersion;
    let ordered = matches!(aggregate, Aggregate::Min | Aggregate::Max);
    let distinct = aggregate == Aggregate::CountDistinct;
    if crate::ffi::ranges::RANGE_TYPES.contains(&base) {
        return if distinct {
            Some((ValueType::Range, CatalogVersion::V0_14))
        } else if ordered {
            RangeOf::of_range_type(base)
                .map(|range| (ValueType::OrderedRange(range), CatalogVersion::V0_17))
        } else {
            None
        };
    }
    if crate::ffi::ranges::MULTIRANGE_TYPES.contains(&base) {
        return if distinct {
            Some((ValueType::Multirange, CatalogVersion::V0_18))
        } else if ordered {
            RangeOf::of_multirange_type(base)
                .map(|range| (ValueType::OrderedMultirange(range), CatalogVersion::V0_19))
        } else {
            None
        };
    }
    match base {
        pg_sys::MONEYOID if distinct => Some((ValueType::Money, CatalogVersion::V0_16)),
        pg_sys::MONEYOID if ordered => Some((ValueType::Money, CatalogVersion::V0_17)),
        pg_sys::MONEYOID if aggregate == Aggregate::Sum => {
            Some((ValueType::Money, CatalogVersion::V0_17))
        }
        pg_sys::TIMETZOID if distinct => Some((ValueType::Timetz, CatalogVersion::V0_16)),
        pg_sys::TIMETZOID if ordered => Some((ValueType::Timetz, CatalogVersion::V0_17)),
        // aclitem (0.21.0): equality, no order; the 0.21.0 library reads it on a 0.20.0
        // catalog (as a one-element array, whose encoder is older).
        pg_sys::ACLITEMOID if distinct => Some((ValueType::Aclitem, CatalogVersion::V0_20)),
        _ => None,
    }
}

/// The kind of an array (`array`, a base type) whose elements are of type `element`
/// (0.14.0): count_distinct over elements `ffi::arrays` reads (a domain's by its base type),
/// text elements in a deterministic collation (their equality is then their bytes'); min and
/// max (0.18.0, `ordered_array_kind`) over true array types.
fn array_kind(
    client: &SpiClient<'_>,
    aggregate: Aggregate,
    (array, element): (pg_sys::Oid, pg_sys::Oid),
    collation: Collation,
    what: &str,
    wrong: impl FnOnce() -> TallyError,
) -> Result<ValueKind> {
    let base = crate::ffi::datetime::base_type(element);
    if matches!(aggregate, Aggregate::Min | Aggregate::Max) {
        // A true array type only: int2vector has int2 elements, but its figures would be
        // int2[] (0.18.0, found by a hostile probe).
        if crate::ffi::arrays::array_type_of(element) != Some(array) {
            return Err(wrong());
        }
        return ordered_array_kind(client, aggregate, base, collation, what, wrong);
    }
    if aggregate != Aggregate::CountDistinct || !crate::ffi::arrays::reads_elements_of(base) {
        return Err(wrong());
    }
    if !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_14) {
        return Err(TallyError::CatalogOutdated);
    }
    if crate::ffi::enums::is_enum(base) {
        // 0.24.0: by their labels (`note_array_enum` saves them, so a rename is followed).
        require_enum_keys(client, aggregate)?;
    }
    if matches!(base, pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::NAMEOID) {
        check_text_collation(client, aggregate, collation, what)?;
    }
    Ok(ValueKind::of(ValueType::Array))
}

/// The kind of an array whose elements are of base type `element` for min and max (0.18.0):
/// the element types `ElementOf` has, kept in array_cmp's order (`model::ordered_array`);
/// text elements only in a collation whose order is their bytes' (array_cmp compares them
/// by the array's collation, which a key of bytes cannot follow otherwise).
fn ordered_array_kind(
    client: &SpiClient<'_>,
    aggregate: Aggregate,
    element: pg_sys::Oid,
    collation: Collation,
    what: &str,
    wrong: impl FnOnce() -> TallyError,
) -> Result<ValueKind> {
    let Some(element) = ElementOf::of_element_type(element) else {
        return Err(wrong());
    };
    if !crate::model::installed::catalog_has(element.since()) {
        return Err(TallyError::CatalogOutdated);
    }
    if element.is_text() {
        if let Some((_, name)) = check_text_collation(client, aggregate, collation, what)? {
            return Err(TallyError::ArrayNotByteOrdered {
                aggregate: aggregate.as_str().to_string(),
                what: what.to_string(),
                collation: name,
            });
        }
    }
    Ok(ValueKind::of(ValueType::OrderedArray(element)))
}

/// Refuses text-like values (a text, an enum's labels) in a database whose encoding is not
/// UTF-8: the encoders and the reads take them as UTF-8 (pgrx's &str).
fn require_utf8(client: &SpiClient<'_>, aggregate: Aggregate) -> Result<()> {
    let encoding = client
        .select(
            "SELECT pg_catalog.getdatabaseencoding()::pg_catalog.text",
            Some(1),
            &[],
        )?
        .first()
        .get_one::<String>()?;
    if encoding.as_deref() != Some("UTF8") {
        return Err(TallyError::TextNotUtf8 {
            aggregate: aggregate.as_str().to_string(),
        });
    }
    Ok(())
}

/// The collation of a value, and where it comes from: a column's (which the reads look up
/// again by the column, `tally._sort_collation`, since 0.15.0) or a value expression's
/// (which the reads take by its stored name).
#[derive(Clone, Copy)]
enum Collation {
    OfColumn(pg_sys::Oid),
    OfExpression(pg_sys::Oid),
}

impl Collation {
    fn oid(self) -> pg_sys::Oid {
        let (Self::OfColumn(oid) | Self::OfExpression(oid)) = self;
        oid
    }
}

/// Whether `collation` (a column's or expression's; none is the database's default) is
/// nondeterministic: an ICU collation whose equality is not byte equality, such as Django's
/// `CreateCollation(..., deterministic=False)` for case-insensitive emails.
fn is_nondeterministic(collation: Collation) -> bool {
    let oid = collation.oid();
    oid != pg_sys::InvalidOid
        && crate::ffi::collations::exists(oid)
        && !crate::ffi::collations::name_and_determinism(oid).1
}

/// The name, ICU locale and ICU rules of a collation (`$1`), by the columns of this
/// major's catalog (15 has no rules; 17 renamed the locale's column).
#[cfg(feature = "pg15")]
const ICU_COLLATION_SQL: &str =
    "SELECT collname::pg_catalog.text, colliculocale, NULL::pg_catalog.text \
     FROM pg_catalog.pg_collation WHERE oid = $1::pg_catalog.oid";
#[cfg(feature = "pg16")]
const ICU_COLLATION_SQL: &str = "SELECT collname::pg_catalog.text, colliculocale, collicurules \
     FROM pg_catalog.pg_collation WHERE oid = $1::pg_catalog.oid";
#[cfg(not(any(feature = "pg15", feature = "pg16")))]
const ICU_COLLATION_SQL: &str = "SELECT collname::pg_catalog.text, colllocale, collicurules \
     FROM pg_catalog.pg_collation WHERE oid = $1::pg_catalog.oid";

/// Refuses a nondeterministic `collation` whose ICU sort keys may not tell texts apart as its
/// `=` does (0.22.0, `ffi::icu::why_sort_keys_unfaithful`; found by a hostile probe):
/// custom rules (which may set any attribute), punctuation ignored, strength past tertiary,
/// normalization on, numeric ordering. Checked when a metric is defined and again by the DDL
/// hooks, on a collator opened from the collation's locale as Postgres opens it.
fn require_faithful_sort_keys(
    client: &SpiClient<'_>,
    collation: Collation,
    what: &str,
) -> Result<()> {
    let row = client
        .select(ICU_COLLATION_SQL, Some(1), &[collation.oid().into()])?
        .first();
    let name = row.get::<String>(1)?.unwrap_or_default();
    let locale = row.get::<String>(2)?.unwrap_or_default();
    let rules = row.get::<String>(3)?.unwrap_or_default();
    let why = if !rules.is_empty() {
        Some("it has custom ICU rules".to_string())
    } else {
        let locale = std::ffi::CString::new(locale).map_err(|_| {
            TallyError::Internal(format!("collation \"{name}\" has a NUL in its locale"))
        })?;
        crate::ffi::icu::why_sort_keys_unfaithful(&locale)
    };
    match why {
        Some(reason) => Err(TallyError::UnfaithfulSortKeys {
            what: what.to_string(),
            collation: name,
            reason,
        }),
        None => Ok(()),
    }
}

/// Refuses a text value's `collation` where the aggregate could not stay exact
/// (`value_kind`), and returns the collation a min or max picks its figure by when read
/// (None: byte order, the order of the encodings' index). Byte order is the order of the
/// database's default collation when it is libc's C or POSIX, and of the built-in C, POSIX,
/// ucs_basic, pg_c_utf8 and pg_unicode_fast (code point order, which is UTF-8's byte
/// order). Any other deterministic collation (whose equality is byte equality, as the
/// encoding's) serves count_distinct, and min and max if it is built in (created by initdb:
/// no role can rename it or put another in its place) or (0.15.0) is a column's: the reads
/// find a column's collation through the column, whatever it is named by then.
fn check_text_collation(
    client: &SpiClient<'_>,
    aggregate: Aggregate,
    collation: Collation,
    what: &str,
) -> Result<Option<(String, String)>> {
    let (oid, of_column) = match collation {
        Collation::OfColumn(oid) => (oid, true),
        Collation::OfExpression(oid) => (oid, false),
    };
    let oid = if oid == pg_sys::InvalidOid {
        pg_sys::DEFAULT_COLLATION_OID
    } else {
        oid
    };
    let row = client
        .select(
            "SELECT c.collname::pg_catalog.text, c.collisdeterministic, \
                    CASE WHEN c.oid = 100 \
                         THEN (SELECT d.datlocprovider = 'c' AND d.datcollate IN ('C', 'POSIX') \
                                 FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) \
                         ELSE c.collnamespace = 'pg_catalog'::pg_catalog.regnamespace \
                              AND c.collname IN ('C', 'POSIX', 'ucs_basic', 'pg_c_utf8', 'pg_unicode_fast') END, \
                    c.oid < 16384, n.nspname::pg_catalog.text \
               FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace \
              WHERE c.oid = $1::pg_catalog.oid",
            Some(1),
            &[oid.into()],
        )?
        .first();
    let name = row.get::<String>(1)?.unwrap_or_default();
    let deterministic = row.get::<bool>(2)?.unwrap_or(false);
    let byte_ordered = row.get::<bool>(3)?.unwrap_or(false);
    require_utf8(client, aggregate)?;
    if !deterministic {
        return Err(TallyError::NondeterministicCollation {
            aggregate: aggregate.as_str().to_string(),
            what: what.to_string(),
            collation: name,
        });
    }
    if aggregate == Aggregate::CountDistinct || byte_ordered {
        return Ok(None);
    }
    let built_in = row.get::<bool>(4)? == Some(true);
    if !built_in && !of_column {
        return Err(TallyError::CollationNotBuiltIn {
            aggregate: aggregate.as_str().to_string(),
            what: what.to_string(),
            collation: name,
        });
    }
    if !built_in && !crate::model::installed::catalog_has(crate::sql::CatalogVersion::V0_15) {
        // An older catalog's readers find the collation by the name stored here.
        return Err(TallyError::CatalogOutdated);
    }
    let schema = row.get::<String>(5)?.unwrap_or_default();
    Ok(Some((schema, name)))
}

/// The collation a metric's min or max of text picks its figure by, as
/// `tally._value_type.collation_name` records it (schema, name).
fn collation_name(kind: &ValueKind) -> Option<Vec<String>> {
    kind.collation
        .as_ref()
        .map(|(schema, name)| vec![schema.clone(), name.clone()])
}

/// Whether `text` is spelled like a plain column name (letters, digits, `_`, `$`, not
/// starting with a digit): such a `column_name` that names no column is a misspelled
/// column, reported as one, not an expression.
fn looks_like_a_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

struct CheckedExpression {
    /// Postgres' own deparse of the expression: no comments, operators and functions
    /// qualified where they are not in pg_catalog.
    canonical: String,
    /// Source columns the expression reads.
    columns: Vec<String>,
    type_oid: pg_sys::Oid,
    type_name: String,
    /// The expression's collation (InvalidOid for a type without one).
    collation: pg_sys::Oid,
}

/// A filter must be one boolean expression, immutable, over the row's own columns, using
/// only built-in functions, operators, types and collations. The raw grammar proves "one
/// expression" without running anything. Parse analysis alone, as the table owner in a
/// security-restricted operation (a literal's type input function is the only code that can
/// run there), then names every object the expression uses, and anything not built in
/// (created after initdb) is refused before any planning could fold a constant, that is,
/// before any of the expression runs. Only then do Postgres' rules for index
/// expressions prove the rest (no subqueries, aggregates, window or set-returning
/// functions, nothing volatile or stable), on an empty temporary copy of the table that is
/// rolled back at once. The expression is stored as Postgres deparses it under
/// `ffi::with_fixed_settings`, which is also how every later statement parses it, taken to
/// the text that reads back there as itself (`canonical_text`).
fn check_filter(source: &Source, text: &str) -> Result<CheckedExpression> {
    let checked = check_expression(source, text, ExpressionRole::Filter)?;
    if checked.type_oid != pg_sys::BOOLOID {
        return Err(TallyError::FilterNotBoolean(checked.type_name));
    }
    Ok(checked)
}

/// `check_filter`'s checks but the type: one immutable expression over the row's own
/// columns, built-in objects only, and its canonical text, the columns it reads and its type.
fn check_expression(
    source: &Source,
    text: &str,
    role: ExpressionRole,
) -> Result<CheckedExpression> {
    super::sys::check_single_expression(crate::sql::single_expression_sql(text).as_str(), role)?;
    let inspected = probe_expression(source, text, role, |client, canonical| {
        let row = client
            .select(
                "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid, \
                        ARRAY(SELECT pa.attname::pg_catalog.text FROM pg_catalog.pg_depend d \
                                JOIN pg_catalog.pg_attribute pa ON pa.attrelid = d.refobjid AND pa.attnum = d.refobjsubid \
                               WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                                 AND d.objid = a.attrelid AND d.refobjsubid > 0 ORDER BY 1), \
                        (SELECT i.indcollation[0] FROM pg_catalog.pg_index i WHERE i.indexrelid = a.attrelid), \
                        (SELECT pg_catalog.format(' COLLATE %I.%I', n.nspname, c.collname) \
                           FROM pg_catalog.pg_index i \
                           JOIN pg_catalog.pg_collation c ON c.oid = i.indcollation[0] \
                           JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace \
                          WHERE i.indexrelid = a.attrelid AND c.oid < 16384) \
                   FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = 'pg_temp._tally_probe_idx'::pg_catalog.regclass AND a.attnum = 1",
                Some(1),
                &[],
            )?
            .first();
        Ok(CheckedExpression {
            type_name: row.get::<String>(1)?.unwrap_or_default(),
            type_oid: row.get::<pg_sys::Oid>(2)?.unwrap_or(pg_sys::InvalidOid),
            columns: row.get::<Vec<String>>(3)?.unwrap_or_default(),
            collation: row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
            // An index column keeps a top-level COLLATE as its collation, and its deparse
            // leaves it out: a value expression's collation (which orders a text's min and
            // max) is written back onto its canonical text, which then reads back as itself,
            // even where it is "default" and a column it reads has another. Only a built-in
            // one: a collation created after initdb can only be a column's, which every
            // parse finds again through the column (`require_built_in`), and its name in
            // the stored text could be renamed and taken by another (0.15.0).
            canonical: match (role, row.get::<String>(5)?) {
                (ExpressionRole::Value, Some(collate)) => format!("({canonical}){collate}"),
                _ => canonical.to_string(),
            },
        })
    });
    match inspected {
        Ok(result) => result,
        Err(caught) => Err(expression_rejected(caught, role)),
    }
}

/// Proves `expression` uses only built-in objects (parse analysis only, as the table's
/// owner in a security-restricted operation: literals' input functions are the only code it
/// can run), then builds an empty temporary copy of the source, indexes the expression
/// (Postgres' rules for index expressions; only built-in code is left to fold), checks that
/// its canonical text (`canonical_text`), runs `inspect` with it, and rolls everything back. All of
/// it under the fixed settings (the API functions run under them).
fn probe_expression<T>(
    source: &Source,
    expression: &str,
    role: ExpressionRole,
    inspect: impl FnOnce(&SpiClient<'_>, &str) -> Result<T> + std::panic::UnwindSafe,
) -> std::result::Result<Result<T>, CaughtPgError> {
    let probe = crate::sql::probe_sql(&source.relation, expression);
    let (relid, owner) = (source.oid, source.owner);
    ffi::probe_and_roll_back(move || {
        ffi::as_table_owner(owner, || {
            crate::ffi::expression::record_expression_dependencies(
                relid,
                probe.dependencies.as_str(),
                role,
            )
        })?;
        // Everything below parses the text again (the index probes, the read-back of the
        // deparse): as the table owner too, not restricted only because it creates
        // temporary objects (rolled back with the probe). Whatever a literal's type runs,
        // it runs with that owner's rights; and since it may have changed the catalog
        // between two parses, the objects the stored text's own parse uses are checked
        // again.
        ffi::as_role(owner, false, || {
            ffi::with_fixed_settings(|| {
                Spi::connect_mut(|client| -> Result<T> {
                    require_built_in(client, relid, owner, None, None, role)?;
                    client.update(probe.table.as_str(), None, &[])?;
                    client.update(probe.index.as_str(), None, &[])?;
                    let (canonical, parsed_as) = canonical_text(client, role)?;
                    require_built_in(
                        client,
                        relid,
                        owner,
                        Some(&parsed_as),
                        Some(&canonical),
                        role,
                    )?;
                    require_collation_read_back(client, &parsed_as, role)?;
                    inspect(client, &canonical)
                })
            })
        })
    })
}

/// Refuses a value expression whose collation is one created after initdb that its
/// canonical text (probe index `parsed_as`) does not parse to again: a top-level COLLATE of
/// such a collation, which the text keeps no trace of (its name is never written back), so
/// every later parse would read the values in the column's collation instead (found by a
/// hostile probe: `email COLLATE other` over a nondeterministic column passed as
/// deterministic, then counted by the column's).
fn require_collation_read_back(
    client: &SpiClient<'_>,
    parsed_as: &str,
    role: ExpressionRole,
) -> Result<()> {
    let lost = client
        .select(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.collname) \
               FROM pg_catalog.pg_index i \
               JOIN pg_catalog.pg_collation c ON c.oid = i.indcollation[0] \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace \
              WHERE i.indexrelid = 'pg_temp._tally_probe_idx'::pg_catalog.regclass AND c.oid >= 16384 \
                AND c.oid IS DISTINCT FROM (SELECT p.indcollation[0] FROM pg_catalog.pg_index p \
                                             WHERE p.indexrelid = pg_catalog.to_regclass($1))",
            Some(1),
            &[parsed_as.into()],
        )?
        .next()
        .map(|row| row.get::<String>(1))
        .transpose()?
        .flatten();
    match lost {
        Some(collation) => Err(not_built_in(&format!("collation {collation}"), role)),
        None => Ok(()),
    }
}

/// The probed expression's canonical text, and the probe index that is its own parse:
/// Postgres' deparse of it under the fixed
/// settings, taken to its fixed point. A deparse does not always read back as itself (a
/// varchar column compared with a list of constants gains casts), but it reads back as an
/// equivalent expression whose own deparse does: that text is stored, and every later parse
/// of it (always under these settings) gives the same expression again.
fn canonical_text(client: &mut SpiClient<'_>, role: ExpressionRole) -> Result<(String, String)> {
    let mut canonical = deparsed(client, "pg_temp._tally_probe_idx")?;
    for round in 0..2 {
        client.update(
            crate::sql::canonical_probe_sql(round, &canonical).as_str(),
            None,
            &[],
        )?;
        let index = format!("pg_temp._tally_probe_canonical_{round}");
        let again = deparsed(client, &index)?;
        if again == canonical {
            return Ok((canonical, index));
        }
        canonical = again;
    }
    Err(TallyError::ExpressionNotAllowed {
        role,
        code: pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        message: format!("the expression does not read back as itself: {canonical}"),
    })
}

/// Postgres' deparse of the one expression of probe index `index`.
fn deparsed(client: &SpiClient<'_>, index: &str) -> Result<String> {
    Ok(client
        .select(
            "SELECT pg_catalog.pg_get_indexdef(pg_catalog.regclass($1), 1, true)",
            Some(1),
            &[index.into()],
        )?
        .first()
        .get_one::<String>()?
        .unwrap_or_default())
}

/// Blocks writers of this table until commit, so the backfill and the new triggers see the
/// same rows: nothing written in between is missed or counted twice.
fn lock_source(table: pg_sys::Oid) {
    ffi::lock_table(table, pg_sys::ShareRowExclusiveLock);
}

fn insert_definition(
    client: &mut SpiClient<'_>,
    request: &Request<'_>,
    valid: &Validated,
) -> Result<i32> {
    let id = client
        .update(
            "INSERT INTO tally._metric (name, source, aggregate, column_name, filter, group_by, bucket, \
                                        bucket_column, time_zone, depends_on) \
             VALUES ($1, $2::pg_catalog.oid, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            Some(1),
            &[
                request.name.into(),
                valid.source.oid.into(),
                valid.aggregate.as_str().into(),
                match &valid.value {
                    Some(Value::Column(name)) => Some(name.as_str()),
                    _ => None,
                }
                .into(),
                valid.filter.clone().into(),
                match valid.group_by.as_slice() {
                    [] => None,
                    columns => Some(columns.join(", ")),
                }
                .into(),
                valid.bucket.map(Bucket::as_str).into(),
                request.bucket_column.into(),
                valid.time_zone.clone().into(),
                valid.depends_on.clone().into(),
            ],
        )?
        .first()
        .get_one::<i32>()?;
    let id =
        id.ok_or_else(|| TallyError::Internal("INSERT ... RETURNING id returned nothing".into()))?;
    if valid.group_by.len() > 1 {
        // Only a 0.11.0 catalog has the column (`check_group_by`).
        client.update(
            "UPDATE tally._metric SET group_columns = $2 WHERE id = $1",
            None,
            &[id.into(), valid.group_by.clone().into()],
        )?;
    }
    if let Some(Value::Expression(expression)) = &valid.value {
        client.update(
            "INSERT INTO tally._value_expression (metric_id, expression) VALUES ($1, $2)",
            None,
            &[id.into(), expression.as_str().into()],
        )?;
    }
    let kind = &valid.value_kind;
    if kind.value_type != ValueType::Numeric {
        // Only a 0.12.0 catalog takes other types (`value_kind`).
        client.update(
            "INSERT INTO tally._value_type (metric_id, type_name, collation_name) VALUES ($1, $2, $3)",
            None,
            &[
                id.into(),
                kind.value_type.as_str().into(),
                collation_name(kind).into(),
            ],
        )?;
    }
    if let Some(enum_type) = kind.enum_type {
        // Only a 0.13.0 catalog takes enums (`value_kind`). The labels saved are the enum's
        // until this transaction ends (`define` locked them; `follow_enum_labels` says why).
        save_labels(crate::sql::SAVE_ENUM_SQL, id, &[enum_type])?;
    }
    save_key_enums(id, &valid.key_enums)?;
    Ok(id)
}

/// Keeps the saved key enums of metric `id` (`tally._group_enum`) those its keys hold now,
/// `enums` (`Validated::key_enums`): a column may have become an enum, or stopped being
/// one. Writes (and locks an enum) only for such a change (an unrelated DDL must not make
/// another role's ALTER TYPE wait for its transaction).
fn follow_key_enums(client: &mut SpiClient<'_>, id: i32, enums: &[pg_sys::Oid]) -> Result<()> {
    let saved = client
        .select(crate::sql::GROUP_ENUMS_SQL, Some(1), &[id.into()])?
        .first()
        .get::<Vec<pg_sys::Oid>>(1)?
        .unwrap_or_default();
    let gone: Vec<pg_sys::Oid> = saved
        .iter()
        .filter(|e| !enums.contains(e))
        .copied()
        .collect();
    if !gone.is_empty() {
        client.update(
            crate::sql::FORGET_GROUP_ENUMS_SQL,
            None,
            &[id.into(), gone.into()],
        )?;
    }
    let missing: Vec<pg_sys::Oid> = enums
        .iter()
        .filter(|e| !saved.contains(e))
        .copied()
        .collect();
    save_key_enums(id, &missing)
}

/// Saves the labels of the enums `enums` whose labels metric `id`'s keys hold and that it
/// has none saved for (`tally._group_enum`, 0.16.0: only a 0.16.0 catalog takes enum group
/// columns, `check_group_text_form`; an array's or a row's enums a 0.23.0 one,
/// `require_enum_keys`), read in the latest snapshot with the enums locked
/// (`follow_enum_labels` says why): when it is defined, and when a column it reads becomes
/// an enum (that ALTER TABLE rewrote the table, whose metrics it recomputes).
fn save_key_enums(id: i32, enums: &[pg_sys::Oid]) -> Result<()> {
    if enums.is_empty() {
        return Ok(());
    }
    enums.iter().copied().for_each(ffi::enums::lock_labels);
    save_labels(crate::sql::SAVE_GROUP_ENUM_SQL, id, enums)
}

/// Saves the labels of each of `enums` for metric `id` by `sql` (`SAVE_ENUM_SQL`,
/// `SAVE_GROUP_ENUM_SQL`: `$1` the metric, `$2` the enum), read in the latest snapshot: the
/// enums locked, those are their labels until this transaction ends.
fn save_labels(sql: &'static str, id: i32, enums: &[pg_sys::Oid]) -> Result<()> {
    let snapshot = ffi::Snapshot::latest();
    for enum_type in enums {
        ffi::execute_in_snapshot(
            &snapshot,
            &sql,
            &[
                ffi::SpiValue::of_int4(id),
                ffi::SpiValue::of_oid(*enum_type),
            ],
            &[],
        )?;
    }
    snapshot.release();
    Ok(())
}

/// Counts the rows already in the table, straight into `_state`: read as the table owner
/// (`storage::live_counters`), written with the extension's rights.
fn backfill(metric: &Metric) -> Result<()> {
    let snapshot = ffi::Snapshot::latest();
    if let Some(live) = storage::live_counters(metric, &snapshot)? {
        let sql = crate::sql::backfill_sql();
        ffi::execute_in_snapshot(&snapshot, &sql, &live, &[])?;
    }
    snapshot.release();
    Ok(())
}

/// A dashboard of the caller's own (it is, or is a member of, the dashboard's owner) that
/// shows `metric`: the caller drops it first, so a metric is never dropped from under a
/// dashboard by accident.
fn own_dashboard_using(client: &SpiClient<'_>, metric: &str) -> Result<Option<String>> {
    let row = client
        .select(
            "SELECT name FROM tally._dashboard \
              WHERE $1 = ANY (metrics) AND pg_catalog.pg_has_role($2::pg_catalog.oid, owner, 'USAGE') \
              ORDER BY name LIMIT 1",
            Some(1),
            &[metric.into(), ffi::caller().into()],
        )?
        .next();
    Ok(match row {
        Some(row) => row.get::<String>(1)?,
        None => None,
    })
}

/// Takes `metric` out of other roles' dashboards, with a notice naming them: a role that
/// may read a metric must not be able to keep its owner from dropping it by making a
/// dashboard of it. Their typed views then read NULL for it.
fn detach_from_dashboards(client: &mut SpiClient<'_>, metric: &str) -> Result<()> {
    let detached = client
        .update(
            "WITH d AS (UPDATE tally._dashboard SET metrics = pg_catalog.array_remove(metrics, $1) \
                         WHERE $1 = ANY (metrics) RETURNING name) \
             SELECT pg_catalog.string_agg(name, ', ' ORDER BY name) FROM d",
            Some(1),
            &[metric.into()],
        )?
        .first()
        .get_one::<String>()?;
    if let Some(dashboards) = detached {
        notice!("tally.drop_metric: metric \"{metric}\" was taken out of other roles' dashboards: {dashboards}");
    }
    Ok(())
}
