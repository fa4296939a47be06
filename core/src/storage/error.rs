//! Storage errors: one variant per meaning, each message saying what is wrong
//! and what to do. No message ever holds a secret: they are built from the
//! bucket, key, endpoint, operation and the server's error code only.

use crate::storage::meter::RequestKind;

/// A `Result` whose error is [`StorageError`].
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// What went wrong talking to a store.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("Not found: object '{key}' does not exist in {store}.")]
    NotFound {
        /// The store (e.g. `s3://bucket` or a directory).
        store: String,
        /// The key.
        key: String,
    },
    /// The bucket does not exist (S3 `NoSuchBucket`).
    #[error(
        "Not found: bucket '{bucket}' does not exist at {endpoint} (NoSuchBucket). Check `bucket` (and `endpoint_url` for S3-compatible servers)."
    )]
    BucketNotFound {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
    },
    /// The credentials are valid but not allowed to do this (HTTP 403).
    #[error(
        "Access denied: the credentials may not {} {target} ({code}). Grant {} on it in the IAM or bucket policy, or check `bucket` and the prefix.",
        .operation.verb(),
        .operation.permission()
    )]
    AccessDenied {
        /// What was attempted.
        operation: RequestKind,
        /// `s3://bucket/key` or the prefix listed.
        target: String,
        /// The server's error code (`AccessDenied`, or `HTTP 403`).
        code: String,
    },
    /// The server does not accept the credentials.
    #[error("Invalid credentials: {reason} ({code}). Check `access_key_id` and `secret_access_key` (and `session_token` for temporary credentials).")]
    InvalidCredentials {
        /// The server's error code (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, …).
        code: String,
        /// What it means.
        reason: String,
    },
    /// No credentials could be found or assumed.
    #[error("No usable AWS credentials: {detail}. Set `access_key_id` and `secret_access_key`, or provide credentials to the default AWS chain (environment, profile, instance role).")]
    NoCredentials {
        /// What the credential provider said.
        detail: String,
    },
    /// The bucket lives in another region than the one configured.
    #[error("Bucket '{bucket}' is in region '{actual}', not '{configured}': set `region` to \"{actual}\".")]
    WrongRegion {
        /// The bucket.
        bucket: String,
        /// The configured region.
        configured: String,
        /// The region the server named (or `another region`).
        actual: String,
    },
    /// Nothing answered at the endpoint (connection refused, DNS, TLS).
    #[error("Could not connect to {endpoint}: {detail}. Check `endpoint_url`, `use_ssl` and `region`, and that the server is reachable from here.")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The network error.
        detail: String,
    },
    /// The request kept timing out through every retry.
    #[error("Timed out trying to {} {target} at {endpoint} ({detail}), even after retries. The server is slow or unreachable; try again later.", .operation.verb())]
    Timeout {
        /// What was attempted.
        operation: RequestKind,
        /// The object or prefix.
        target: String,
        /// The endpoint.
        endpoint: String,
        /// Which timeout.
        detail: String,
    },
    /// A retryable fault (throttling, 5xx, reset connection) that persisted
    /// through every retry.
    #[error("Could not {} {target}: {detail}, even after retries. This is usually temporary (throttling or a server fault); try again later.", .operation.verb())]
    Transient {
        /// What was attempted.
        operation: RequestKind,
        /// The object or prefix.
        target: String,
        /// The last error.
        detail: String,
    },
    /// The storage settings are wrong (bad endpoint URL, unsupported option).
    #[error("{0}")]
    Config(String),
    /// A local filesystem error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else the server answered.
    #[error("Could not {} {target}: {detail}.", .operation.verb())]
    Other {
        /// What was attempted.
        operation: RequestKind,
        /// The object or prefix.
        target: String,
        /// The server's code and message, or the client error.
        detail: String,
    },
}

