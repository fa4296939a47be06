//! What the S3 SDK sends below the [`Storage`](crate::storage::Storage)
//! trait, counted into the [`Meter`] of a [`Metered`](crate::storage::Metered)
//! store ([`super::S3Builder::build_metered`]).
//!
//! The wrapper counts each call of the trait once: its request, the bytes of
//! a put or a part, the object bytes a GET delivers. What only the wire
//! shows is counted here, by an SDK interceptor that runs once per
//! *attempt*:
//!
//! - every attempt after the first of the same request (a request of its
//!   kind, and a retry), with the body it sends again;
//! - the bodies of first attempts the trait does not see (the
//!   CompleteMultipartUpload XML);
//! - the `Content-Length` of every response but a successful GET's, whose
//!   body the wrapper counts as the stream delivers it: listings, errors,
//!   and what HEAD and the other calls answer.
//!
//! A download resumed after a dropped connection is a GET of its own, which
//! [`super::download`] counts as it sends it.

use std::sync::Arc;

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;

use crate::storage::meter::{Meter, RequestKind};

/// The kind of an S3 operation, by its SDK name (`ListObjectsV2`, …).
fn kind_of_operation(name: &str) -> RequestKind {
    match name {
        "ListObjectsV2" | "ListObjects" => RequestKind::List,
        "GetObject" => RequestKind::Get,
        "HeadObject" | "HeadBucket" => RequestKind::Head,
        "PutObject" => RequestKind::Put,
        "CreateMultipartUpload" => RequestKind::CreateMultipart,
        "UploadPart" => RequestKind::UploadPart,
        "CompleteMultipartUpload" => RequestKind::CompleteMultipart,
        "AbortMultipartUpload" => RequestKind::AbortMultipart,
        "DeleteObject" | "DeleteObjects" => RequestKind::Delete,
        _ => RequestKind::Other,
    }
}

/// The SDK interceptor counting the traffic below the trait into a
/// [`Meter`]: once per attempt, just before the request goes on the wire,
/// and once per response received.
#[derive(Debug, Clone)]
pub(super) struct WireInterceptor {
    meter: Arc<Meter>,
}

impl WireInterceptor {
    /// An interceptor counting into `meter`.
    pub(super) fn new(meter: Arc<Meter>) -> Self {
        WireInterceptor { meter }
    }
}

fn operation_kind(cfg: &ConfigBag) -> RequestKind {
    cfg.load::<Metadata>()
        .map(|m| kind_of_operation(m.name()))
        .unwrap_or(RequestKind::Other)
}

impl Intercept for WireInterceptor {
    fn name(&self) -> &'static str {
        "LakeportMeter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let kind = operation_kind(cfg);
        let retry = cfg.load::<RequestAttempts>().is_some_and(|a| a.attempts() > 1);
        if retry {
            self.meter.record_request(kind);
            self.meter.record_retry();
        }
        // A first attempt's payload (a put, a part) is what the wrapper counted.
        let payload_counted = !retry && matches!(kind, RequestKind::Put | RequestKind::UploadPart);
        if !payload_counted {
            if let Some(len) = context.request().body().content_length() {
                self.meter.record_sent(len);
            }
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let streaming_body = operation_kind(cfg) == RequestKind::Get && response.status().is_success();
        // A successful GET's body is counted as the stream delivers it.
        if !streaming_body {
            if let Some(len) = response
                .headers()
                .get("content-length")
                .and_then(|v| v.parse::<u64>().ok())
            {
                self.meter.record_received(len);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_have_their_kinds() {
        assert_eq!(kind_of_operation("UploadPart"), RequestKind::UploadPart);
        assert_eq!(kind_of_operation("ListObjectsV2"), RequestKind::List);
        assert_eq!(kind_of_operation("GetBucketLocation"), RequestKind::Other);
    }
}
