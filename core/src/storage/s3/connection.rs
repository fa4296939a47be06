//! [`S3Connection`]: the connection keys of an S3 config (bucket, region,
//! credentials, endpoint), as connector configs flatten them.

use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";

fn default_region() -> String {
    DEFAULT_REGION.to_string()
}

fn default_true() -> bool {
    true
}

/// The connection keys shared by the S3 connectors (CONTRACT §4), as they
/// appear in a native config. Connector configs `#[serde(flatten)]` it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3Connection {
    /// The bucket.
    pub bucket: String,
    /// The region; default `us-east-1`.
    #[serde(default = "default_region")]
    pub region: String,
    /// Access key id; with no keys the default AWS credential chain is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// Session token of temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Secret>,
    /// A role to assume with STS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// A custom endpoint (S3-compatible servers); implies path-style addressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// `false` sends requests over plain HTTP.
    #[serde(default = "default_true")]
    pub use_ssl: bool,
    /// Send unsigned requests (public buckets), ignoring any credentials.
    #[serde(default)]
    pub anonymous: bool,
}

impl S3Connection {
    /// A connection to `bucket` with every other key at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Connection {
            bucket: bucket.into(),
            region: default_region(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            role_arn: None,
            endpoint_url: None,
            use_ssl: true,
            anonymous: false,
        }
    }
}