impl StorageError {
    /// An [`StorageError::Io`] for `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            source,
        }
    }

    /// True for a missing object or bucket.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StorageError::NotFound { .. } | StorageError::BucketNotFound { .. }
        ) || matches!(self, StorageError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// True for faults worth retrying later (network, throttling, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StorageError::Unreachable { .. } | StorageError::Timeout { .. } | StorageError::Transient { .. }
        )
    }

    /// Recovers a `StorageError` carried through a [`std::io::Error`] (as
    /// [`crate::storage::BlockingReader`] reports them); other I/O errors
    /// become [`StorageError::Io`] on `path`.
    pub fn from_io(e: std::io::Error, path: &str) -> Self {
        if !e.get_ref().is_some_and(|inner| inner.is::<StorageError>()) {
            return StorageError::io(path, e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<StorageError>()) {
            Some(Ok(se)) => *se,
            Some(Err(other)) => StorageError::io(path, std::io::Error::new(kind, other)),
            None => StorageError::io(path, std::io::Error::from(kind)),
        }
    }
}

impl From<StorageError> for std::io::Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Io { source, .. } => source,
            other => std::io::Error::other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn messages_say_what_is_wrong_and_what_to_do() {
        let cases: Vec<(StorageError, &str)> = vec![
            (
                StorageError::NoCredentials {
                    detail: "no profile".into(),
                },
                "No usable AWS credentials: no profile. Set `access_key_id` and `secret_access_key`, or provide credentials to the default AWS chain (environment, profile, instance role).",
            ),
            (
                StorageError::Unreachable {
                    endpoint: "http://h:1".into(),
                    detail: "refused".into(),
                },
                "Could not connect to http://h:1: refused. Check `endpoint_url`, `use_ssl` and `region`, and that the server is reachable from here.",
            ),
            (
                StorageError::AccessDenied {
                    operation: RequestKind::Delete,
                    target: "s3://b/k".into(),
                    code: "AccessDenied".into(),
                },
                "Access denied: the credentials may not delete s3://b/k (AccessDenied). Grant s3:DeleteObject on it in the IAM or bucket policy, or check `bucket` and the prefix.",
            ),
            (
                StorageError::AccessDenied {
                    operation: RequestKind::AbortMultipart,
                    target: "s3://b/k".into(),
                    code: "HTTP 403".into(),
                },
                "Access denied: the credentials may not abort an upload to s3://b/k (HTTP 403). Grant s3:AbortMultipartUpload on it in the IAM or bucket policy, or check `bucket` and the prefix.",
            ),
            (
                StorageError::Other {
                    operation: RequestKind::Head,
                    target: "s3://b/k".into(),
                    detail: "HTTP 400".into(),
                },
                "Could not read the metadata of s3://b/k: HTTP 400.",
            ),
            (
                StorageError::Other {
                    operation: RequestKind::UploadPart,
                    target: "s3://b/k".into(),
                    detail: "x".into(),
                },
                "Could not write s3://b/k: x.",
            ),
            (
                StorageError::Other {
                    operation: RequestKind::Other,
                    target: "s3://b".into(),
                    detail: "y".into(),
                },
                "Could not access s3://b: y.",
            ),
            (StorageError::Config("bad endpoint".into()), "bad endpoint"),
            (
                StorageError::io("/d/f", io::Error::new(io::ErrorKind::PermissionDenied, "denied")),
                "I/O error on /d/f: denied",
            ),
        ];
        for (e, msg) in cases {
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn not_found_and_transient_kinds() {
        assert!(StorageError::io("f", io::Error::from(io::ErrorKind::NotFound)).is_not_found());
        assert!(!StorageError::io("f", io::Error::from(io::ErrorKind::PermissionDenied)).is_not_found());
        assert!(!StorageError::Config("x".into()).is_not_found());
        assert!(StorageError::Unreachable {
            endpoint: "e".into(),
            detail: "d".into()
        }
        .is_transient());
        assert!(!StorageError::Config("x".into()).is_transient());
    }

    #[test]
    fn storage_errors_travel_through_io_errors() {
        // A storage error carried in an io::Error comes back as itself.
        let carried: io::Error = StorageError::Config("c".into()).into();
        assert!(matches!(StorageError::from_io(carried, "p"), StorageError::Config(m) if m == "c"));
        // An Io error is unwrapped to its source, not nested.
        let plain: io::Error = StorageError::io("p", io::Error::new(io::ErrorKind::TimedOut, "slow")).into();
        assert_eq!(
            (plain.kind(), plain.to_string()),
            (io::ErrorKind::TimedOut, "slow".to_string())
        );
        // Any other io::Error becomes an Io error on the path.
        let other = StorageError::from_io(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"), "obj");
        assert_eq!(other.to_string(), "I/O error on obj: cut");
    }
}
