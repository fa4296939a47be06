//! Unit tests of the storage layer on the local backend.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;

use super::conformance;
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStorage::new(dir.path().join("root"));
    conformance::put_get_list_delete(&store, "").await;
    conformance::put_get_list_delete(&store, "nested/prefix/").await;
    conformance::multipart(Arc::new(store.clone()), "mp/").await;
    // Nothing temporary is left behind, and the multipart area is not listed.
    assert!(conformance::keys(&store, ListOptions::default()).await.is_empty());
    // The metering wrapper changes nothing of what the store does.
    let metered = Metered::new(Arc::new(store));
    conformance::put_get_list_delete(&metered, "through/meter/").await;
    conformance::multipart(metered.store().clone(), "mp/").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_meter_counts_requests() {
    let dir = tempfile::tempdir().unwrap();
    let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
    for i in 0..25 {
        store
            .put(&format!("k/{i:03}"), Bytes::from_static(b"xyz"))
            .await
            .unwrap();
    }
    let before = store.meter().snapshot();
    let keys = conformance::keys(&store, ListOptions::prefix("k/").with_page_size(10)).await;
    assert_eq!(keys.len(), 25);
    store.get_range("k/000", 0..2).await.unwrap();
    store.head("k/001").await.unwrap();
    store.delete("k/002").await.unwrap();
    let d = store.meter().snapshot() - before;
    assert_eq!(d.list_requests, 3);
    assert_eq!(d.get_requests, 1);
    assert_eq!(d.head_requests, 1);
    assert_eq!(d.delete_requests, 1);
    assert_eq!(d.bytes_received, 2);
    // A read on the calling thread is a GET like any other.
    let read = store
        .read_now("k/003")
        .expect("the local backend reads on the calling thread");
    assert_eq!(&read.unwrap()[..], b"xyz");
    assert!(store.read_now("k/002").unwrap().unwrap_err().is_not_found());
    let d = store.meter().snapshot() - before;
    assert_eq!((d.get_requests, d.bytes_received), (3, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metering_wrapper_counts_bodies_and_skips_empty_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
    store.put("a", Bytes::from(vec![1u8; 3000])).await.unwrap();
    let whole = store.get_bytes("a").await.unwrap();
    assert_eq!(whole.len(), 3000);
    assert!(store.get_range("a", 7..7).await.unwrap().is_empty());
    assert!(store.get("missing").await.unwrap_err().is_not_found());
    let mut w = MultipartWriter::new(store.store().clone(), "b".into(), MIN_PART_SIZE);
    w.write(&vec![2u8; MIN_PART_SIZE + 5]).await.unwrap();
    w.finish().await.unwrap();
    let m = store.meter().snapshot();
    assert_eq!((m.put_requests, m.get_requests), (1, 2), "{m:?}");
    assert_eq!(
        (
            m.create_multipart_requests,
            m.upload_part_requests,
            m.complete_multipart_requests
        ),
        (1, 2, 1),
        "{m:?}"
    );
    assert_eq!(m.bytes_sent, 3000 + MIN_PART_SIZE as u64 + 5, "{m:?}");
    assert_eq!(m.bytes_received, 3000, "{m:?}");
    // What it wraps is shown as itself.
    assert_eq!(store.to_string(), dir.path().display().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_reader_reads_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStorage::new(dir.path());
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 256) as u8).collect();
    store.put("big", Bytes::from(data.clone())).await.unwrap();
    let got = store.get("big").await.unwrap();
    let mut reader = got.into_reader(DEFAULT_READ_AHEAD_CHUNKS);
    let back = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert_eq!(back, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_reader_surfaces_storage_errors() {
    let stream: ByteStream = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"ab")),
        Err(StorageError::Transient {
            operation: RequestKind::Get,
            target: "s3://b/k".into(),
            detail: "connection reset".into(),
        }),
    ])
    .boxed();
    let mut reader = BlockingReader::spawn(stream, 2);
    let err = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap_err()
    })
    .await
    .unwrap();
    let back = StorageError::from_io(err, "k");
    assert!(back.is_transient(), "{back}");
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStorage::new(dir.path());
    assert!(store.put("../x", Bytes::new()).await.is_err());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_listing_skips_what_is_no_object_and_hidden_names_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("a.csv"), "x").unwrap();
    std::fs::write(root.join(".git/h"), "x").unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
    let fifo = std::process::Command::new("mkfifo").arg(root.join("pipe")).status();
    let fifo = fifo.is_ok_and(|s| s.success());
    let all = LocalStorage::new(root).noting_skips();
    assert_eq!(
        conformance::keys(&all, ListOptions::default()).await,
        [".git/h", "a.csv"]
    );
    let skipped: Vec<String> = all.take_skipped().into_iter().map(|s| s.key).collect();
    let expected: &[&str] = if fifo {
        &["dangling", "pipe", "sub/up/"]
    } else {
        &["dangling", "sub/up/"]
    };
    assert_eq!(skipped, expected);
    assert!(all.take_skipped().is_empty());
    let visible = LocalStorage::new(root).without_hidden();
    assert_eq!(conformance::keys(&visible, ListOptions::default()).await, ["a.csv"]);
    assert!(visible.take_skipped().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_multipart_writer_leaves_no_object_and_says_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
    // Aborted after a part went up: the upload is aborted, nothing is listed.
    let mut w = MultipartWriter::new(store.store().clone(), "out/big.bin".into(), 1);
    w.write(&vec![7u8; MIN_PART_SIZE + 1]).await.unwrap();
    assert_eq!(w.key(), "out/big.bin");
    assert_eq!(w.bytes_written(), MIN_PART_SIZE as u64 + 1);
    let shown = format!("{w:?}");
    assert!(
        shown.contains("key: \"out/big.bin\"")
            && shown.contains("parts: 1")
            && shown.contains(&format!("part_size: {MIN_PART_SIZE}")),
        "the part size is raised to the minimum: {shown}"
    );
    w.abort().await.unwrap();
    assert_eq!(store.meter().snapshot().abort_multipart_requests, 1);
    assert!(store.first_object("out/").await.unwrap().is_none());
    // Aborted before any part: nothing was sent, nothing to abort.
    let mut w = MultipartWriter::new(store.store().clone(), "out/small.bin".into(), MIN_PART_SIZE);
    w.write(b"tiny").await.unwrap();
    w.abort().await.unwrap();
    let m = store.meter().snapshot();
    assert_eq!(
        (m.create_multipart_requests, m.abort_multipart_requests, m.put_requests),
        (1, 1, 0)
    );
    // A finished small one is a single PUT, and is the first object under the prefix.
    let mut w = MultipartWriter::new(store.store().clone(), "out/small.bin".into(), MIN_PART_SIZE);
    w.write(b"tiny").await.unwrap();
    w.finish().await.unwrap();
    let first = store.first_object("out/").await.unwrap().unwrap();
    assert_eq!((first.key.as_str(), first.size), ("out/small.bin", 4));
    let got = store.get("out/small.bin").await.unwrap();
    assert!(
        format!("{got:?}").starts_with("GetResult { meta: ObjectMeta"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_backend_refuses_what_it_cannot_do_with_clear_errors() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStorage::new(dir.path()).noting_skips();
    assert_eq!(store.root(), dir.path());
    assert!(format!("{store:?}").contains(&dir.path().display().to_string()));
    store.put("d/a.txt", Bytes::from_static(b"abc")).await.unwrap();
    store.put("d/sub/b.txt", Bytes::from_static(b"b")).await.unwrap();
    store.put("e/c.txt", Bytes::from_static(b"c")).await.unwrap();

    // Only '/' groups keys.
    let e = store
        .list(ListOptions::prefix("").with_delimiter("|"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "The local filesystem lists with the delimiter '/' only, not '|'."
    );
    // Common prefixes and keys after start_after only.
    let pages: Vec<ListPage> = store
        .list(ListOptions::prefix("").with_delimiter("/").with_start_after("d/"))
        .try_collect()
        .await
        .unwrap();
    let prefixes: Vec<&String> = pages.iter().flat_map(|p| &p.common_prefixes).collect();
    assert_eq!(prefixes, ["e/"]);
    let pages: Vec<ListPage> = store
        .list(ListOptions::prefix("d/").with_start_after("d/a.txt"))
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<&str> = pages.iter().flat_map(|p| &p.objects).map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["d/sub/b.txt"]);

    // A directory is not an object.
    assert!(store.head("d/sub").await.unwrap_err().is_not_found());
    assert!(store.get("d/sub").await.unwrap_err().is_not_found());
    // A range past the end is empty; one across it is cut.
    assert!(store.get_range("d/a.txt", 10..20).await.unwrap().is_empty());
    assert_eq!(&store.get_range("d/a.txt", 1..20).await.unwrap()[..], b"bc");
    // Deleting what is not there succeeds (as S3 does); so does aborting an unknown upload.
    store.delete("d/none.txt").await.unwrap();
    store
        .abort_multipart("k", &MultipartId("0000-unknown".into()))
        .await
        .unwrap();
    // An upload id that is not one, and one that does not exist.
    let e = store
        .upload_part("k", &MultipartId("../escape".into()), 1, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "'../escape' is not a multipart upload id.");
    let e = store
        .upload_part("k", &MultipartId("0000-unknown".into()), 1, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(store.take_skipped().is_empty());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_name_that_is_not_utf8_is_skipped_and_said_why() {
    use futures::TryStreamExt;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(
        dir.path().join("d").join(std::ffi::OsStr::from_bytes(b"bad\xff.csv")),
        "x",
    )
    .unwrap();
    std::fs::write(dir.path().join("d/good.csv"), "x").unwrap();
    let store = LocalStorage::new(dir.path()).noting_skips();
    let pages: Vec<ListPage> = store.list(ListOptions::prefix("d/")).try_collect().await.unwrap();
    let keys: Vec<&str> = pages.iter().flat_map(|p| &p.objects).map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["d/good.csv"]);
    let skipped = store.take_skipped();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0]
            .why
            .ends_with("its name is not UTF-8, so no key can name it."),
        "{skipped:?}"
    );
    assert!(store.take_skipped().is_empty(), "taken once");
}
