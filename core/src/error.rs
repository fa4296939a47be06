//! The error type shared by the engine, and its mapping onto Airbyte failure types.
//!
//! Storage errors map here too ([`StorageError`] → [`Error`] → the protocol's
//! [`ConnectorError`]), so the storage layer stays free of the protocol.

use lakeport_protocol::{ConnectorError, FailureType};

use crate::storage::StorageError;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by meaning. Every variant says what to do in its message.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's configuration is wrong or incomplete.
    #[error("{0}")]
    Config(String),
    /// A file could not be decoded or encoded in its format.
    #[error("Format error in {file}: {message}")]
    Format {
        /// The file (path or object key) being read or written.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// An object, file or bucket does not exist.
    #[error("Not found: {0}")]
    NotFound(String),
    /// Access was refused.
    #[error("Access denied: {0}")]
    AccessDenied(String),
    /// A retryable infrastructure fault (network, throttling, 5xx) that persisted.
    #[error("{0}")]
    Transient(String),
    /// A local I/O error with the path it concerns.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else: a bug or an unexpected state.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A [`Error::Format`] for `file`.
    pub fn format(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Format {
            file: file.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The Airbyte failure type this error is reported as.
    pub fn failure_type(&self) -> FailureType {
        match self {
            Error::Config(_) | Error::Format { .. } | Error::NotFound(_) | Error::AccessDenied(_) => {
                FailureType::ConfigError
            }
            Error::Transient(_) => FailureType::TransientError,
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => FailureType::ConfigError,
                _ => FailureType::SystemError,
            },
            Error::Internal(_) => FailureType::SystemError,
        }
    }
}

impl From<Error> for ConnectorError {
    fn from(e: Error) -> Self {
        let failure_type = e.failure_type();
        let internal = match &e {
            Error::Io { source, .. } => Some(format!("{source:?}")),
            _ => None,
        };
        let mut message = e.to_string();
        if let Error::Io { source, .. } = &e {
            message.push_str(io_advice(source.kind()));
        }
        ConnectorError::new(failure_type, message).with_internal_opt(internal)
    }
}

/// What to do about a local I/O error of a kind a user can fix (empty for
/// the others).
fn io_advice(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::StorageFull => {
            ". The disk is full: free space (or point the output at a larger disk), then run the sync again from \
             the last STATE echoed; files not yet committed were discarded."
        }
        ErrorKind::ReadOnlyFilesystem => {
            ". The file system is read-only (remounted read-only after an error?): make it writable, then run the \
             sync again from the last STATE echoed."
        }
        ErrorKind::PermissionDenied => {
            ". This user may not write there: fix the directory's permissions, then run the sync again from the \
             last STATE echoed."
        }
        _ => "",
    }
}

/// The message after a leading `"Not found: "` / `"Access denied: "`, which
/// [`Error`]'s own display adds back.
fn strip(prefix: &str, text: String) -> String {
    match text.strip_prefix(prefix) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { .. } | StorageError::BucketNotFound { .. } => {
                Error::NotFound(strip("Not found: ", e.to_string()))
            }
            StorageError::AccessDenied { .. } => Error::AccessDenied(strip("Access denied: ", e.to_string())),
            StorageError::InvalidCredentials { .. }
            | StorageError::NoCredentials { .. }
            | StorageError::WrongRegion { .. }
            | StorageError::Config(_) => Error::Config(e.to_string()),
            StorageError::Unreachable { .. } | StorageError::Timeout { .. } | StorageError::Transient { .. } => {
                Error::Transient(e.to_string())
            }
            StorageError::Io { path, source } => Error::Io { path, source },
            StorageError::Other { .. } => Error::Internal(e.to_string()),
        }
    }
}

