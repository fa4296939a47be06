//! The meter: counts every request actually sent and every byte moved.
//!
//! It is the truth the cost report is made of. A [`crate::storage::Metered`]
//! store feeds it: the wrapper counts every call of the [`crate::storage::Storage`]
//! trait (one request per call or listing page, the bytes of puts and parts
//! sent, the bytes of GETs delivered), and a backend whose transport sends
//! more than the trait shows — the S3 SDK's retries, a download resumed after
//! a dropped connection, listing and error bodies — adds that below it
//! ([`crate::storage::S3Builder::build_metered`]). A request retried three
//! times counts three times, as AWS bills it.
//!
//! All counters are relaxed atomics: cheap enough for every request, shared
//! through an `Arc<Meter>` between the wrapper, the backend and the reports.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

/// The kind of a storage request, as S3 prices and counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A LIST (ListObjectsV2 page).
    List,
    /// A GET of a whole object or a range.
    Get,
    /// A HEAD.
    Head,
    /// A single PUT.
    Put,
    /// CreateMultipartUpload.
    CreateMultipart,
    /// UploadPart.
    UploadPart,
    /// CompleteMultipartUpload.
    CompleteMultipart,
    /// AbortMultipartUpload.
    AbortMultipart,
    /// A DELETE.
    Delete,
    /// Anything else (e.g. GetBucketLocation).
    Other,
}

impl RequestKind {
    /// Every kind, in display order.
    pub const ALL: [RequestKind; 10] = [
        RequestKind::List,
        RequestKind::Get,
        RequestKind::Head,
        RequestKind::Put,
        RequestKind::CreateMultipart,
        RequestKind::UploadPart,
        RequestKind::CompleteMultipart,
        RequestKind::AbortMultipart,
        RequestKind::Delete,
        RequestKind::Other,
    ];

    /// A verb phrase for messages ("list", "read", …).
    pub fn verb(self) -> &'static str {
        match self {
            RequestKind::List => "list",
            RequestKind::Get => "read",
            RequestKind::Head => "read the metadata of",
            RequestKind::Put
            | RequestKind::CreateMultipart
            | RequestKind::UploadPart
            | RequestKind::CompleteMultipart => "write",
            RequestKind::AbortMultipart => "abort an upload to",
            RequestKind::Delete => "delete",
            RequestKind::Other => "access",
        }
    }

    /// The IAM permission the operation needs.
    pub fn permission(self) -> &'static str {
        match self {
            RequestKind::List => "s3:ListBucket",
            RequestKind::Get | RequestKind::Head => "s3:GetObject",
            RequestKind::Put
            | RequestKind::CreateMultipart
            | RequestKind::UploadPart
            | RequestKind::CompleteMultipart => "s3:PutObject",
            RequestKind::AbortMultipart => "s3:AbortMultipartUpload",
            RequestKind::Delete => "s3:DeleteObject",
            RequestKind::Other => "the needed S3 permission",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            RequestKind::List => "LIST",
            RequestKind::Get => "GET",
            RequestKind::Head => "HEAD",
            RequestKind::Put => "PUT",
            RequestKind::CreateMultipart => "CREATE_MULTIPART",
            RequestKind::UploadPart => "UPLOAD_PART",
            RequestKind::CompleteMultipart => "COMPLETE_MULTIPART",
            RequestKind::AbortMultipart => "ABORT_MULTIPART",
            RequestKind::Delete => "DELETE",
            RequestKind::Other => "OTHER",
        };
        f.write_str(name)
    }
}

