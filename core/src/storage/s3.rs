//! S3 (and S3-compatible servers: MinIO, Ceph, s3s, LocalStack) over `aws-sdk-s3`.
//!
//! [`S3Builder`] takes the connection settings (setters cannot fail) and
//! [`S3Builder::build`] makes the client:
//!
//! - credentials: static keys (plus `session_token` for temporary ones), or
//!   the default AWS chain (environment, profile, web identity, ECS, EC2
//!   instance role) when no keys are given, or none at all for public buckets
//!   ([`S3Builder::with_anonymous`]: unsigned requests); with a `role_arn` the
//!   above are the base credentials of an STS AssumeRole;
//! - `endpoint_url` (a custom server) implies path-style addressing
//!   (`http://host/bucket/key`) and request checksums only where required,
//!   which S3-compatible servers expect;
//! - `use_ssl: false` makes the scheme `http`;
//! - region defaults to `us-east-1`;
//! - retries and timeouts as [`RetryConfig`] says; every attempt is counted
//!   by the [`Meter`].

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    SharedCredentialsProvider,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};

use super::meter::{Meter, MeterInterceptor, RequestKind};
use super::{
    GetResult, ListOptions, ListPage, ListStream, MultipartId, ObjectMeta, PartId, PutResult, RetryConfig, Storage,
    StorageError,
};
use crate::storage::error::Result;

/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A secret string (secret access key, session token). Its `Debug` and
/// `Display` never show the value; only [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"**********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**********")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

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

    /// A builder with these settings.
    pub fn builder(&self) -> S3Builder {
        S3Builder {
            conn: self.clone(),
            retry: RetryConfig::default(),
            meter: None,
        }
    }
}

/// Builds an [`S3Storage`]. Setters take `self` and cannot fail; problems
/// surface in [`S3Builder::build`].
#[derive(Debug, Clone)]
pub struct S3Builder {
    conn: S3Connection,
    retry: RetryConfig,
    meter: Option<Arc<Meter>>,
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

    /// Counts requests into `meter` (shared with other stores if wanted).
    pub fn with_meter(mut self, meter: Arc<Meter>) -> Self {
        self.meter = Some(meter);
        self
    }

    /// Makes the client. Loads credentials from the default chain when no
    /// keys are set; fails on settings that cannot work (empty bucket, a
    /// key id without its secret, a malformed endpoint URL).
    pub async fn build(self) -> Result<S3Storage> {
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
        let meter = self.meter.unwrap_or_default();

        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(self.retry.sdk_retry_config())
            .timeout_config(self.retry.sdk_timeout_config());
        let key_id = conn.access_key_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let secret = conn.secret_access_key.as_ref().filter(|s| !s.is_empty());
        let token = conn.session_token.as_ref().filter(|s| !s.is_empty());
        if conn.anonymous {
            loader = loader.no_credentials();
        } else {
            match (key_id, secret) {
                (Some(id), Some(secret)) => {
                    let creds = Credentials::new(
                        id,
                        secret.expose(),
                        token.map(|t| t.expose().to_string()),
                        None,
                        "lakeport-config",
                    );
                    loader = loader.credentials_provider(creds);
                }
                (Some(_), None) => {
                    return Err(StorageError::Config(
                        "`access_key_id` is set but `secret_access_key` is not: set both, or neither to use the default AWS credential chain.".into(),
                    ))
                }
                (None, Some(_)) => {
                    return Err(StorageError::Config(
                        "`secret_access_key` is set but `access_key_id` is not: set both, or neither to use the default AWS credential chain.".into(),
                    ))
                }
                (None, None) => {}
            }
        }
        let mut sdk = loader.load().await;
        let role = conn.role_arn.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let (Some(role), false) = (role, conn.anonymous) {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("lakeport")
                .configure(&sdk)
                .build()
                .await;
            sdk = sdk
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }

        let mut conf = aws_sdk_s3::config::Builder::from(&sdk)
            .interceptor(MeterInterceptor::new(meter.clone()))
            .retry_partition(self.retry.sdk_retry_partition());
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
                meter,
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

struct Inner {
    client: Client,
    bucket: String,
    region: String,
    endpoint: String,
    max_attempts: u32,
    meter: Arc<Meter>,
}

/// A bucket on S3 or an S3-compatible server. Cheap to clone (shared client).
#[derive(Clone)]
pub struct S3Storage {
    inner: Arc<Inner>,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("bucket", &self.inner.bucket)
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.inner.bucket)
    }
}

