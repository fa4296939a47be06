//! The storage layer's S3 backend against a real S3-protocol server (s3s-fs):
//! the shared conformance suite, pagination beyond 1,000 keys, start-after,
//! delimiters, ranged reads, multipart uploads, deletes, error mapping, and a
//! meter that counts exactly the requests made (retries included).

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use lakeport_core::storage::{
    conformance, ListOptions, ListPage, Metered, MultipartWriter, RetryConfig, S3Builder, S3Storage, Storage,
    StorageError, MIN_PART_SIZE,
};
use lakeport_tests::{free_port, S3Server};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn builder(server: &S3Server, bucket: &str, retry: RetryConfig) -> S3Builder {
    S3Builder::new(bucket)
        .with_endpoint_url(&server.endpoint)
        .with_use_ssl(false)
        .with_credentials(&server.access_key, server.secret_key.as_str())
        .with_retry(retry)
}

async fn store(server: &S3Server, bucket: &str, retry: RetryConfig) -> S3Storage {
    builder(server, bucket, retry)
        .build()
        .await
        .expect("build the S3 client")
}

/// The store behind the metering wrapper, counting into its meter.
async fn metered(server: &S3Server, bucket: &str, retry: RetryConfig) -> Metered {
    builder(server, bucket, retry)
        .build_metered()
        .await
        .expect("build the S3 client")
}

async fn pages(store: &dyn Storage, options: ListOptions) -> Vec<ListPage> {
    store.list(options).try_collect().await.expect("listing")
}

#[test]
fn conformance_suite() {
    let server = S3Server::start();
    server.create_bucket("conf");
    runtime().block_on(async {
        let s = store(&server, "conf", RetryConfig::default()).await;
        conformance::put_get_list_delete(&s, "").await;
        conformance::put_get_list_delete(&s, "deep/er/").await;
        conformance::multipart(Arc::new(s.clone()), "mp/").await;
    });
}

