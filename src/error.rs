//! The one error type of pg_tally. Every variant maps to a real SQLSTATE, a message and a
//! hint, so a user never sees a Rust panic or an "internal error" for bad input.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

pub type Result<T> = std::result::Result<T, TallyError>;

/// What a user's expression is for, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionRole {
    /// `filter`: which rows count.
    Filter,
    /// `column_name` given as an expression (0.11.0): the value an aggregate reads.
    Value,
    /// The text form of a `group_by` column, probed as an index expression.
    GroupKey,
}

impl std::fmt::Display for ExpressionRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Filter => "filter",
            Self::Value => "value expression",
            Self::GroupKey => "group key",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TallyError {
    #[error("metric \"{0}\" does not exist")]
    UnknownMetric(String),

    #[error("dashboard \"{0}\" does not exist")]
    UnknownDashboard(String),

    #[error("metric \"{0}\" already exists")]
    DuplicateMetric(String),

    #[error("dashboard \"{0}\" already exists")]
    DuplicateDashboard(String),

    #[error("{0} must not be empty")]
    EmptyName(&'static str),

    #[error("{0} must not be NULL")]
    NullArgument(&'static str),

    #[error("\"{relation}\" is not a table")]
    NotATable { relation: String, kind: String },

    #[error("must be owner of table {0}")]
    NotOwner(String),

    #[error("column \"{column}\" of table {table} does not exist")]
    UnknownColumn {
        table: String,
        column: String,
        role: &'static str,
    },

    #[error("the pg_tally catalog in this database is older than the installed library")]
    CatalogOutdated,

    #[error("unknown aggregate \"{0}\"")]
    UnknownAggregate(String),

    #[error("aggregate \"{0}\" needs column_name")]
    MissingColumn(String),

    #[error("cannot compute {aggregate} over column \"{column}\" of type {type_name}")]
    WrongColumnType {
        aggregate: String,
        column: String,
        type_name: String,
    },

    #[error("unknown bucket \"{0}\"")]
    UnknownBucket(String),

    #[error("bucket and bucket_column must be given together")]
    BucketPairing,

    #[error("bucket column \"{column}\" has type {type_name}")]
    WrongBucketType { column: String, type_name: String },

    #[error("column \"{column}\" of table {table} ({role}) is a virtual generated column")]
    VirtualColumn {
        table: String,
        column: String,
        role: &'static str,
    },

    #[error("group_by names column \"{0}\" twice")]
    RepeatedGroupColumn(String),

    #[error("group_by names {0} columns")]
    TooManyGroupColumns(usize),

    #[error("group_by must be a column name or an array of them, not {0}")]
    WrongGroupByType(String),

    #[error("group_by column \"{column}\" of type {type_name} has no stable text form")]
    WrongGroupType { column: String, type_name: String },

    #[error("time zone \"{0}\" is not recognized")]
    BadTimeZone(String),

    #[error("{role} is not a single SQL expression")]
    NotOneExpression {
        role: ExpressionRole,
        detail: String,
    },

    #[error("filter must be a boolean expression, not {0}")]
    FilterNotBoolean(String),

    #[error("{role} is not allowed: {message}")]
    ExpressionNotAllowed {
        role: ExpressionRole,
        code: Code,
        message: String,
    },

    #[error("cannot compute {aggregate} over a value expression of type {type_name}")]
    WrongValueType {
        aggregate: String,
        type_name: String,
    },

    /// count_distinct over a row (0.23.0) one of whose fields is of a type a row's key does
    /// not hold.
    #[error("cannot compute count_distinct over a row whose field {field} is of type {type_name}")]
    WrongRowFieldType { field: usize, type_name: String },

    /// min or max over a value expression's text in a collation created after initdb (0.12.0;
    /// a column's is taken since 0.15.0).
    #[error("cannot compute {aggregate} over {what} in collation \"{collation}\"")]
    CollationNotBuiltIn {
        aggregate: String,
        what: String,
        collation: String,
    },

    /// min or max over an array of text in a collation whose order is not its bytes' (0.18.0).
    #[error(
        "cannot compute {aggregate} over {what}: an array of text in collation \"{collation}\""
    )]
    ArrayNotByteOrdered {
        aggregate: String,
        what: String,
        collation: String,
    },

    /// min, max or count_distinct over text in a database not encoded in UTF-8 (0.12.0).
    #[error(
        "cannot compute {aggregate} over text, name, enum labels, jsonb or tsvector in a database not encoded in UTF8"
    )]
    TextNotUtf8 { aggregate: String },

    /// `tally._tracked_label` called with a value that is no enum (0.13.0: only the change
    /// queries call it, always with one).
    #[error("tally._tracked_label takes an enum value, not a value of type {type_name}")]
    NotAnEnum { type_name: String },

    /// A group column of text in a nondeterministic collation (0.16.0: refused before as
    /// any collation created after initdb was).
    #[error("cannot group by column \"{column}\" in nondeterministic collation \"{collation}\"")]
    NondeterministicGroupColumn { column: String, collation: String },

    /// A new metric on a partition (0.16.0, found by a hostile probe: rows written through its
    /// partitioned table fire no statement trigger of the partition, so its figures missed
    /// them).
    #[error("cannot define a metric on {relation}: it is a partition of {root}")]
    PartitionSource { relation: String, root: String },

    /// A group column of a type created by an extension or a role (a new metric's: 0.16.0,
    /// found by a hostile probe: citext's text cast writes apart what its equality,
    /// case-insensitive, takes as one group; a column an ALTER TABLE changes: 0.21.0).
    #[error("cannot group by column \"{column}\" of type {type_name}: pg_tally cannot follow its equality")]
    UnknownGroupEquality { column: String, type_name: String },

    /// min or max over citext values (0.21.0, which counts their distinct values): citext's
    /// order ties values that differ only in case, so which of them is the min depends on
    /// the order a scan meets them.
    #[error("cannot compute {aggregate} over {what} of type citext: its order ties values that differ only in case")]
    CitextOrder { aggregate: String, what: String },

    /// A metric's column changed to citext (0.21.0, found by a hostile probe): its counters
    /// keep apart values that citext's equality takes as one.
    #[error("column \"{column}\" would be of type citext, which the counters of {aggregate} over it cannot follow")]
    ChangedToCitext { aggregate: String, column: String },

    /// A group column of an enum in a database not encoded in UTF8 (0.16.0: its labels are
    /// kept as UTF-8, as an enum's values are).
    #[error("cannot group by {what} in a database not encoded in UTF8")]
    GroupNotUtf8 { what: String },

    /// `tally._group_text` called with a value of a type it does not key (0.16.0: only the
    /// change queries call it, always with one).
    #[error("tally._group_text takes an enum, date, timestamp, timestamptz, numeric, real, double precision or jsonb value, not a value of type {type_name}")]
    NoGroupText { type_name: String },

    /// A value expression that reads no column of the row (0.17.0): the same value for
    /// every row.
    #[error("cannot compute {0} over a value expression that reads no column")]
    ConstantValue(String),

    /// An encoder of values (`tally._tracked_ordered`, `tally._tracked_range`) called with a
    /// value of a type it does not key (0.17.0; only the change queries call them, always
    /// with one, but PUBLIC may call them by hand).
    #[error("tally.{function} takes {takes}, not a value of type {type_name}")]
    EncoderType {
        function: &'static str,
        takes: &'static str,
        type_name: String,
    },

    /// A timetz value whose zone is past what timetz input reads (0.17.0, found by a hostile
    /// probe: `timezone(interval, timetz)` makes zones of any size, which no figure's text
    /// could carry back).
    #[error("cannot track a time with time zone of metric \"{metric}\": its zone, {zone}, is past ±15:59:59")]
    ZoneOutOfRange { metric: String, zone: String },

    /// A tsvector whose text reads back as another value (0.20.0, found by a hostile probe):
    /// binary input keeps repeated or unsorted lexemes, which Postgres compares as other
    /// values than the one their text reads back as; pg_tally keeps a tsvector by its text.
    #[error("metric \"{metric}\" cannot keep a tsvector that its text does not give back")]
    TsvectorNotNormal { metric: String },

    /// min or max over text in a nondeterministic collation, or count_distinct over an array
    /// of such text (0.12.0; count_distinct over the text itself is taken since 0.22.0).
    #[error(
        "cannot compute {aggregate} over {what} in nondeterministic collation \"{collation}\""
    )]
    NondeterministicCollation {
        aggregate: String,
        what: String,
        collation: String,
    },

    /// count_distinct over text in a nondeterministic collation whose ICU sort keys may not
    /// tell texts apart as its `=` does (0.22.0: found by a hostile probe).
    #[error("cannot compute count_distinct over {what} in collation \"{collation}\"")]
    UnfaithfulSortKeys {
        what: String,
        collation: String,
        reason: String,
    },

    /// The metric would depend on an object in a temporary schema (0.13.0: `catalog::define`
    /// follows the table's, its partitions' and the read columns' dependencies); `object` is
    /// its type and identity ("type pg_temp.temp_bytes", "function pg_temp.f(integer)").
    #[error("the metric would depend on the temporary {object}")]
    TemporaryObject { object: String },

    /// A text (0.12.0), bytea or bit string (0.13.0) a min or max metric cannot keep.
    #[error("metric \"{metric}\" cannot keep {} {} of {size} {}", kind.article(), kind.name(), kind.unit())]
    TooLongToOrder {
        metric: String,
        kind: OrderedKind,
        size: usize,
    },

    /// `tally.value(metric)` and the other numeric reads of a metric whose figures have
    /// another type (0.12.0).
    #[error("the figures of metric \"{metric}\" are of type {value_type}, not numeric")]
    FigureNotNumeric { metric: String, value_type: String },

    /// A typed read asked for a type the metric's figures cannot be read as (0.12.0).
    #[error("the figures of metric \"{metric}\" are of type {value_type}, not {asked}")]
    WrongFigureType {
        metric: String,
        value_type: String,
        asked: String,
    },

    /// An infinite interval in a sum or avg over intervals (Postgres 17 and later; 0.12.0).
    #[error("metric \"{metric}\" cannot add an infinite interval")]
    InfiniteInterval { metric: String },

    /// A figure past its type's range: an interval sum whose months do not fit (0.12.0), a
    /// sum of money past an int64 amount (0.18.0).
    #[error("{value_type} out of range")]
    FigureOutOfRange { value_type: &'static str },

    #[error("must be owner of dashboard \"{0}\"")]
    NotOwnerOfDashboard(String),

    /// drop_metric of a metric whose table was dropped with event triggers off (0.13.0).
    #[error("metric \"{0}\" has lost its table: only a superuser may drop it")]
    OrphanedMetric(String),

    #[error("permission denied to read {what}")]
    NotAllowedToRead { what: String },

    #[error("metric \"{metric}\" is used by dashboard \"{dashboard}\"")]
    MetricInUse { metric: String, dashboard: String },

    #[error("this change to the table would break metric \"{metric}\": {cause}")]
    SourceChangeBreaks { metric: String, cause: String },

    #[error("a dashboard needs at least one metric")]
    EmptyDashboard,

    #[error("metric \"{0}\" appears twice in the dashboard")]
    RepeatedDashboardMetric(String),

    #[error("schema \"{0}\" does not exist")]
    UnknownSchema(String),

    #[error("permission denied to create the dashboard view in schema \"{0}\"")]
    NoCreateInSchema(String),

    #[error("invalid view name \"{0}\"")]
    BadViewName(String),

    #[error("{0} must run at READ COMMITTED isolation")]
    NeedsReadCommitted(&'static str),

    /// The source changed while `create_metric` waited for its lock (0.18.0, found by a
    /// hostile probe): what was checked before the wait no longer holds.
    #[error("table {relation} changed while metric \"{metric}\" was being defined")]
    SourceChangedDuringDefinition { metric: String, relation: String },

    /// DDL in a REPEATABLE READ or SERIALIZABLE transaction whose snapshot predates a metric
    /// defined or dropped since (0.13.0, found by a hostile probe): the DDL hooks would not
    /// see that metric, and leave it out of step with its table.
    #[error(
        "a pg_tally metric was defined or dropped after this transaction's snapshot was taken"
    )]
    MetricsChangedSinceSnapshot,

    /// A text min or max read in a snapshot whose column collation was changed and dropped
    /// since (0.15.0, `_collated_pick`).
    #[error("the collation this transaction's snapshot orders the figure by was dropped since")]
    CollationGoneSinceSnapshot,

    #[error("since must be earlier than until")]
    BadRange,

    #[error("metric \"{metric}\" cannot sum {value}: its magnitude is 1e900 or more")]
    ValueOutOfRange { metric: String, value: String },

    #[error("metric \"{metric}\" cannot track a value of {digits} digits")]
    ValueTooLong { metric: String, digits: usize },

    #[error("metric \"{metric}\" cannot group by a key of {bytes} bytes")]
    GroupKeyTooLong { metric: String, bytes: usize },

    #[error("table {0} forces row-level security on its owner")]
    ForcedRowSecurity(String),

    #[error("metric \"{metric}\" is broken: {reason}")]
    MetricBroken { metric: String, reason: String },

    #[error("a fold failed: {message}")]
    FoldFailed { code: Code, message: String },

    #[error("internal SPI error: {0}")]
    Spi(#[from] pgrx::spi::Error),

    #[error("internal error: {0}")]
    Internal(String),
}

