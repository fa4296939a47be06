//! The behaviour every [`Storage`] backend must show, as one test suite that
//! each backend's tests call (the local backend in this crate's unit tests,
//! S3 against a real S3-protocol server in `tests/tests/s3_storage.rs`).
//!
//! The functions panic on the first deviation, with a message saying which.

use bytes::Bytes;
use futures::TryStreamExt;

use super::{ListOptions, MultipartWriter, Storage, StorageExt, MIN_PART_SIZE};

/// Every key of a listing, in order.
pub async fn keys(store: &dyn Storage, options: ListOptions) -> Vec<String> {
    store
        .list_objects(options)
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .expect("listing failed")
}

/// Put, head, get, ranged get, list with and without delimiter and
/// start-after, delete — all under `prefix` (which should be empty at start).
pub async fn put_get_list_delete(store: &dyn Storage, prefix: &str) {
    let k = |name: &str| format!("{prefix}{name}");
    let names = ["a.csv", "b/1.csv", "b/2.csv", "b-c.csv", "c/d/e.csv"];
    for n in names {
        store
            .put(&k(n), Bytes::from(format!("content of {n}")))
            .await
            .expect("put failed");
    }

    // head
    let meta = store.head(&k("a.csv")).await.expect("head failed");
    assert_eq!(meta.key, k("a.csv"));
    assert_eq!(meta.size, "content of a.csv".len() as u64);
    assert!(store
        .head(&k("missing"))
        .await
        .expect_err("head of a missing key")
        .is_not_found());

    // get, streaming and whole
    let got = store.get_bytes(&k("b/1.csv")).await.expect("get failed");
    assert_eq!(&got[..], b"content of b/1.csv");
    let err = store.get(&k("missing")).await.expect_err("get of a missing key");
    assert!(err.is_not_found(), "{err}");

    // a read on this thread, where the backend has one, agrees with get
    if let Some(read) = store.read_now(&k("b/1.csv")) {
        assert_eq!(&read.expect("read_now failed")[..], b"content of b/1.csv");
        let err = store.read_now(&k("missing")).expect("read_now of a missing key");
        assert!(err.expect_err("read_now of a missing key").is_not_found());
        let err = store.read_now(&k("b")).expect("read_now of a folder");
        assert!(err.expect_err("a folder is no object").is_not_found());
    }

    // ranged get, including a range past the end
    assert_eq!(
        &store.get_range(&k("a.csv"), 0..7).await.expect("range")[..],
        b"content"
    );
    assert_eq!(
        &store.get_range(&k("a.csv"), 11..1000).await.expect("range")[..],
        b"a.csv"
    );
    assert!(store
        .get_range(&k("a.csv"), 5..5)
        .await
        .expect("empty range")
        .is_empty());

    // list: recursive, in key order ('-' sorts before '/')
    let all = keys(store, ListOptions::prefix(prefix)).await;
    let mut expected: Vec<String> = names.iter().map(|n| k(n)).collect();
    expected.sort();
    assert_eq!(all, expected, "recursive listing");

    // list with a partial-name prefix
    assert_eq!(
        keys(store, ListOptions::prefix(k("b"))).await,
        vec![k("b-c.csv"), k("b/1.csv"), k("b/2.csv")]
    );

    // list with a delimiter
    let pages: Vec<_> = store
        .list(ListOptions::prefix(prefix).with_delimiter("/"))
        .try_collect()
        .await
        .expect("delimited listing");
    let objects: Vec<String> = pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|m| m.key.clone()))
        .collect();
    let dirs: Vec<String> = pages.iter().flat_map(|p| p.common_prefixes.clone()).collect();
    assert_eq!(objects, vec![k("a.csv"), k("b-c.csv")], "objects beside the folders");
    assert_eq!(dirs, vec![k("b/"), k("c/")], "common prefixes");

    // start-after
    assert_eq!(
        keys(store, ListOptions::prefix(prefix).with_start_after(k("b/1.csv"))).await,
        vec![k("b/2.csv"), k("c/d/e.csv")]
    );

    // small pages
    let pages: Vec<_> = store
        .list(ListOptions::prefix(prefix).with_page_size(2))
        .try_collect()
        .await
        .expect("paged listing");
    assert_eq!(pages.len(), 3, "5 keys in pages of 2");
    assert!(pages.iter().all(|p| p.objects.len() <= 2));

    // an empty listing is one empty page
    let pages: Vec<_> = store
        .list(ListOptions::prefix(k("nothing-here/")))
        .try_collect()
        .await
        .expect("empty listing");
    assert!(pages.iter().all(|p| p.objects.is_empty()));

    // overwrite
    store
        .put(&k("a.csv"), Bytes::from_static(b"new"))
        .await
        .expect("overwrite");
    assert_eq!(&store.get_bytes(&k("a.csv")).await.expect("get")[..], b"new");

    // delete, twice (idempotent)
    for n in names {
        store.delete(&k(n)).await.expect("delete failed");
    }
    store.delete(&k("a.csv")).await.expect("second delete must succeed");
    assert!(keys(store, ListOptions::prefix(prefix)).await.is_empty(), "all deleted");
}

/// A multipart upload of three parts (two of [`MIN_PART_SIZE`], one small)
/// reads back whole; an aborted upload leaves nothing.
pub async fn multipart(store: std::sync::Arc<dyn Storage>, prefix: &str) {
    let key = format!("{prefix}big.bin");
    let mut data = Vec::with_capacity(2 * MIN_PART_SIZE + 1000);
    for i in 0..(2 * MIN_PART_SIZE + 1000) {
        data.push((i % 251) as u8);
    }
    let mut w = MultipartWriter::new(store.clone(), key.clone(), MIN_PART_SIZE);
    for chunk in data.chunks(300_000) {
        w.write(chunk).await.expect("multipart write");
    }
    w.finish().await.expect("multipart complete");
    let meta = store.head(&key).await.expect("head of the completed upload");
    assert_eq!(meta.size, data.len() as u64);
    let back = store.get_bytes(&key).await.expect("get");
    assert!(back[..] == data[..], "multipart content differs");
    let mid = MIN_PART_SIZE as u64 - 10;
    let range = store.get_range(&key, mid..mid + 20).await.expect("range across parts");
    assert_eq!(&range[..], &data[mid as usize..mid as usize + 20]);

    // small objects go as one PUT
    let small = format!("{prefix}small.bin");
    let mut w = MultipartWriter::new(store.clone(), small.clone(), MIN_PART_SIZE);
    w.write(b"tiny").await.expect("write");
    w.finish().await.expect("finish");
    assert_eq!(&store.get_bytes(&small).await.expect("get")[..], b"tiny");

    // abort
    let aborted = format!("{prefix}aborted.bin");
    let mut w = MultipartWriter::new(store.clone(), aborted.clone(), MIN_PART_SIZE);
    w.write(&data[..MIN_PART_SIZE + 1]).await.expect("write");
    w.abort().await.expect("abort");
    assert!(store.head(&aborted).await.expect_err("aborted upload").is_not_found());

    store.delete(&key).await.expect("delete");
    store.delete(&small).await.expect("delete");
}
