//! Multipart uploads (create, upload a part, complete, abort) and writes
//! with user metadata (`x-amz-meta-*`; keys without the prefix, lowercase).

use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use super::S3Storage;
use crate::storage::error::Result;
use crate::storage::meter::RequestKind;
use crate::storage::{MultipartId, PartId, PutResult, StorageError};

impl S3Storage {
    /// [`crate::storage::Storage::put`] with user metadata on the new object.
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

    /// [`crate::storage::Storage::create_multipart`] with user metadata on the object it completes into.
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

    /// Uploads part `part_number` (1..=10000) of `upload`.
    pub(super) async fn send_upload_part(
        &self,
        key: &str,
        upload: &MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId> {
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

    /// Completes `upload` from `parts`.
    pub(super) async fn send_complete_multipart(
        &self,
        key: &str,
        upload: &MultipartId,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
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

    /// Abandons `upload`.
    pub(super) async fn send_abort_multipart(&self, key: &str, upload: &MultipartId) -> Result<()> {
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
}