/// `argument`, or an error naming it when it is NULL: pg_tally's functions are not STRICT,
/// so a NULL from an application (None in Python) is an error, not a silent no-op.
pub fn required<T>(argument: Option<T>, what: &'static str) -> Result<T> {
    argument.ok_or(TallyError::NullArgument(what))
}

/// The kinds of value a min or max keeps in order up to a size (`TooLongToOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderedKind {
    Text,
    Bytea,
    BitString,
    Jsonb,
    /// A numrange (0.17.0), whose size is its bounds' digits and a few bytes more.
    Numrange,
    /// An array (0.18.0): its elements' keys and its shape (`model::ordered_array`).
    Array,
    /// A multirange (0.19.0): 19 bytes per range, a numrange's digits and a few bytes more.
    Multirange,
    /// A tsvector (0.20.0), by its text.
    Tsvector,
}

impl OrderedKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Bytea => "bytea",
            Self::BitString => "bit string",
            Self::Jsonb => "jsonb",
            Self::Numrange => "numrange",
            Self::Array => "array",
            Self::Multirange => "multirange",
            Self::Tsvector => "tsvector",
        }
    }

    pub fn article(self) -> &'static str {
        match self {
            Self::Array => "an",
            _ => "a",
        }
    }

    /// What its size is counted in: bytes, or a bit string's bits.
    pub fn unit(self) -> &'static str {
        match self {
            Self::BitString => "bits",
            Self::Text | Self::Bytea | Self::Jsonb | Self::Tsvector => "bytes",
            Self::Numrange | Self::Array | Self::Multirange => "bytes of key",
        }
    }

    /// A column constraint that keeps such values short enough, for the hint; None for a
    /// multirange, whose number of ranges no constraint counts.
    fn constraint(self) -> Option<&'static str> {
        Some(match self {
            Self::Text => "varchar(150)",
            Self::Bytea => "CHECK (octet_length(the_column) <= 600)",
            Self::BitString => "varbit(600)",
            Self::Jsonb | Self::Tsvector => "CHECK (octet_length(the_column::text) <= 600)",
            Self::Numrange => "a numrange over numeric(20, 2) values",
            Self::Array => "CHECK (cardinality(the_column) <= 20)",
            Self::Multirange => return None,
        })
    }
}

