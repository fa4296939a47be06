//! Every Airbyte protocol message type (official models 0.18), as serde types.
//!
//! One message is one JSON object on one line, tagged by `type`:
//!
//! ```json
//! {"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1700000000000}}
//! {"type":"LOG","log":{"level":"INFO","message":"read 10 files"}}
//! ```
//!
//! Optional fields are left out when `None`, as the official models expect.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{AirbyteCatalog, StreamDescriptor};

/// One Airbyte protocol message: the envelope, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AirbyteMessage {
    /// A data record.
    Record {
        /// The record.
        record: RecordMessage,
    },
    /// A checkpoint.
    State {
        /// The state.
        state: StateMessage,
    },
    /// A log line.
    Log {
        /// The log line.
        log: LogMessage,
    },
    /// The connector's specification.
    Spec {
        /// The specification.
        spec: ConnectorSpecification,
    },
    /// The result of `check`.
    ConnectionStatus {
        /// The status.
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
    /// The result of `discover`.
    Catalog {
        /// The catalog.
        catalog: AirbyteCatalog,
    },
    /// An error, estimate, stream status or analytics event.
    Trace {
        /// The trace.
        trace: TraceMessage,
    },
    /// A request to the platform, e.g. to persist an upgraded config.
    Control {
        /// The control message.
        control: ControlMessage,
    },
}

/// A RECORD payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMessage {
    /// The stream's namespace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The stream name.
    pub stream: String,
    /// The record's fields.
    pub data: Value,
    /// When the record was extracted, in milliseconds since the epoch.
    pub emitted_at: i64,
    /// Changes made to the record on its way (nulled or truncated fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<RecordMeta>,
}

/// `meta` of a RECORD.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordMeta {
    /// Each change made to a field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<RecordChange>,
}

/// One change made to a record's field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordChange {
    /// The field's name.
    pub field: String,
    /// What was done.
    pub change: ChangeKind,
    /// Why.
    pub reason: ChangeReason,
}

/// What was done to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    /// The value was replaced by null.
    Nulled,
    /// The value was shortened.
    Truncated,
}

/// Why a field was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeReason {
    /// The source record was too large.
    SourceRecordSizeLimitation,
    /// The destination record was too large.
    DestinationRecordSizeLimitation,
    /// The destination field was too large.
    DestinationFieldSizeLimitation,
    /// The destination could not store the value.
    DestinationSerializationError,
    /// The source could not read the value.
    SourceSerializationError,
    /// The platform could not pass the value on.
    PlatformSerializationError,
    /// The source's field was too large.
    SourceFieldSizeLimitation,
    /// The source failed to retrieve the value.
    SourceRetrievalError,
    /// The destination's type system could not hold the value.
    DestinationTypecastError,
}

/// The kind of a STATE message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateType {
    /// State shared across all streams.
    Global,
    /// State of one stream.
    Stream,
    /// The pre-per-stream blob.
    Legacy,
}

/// A STATE payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StateMessage {
    /// The kind of state; absent means legacy.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub state_type: Option<StateType>,
    /// Per-stream state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamState>,
    /// Global state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalState>,
    /// Legacy state blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Counts from the source since the previous state.
    #[serde(rename = "sourceStats", default, skip_serializing_if = "Option::is_none")]
    pub source_stats: Option<StateStats>,
    /// Counts from the destination since the previous state.
    #[serde(rename = "destinationStats", default, skip_serializing_if = "Option::is_none")]
    pub destination_stats: Option<StateStats>,
}

impl StateMessage {
    /// A STREAM state for `descriptor` with the given blob and record count.
    pub fn stream(descriptor: StreamDescriptor, state: Value, record_count: u64) -> Self {
        StateMessage {
            state_type: Some(StateType::Stream),
            stream: Some(StreamState {
                stream_descriptor: descriptor,
                stream_state: Some(state),
            }),
            source_stats: Some(StateStats {
                record_count: Some(record_count as f64),
            }),
            ..Default::default()
        }
    }
}

/// The state of one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    /// Which stream.
    pub stream_descriptor: StreamDescriptor,
    /// The stream's state blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_state: Option<Value>,
}

/// State shared by all streams plus each stream's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalState {
    /// The shared part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_state: Option<Value>,
    /// Each stream's part.
    pub stream_states: Vec<StreamState>,
}

/// Record counts attached to a STATE message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StateStats {
    /// Records since the previous state.
    #[serde(rename = "recordCount", default, skip_serializing_if = "Option::is_none")]
    pub record_count: Option<f64>,
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogLevel {
    /// Fatal.
    Fatal,
    /// Error.
    Error,
    /// Warning.
    Warn,
    /// Information.
    Info,
    /// Debugging detail.
    Debug,
    /// Tracing detail.
    Trace,
}

/// A LOG payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogMessage {
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// A stack trace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
}

/// A SPEC payload: what the connector is and what its config looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorSpecification {
    /// Where the connector is documented.
    #[serde(rename = "documentationUrl", default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// Where its changes are listed.
    #[serde(rename = "changelogUrl", default, skip_serializing_if = "Option::is_none")]
    pub changelog_url: Option<String>,
    /// The JSON Schema (draft-07) of the config.
    #[serde(rename = "connectionSpecification")]
    pub connection_specification: Value,
    /// Whether the source supports incremental reads.
    #[serde(rename = "supportsIncremental", default, skip_serializing_if = "Option::is_none")]
    pub supports_incremental: Option<bool>,
    /// Destination sync modes supported (destinations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_destination_sync_modes: Option<Vec<crate::catalog::DestinationSyncMode>>,
    /// The protocol version spoken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
}

