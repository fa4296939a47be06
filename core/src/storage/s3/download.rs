//! The stream of a GET: the response body chunk by chunk, resumed with a
//! ranged GET (pinned to the same version by `If-Match`) when the connection
//! drops mid-body, which the SDK does not retry.

use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use bytes::Bytes;

use super::errors::root_cause;
use super::S3Storage;
use crate::storage::error::Result;
use crate::storage::meter::RequestKind;
use crate::storage::StorageError;

/// The state of a GET stream: the body being read and how to resume it.
pub(super) struct Download {
    pub(super) store: S3Storage,
    pub(super) key: String,
    pub(super) body: SdkByteStream,
    pub(super) offset: u64,
    pub(super) size: u64,
    pub(super) etag: Option<String>,
    pub(super) resumes: u32,
}

impl Download {
    /// The next chunk, resuming a broken body while attempts are left.
    pub(super) async fn next_chunk(mut self) -> Option<(Result<Bytes>, Download)> {
        loop {
            match self.body.next().await {
                None => return None,
                Some(Ok(chunk)) => {
                    self.offset += chunk.len() as u64;
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
                    // A GET the trait did not ask for: counted here, below the wrapper.
                    if let Some(meter) = &self.store.inner.wire_meter {
                        meter.record_request(RequestKind::Get);
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