/// Keeps Rust backtraces out of the errors clients see (0.13.0, found by a hostile probe):
/// pgrx appends one to the DETAIL of an error raised inside pg_tally's Rust code when
/// `std::backtrace::Backtrace::capture` captures, which it does when the server inherited
/// `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) from whoever started it: a hundred lines, with
/// the build's paths. The standard library reads those variables once, at the first capture,
/// and keeps the answer for the process (and the backends a preloading postmaster forks):
/// this makes that first capture with `RUST_LIB_BACKTRACE=0`, then restores the
/// environment, so nothing else the server runs (an archive_command, another library) sees
/// a change. Errors then carry no backtrace, nor does any other report of pg_tally's (pgrx
/// reports a backend's panics through the same errors); a developer who wants them sets
/// `RUST_LIB_BACKTRACE=1`, which this leaves alone. Called first in `_PG_init`, before any
/// capture; a backend runs one thread, so no other reads the environment meanwhile.
pub fn keep_backtraces_out_of_errors() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_some() {
        return;
    }
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    let _first = std::backtrace::Backtrace::capture();
    std::env::remove_var("RUST_LIB_BACKTRACE");
}

impl TallyError {
    /// The SQLSTATE this error is raised with.
    pub fn code(&self) -> Code {
        self.sqlstate()
    }

