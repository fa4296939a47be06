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
//! - retries and timeouts as [`RetryConfig`](crate::storage::RetryConfig) says;
//! - [`S3Builder::build_metered`]: behind [`Metered`](crate::storage::Metered), with every attempt
//!   counted by its [`Meter`] (the wrapper counts the calls, `wire` the
//!   retries and the bodies the trait does not show).
//!
//! | file              | holds                                                        |
//! |-------------------|--------------------------------------------------------------|
//! | `mod.rs`          | [`S3Storage`] and its [`Storage`] implementation              |
//! | `connection`      | [`S3Connection`]: the connection keys of a config             |
//! | `builder`         | [`S3Builder`]: a connection turned into an [`S3Storage`]      |
//! | `credentials`     | static keys, default chain, anonymous, AssumeRole             |
//! | `secret`          | [`Secret`]: a value no `Debug` or `Display` shows             |
//! | `errors`          | SDK errors classified into [`StorageError`]s                  |
//! | `download`        | the GET stream, resumed when a connection drops mid-body     |
//! | `multipart`       | multipart uploads, and writes with user metadata              |
//! | `wire`            | the traffic below the trait (retries, bodies) for the meter   |

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::meter::{Meter, RequestKind};
use super::{
    GetResult, ListOptions, ListPage, ListStream, MultipartId, ObjectMeta, PartId, PutResult, Storage, StorageError,
};
use crate::storage::error::Result;

mod builder;
mod connection;
mod credentials;
mod download;
mod errors;
mod multipart;
mod secret;
mod wire;

pub use builder::S3Builder;
pub use connection::{S3Connection, DEFAULT_REGION};
use download::Download;
use errors::{classify, root_cause, Context};
pub use secret::Secret;

struct Inner {
    client: Client,
    bucket: String,
    region: String,
    endpoint: String,
    max_attempts: u32,
    /// Where the traffic below the trait is counted, for a metered store.
    wire_meter: Option<Arc<Meter>>,
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

fn to_chrono(t: Option<&aws_smithy_types::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn size_of(len: Option<i64>) -> u64 {
    len.and_then(|l| u64::try_from(l).ok()).unwrap_or(0)
}

/// The metadata of `key` from a HEAD's or a GET's response headers.
fn meta_from_headers(
    key: &str,
    len: Option<i64>,
    modified: Option<&aws_smithy_types::DateTime>,
    etag: Option<&str>,
) -> ObjectMeta {
    ObjectMeta {
        key: key.to_string(),
        size: size_of(len),
        last_modified: to_chrono(modified),
        etag: etag.map(str::to_string),
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
            Ok(meta_from_headers(
                key,
                out.content_length(),
                out.last_modified(),
                out.e_tag(),
            ))
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
            let meta = meta_from_headers(key, out.content_length(), out.last_modified(), out.e_tag());
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
            Ok(data.into_bytes())
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
        self.send_upload_part(key, upload, part_number, data).boxed()
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>> {
        self.send_complete_multipart(key, upload, parts).boxed()
    }

    fn abort_multipart<'a>(&'a self, key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>> {
        self.send_abort_multipart(key, upload).boxed()
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
}

/// Reading user metadata back (writing it: the `multipart` module).
impl S3Storage {
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
