//! Every codec round trips; detection by extension and magic bytes; zip members.

use std::io::{Cursor, Read, Write};

use lakeport_core::formats::compression::{self, Compression, Encoder};

fn sample() -> Vec<u8> {
    (0..50_000)
        .flat_map(|i| format!("{i},row {i},é\n").into_bytes())
        .collect()
}

#[test]
fn every_stream_codec_round_trips() {
    let data = sample();
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Bz2,
        Compression::Zstd,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Brotli,
    ] {
        let mut enc = Encoder::new(c, Vec::new()).unwrap();
        for chunk in data.chunks(7_777) {
            enc.write_all(chunk).unwrap();
        }
        let bytes = enc.finish().unwrap();
        if c != Compression::None {
            assert!(bytes.len() < data.len(), "{c} compresses");
        }
        if c != Compression::Brotli {
            assert_eq!(
                Compression::detect_magic(&bytes),
                (c != Compression::None).then_some(c),
                "{c}"
            );
        }
        let mut out = Vec::new();
        compression::decoder(c, Box::new(Cursor::new(bytes)))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data, "{c}");
    }
    assert!(Encoder::new(Compression::Zip, Vec::new()).is_err());
}

#[test]
fn multi_member_gzip() {
    let mut all = Vec::new();
    for part in ["a,b\n", "1,2\n", "3,4\n"] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part.as_bytes()).unwrap();
        all.extend(e.finish().unwrap());
    }
    let mut s = String::new();
    compression::decoder(Compression::Gzip, Box::new(Cursor::new(all)))
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "a,b\n1,2\n3,4\n");
}

#[test]
fn names_extensions_and_detection() {
    for (s, c) in [
        ("gz", Compression::Gzip),
        ("gzip", Compression::Gzip),
        ("bz2", Compression::Bz2),
        ("bzip2", Compression::Bz2),
        ("zst", Compression::Zstd),
        ("zstd", Compression::Zstd),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("brotli", Compression::Brotli),
        ("br", Compression::Brotli),
        ("zip", Compression::Zip),
        ("none", Compression::None),
    ] {
        assert_eq!(s.parse::<Compression>().unwrap(), c);
    }
    assert_eq!(
        Compression::from_extension("p/x.json.zst"),
        Some((Compression::Zstd, "p/x.json"))
    );
    // Detection falls back to magic bytes when the extension says nothing.
    let mut e = Encoder::new(Compression::Zstd, Vec::new()).unwrap();
    e.write_all(b"hello").unwrap();
    let bytes = e.finish().unwrap();
    let (c, r) = compression::open_decompressed("noext", None, Box::new(Cursor::new(bytes))).unwrap();
    assert_eq!(c, Compression::Zstd);
    let mut s = String::new();
    { r }.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello");
    let (c, _) = compression::open_decompressed("plain", None, Box::new(Cursor::new(b"a,b".to_vec()))).unwrap();
    assert_eq!(c, Compression::None);
}

fn make_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("a.csv", opts).unwrap();
    w.write_all(b"x\n1\n").unwrap();
    w.add_directory("dir/", opts).unwrap();
    w.start_file("dir/b.csv", opts.compression_method(zip::CompressionMethod::Stored))
        .unwrap();
    w.write_all(b"x\n2\n").unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_members_seekable_and_streamed() {
    let bytes = make_zip();
    let mut seen = vec![];
    compression::for_each_zip_member("z.zip", Cursor::new(bytes.clone()), |name, r| {
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        seen.push((name.to_string(), s));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![("a.csv".into(), "x\n1\n".into()), ("dir/b.csv".into(), "x\n2\n".into())]
    );
    let mut streamed = vec![];
    compression::for_each_zip_member_in_stream("z.zip", Cursor::new(bytes.clone()), |name, r| {
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        streamed.push((name.to_string(), s));
        Ok(())
    })
    .unwrap();
    assert_eq!(streamed, seen);
    // The stream decoder reads one zipped file: an archive of two fails once
    // the first is read, naming both.
    let mut s = String::new();
    let e = compression::decoder(Compression::Zip, Box::new(Cursor::new(bytes)))
        .read_to_string(&mut s)
        .unwrap_err();
    assert_eq!(s, "x\n1\n");
    assert!(
        e.to_string().contains("more than one file ('a.csv', then 'dir/b.csv')"),
        "{e}"
    );
    // Not a zip.
    let e = compression::for_each_zip_member("bad.zip", Cursor::new(b"nope".to_vec()), |_, _| Ok(())).unwrap_err();
    assert!(e.to_string().contains("bad.zip"));
}

/// A zip of one file `name` (after a directory entry) holding `body`.
fn zip_of_one(name: &str, body: &[u8], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    w.add_directory("data/", opts).unwrap();
    w.start_file(name, opts).unwrap();
    w.write_all(body).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zipped_file_reads_whole_or_fails_when_truncated() {
    let body: Vec<u8> = (0..2000).flat_map(|i| format!("{i},row {i}\n").into_bytes()).collect();
    for method in [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated] {
        let bytes = zip_of_one("data/t.csv", &body, method);
        let mut out = Vec::new();
        compression::decoder(Compression::Zip, Box::new(Cursor::new(bytes.clone())))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body, "{method:?}: the file after the directory entry, whole");
        // Cut in the middle of the member: an error, never a short read.
        let cut = bytes[..bytes.len() / 2].to_vec();
        let mut out = Vec::new();
        let e = compression::decoder(Compression::Zip, Box::new(Cursor::new(cut)))
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(e.to_string().contains("truncated"), "{method:?}: {e}");
    }
}

#[test]
fn zip_members_feed_the_format_readers() {
    let bytes = make_zip();
    let mut totals = vec![];
    compression::for_each_zip_member("z.zip", Cursor::new(bytes), |name, member| {
        let reader = lakeport_core::formats::read_stream(
            name,
            Box::new(member),
            lakeport_core::formats::FileFormat::Csv,
            &lakeport_core::formats::ReadOptions::default(),
            None,
        )?;
        let rows: usize = reader
            .map(|b| b.map(|b| b.num_rows()))
            .sum::<lakeport_core::Result<usize>>()?;
        totals.push(rows);
        Ok(())
    })
    .unwrap();
    assert_eq!(totals, vec![1, 1]);
}