    fn sqlstate(&self) -> Code {
        use TallyError::*;
        match self {
            UnknownMetric(_) | UnknownDashboard(_) => Code::ERRCODE_UNDEFINED_OBJECT,
            DuplicateMetric(_) | DuplicateDashboard(_) => Code::ERRCODE_DUPLICATE_OBJECT,
            NotATable { .. } => Code::ERRCODE_WRONG_OBJECT_TYPE,
            NotOwner(_) | NotOwnerOfDashboard(_) | OrphanedMetric(_) | NotAllowedToRead { .. } => {
                Code::ERRCODE_INSUFFICIENT_PRIVILEGE
            }
            UnknownColumn { .. } => Code::ERRCODE_UNDEFINED_COLUMN,
            WrongColumnType { .. }
            | WrongValueType { .. }
            | WrongRowFieldType { .. }
            | FigureNotNumeric { .. }
            | WrongFigureType { .. }
            | NotAnEnum { .. }
            | NoGroupText { .. }
            | EncoderType { .. }
            | WrongGroupByType(_)
            | WrongBucketType { .. }
            | WrongGroupType { .. }
            | UnknownGroupEquality { .. }
            | CitextOrder { .. }
            | ChangedToCitext { .. } => Code::ERRCODE_DATATYPE_MISMATCH,
            FilterNotBoolean(_) => Code::ERRCODE_DATATYPE_MISMATCH,
            NotOneExpression { .. } => Code::ERRCODE_SYNTAX_ERROR,
            ExpressionNotAllowed { code, .. } | FoldFailed { code, .. } => *code,
            EmptyName(_)
            | UnknownAggregate(_)
            | MissingColumn(_)
            | UnknownBucket(_)
            | BucketPairing
            | BadTimeZone(_)
            | EmptyDashboard
            | RepeatedDashboardMetric(_)
            | RepeatedGroupColumn(_)
            | BadRange => Code::ERRCODE_INVALID_PARAMETER_VALUE,
            BadViewName(_) => Code::ERRCODE_INVALID_NAME,
            UnknownSchema(_) => Code::ERRCODE_INVALID_SCHEMA_NAME,
            NoCreateInSchema(_) => Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            MetricInUse { .. } | SourceChangeBreaks { .. } => {
                Code::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST
            }
            NeedsReadCommitted(_) => Code::ERRCODE_ACTIVE_SQL_TRANSACTION,
            SourceChangedDuringDefinition { .. } => Code::ERRCODE_T_R_SERIALIZATION_FAILURE,
            MetricsChangedSinceSnapshot | CollationGoneSinceSnapshot => {
                Code::ERRCODE_T_R_SERIALIZATION_FAILURE
            }
            ForcedRowSecurity(_) | VirtualColumn { .. } | TemporaryObject { .. } => {
                Code::ERRCODE_FEATURE_NOT_SUPPORTED
            }
            NullArgument(_) => Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            ValueOutOfRange { .. } => Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            CollationNotBuiltIn { .. }
            | ArrayNotByteOrdered { .. }
            | NondeterministicCollation { .. }
            | UnfaithfulSortKeys { .. }
            | NondeterministicGroupColumn { .. }
            | GroupNotUtf8 { .. }
            | PartitionSource { .. }
            | TextNotUtf8 { .. } => Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            FigureOutOfRange {
                value_type: "money",
            } => Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            FigureOutOfRange { .. } | InfiniteInterval { .. } => {
                Code::ERRCODE_DATETIME_FIELD_OVERFLOW
            }
            ZoneOutOfRange { .. } => Code::ERRCODE_INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
            TsvectorNotNormal { .. } => Code::ERRCODE_INVALID_BINARY_REPRESENTATION,
            ConstantValue(_) => Code::ERRCODE_INVALID_PARAMETER_VALUE,
            ValueTooLong { .. }
            | TooLongToOrder { .. }
            | GroupKeyTooLong { .. }
            | TooManyGroupColumns(_) => Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            MetricBroken { .. } => Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            CatalogOutdated => Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            Spi(_) | Internal(_) => Code::ERRCODE_INTERNAL_ERROR,
        }
    }