#[test]
fn pagination_beyond_1000_keys_and_start_after() {
    let server = S3Server::start();
    server.create_bucket("many");
    for i in 0..2345 {
        server.put_object("many", &format!("logs/{i:05}.json"), b"{}");
    }
    server.put_object("many", "other/x.json", b"{}");
    runtime().block_on(async {
        let s = metered(&server, "many", RetryConfig::none()).await;
        let before = s.meter().snapshot();
        let ps = pages(&s, ListOptions::prefix("logs/")).await;
        let d = s.meter().snapshot() - before;
        assert_eq!(ps.len(), 3, "2345 keys come in pages of 1000, 1000, 345");
        assert_eq!(
            ps.iter().map(|p| p.objects.len()).collect::<Vec<_>>(),
            vec![1000, 1000, 345]
        );
        assert_eq!(d.list_requests, 3, "one LIST per page");
        let keys: Vec<String> = ps
            .iter()
            .flat_map(|p| p.objects.iter().map(|o| o.key.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "in order, no duplicates");
        assert_eq!(keys.first().map(String::as_str), Some("logs/00000.json"));
        assert_eq!(keys.last().map(String::as_str), Some("logs/02344.json"));
        assert!(ps[0].objects.iter().all(|o| o.size == 2));

        // start-after skips to the middle
        let after = conformance::keys(&s, ListOptions::prefix("logs/").with_start_after("logs/01999.json")).await;
        assert_eq!(after.len(), 345);
        assert_eq!(after[0], "logs/02000.json");

        // small pages
        let ps = pages(&s, ListOptions::prefix("logs/000").with_page_size(7)).await;
        assert_eq!(ps.iter().map(|p| p.objects.len()).sum::<usize>(), 100);
        assert_eq!(ps.len(), 15);
    });
}

#[test]
fn delimiter_lists_folders() {
    let server = S3Server::start();
    server.create_bucket("tree");
    for key in [
        "t/year=2023/a.csv",
        "t/year=2024/b.csv",
        "t/year=2024/c.csv",
        "t/top.csv",
    ] {
        server.put_object("tree", key, b"x");
    }
    runtime().block_on(async {
        let s = store(&server, "tree", RetryConfig::none()).await;
        let ps = pages(&s, ListOptions::prefix("t/").with_delimiter("/")).await;
        let dirs: Vec<String> = ps.iter().flat_map(|p| p.common_prefixes.clone()).collect();
        let files: Vec<String> = ps
            .iter()
            .flat_map(|p| p.objects.iter().map(|o| o.key.clone()))
            .collect();
        assert_eq!(dirs, vec!["t/year=2023/", "t/year=2024/"]);
        assert_eq!(files, vec!["t/top.csv"]);
    });
}

#[test]
fn meter_counts_every_request_and_byte() {
    let server = S3Server::start();
    server.create_bucket("meter");
    runtime().block_on(async {
        let s = metered(&server, "meter", RetryConfig::none()).await;
        let m = s.meter().clone();
        let t0 = m.snapshot();
        s.put("a.bin", Bytes::from(vec![7u8; 1000])).await.expect("put");
        s.head("a.bin").await.expect("head");
        let got = s.get_range("a.bin", 10..110).await.expect("range");
        assert_eq!(got.len(), 100);
        let whole = s.get("a.bin").await.expect("get").bytes().await.expect("body");
        assert_eq!(whole.len(), 1000);
        s.delete("a.bin").await.expect("delete");
        let d = m.snapshot() - t0;
        assert_eq!(
            (
                d.put_requests,
                d.head_requests,
                d.get_requests,
                d.delete_requests,
                d.list_requests
            ),
            (1, 1, 2, 1, 0)
        );
        assert!(d.bytes_sent >= 1000, "{d:?}");
        assert!(d.bytes_received >= 1100, "{d:?}");
        assert_eq!(d.retries, 0);

        // multipart: 1 create + 3 parts + 1 complete
        let t1 = m.snapshot();
        let mut w = MultipartWriter::new(s.store().clone(), "big.bin".into(), MIN_PART_SIZE);
        w.write(&vec![1u8; 2 * MIN_PART_SIZE + 10]).await.expect("write");
        w.finish().await.expect("finish");
        let d = m.snapshot() - t1;
        assert_eq!(
            (
                d.create_multipart_requests,
                d.upload_part_requests,
                d.complete_multipart_requests,
                d.put_requests
            ),
            (1, 3, 1, 0)
        );
        assert!(d.bytes_sent >= (2 * MIN_PART_SIZE + 10) as u64);
        assert_eq!(server.object("meter", "big.bin").len(), 2 * MIN_PART_SIZE + 10);
    });
}

#[test]
fn errors_say_what_is_wrong() {
    let server = S3Server::start();
    server.create_bucket("errs");
    runtime().block_on(async {
        let s = store(&server, "errs", RetryConfig::none()).await;
        let err = s.head("missing.csv").await.expect_err("missing object");
        assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
        let err = s.get_range("missing.csv", 0..10).await.expect_err("missing object");
        assert!(err.is_not_found(), "{err}");
        let err = s.get("missing.csv").await.expect_err("missing object");
        assert!(
            err.to_string().contains("'missing.csv' does not exist in s3://errs"),
            "{err}"
        );
        // Deleting what is not there succeeds, as on S3.
        s.delete("missing.csv").await.expect("delete of a missing key");
    });
}

#[test]
fn missing_bucket_wrong_secret_and_closed_port() {
    let server = S3Server::start();
    server.create_bucket("errs");
    runtime().block_on(async {
        let nb = store(&server, "no-bucket", RetryConfig::none()).await;
        let err = nb
            .list(ListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .expect_err("no bucket");
        assert!(matches!(err, StorageError::BucketNotFound { .. }), "{err}");

        let bad = S3Builder::new("errs")
            .with_endpoint_url(&server.endpoint)
            .with_credentials(&server.access_key, "not-the-secret")
            .with_retry(RetryConfig::none())
            .build()
            .await
            .expect("build");
        let err = bad
            .list(ListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .expect_err("bad secret");
        assert!(matches!(err, StorageError::InvalidCredentials { .. }), "{err}");
        assert!(!err.to_string().contains("not-the-secret"));

        // A closed port: every attempt is a request sent, and is metered.
        let closed = S3Builder::new("errs")
            .with_endpoint_url(format!("http://127.0.0.1:{}", free_port()))
            .with_credentials("k", "s")
            .with_retry(RetryConfig::for_check())
            .build_metered()
            .await
            .expect("build");
        let err = closed
            .list(ListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .expect_err("closed port");
        assert!(matches!(err, StorageError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string().starts_with("Could not connect to http://127.0.0.1:"),
            "{err}"
        );
        let snap = closed.meter().snapshot();
        assert_eq!(
            snap.list_requests,
            u64::from(RetryConfig::for_check().max_attempts),
            "{snap:?}"
        );
        assert_eq!(snap.retries, snap.list_requests - 1, "{snap:?}");
    });
}