/// Counts requests (per kind, retries included) and bytes.
#[derive(Default)]
pub struct Meter {
    requests: [AtomicU64; RequestKind::ALL.len()],
    retries: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl Meter {
    /// A meter at zero, ready to share.
    pub fn new() -> Arc<Self> {
        Arc::new(Meter::default())
    }

    /// Counts one request of `kind` (one attempt).
    pub fn record_request(&self, kind: RequestKind) {
        self.requests[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one retry (an attempt after the first of the same request).
    pub fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts bytes received.
    pub fn record_received(&self, bytes: u64) {
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts bytes sent.
    pub fn record_sent(&self, bytes: u64) {
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Takes back a request of `kind` counted as it started, with the
    /// `sent` bytes counted with it, when it turned out never to leave the
    /// process (see [`crate::storage::Metered`]).
    pub(crate) fn forget_request(&self, kind: RequestKind, sent: u64) {
        self.requests[kind.index()].fetch_sub(1, Ordering::Relaxed);
        self.bytes_sent.fetch_sub(sent, Ordering::Relaxed);
    }

    /// Requests of `kind` so far.
    pub fn requests(&self, kind: RequestKind) -> u64 {
        self.requests[kind.index()].load(Ordering::Relaxed)
    }

    /// The counters now.
    pub fn snapshot(&self) -> MeterSnapshot {
        let r = |k: RequestKind| self.requests(k);
        MeterSnapshot {
            list_requests: r(RequestKind::List),
            get_requests: r(RequestKind::Get),
            head_requests: r(RequestKind::Head),
            put_requests: r(RequestKind::Put),
            create_multipart_requests: r(RequestKind::CreateMultipart),
            upload_part_requests: r(RequestKind::UploadPart),
            complete_multipart_requests: r(RequestKind::CompleteMultipart),
            abort_multipart_requests: r(RequestKind::AbortMultipart),
            delete_requests: r(RequestKind::Delete),
            other_requests: r(RequestKind::Other),
            retries: self.retries.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }
}

/// The meter's counters at one moment. Subtract two snapshots for the
/// requests made in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MeterSnapshot {
    /// LIST requests.
    pub list_requests: u64,
    /// GET requests (whole or ranged).
    pub get_requests: u64,
    /// HEAD requests.
    pub head_requests: u64,
    /// Single PUT requests.
    pub put_requests: u64,
    /// CreateMultipartUpload requests.
    pub create_multipart_requests: u64,
    /// UploadPart requests.
    pub upload_part_requests: u64,
    /// CompleteMultipartUpload requests.
    pub complete_multipart_requests: u64,
    /// AbortMultipartUpload requests.
    pub abort_multipart_requests: u64,
    /// DELETE requests.
    pub delete_requests: u64,
    /// Other requests.
    pub other_requests: u64,
    /// Attempts that were retries of an earlier attempt (already included in
    /// the per-kind counts).
    pub retries: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
}

impl MeterSnapshot {
    /// Every request, all kinds.
    pub fn total_requests(&self) -> u64 {
        self.list_requests
            + self.get_requests
            + self.head_requests
            + self.put_requests
            + self.create_multipart_requests
            + self.upload_part_requests
            + self.complete_multipart_requests
            + self.abort_multipart_requests
            + self.delete_requests
            + self.other_requests
    }

    /// Requests S3 prices as PUT/COPY/POST/LIST ("tier 1").
    pub fn tier1_requests(&self) -> u64 {
        self.list_requests
            + self.put_requests
            + self.create_multipart_requests
            + self.upload_part_requests
            + self.complete_multipart_requests
    }

    /// Requests S3 prices as GET/HEAD/other ("tier 2"); DELETE and abort are free.
    pub fn tier2_requests(&self) -> u64 {
        self.get_requests + self.head_requests + self.other_requests
    }
}

impl std::ops::Sub for MeterSnapshot {
    type Output = MeterSnapshot;

    fn sub(self, o: MeterSnapshot) -> MeterSnapshot {
        MeterSnapshot {
            list_requests: self.list_requests.saturating_sub(o.list_requests),
            get_requests: self.get_requests.saturating_sub(o.get_requests),
            head_requests: self.head_requests.saturating_sub(o.head_requests),
            put_requests: self.put_requests.saturating_sub(o.put_requests),
            create_multipart_requests: self
                .create_multipart_requests
                .saturating_sub(o.create_multipart_requests),
            upload_part_requests: self.upload_part_requests.saturating_sub(o.upload_part_requests),
            complete_multipart_requests: self
                .complete_multipart_requests
                .saturating_sub(o.complete_multipart_requests),
            abort_multipart_requests: self.abort_multipart_requests.saturating_sub(o.abort_multipart_requests),
            delete_requests: self.delete_requests.saturating_sub(o.delete_requests),
            other_requests: self.other_requests.saturating_sub(o.other_requests),
            retries: self.retries.saturating_sub(o.retries),
            bytes_received: self.bytes_received.saturating_sub(o.bytes_received),
            bytes_sent: self.bytes_sent.saturating_sub(o.bytes_sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_subtract() {
        let m = Meter::new();
        m.record_request(RequestKind::List);
        let a = m.snapshot();
        m.record_request(RequestKind::List);
        m.record_request(RequestKind::Get);
        m.record_received(10);
        let d = m.snapshot() - a;
        assert_eq!(d.list_requests, 1);
        assert_eq!(d.get_requests, 1);
        assert_eq!(d.bytes_received, 10);
        assert_eq!(d.total_requests(), 2);
    }

    #[test]
    fn every_kind_is_counted_named_and_priced() {
        let m = Meter::new();
        for (n, kind) in RequestKind::ALL.into_iter().enumerate() {
            for _ in 0..=n {
                m.record_request(kind);
            }
        }
        m.record_retry();
        m.record_sent(7);
        m.forget_request(RequestKind::Put, 3);
        let s = m.snapshot();
        assert_eq!(
            [
                s.list_requests,
                s.get_requests,
                s.head_requests,
                s.put_requests,
                s.create_multipart_requests,
                s.upload_part_requests,
                s.complete_multipart_requests,
                s.abort_multipart_requests,
                s.delete_requests,
                s.other_requests
            ],
            [1, 2, 3, 3, 5, 6, 7, 8, 9, 10],
            "a forgotten PUT is taken off"
        );
        assert_eq!((s.retries, s.bytes_sent), (1, 4));
        assert_eq!(s.total_requests(), 54);
        assert_eq!(s.tier1_requests(), 1 + 3 + 5 + 6 + 7);
        assert_eq!(s.tier2_requests(), 2 + 3 + 10, "DELETE and abort are free");
        assert_eq!(m.requests(RequestKind::Other), 10);
        assert!(format!("{m:?}").contains("other_requests: 10"));
        let names: Vec<String> = RequestKind::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "LIST",
                "GET",
                "HEAD",
                "PUT",
                "CREATE_MULTIPART",
                "UPLOAD_PART",
                "COMPLETE_MULTIPART",
                "ABORT_MULTIPART",
                "DELETE",
                "OTHER"
            ]
        );
        let phrases: Vec<(&str, &str)> = RequestKind::ALL.iter().map(|k| (k.verb(), k.permission())).collect();
        assert_eq!(
            phrases,
            [
                ("list", "s3:ListBucket"),
                ("read", "s3:GetObject"),
                ("read the metadata of", "s3:GetObject"),
                ("write", "s3:PutObject"),
                ("write", "s3:PutObject"),
                ("write", "s3:PutObject"),
                ("write", "s3:PutObject"),
                ("abort an upload to", "s3:AbortMultipartUpload"),
                ("delete", "s3:DeleteObject"),
                ("access", "the needed S3 permission")
            ]
        );
        // Later minus earlier never goes below zero.
        assert_eq!(MeterSnapshot::default() - s, MeterSnapshot::default());
    }
}