/// Outcome of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckStatus {
    /// The connector can work with this config.
    Succeeded,
    /// It cannot; the message says why.
    Failed,
}

/// A CONNECTION_STATUS payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// Succeeded or failed.
    pub status: CheckStatus,
    /// Why it failed, or what was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ConnectionStatus {
    /// A successful status.
    pub fn succeeded(message: impl Into<String>) -> Self {
        ConnectionStatus {
            status: CheckStatus::Succeeded,
            message: Some(message.into()),
        }
    }
    /// A failed status with the reason.
    pub fn failed(message: impl Into<String>) -> Self {
        ConnectionStatus {
            status: CheckStatus::Failed,
            message: Some(message.into()),
        }
    }
}

/// Failure types of a TRACE ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    /// A bug or unexpected state in the connector.
    SystemError,
    /// Something the user must fix in the config or the data.
    ConfigError,
    /// A retryable fault of the infrastructure.
    TransientError,
}

/// The kind of a TRACE message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceType {
    /// An error.
    Error,
    /// A size estimate.
    Estimate,
    /// A stream's status change.
    StreamStatus,
    /// An analytics event.
    Analytics,
}

/// A TRACE payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceMessage {
    /// The kind of trace.
    #[serde(rename = "type")]
    pub trace_type: TraceType,
    /// When, in milliseconds since the epoch.
    pub emitted_at: f64,
    /// The error, for ERROR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorTrace>,
    /// The estimate, for ESTIMATE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateTrace>,
    /// The status, for STREAM_STATUS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_status: Option<StreamStatusTrace>,
    /// The event, for ANALYTICS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics: Option<AnalyticsTrace>,
}

impl TraceMessage {
    fn empty(trace_type: TraceType) -> Self {
        TraceMessage {
            trace_type,
            emitted_at: crate::now_millis() as f64,
            error: None,
            estimate: None,
            stream_status: None,
            analytics: None,
        }
    }

    /// A TRACE ERROR.
    pub fn error(error: ErrorTrace) -> Self {
        TraceMessage {
            error: Some(error),
            ..Self::empty(TraceType::Error)
        }
    }

    /// A TRACE ESTIMATE.
    pub fn estimate(estimate: EstimateTrace) -> Self {
        TraceMessage {
            estimate: Some(estimate),
            ..Self::empty(TraceType::Estimate)
        }
    }

    /// A TRACE STREAM_STATUS.
    pub fn stream_status(stream: StreamDescriptor, status: StreamStatus) -> Self {
        TraceMessage {
            stream_status: Some(StreamStatusTrace {
                stream_descriptor: stream,
                status,
                reasons: None,
            }),
            ..Self::empty(TraceType::StreamStatus)
        }
    }

    /// A TRACE ANALYTICS.
    pub fn analytics(analytics: AnalyticsTrace) -> Self {
        TraceMessage {
            analytics: Some(analytics),
            ..Self::empty(TraceType::Analytics)
        }
    }
}

/// The error of a TRACE ERROR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorTrace {
    /// What the user reads: what is wrong and what to do.
    pub message: String,
    /// Detail for the connector's developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_message: Option<String>,
    /// A stack trace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
    /// How to classify the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_type: Option<FailureType>,
    /// The stream that failed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_descriptor: Option<StreamDescriptor>,
}

/// Whether an estimate is for one stream or the whole sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EstimateType {
    /// One stream.
    Stream,
    /// The whole sync.
    Sync,
}

/// The estimate of a TRACE ESTIMATE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateTrace {
    /// The stream's name.
    pub name: String,
    /// Stream or sync.
    #[serde(rename = "type")]
    pub estimate_type: EstimateType,
    /// The stream's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Expected rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<u64>,
    /// Expected bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_estimate: Option<u64>,
}

/// Stream statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    /// Reading began.
    Started,
    /// Reading is under way.
    Running,
    /// Every record was read.
    Complete,
    /// Reading stopped before the end.
    Incomplete,
}

/// The status of a TRACE STREAM_STATUS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamStatusTrace {
    /// Which stream.
    pub stream_descriptor: StreamDescriptor,
    /// Its status.
    pub status: StreamStatus,
    /// Why (e.g. rate limited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Value>>,
}

/// The event of a TRACE ANALYTICS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsTrace {
    /// The event's kind.
    #[serde(rename = "type")]
    pub analytics_type: String,
    /// Its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Kinds of CONTROL messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlType {
    /// Persist a new connector config.
    ConnectorConfig,
}

/// A CONTROL payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlMessage {
    /// The kind.
    #[serde(rename = "type")]
    pub control_type: ControlType,
    /// When, in milliseconds since the epoch.
    pub emitted_at: f64,
    /// The config to persist.
    #[serde(rename = "connectorConfig")]
    pub connector_config: ConnectorConfig,
}

/// The config carried by a CONNECTOR_CONFIG control message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorConfig {
    /// The whole config.
    pub config: Value,
}

impl ControlMessage {
    /// A CONNECTOR_CONFIG control message carrying `config`.
    pub fn connector_config(config: Value) -> Self {
        ControlMessage {
            control_type: ControlType::ConnectorConfig,
            emitted_at: crate::now_millis() as f64,
            connector_config: ConnectorConfig { config },
        }
    }
}
