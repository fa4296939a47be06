//! `lakeport-protocol`: the Airbyte protocol for Lakeport connectors.
//!
//! It knows Airbyte — messages, catalogs, state, the command line and the
//! connector runtime — and nothing of S3, files or Arrow.
//!
//! ```
//! use lakeport_protocol::{AirbyteMessage, ConnectionStatus};
//! let msg = AirbyteMessage::ConnectionStatus { connection_status: ConnectionStatus::succeeded("ok") };
//! let line = serde_json::to_string(&msg).unwrap();
//! assert_eq!(line, r#"{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED","message":"ok"}}"#);
//! ```
#![warn(missing_docs)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod emit;
pub mod error;
pub mod message;
pub mod panics;
pub mod pipe;
pub mod progress;
pub mod read_ahead;
pub mod runtime;
pub mod secrets;
pub mod state;
pub mod stop;

pub use catalog::{
    AirbyteCatalog, AirbyteStream, ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, DestinationSyncMode,
    StreamDescriptor, SyncMode,
};
pub use cli::Flavour;
pub use emit::Emitter;
pub use error::ConnectorError;
pub use message::*;
pub use runtime::{load_config, run_destination, run_source, Connector, Destination, MigratedConfig, Source};
pub use secrets::Secrets;
pub use state::InputState;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The Airbyte protocol version these messages follow.
pub const PROTOCOL_VERSION: &str = "0.2.0";