impl S3Storage {
    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint requests go to (for messages).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The underlying SDK client (for operations this trait lacks).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.inner.bucket, key)
    }

    /// Maps an SDK error to a [`StorageError`] saying what is wrong.
    fn map_err<E>(&self, op: RequestKind, key: &str, err: SdkError<E, HttpResponse>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        classify(
            &Context {
                bucket: &self.inner.bucket,
                region: &self.inner.region,
                endpoint: &self.inner.endpoint,
                op,
                key,
            },
            err,
        )
    }
}

/// What an error is about.
struct Context<'a> {
    bucket: &'a str,
    region: &'a str,
    endpoint: &'a str,
    op: RequestKind,
    key: &'a str,
}

impl Context<'_> {
    fn target(&self) -> String {
        if self.op == RequestKind::List {
            if self.key.is_empty() {
                format!("bucket s3://{}", self.bucket)
            } else {
                format!("s3://{}/{}*", self.bucket, self.key)
            }
        } else {
            format!("s3://{}/{}", self.bucket, self.key)
        }
    }
}

/// The innermost message of an error chain (e.g. "Connection refused (os error 111)").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().trim_end().trim_end_matches('.').to_string()
}

fn chain_has_credentials_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return Some(root_cause(e));
        }
        cur = e.source();
    }
    None
}

fn classify<E>(cx: &Context<'_>, err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let target = cx.target();
    match &err {
        SdkError::TimeoutError(_) => StorageError::Timeout {
            operation: cx.op,
            target,
            endpoint: cx.endpoint.to_string(),
            detail: "no response in time".into(),
        },
        SdkError::DispatchFailure(d) => {
            if let Some(detail) = chain_has_credentials_error(&err) {
                return StorageError::NoCredentials { detail };
            }
            let detail = root_cause(&err);
            match d.as_connector_error() {
                Some(c) if c.is_timeout() => StorageError::Timeout {
                    operation: cx.op,
                    target,
                    endpoint: cx.endpoint.to_string(),
                    detail,
                },
                _ => StorageError::Unreachable {
                    endpoint: cx.endpoint.to_string(),
                    detail,
                },
            }
        }
        SdkError::ConstructionFailure(_) => {
            if let Some(detail) = chain_has_credentials_error(&err) {
                return StorageError::NoCredentials { detail };
            }
            StorageError::Other {
                operation: cx.op,
                target,
                detail: format!("the request could not be built: {}", root_cause(&err)),
            }
        }
        _ => {
            let raw = err.raw_response();
            let status = raw.map(|r| r.status().as_u16()).unwrap_or(0);
            let region_header = raw
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_string);
            let code = err.code().unwrap_or("").to_string();
            let message = err.message().unwrap_or("").to_string();
            classify_response(cx, status, &code, &message, region_header)
        }
    }
}

fn classify_response(cx: &Context<'_>, status: u16, code: &str, message: &str, region: Option<String>) -> StorageError {
    let target = cx.target();
    let code_or_status = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code.to_string()
    };
    match code {
        "NoSuchBucket" => {
            return StorageError::BucketNotFound {
                bucket: cx.bucket.to_string(),
                endpoint: cx.endpoint.to_string(),
            }
        }
        "InvalidBucketName" => {
            return StorageError::Config(format!(
                "`bucket` '{}' is not a valid bucket name: use 3-63 lowercase letters, digits, dots and hyphens.",
                cx.bucket
            ))
        }
        "NoSuchKey" | "NotFound" | "NoSuchUpload" => {
            return StorageError::NotFound {
                store: format!("s3://{}", cx.bucket),
                key: cx.key.to_string(),
            }
        }
        "InvalidAccessKeyId" | "NotSignedUp" | "InvalidClientTokenId" | "UnrecognizedClientException" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the server does not know this access key id".into(),
            }
        }
        "SignatureDoesNotMatch" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the secret access key does not match the access key id".into(),
            }
        }
        "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired" | "InvalidSecurity" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the session token is invalid or expired".into(),
            }
        }
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            return StorageError::WrongRegion {
                bucket: cx.bucket.to_string(),
                configured: cx.region.to_string(),
                actual: region.unwrap_or_else(|| "another region".into()),
            }
        }
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" | "InvalidObjectState" => {
            return StorageError::AccessDenied {
                operation: cx.op,
                target,
                code: code.into(),
            }
        }
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "InternalError"
        | "ServiceUnavailable"
        | "RequestTimeout" => {
            return StorageError::Transient {
                operation: cx.op,
                target,
                detail: describe(code, message),
            }
        }
        _ => {}
    }
    match status {
        301 => StorageError::WrongRegion {
            bucket: cx.bucket.to_string(),
            configured: cx.region.to_string(),
            actual: region.unwrap_or_else(|| "another region".into()),
        },
        403 => StorageError::AccessDenied {
            operation: cx.op,
            target,
            code: code_or_status,
        },
        404 if cx.op == RequestKind::List => StorageError::BucketNotFound {
            bucket: cx.bucket.to_string(),
            endpoint: cx.endpoint.to_string(),
        },
        404 => StorageError::NotFound {
            store: format!("s3://{}", cx.bucket),
            key: cx.key.to_string(),
        },
        429 | 500..=599 => StorageError::Transient {
            operation: cx.op,
            target,
            detail: describe(&code_or_status, message),
        },
        _ => StorageError::Other {
            operation: cx.op,
            target,
            detail: describe(&code_or_status, message),
        },
    }
}

