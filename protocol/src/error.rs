//! The error model every connector reports with: a failure type, a message for
//! the user (what is wrong and what to do) and an optional internal message.

use crate::catalog::StreamDescriptor;
use crate::message::{ErrorTrace, FailureType};

/// An error a connector reports as one TRACE ERROR before exiting non-zero.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    /// How the platform should treat the failure.
    pub failure_type: FailureType,
    /// What the user reads: what is wrong and what to do.
    pub message: String,
    /// Detail for developers (never a secret).
    pub internal: Option<String>,
    /// The stream being processed, if the error concerns one.
    pub stream: Option<StreamDescriptor>,
}

impl ConnectorError {
    /// An error of the given type.
    pub fn new(failure_type: FailureType, message: impl Into<String>) -> Self {
        ConnectorError {
            failure_type,
            message: message.into(),
            internal: None,
            stream: None,
        }
    }

    /// Something the user must fix (config, credentials, data).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(FailureType::ConfigError, message)
    }

    /// A retryable infrastructure fault.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(FailureType::TransientError, message)
    }

    /// Anything else: a bug or unexpected state.
    pub fn system(message: impl Into<String>) -> Self {
        Self::new(FailureType::SystemError, message)
    }

    /// Adds an internal message.
    pub fn with_internal(mut self, internal: impl Into<String>) -> Self {
        self.internal = Some(internal.into());
        self
    }

    /// Adds an internal message when there is one.
    pub fn with_internal_opt(mut self, internal: Option<String>) -> Self {
        self.internal = internal;
        self
    }

    /// Names the stream the error concerns.
    pub fn with_stream(mut self, stream: StreamDescriptor) -> Self {
        self.stream = Some(stream);
        self
    }

    /// The TRACE ERROR payload for this error.
    pub fn to_trace(&self) -> ErrorTrace {
        ErrorTrace {
            message: self.message.clone(),
            internal_message: self.internal.clone(),
            stack_trace: None,
            failure_type: Some(self.failure_type),
            stream_descriptor: self.stream.clone(),
        }
    }
}

impl From<std::io::Error> for ConnectorError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ConnectorError::system(BROKEN_PIPE);
        }
        ConnectorError::system(format!("I/O error: {e}"))
    }
}

/// Message of the error made from a closed stdout.
const BROKEN_PIPE: &str = "The output was closed before the connector finished (broken pipe).";

impl ConnectorError {
    /// True when the error is stdout having been closed by the reader (e.g.
    /// `| head`): the process then exits quietly with success.
    pub fn is_broken_pipe(&self) -> bool {
        self.message == BROKEN_PIPE
    }
}