    fn detail(&self) -> Option<String> {
        use TallyError::*;
        match self {
            NotATable { kind, .. } => Some(format!("It is a {kind}.")),
            NotOneExpression { detail, .. } => Some(detail.clone()),
            // 0.24.0: "collation "mycoll" ... does not exist" for the role's own collation
            // in public read as if pg_tally could not see the schema. Only for a name not
            // found (Postgres' words; in another lc_messages, no DETAIL): 42704 also says
            // "data type aclitem has no default operator class", which no search_path
            // explains.
            ExpressionNotAllowed {
                code:
                    Code::ERRCODE_UNDEFINED_OBJECT
                    | Code::ERRCODE_UNDEFINED_FUNCTION
                    | Code::ERRCODE_UNDEFINED_TABLE,
                message,
                ..
            } if message.ends_with("does not exist") => {
                Some("Filters and value expressions are read with search_path pg_catalog, pg_temp: a name without its schema finds only built-in objects, and a built-in function or operator only for the argument types it takes. Of the objects a role created, only enum types of the table's owner may be named there, with their schema (such as public.order_status).".into())
            }
            WrongBucketType { .. } => {
                Some("Buckets are computed from timestamptz, timestamp or date columns.".into())
            }
            ValueOutOfRange { .. } => Some(
                "A sum or avg metric adds values whose magnitude is below 1e900: the total of larger ones could overflow numeric, which would stop the metric from folding.".into(),
            ),
            GroupKeyTooLong { .. } => Some(
                "A group key (the group_by column's text form) is at most 8192 bytes long.".into(),
            ),
            ForcedRowSecurity(_) => Some(
                "pg_tally counts every row of a table, reading it as its owner when it defines, refreshes or verifies a metric; under FORCE ROW LEVEL SECURITY the owner would see only the rows its policies show.".into(),
            ),
            ValueTooLong { .. } => Some(
                "min, max and count_distinct keep each distinct value in an index, which takes values of up to 1024 bytes (about 2000 digits).".into(),
            ),
            // 600: model::value_type::TEXT_KEPT_BYTES (its unit tests hold the two equal).
            TooLongToOrder { .. } => Some(
                "min and max keep each distinct text, bytea, bit string, jsonb, tsvector, numrange, array or multirange in an index, in order, which takes texts, byteas, the texts of jsonb and tsvector values, numrange keys (about one byte per digit of the bounds), array keys (9 bytes per integer, date, timestamp, oid, xid8, pg_lsn, \"char\" or tid, a text's or name's bytes and 2, 17 per interval or timetz, 7 per macaddr, 9 per macaddr8, a bit string's bits and 2, an IPv4 address's text and 12, an IPv6 address's text and 36, a few for the shape) and multirange keys (19 bytes per range) of up to 600 bytes and bit strings of up to 600 bits.".into(),
            ),
            CollationNotBuiltIn { .. } => Some(
                "A value expression takes the collation created after initdb from a column it reads; min and max would pick its figure by that collation's name, which could be renamed and taken by another collation. A column's own figure is picked by the column's collation, whatever its name.".into(),
            ),
            TemporaryObject { .. } => Some(
                "Postgres drops a session's temporary objects when it ends, and by cascade the columns, partitions or tables that depend on them, unseen by pg_tally's DDL hooks: the metric would keep a stale figure, and the table's writes would fail or its rows vanish.".into(),
            ),
            NondeterministicCollation { .. } | NondeterministicGroupColumn { .. } => Some(
                "pg_tally orders texts, groups and array elements by their bytes, as deterministic collations compare them; this collation takes texts with other bytes as equal.".into(),
            ),
            UnfaithfulSortKeys { reason, .. } => Some(format!(
                "pg_tally counts such texts by their ICU sort keys, which tell texts apart as the collation's = does only in collations without custom rules, at strength primary to tertiary, that neither ignore punctuation, normalize texts nor order digits as numbers; this one: {reason}."
            )),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        use TallyError::*;
        let hint = match self {
            UnknownMetric(_) => "SELECT name FROM tally.metrics lists the defined metrics.",
            UnknownDashboard(_) => "SELECT name FROM tally.dashboards lists the dashboards.",
            DuplicateMetric(_) => "Pick another name, or drop the old one with tally.drop_metric(name).",
            DuplicateDashboard(_) => "Pick another name, or drop the old one with tally.drop_dashboard(name).",
            EmptyName(_) => "Give a non-empty name.",
            NullArgument(_) => "Pass a value; SELECT name FROM tally.metrics and tally.dashboards list the names.",
            NotATable { .. } => "Metrics are defined on ordinary or partitioned tables.",
            NotOwner(_) => "Only the table's owner (or a superuser) may define, drop or refresh its metrics.",
            NotOwnerOfDashboard(_) => "Ask the role that created the dashboard (see tally.dashboards) or a superuser.",
            OrphanedMetric(_) => "Its table was dropped while event triggers were off, so no table owner is left to ask; a superuser's tally.drop_metric(name) removes it.",
            NotAllowedToRead { .. } => {
                "Figures are readable by roles that may SELECT the source table and, when it has row-level security, would see all of its rows (its owner, BYPASSRLS roles); others read what a dashboard's typed view publishes: GRANT SELECT ON the_view TO the_role."
            }
            UnknownColumn { role, .. } => {
                return Some(format!(
                    "{role} names one column of the source table, spelled as in \\d (case-sensitive, unquoted)."
                ))
            }
            CatalogOutdated => "Run ALTER EXTENSION pg_tally UPDATE in this database (writes keep being counted meanwhile).",
            UnknownAggregate(_) => "Use one of: count, sum, avg, min, max, count_distinct.",
            MissingColumn(_) => "Pass column_name => 'the_column'; only count works without one.",
            WrongColumnType { .. } => {
                "sum and avg need an integer, numeric or interval column, sum also money (Postgres has no avg of money; a float's sum depends on the order it is added in, so no running total of one is exact); min, max and count_distinct also take real, double precision, timestamptz, timestamp, date, time, interval, uuid, boolean, inet, cidr, macaddr, macaddr8, text, varchar, char, bytea, bit, varbit, enums, jsonb (json has no equality: pass column_name => 'the_column::jsonb'), timetz, money, the built-in ranges and multiranges, oid and the reg* types, xid8, pg_lsn, \"char\", tid, name, tsvector (not tsquery: its text does not tell every two queries apart), and arrays of integers, numeric, money, text, varchar, uuid, boolean, floats, dates, times, timestamps, intervals, bytea, inet, cidr, macaddr, bit strings, oids, xid8, pg_lsn, \"char\", tid or name; count_distinct also xid, cid and aclitem (and their arrays), arrays of enums, int2vector, oidvector and citext (as its equality counts: case-insensitive); count works on any column."
            }
            WrongValueType { .. } => {
                "sum and avg need an integer, numeric or interval value, sum also money (Postgres has no avg of money; a float's sum depends on the order it is added in, so no running total of one is exact): cast it, such as (price * quantity)::numeric; min, max and count_distinct also take real, double precision, timestamptz, timestamp, date, time, interval, uuid, boolean, inet, cidr, macaddr, macaddr8, text, bytea, bit string, enum, jsonb, timetz, money, oid, xid8, pg_lsn, \"char\", tid, name and tsvector values, the built-in ranges and multiranges, and arrays of integers, numeric, money, text, varchar, uuid, boolean, floats, dates, times, timestamps, intervals, bytea, inet, cidr, macaddr, bit strings, oids, xid8, pg_lsn, \"char\", tid or name; count_distinct also xid, cid and aclitem (and their arrays), arrays of enums, int2vector and oidvector, and a row of such values, such as '(user_id, day)'; count works on any value."
            }
            WrongRowFieldType { .. } => {
                "A row's fields are kept as an array's elements are: integers, numeric, money, text and varchar in a deterministic collation, uuid, boolean, floats, dates, times, timestamps, intervals, bytea, inet, cidr, macaddr, bit strings, oids, xid8, pg_lsn, \"char\", tid or an enum, and a column of name, xid, cid or aclitem as it is; write the field as one of them, such as (created_at AT TIME ZONE 'UTC')::date."
            }
            CollationNotBuiltIn { .. } => {
                "Read the column itself (column_name => 'name'), or give the expression a collation of pg_catalog, such as 'lower(name) COLLATE \"C\"' (byte order, the fastest to read) or the database's default; count_distinct takes text in any deterministic collation, and in most nondeterministic ones."
            }
            TemporaryObject { .. } => "Create that object, and what depends on it, in a permanent schema.",
            ArrayNotByteOrdered { .. } => {
                "min and max keep arrays of text in byte order (code point order in UTF8), which only the collations C, POSIX, ucs_basic, pg_c_utf8 and pg_unicode_fast (or a database default of C) have: give the array one, such as column_name => 'tags COLLATE \"C\"'; count_distinct takes an array of text in any deterministic collation."
            }
            NondeterministicCollation { .. } => {
                "min and max need a deterministic form of the value (its order ties texts the collation calls equal), such as column_name => 'lower(email) COLLATE \"C\"', or the column under COLLATE \"C\"; count_distinct over the text itself counts it as its collation's equality does."
            }
            PartitionSource { .. } => {
                "Define the metric on the partitioned table, with a filter on the partition key (rows written through the partitioned table fire no statement trigger of a partition)."
            }
            UnfaithfulSortKeys { .. } => {
                "Count the column in a collation such as und-u-ks-level2 (case-insensitive) or und-u-ks-level1 (accent-insensitive too), or a deterministic form of it, such as column_name => 'lower(email) COLLATE \"C\"'."
            }
            CitextOrder { .. } => {
                "Order by a built-in text that tells case apart: column_name => 'lower(email::text)' (the lowered text in the column's collation) or 'email::text' (as written); count_distinct takes citext itself, as citext's equality counts."
            }
            ChangedToCitext { .. } => {
                "Drop the metric first with tally.drop_metric(name), change the column, then define the metric again: count_distinct over a citext column counts as citext's equality does; min and max read lower(column::text) or column::text."
            }
            UnknownGroupEquality { .. } => {
                "Group by a generated column of a built-in type that holds the value as the groups should be told apart, such as lower(email::text)."
            }
            GroupNotUtf8 { .. } => {
                "Group by a text column (kept as the database's encoding has it), or create the database with ENCODING 'UTF8'."
            }
            NondeterministicGroupColumn { .. } => {
                "Group by a column holding a deterministic form of it (a generated column such as lower(email) COLLATE \"C\")."
            }
            TextNotUtf8 { .. } => {
                "pg_tally keeps the texts (and enum labels, the texts of jsonb and tsvector values) of min, max and count_distinct as UTF-8; count works on any value in any encoding."
            }
            FigureNotNumeric { .. } => {
                "Read them in their type: tally.value(name, NULL::the_type), tally.groups(name, NULL::the_type), tally.series(name, since, until, NULL::the_type); tally.snapshot and the typed view carry the type too."
            }
            WrongFigureType { .. } => {
                "Pass a NULL of the figures' type (or text), such as tally.value(name, NULL::timestamptz)."
            }
            NotAnEnum { .. } => {
                "It is pg_tally's own encoder of enum values: define a min, max or count_distinct metric over an enum column instead."
            }
            NoGroupText { .. } => {
                "It is pg_tally's own writer of group keys: group a metric by such a column instead."
            }
            ConstantValue(_) => {
                "A value expression is computed for each row: make it read the row's columns, such as column_name => 'price * quantity'; to count rows, leave column_name out."
            }
            EncoderType { .. } => {
                "It is pg_tally's own encoder of a metric's values, which the change queries call with the types create_metric takes (docs/sql-api.md lists them); a call by hand with another type has no key to give."
            }
            TsvectorNotNormal { .. } => {
                "Only binary input (COPY ... FORMAT binary, a binary parameter) makes such a tsvector, with repeated or unsorted lexemes: send it as text, or build it with to_tsvector. The statement was not applied."
            }
            ZoneOutOfRange { .. } => {
                "Postgres reads back no time with time zone whose zone is past ±15:59:59 (a dump of it would not restore), so no figure could carry it; write it in such a zone. The statement was not applied."
            }
            FigureOutOfRange { value_type: "money" } => {
                "The sum is past what money holds (-92233720368547758.08 to 92233720368547758.07 in two-decimal money), as Postgres' own sum(money) would say; the snapshot and the typed view read it as null."
            }
            FigureOutOfRange { .. } => {
                "The figure has more months, days or microseconds than an interval holds, as Postgres' own sum(interval) would say; the snapshot and the typed view read it as null."
            }
            UnknownBucket(_) => {
                "Use one of: hour, day, week, month, quarter, year; 'N minutes' where N divides 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30); 'N hours' where N divides 24 (2, 3, 4, 6, 8, 12)."
            }
            BucketPairing => "Pass both bucket => 'day' and bucket_column => 'created_at', or neither.",
            WrongBucketType { .. } => "Choose a timestamptz, timestamp or date column.",
            VirtualColumn { .. } => {
                "pg_tally counts the values a write stores, and PostgreSQL 18 computes a VIRTUAL column only when it is read: make it GENERATED ALWAYS AS (...) STORED, or use the columns it is computed from."
            }
            WrongGroupType { .. } => {
                "Its text form is not fixed (an interval prints by IntervalStyle, money by lc_monetary); group by a column of text, varchar, an integer, numeric, a float, boolean, uuid, an enum, date, timestamp or timestamptz instead, or bucket by time."
            }
            BadTimeZone(_) => "Use a name from pg_timezone_names, such as 'UTC' or 'Europe/Paris'.",
            NotOneExpression { role: ExpressionRole::Value, .. } => {
                "Pass a column name, or one expression over the table's columns, such as price * quantity; no statements, semicolons, FROM or subqueries."
            }
            NotOneExpression { .. } => {
                "Pass one boolean expression over the table's columns, such as status = 'PAID'; no statements, semicolons, FROM or subqueries."
            }
            FilterNotBoolean(_) => "The filter must yield boolean, such as status = 'PAID' or is_active.",
            ExpressionNotAllowed { role: ExpressionRole::Value, .. } => {
                "A value expression is evaluated when rows are written, so it must be immutable and use only the row's own columns and built-in functions, operators, types and collations: no subqueries, aggregates, domains, user-defined, volatile or time-dependent functions such as now()."
            }
            ExpressionNotAllowed { .. } => {
                "A filter is evaluated when rows are written, so it must be immutable and use only the row's own columns and built-in functions, operators, types and collations: no subqueries, aggregates, domains, user-defined, volatile or time-dependent functions such as now()."
            }
            MetricInUse { .. } => "Drop the dashboard first with tally.drop_dashboard(name).",
            SourceChangeBreaks { .. } => {
                "Undo the change, or drop the metric first with tally.drop_metric(name) and define it again afterwards."
            }
            EmptyDashboard => "Pass an array of metric names, such as ARRAY['total_users'].",
            RepeatedDashboardMetric(_) => "List each metric once.",
            RepeatedGroupColumn(_) => "List each group column once.",
            TooManyGroupColumns(_) => "Group by at most 8 columns.",
            WrongGroupByType(_) => "Pass group_by => 'status', or group_by => ARRAY['status', 'channel'].",
            BadViewName(_) => "Use a plain name or schema.name, such as dashboard_view or public.dashboard_view.",
            UnknownSchema(_) => "Create the schema first, or name an existing one.",
            NoCreateInSchema(_) => "Name a schema you may create objects in, or ask for CREATE on it.",
            NeedsReadCommitted(_) => "Run it in its own transaction, or SET TRANSACTION ISOLATION LEVEL READ COMMITTED first.",
            SourceChangedDuringDefinition { .. } => "Another transaction altered the table while this one waited for it; run tally.create_metric again, which defines the metric over the table as it is now.",
            MetricsChangedSinceSnapshot => "Retry the transaction (as after any serialization failure), or run the DDL in READ COMMITTED.",
            CollationGoneSinceSnapshot => "Retry the transaction (as after any serialization failure): a new snapshot reads the column's collation as it is now.",
            BadRange => "Pass since < until.",
            ForcedRowSecurity(_) => "ALTER TABLE ... NO FORCE ROW LEVEL SECURITY (policies still apply to every other role), or drop the table's metrics first.",
            FoldFailed { .. } => "Nothing was folded: the changes wait for the next fold, and reads stay exact meanwhile.",
            ValueOutOfRange { .. } => "Write a smaller value, or constrain the column (such as numeric(20, 2)); the statement was not applied.",
            ValueTooLong { .. } => "Write a shorter value, or constrain the column (such as numeric(20, 2)); the statement was not applied.",
            TooLongToOrder { kind, .. } => {
                let shorter = match kind.constraint() {
                    Some(constraint) => format!(
                        "Write a shorter value, or constrain the column (such as {constraint})"
                    ),
                    None => "Write a multirange of fewer ranges (about 30 of integers, dates or timestamps fit, fewer of numerics)".to_string(),
                };
                return Some(format!(
                    "{shorter}; count_distinct takes any length. The statement was not applied."
                ));
            }
            InfiniteInterval { .. } => "A sum or avg over intervals adds their months, days and time apart, which an infinite interval has no finite value for; the statement was not applied.",
            GroupKeyTooLong { .. } => "Write a shorter value, or group by another column; the statement was not applied.",
            MetricBroken { .. } => "Recompute it from its table with tally.refresh(name): it folds again from then on.",
            Spi(_) | Internal(_) => "This is a bug in pg_tally; please report it with the statement that caused it.",
        };
        Some(hint.to_string())
    }

    /// The report Postgres shows the user.
    pub fn to_report(&self) -> ErrorReport {
        let mut report = ErrorReport::new(self.sqlstate(), self.to_string(), "pg_tally");
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint() {
            report = report.set_hint(hint);
        }
        report
    }

    /// Raise this error as a Postgres ERROR. Used where a Result cannot be returned (triggers).
    pub fn raise(&self) -> ! {
        self.to_report().report(PgLogLevel::ERROR);
        unreachable!("an ERROR report does not return")
    }
}

impl From<TallyError> for ErrorReport {
    fn from(error: TallyError) -> Self {
        error.to_report()
    }
}

/// Public entry points return this, so pgrx raises the report with its SQLSTATE.
pub type SqlResult<T> = std::result::Result<T, ErrorReport>;