fn describe(code: &str, message: &str) -> String {
    if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    }
}

fn to_chrono(t: Option<&aws_smithy_types::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn size_of(len: Option<i64>) -> u64 {
    len.and_then(|l| u64::try_from(l).ok()).unwrap_or(0)
}

/// The state of a GET stream: the body being read and how to resume it.
struct Download {
    store: S3Storage,
    key: String,
    body: SdkByteStream,
    offset: u64,
    size: u64,
    etag: Option<String>,
    resumes: u32,
}

impl Download {
    async fn next_chunk(mut self) -> Option<(Result<Bytes>, Download)> {
        loop {
            match self.body.next().await {
                None => return None,
                Some(Ok(chunk)) => {
                    self.offset += chunk.len() as u64;
                    self.store.inner.meter.record_received(chunk.len() as u64);
                    return Some((Ok(chunk), self));
                }
                Some(Err(e)) => {
                    // A dropped connection mid-body: the SDK does not retry
                    // streaming bodies, so resume with a ranged GET from where
                    // we are, pinned to the same version by If-Match.
                    if self.resumes + 1 >= self.store.inner.max_attempts || self.offset >= self.size {
                        let err = StorageError::Transient {
                            operation: RequestKind::Get,
                            target: self.store.url(&self.key),
                            detail: format!("the download broke off at byte {}: {}", self.offset, root_cause(&e)),
                        };
                        self.resumes = u32::MAX - 1;
                        self.body = SdkByteStream::from_static(b"");
                        return Some((Err(err), self));
                    }
                    self.resumes += 1;
                    let backoff = std::time::Duration::from_millis(100u64 << self.resumes.min(6));
                    tokio::time::sleep(backoff).await;
                    let mut req = self
                        .store
                        .inner
                        .client
                        .get_object()
                        .bucket(&self.store.inner.bucket)
                        .key(&self.key)
                        .range(format!("bytes={}-", self.offset));
                    if let Some(etag) = &self.etag {
                        req = req.if_match(etag);
                    }
                    match req.send().await {
                        Ok(out) => self.body = out.body,
                        Err(e) => {
                            let err = self.store.map_err(RequestKind::Get, &self.key, e);
                            self.resumes = u32::MAX - 1;
                            self.body = SdkByteStream::from_static(b"");
                            return Some((Err(err), self));
                        }
                    }
                }
            }
        }
    }
}

impl Storage for S3Storage {
    fn list(&self, options: ListOptions) -> ListStream {
        let page_size = i32::try_from(options.effective_page_size()).unwrap_or(1000);
        let state = (self.clone(), options, None::<String>, false);
        futures::stream::try_unfold(state, move |(this, opts, token, done)| async move {
            if done {
                return Ok::<_, StorageError>(None);
            }
            let mut req = this
                .inner
                .client
                .list_objects_v2()
                .bucket(&this.inner.bucket)
                .max_keys(page_size);
            if !opts.prefix.is_empty() {
                req = req.prefix(&opts.prefix);
            }
            if let Some(d) = &opts.delimiter {
                req = req.delimiter(d);
            }
            match &token {
                Some(t) => req = req.continuation_token(t),
                None => {
                    if let Some(s) = &opts.start_after {
                        req = req.start_after(s);
                    }
                }
            }
            let out = req
                .send()
                .await
                .map_err(|e| this.map_err(RequestKind::List, &opts.prefix, e))?;
            let objects = out
                .contents()
                .iter()
                .filter_map(|o| {
                    Some(ObjectMeta {
                        key: o.key()?.to_string(),
                        size: size_of(o.size()),
                        last_modified: to_chrono(o.last_modified()),
                        etag: o.e_tag().map(str::to_string),
                    })
                })
                .collect();
            let common_prefixes = out
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string))
                .collect();
            let next = match out.is_truncated() {
                Some(true) => out.next_continuation_token().map(str::to_string),
                _ => None,
            };
            let done = next.is_none();
            Ok(Some((
                ListPage {
                    objects,
                    common_prefixes,
                },
                (this, opts, next, done),
            )))
        })
        .boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        async move {
            let out = self
                .inner
                .client
                .head_object()
                .bucket(&self.inner.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.map_err(RequestKind::Head, key, e))?;
            Ok(ObjectMeta {
                key: key.to_string(),
                size: size_of(out.content_length()),
                last_modified: to_chrono(out.last_modified()),
                etag: out.e_tag().map(str::to_string),
            })
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<GetResult>> {
        async move {
            let out = self
                .inner
                .client
                .get_object()
                .bucket(&self.inner.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.map_err(RequestKind::Get, key, e))?;
            let meta = ObjectMeta {
                key: key.to_string(),
                size: size_of(out.content_length()),
                last_modified: to_chrono(out.last_modified()),
                etag: out.e_tag().map(str::to_string),
            };
            let download = Download {
                store: self.clone(),
                key: key.to_string(),
                body: out.body,
                offset: 0,
                size: meta.size,
                etag: meta.etag.clone(),
                resumes: 0,
            };
            let stream = futures::stream::unfold(download, |d| d.next_chunk()).boxed();
            Ok(GetResult { meta, stream })
        }
        .boxed()
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes>> {
        async move {
            if range.start >= range.end {
                return Ok(Bytes::new());
            }
            let result = self
                .inner
                .client
                .get_object()
                .bucket(&self.inner.bucket)
                .key(key)
                .range(format!("bytes={}-{}", range.start, range.end - 1))
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => return Ok(Bytes::new()),
                Err(e) => return Err(self.map_err(RequestKind::Get, key, e)),
            };
            let data = out.body.collect().await.map_err(|e| StorageError::Transient {
                operation: RequestKind::Get,
                target: self.url(key),
                detail: format!("the download broke off: {}", root_cause(&e)),
            })?;
            let bytes = data.into_bytes();
            self.inner.meter.record_received(bytes.len() as u64);
            Ok(bytes)
        }
        .boxed()
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<PutResult>> {
        self.put_with_metadata(key, data, &[]).boxed()
    }

    fn create_multipart<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<MultipartId>> {
        self.create_multipart_with_metadata(key, &[]).boxed()
    }

    fn upload_part<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> BoxFuture<'a, Result<PartId>> {
        async move {
            let number = i32::try_from(part_number)
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| StorageError::Other {
                    operation: RequestKind::UploadPart,
                    target: self.url(key),
                    detail: format!("part number {part_number} is outside 1..=10000; raise the part size"),
                })?;
            let out = self
                .inner
                .client
                .upload_part()
                .bucket(&self.inner.bucket)
                .key(key)
                .upload_id(&upload.0)
                .part_number(number)
                .body(SdkByteStream::from(data))
                .send()
                .await
                .map_err(|e| self.map_err(RequestKind::UploadPart, key, e))?;
            Ok(PartId {
                number: part_number,
                etag: out.e_tag().unwrap_or_default().to_string(),
            })
        }
        .boxed()
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>> {
        async move {
            let completed = CompletedMultipartUpload::builder()
                .set_parts(Some(
                    parts
                        .iter()
                        .map(|p| {
                            CompletedPart::builder()
                                .part_number(i32::try_from(p.number).unwrap_or(i32::MAX))
                                .e_tag(&p.etag)
                                .build()
                        })
                        .collect(),
                ))
                .build();
            let out = self
                .inner
                .client
                .complete_multipart_upload()
                .bucket(&self.inner.bucket)
                .key(key)
                .upload_id(&upload.0)
                .multipart_upload(completed)
                .send()
                .await
                .map_err(|e| self.map_err(RequestKind::CompleteMultipart, key, e))?;
            Ok(PutResult {
                etag: out.e_tag().map(str::to_string),
            })
        }
        .boxed()
    }

    fn abort_multipart<'a>(&'a self, key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>> {
        async move {
            self.inner
                .client
                .abort_multipart_upload()
                .bucket(&self.inner.bucket)
                .key(key)
                .upload_id(&upload.0)
                .send()
                .await
                .map_err(|e| self.map_err(RequestKind::AbortMultipart, key, e))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            let result = self
                .inner
                .client
                .delete_object()
                .bucket(&self.inner.bucket)
                .key(key)
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e) => match self.map_err(RequestKind::Delete, key, e) {
                    StorageError::NotFound { .. } => Ok(()),
                    other => Err(other),
                },
            }
        }
        .boxed()
    }

    fn meter(&self) -> &Arc<Meter> {
        &self.inner.meter
    }
}

