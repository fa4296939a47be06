//! [`S3Builder`], which turns an [`S3Connection`] into an [`S3Storage`]:
//! bucket and endpoint normalized, region defaulted, retries and timeouts set, credentials resolved
//! ([`super::credentials`]).

use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::Client;

use super::connection::{S3Connection, DEFAULT_REGION};
use super::credentials;
use super::secret::Secret;
use super::wire::WireInterceptor;
use super::{Inner, S3Storage};
use crate::storage::error::Result;
use crate::storage::meter::Meter;
use crate::storage::{Metered, RetryConfig, StorageError};

impl S3Connection {
    /// A builder with these settings.
    pub fn builder(&self) -> S3Builder {
        S3Builder {
            conn: self.clone(),
            retry: RetryConfig::default(),
        }
    }
}

/// Builds an [`S3Storage`]. Setters take `self` and cannot fail; problems
/// surface in [`S3Builder::build`].
#[derive(Debug, Clone)]
pub struct S3Builder {
    conn: S3Connection,
    retry: RetryConfig,
}

impl S3Builder {
    /// A builder for `bucket` with defaults (region `us-east-1`, default
    /// credential chain, HTTPS, [`RetryConfig::default`]).
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Connection::new(bucket).builder()
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.conn.region = region.into();
        self
    }

    /// Sets static credentials.
    pub fn with_credentials(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<Secret>) -> Self {
        self.conn.access_key_id = Some(access_key_id.into());
        self.conn.secret_access_key = Some(secret_access_key.into());
        self
    }

    /// Sets the session token of temporary credentials.
    pub fn with_session_token(mut self, token: impl Into<Secret>) -> Self {
        self.conn.session_token = Some(token.into());
        self
    }

    /// Assumes `role_arn` with STS.
    pub fn with_role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.conn.role_arn = Some(role_arn.into());
        self
    }

    /// Talks to a custom endpoint (path-style addressing).
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.conn.endpoint_url = Some(url.into());
        self
    }

    /// `false`: plain HTTP.
    pub fn with_use_ssl(mut self, use_ssl: bool) -> Self {
        self.conn.use_ssl = use_ssl;
        self
    }

    /// `true`: unsigned requests (public buckets).
    pub fn with_anonymous(mut self, anonymous: bool) -> Self {
        self.conn.anonymous = anonymous;
        self
    }

    /// Sets the retry policy and timeouts.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Makes the client behind a [`Metered`] wrapper: the wrapper counts
    /// each call, and the client counts into the same [`Meter`] what only the
    /// wire shows (every retry, a resumed download, listing and error
    /// bodies), so the meter holds every request sent, as AWS bills them.
    pub async fn build_metered(self) -> Result<Metered> {
        let meter = Meter::new();
        let s3 = self.build_with(Some(meter.clone())).await?;
        Ok(Metered::with_meter(Arc::new(s3), meter))
    }

    /// Makes the client. Loads credentials from the default chain when no
    /// keys are set; fails on settings that cannot work (empty bucket, a
    /// key id without its secret, a malformed endpoint URL).
    pub async fn build(self) -> Result<S3Storage> {
        self.build_with(None).await
    }

    /// [`S3Builder::build`], counting the traffic below the trait into
    /// `wire_meter` if given.
    async fn build_with(self, wire_meter: Option<Arc<Meter>>) -> Result<S3Storage> {
        let conn = self.conn;
        let bucket = normalize_bucket(&conn.bucket)?;
        let region = match conn.region.trim() {
            "" => DEFAULT_REGION.to_string(),
            r => r.to_string(),
        };
        let custom_endpoint = normalize_endpoint(conn.endpoint_url.as_deref(), conn.use_ssl)?;
        let endpoint = match (&custom_endpoint, conn.use_ssl) {
            (Some(url), _) => url.clone(),
            (None, true) => format!("https://s3.{region}.amazonaws.com"),
            (None, false) => format!("http://s3.{region}.amazonaws.com"),
        };

        let loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(self.retry.sdk_retry_config())
            .timeout_config(self.retry.sdk_timeout_config());
        let loader = credentials::configure(loader, &conn)?;
        let sdk = credentials::assume_role(loader.load().await, &conn).await;

        let mut conf = aws_sdk_s3::config::Builder::from(&sdk).retry_partition(self.retry.sdk_retry_partition());
        if let Some(meter) = &wire_meter {
            conf = conf.interceptor(WireInterceptor::new(meter.clone()));
        }
        if let Some(url) = &custom_endpoint {
            conf = conf
                .endpoint_url(url)
                .force_path_style(true)
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        } else if !conn.use_ssl {
            conf = conf.endpoint_url(&endpoint);
        }
        Ok(S3Storage {
            inner: Arc::new(Inner {
                client: Client::from_conf(conf.build()),
                bucket,
                region,
                endpoint,
                max_attempts: self.retry.max_attempts.max(1),
                wire_meter,
            }),
        })
    }
}

/// `s3://bucket/` or ` bucket ` → `bucket`; empty or with a `/` inside → error.
fn normalize_bucket(raw: &str) -> Result<String> {
    let b = raw.trim();
    let b = b.strip_prefix("s3://").unwrap_or(b).trim_end_matches('/');
    if b.is_empty() {
        return Err(StorageError::Config(
            "`bucket` is empty: set it to the bucket's name.".into(),
        ));
    }
    if b.contains('/') {
        return Err(StorageError::Config(format!(
            "`bucket` must be a bucket name only, without a path: '{b}'. Put the path in `path_prefix`."
        )));
    }
    Ok(b.to_string())
}

/// Adds the scheme `use_ssl` implies when the URL has none; `use_ssl: false`
/// turns `https` into `http`.
fn normalize_endpoint(raw: Option<&str>, use_ssl: bool) -> Result<Option<String>> {
    let Some(url) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => (if use_ssl { "https" } else { "http" }.to_string(), url),
    };
    let rest = rest.trim_end_matches('/');
    let scheme = match scheme.as_str() {
        "https" if !use_ssl => "http",
        "https" => "https",
        "http" => "http",
        other => {
            return Err(StorageError::Config(format!(
                "`endpoint_url` has the scheme '{other}': use http:// or https:// (e.g. \"http://localhost:9000\")."
            )))
        }
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(StorageError::Config(format!(
            "`endpoint_url` '{url}' has no host: write it like \"http://localhost:9000\"."
        )));
    }
    Ok(Some(format!("{scheme}://{rest}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalized() {
        assert_eq!(normalize_endpoint(None, true).unwrap(), None);
        assert_eq!(normalize_endpoint(Some("  "), true).unwrap(), None);
        assert_eq!(
            normalize_endpoint(Some("localhost:9000"), false).unwrap().as_deref(),
            Some("http://localhost:9000")
        );
        assert_eq!(
            normalize_endpoint(Some("minio:9000/"), true).unwrap().as_deref(),
            Some("https://minio:9000")
        );
        assert_eq!(
            normalize_endpoint(Some("https://minio:9000"), false)
                .unwrap()
                .as_deref(),
            Some("http://minio:9000")
        );
        assert!(normalize_endpoint(Some("ftp://x"), true).is_err());
        assert!(normalize_endpoint(Some("http://"), true).is_err());
    }

    #[test]
    fn buckets_are_normalized() {
        assert_eq!(normalize_bucket(" s3://data/ ").unwrap(), "data");
        assert!(normalize_bucket("").is_err());
        assert!(normalize_bucket("data/events").is_err());
    }
}