impl From<StorageError> for ConnectorError {
    fn from(e: StorageError) -> Self {
        Error::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_to_failure_types() {
        let e: Error = StorageError::BucketNotFound {
            bucket: "b".into(),
            endpoint: "http://x".into(),
        }
        .into();
        assert_eq!(e.failure_type(), FailureType::ConfigError);
        assert!(e.to_string().starts_with("Not found: bucket 'b'"), "{e}");
        let e: Error = StorageError::Unreachable {
            endpoint: "http://x".into(),
            detail: "refused".into(),
        }
        .into();
        assert_eq!(e.failure_type(), FailureType::TransientError);
        assert!(e.to_string().contains("Could not connect to http://x"), "{e}");
    }

    #[test]
    fn io_errors_carry_advice_a_user_can_act_on() {
        use std::io::{Error as IoError, ErrorKind};
        let c: ConnectorError = Error::io("/out/f.jsonl", IoError::new(ErrorKind::StorageFull, "no space left")).into();
        assert_eq!(c.failure_type, FailureType::SystemError);
        assert_eq!(
            c.message,
            "I/O error on /out/f.jsonl: no space left. The disk is full: free space (or point the output at a larger \
             disk), then run the sync again from the last STATE echoed; files not yet committed were discarded."
        );
        assert!(
            c.internal.as_deref().is_some_and(|i| i.contains("StorageFull")),
            "{:?}",
            c.internal
        );
        let c: ConnectorError = Error::io("/out", IoError::new(ErrorKind::ReadOnlyFilesystem, "ro")).into();
        assert!(c.message.ends_with(
            "ro. The file system is read-only (remounted read-only after an error?): make it writable, then run the \
             sync again from the last STATE echoed."
        ));
        let c: ConnectorError = Error::io("/out", IoError::new(ErrorKind::PermissionDenied, "denied")).into();
        assert_eq!(c.failure_type, FailureType::ConfigError);
        assert!(c.message.ends_with("denied. This user may not write there: fix the directory's permissions, then run the sync again from the last STATE echoed."));
        let c: ConnectorError = Error::io("/in", IoError::new(ErrorKind::NotFound, "gone")).into();
        assert_eq!(
            (c.failure_type, c.message.as_str()),
            (FailureType::ConfigError, "I/O error on /in: gone")
        );
        let c: ConnectorError = Error::format("f.csv", "bad row").into();
        assert_eq!(
            (c.failure_type, c.message.as_str(), c.internal),
            (FailureType::ConfigError, "Format error in f.csv: bad row", None)
        );
        assert_eq!(Error::Internal("bug".into()).failure_type(), FailureType::SystemError);
        assert_eq!(
            Error::Transient("later".into()).failure_type(),
            FailureType::TransientError
        );
    }

    #[test]
    fn every_storage_error_maps_to_its_meaning() {
        use crate::storage::meter::RequestKind;
        let key_missing: Error = StorageError::NotFound {
            store: "s3://b".into(),
            key: "k".into(),
        }
        .into();
        assert_eq!(
            key_missing.to_string(),
            "Not found: object 'k' does not exist in s3://b."
        );
        let denied: Error = StorageError::AccessDenied {
            operation: RequestKind::Get,
            target: "s3://b/k".into(),
            code: "AccessDenied".into(),
        }
        .into();
        assert!(
            matches!(&denied, Error::AccessDenied(m) if m.starts_with("the credentials may not read s3://b/k")),
            "{denied}"
        );
        assert!(
            denied
                .to_string()
                .starts_with("Access denied: the credentials may not read"),
            "not twice"
        );
        for e in [
            StorageError::InvalidCredentials {
                code: "c".into(),
                reason: "r".into(),
            },
            StorageError::NoCredentials { detail: "d".into() },
            StorageError::WrongRegion {
                bucket: "b".into(),
                configured: "x".into(),
                actual: "y".into(),
            },
            StorageError::Config("c".into()),
        ] {
            let msg = e.to_string();
            let c: ConnectorError = e.into();
            assert_eq!((c.failure_type, c.message), (FailureType::ConfigError, msg));
        }
        for e in [
            StorageError::Timeout {
                operation: RequestKind::List,
                target: "t".into(),
                endpoint: "e".into(),
                detail: "d".into(),
            },
            StorageError::Transient {
                operation: RequestKind::Put,
                target: "t".into(),
                detail: "d".into(),
            },
        ] {
            assert_eq!(Error::from(e).failure_type(), FailureType::TransientError);
        }
        let other: Error = StorageError::Other {
            operation: RequestKind::Put,
            target: "t".into(),
            detail: "d".into(),
        }
        .into();
        assert!(
            matches!(&other, Error::Internal(m) if m == "Could not write t: d."),
            "{other}"
        );
        let io: Error = StorageError::io("p", std::io::Error::from(std::io::ErrorKind::NotFound)).into();
        assert!(matches!(io, Error::Io { ref path, .. } if path == "p"));
    }
}