/// User metadata (`x-amz-meta-*`) on writes, and reading it back. Keys are
/// given without the `x-amz-meta-` prefix, lowercase.
impl S3Storage {
    /// [`Storage::put`] with user metadata on the new object.
    pub async fn put_with_metadata(&self, key: &str, data: Bytes, metadata: &[(String, String)]) -> Result<PutResult> {
        let mut req = self
            .inner
            .client
            .put_object()
            .bucket(&self.inner.bucket)
            .key(key)
            .body(SdkByteStream::from(data));
        for (k, v) in metadata {
            req = req.metadata(k, v);
        }
        let out = req.send().await.map_err(|e| self.map_err(RequestKind::Put, key, e))?;
        Ok(PutResult {
            etag: out.e_tag().map(str::to_string),
        })
    }

    /// [`Storage::create_multipart`] with user metadata on the object it completes into.
    pub async fn create_multipart_with_metadata(
        &self,
        key: &str,
        metadata: &[(String, String)],
    ) -> Result<MultipartId> {
        let mut req = self
            .inner
            .client
            .create_multipart_upload()
            .bucket(&self.inner.bucket)
            .key(key);
        for (k, v) in metadata {
            req = req.metadata(k, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| self.map_err(RequestKind::CreateMultipart, key, e))?;
        let id = out.upload_id().ok_or_else(|| StorageError::Other {
            operation: RequestKind::CreateMultipart,
            target: self.url(key),
            detail: "the server returned no upload id".into(),
        })?;
        Ok(MultipartId(id.to_string()))
    }

    /// The user metadata of `key` (one HEAD request).
    pub async fn head_metadata(&self, key: &str) -> Result<std::collections::HashMap<String, String>> {
        let out = self
            .inner
            .client
            .head_object()
            .bucket(&self.inner.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.map_err(RequestKind::Head, key, e))?;
        Ok(out.metadata().cloned().unwrap_or_default())
    }
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

    #[test]
    fn secrets_never_print() {
        let mut conn = S3Connection::new("b");
        conn.access_key_id = Some("AKIDEXAMPLE".into());
        conn.secret_access_key = Some(Secret::new("TOPSECRETVALUE"));
        conn.session_token = Some(Secret::new("TOKENVALUE"));
        let shown = format!("{conn:?} {:?}", conn.builder());
        assert!(
            !shown.contains("TOPSECRETVALUE") && !shown.contains("TOKENVALUE"),
            "{shown}"
        );
        let back: S3Connection = serde_json::from_value(serde_json::to_value(&conn).unwrap()).unwrap();
        assert_eq!(back.secret_access_key.unwrap().expose(), "TOPSECRETVALUE");
    }

    #[test]
    fn responses_are_classified() {
        let cx = Context {
            bucket: "b",
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9",
            op: RequestKind::List,
            key: "data/",
        };
        assert!(matches!(
            classify_response(&cx, 404, "NoSuchBucket", "", None),
            StorageError::BucketNotFound { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "SignatureDoesNotMatch", "", None),
            StorageError::InvalidCredentials { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "InvalidAccessKeyId", "", None),
            StorageError::InvalidCredentials { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "", "", None),
            StorageError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 301, "", "", Some("eu-west-1".into())),
            StorageError::WrongRegion { .. }
        ));
        let e = classify_response(&cx, 503, "SlowDown", "Please reduce your request rate.", None);
        assert!(e.is_transient(), "{e}");
        let msg = classify_response(&cx, 403, "AccessDenied", "", None).to_string();
        assert!(msg.contains("s3:ListBucket") && msg.contains("s3://b/data/*"), "{msg}");
    }
}
