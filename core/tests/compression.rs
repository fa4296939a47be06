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

#[test]
fn every_codec_has_a_name_an_extension_and_a_magic() {
    let all = [
        (Compression::None, "none", ""),
        (Compression::Gzip, "gzip", "gz"),
        (Compression::Bz2, "bz2", "bz2"),
        (Compression::Zstd, "zstd", "zst"),
        (Compression::Snappy, "snappy", "snappy"),
        (Compression::Lz4, "lz4", "lz4"),
        (Compression::Brotli, "brotli", "br"),
        (Compression::Zip, "zip", "zip"),
    ];
    for (c, name, ext) in all {
        assert_eq!(c.name(), name);
        assert_eq!(c.to_string(), name);
        assert_eq!(c.extension(), ext);
        assert_eq!(name.parse::<Compression>().unwrap(), c);
        if c != Compression::None {
            assert_eq!(
                Compression::from_extension(&format!("d/f.csv.{ext}")),
                Some((c, "d/f.csv"))
            );
        }
    }
    for (ext, c) in [
        ("SZ", Compression::Snappy),
        ("bzip2", Compression::Bz2),
        ("brotli", Compression::Brotli),
    ] {
        assert_eq!(Compression::from_extension(&format!("f.{ext}")), Some((c, "f")));
    }
    for (s, c) in [
        (" Zstandard ", Compression::Zstd),
        ("uncompressed", Compression::None),
        ("", Compression::None),
        ("sz", Compression::Snappy),
    ] {
        assert_eq!(s.parse::<Compression>().unwrap(), c, "{s:?}");
    }
    assert_eq!(
        "rar".parse::<Compression>().unwrap_err().to_string(),
        "unknown compression 'rar'; use one of gzip, bz2, zstd, snappy, lz4, brotli, zip, none"
    );
    assert_eq!(Compression::detect_magic(&[0x1f, 0x8b, 8]), Some(Compression::Gzip));
    assert_eq!(Compression::detect_magic(b"BZh91AY"), Some(Compression::Bz2));
    assert_eq!(
        Compression::detect_magic(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
        Some(Compression::Zstd)
    );
    assert_eq!(
        Compression::detect_magic(b"\xff\x06\x00\x00sNaPpY"),
        Some(Compression::Snappy)
    );
    assert_eq!(
        Compression::detect_magic(&[0x04, 0x22, 0x4d, 0x18]),
        Some(Compression::Lz4)
    );
    assert_eq!(Compression::detect_magic(b"PK\x03\x04rest"), Some(Compression::Zip));
    assert_eq!(Compression::detect_magic(b"id,name\n"), None);
    assert_eq!(Compression::detect_magic(b""), None);
}

#[test]
fn detection_prefers_the_extension_and_keeps_every_byte() {
    // The extension wins even over other magic bytes.
    let (c, mut r) = compression::detect("x.csv.gz", Box::new(Cursor::new(b"BZh9".to_vec()))).unwrap();
    assert_eq!(c, Compression::Gzip);
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"BZh9");
    // Without an extension, the first bytes decide, and are given back.
    for c in [
        Compression::Gzip,
        Compression::Bz2,
        Compression::Snappy,
        Compression::Lz4,
    ] {
        let mut e = Encoder::new(c, Vec::new()).unwrap();
        e.write_all(b"a,b\n1,2\n").unwrap();
        e.flush().unwrap();
        assert!(!e.get_ref().is_empty() || c == Compression::Bz2, "{c}");
        let bytes = e.finish().unwrap();
        let (found, r) = compression::open_decompressed("object", None, Box::new(Cursor::new(bytes))).unwrap();
        assert_eq!(found, c);
        let mut s = String::new();
        { r }.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a,b\n1,2\n", "{c}");
    }
    // An explicit codec is used as given.
    let (c, r) =
        compression::open_decompressed("x.gz", Some(Compression::None), Box::new(Cursor::new(b"raw".to_vec())))
            .unwrap();
    assert_eq!(c, Compression::None);
    let mut s = String::new();
    { r }.read_to_string(&mut s).unwrap();
    assert_eq!(s, "raw");
}

#[test]
fn corrupt_or_truncated_input_gives_a_clear_error() {
    // Not in the codec at all.
    for c in [
        Compression::Gzip,
        Compression::Bz2,
        Compression::Zstd,
        Compression::Snappy,
        Compression::Lz4,
    ] {
        let mut out = Vec::new();
        let e = compression::decoder(c, Box::new(Cursor::new(b"id,name\n1,ann\n2,bob\n".to_vec())))
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{c}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("the file is not valid {c} ("))
                || msg.starts_with(&format!("the file is truncated or not valid {c} (")),
            "{c}: {msg}"
        );
        assert!(msg.contains("set compression explicitly"), "{c}: {msg}");
    }
    // Cut short: truncated.
    for c in [Compression::Gzip, Compression::Zstd, Compression::Lz4, Compression::Bz2] {
        let mut e = Encoder::new(c, Vec::new()).unwrap();
        e.write_all(&sample()).unwrap();
        let bytes = e.finish().unwrap();
        let cut = bytes[..bytes.len() / 2].to_vec();
        let mut out = Vec::new();
        let err = compression::decoder(c, Box::new(Cursor::new(cut)))
            .read_to_end(&mut out)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("not valid {c}")), "{c}: {msg}");
        assert!(
            out.len() < sample().len(),
            "{c}: never the whole data from half the bytes"
        );
    }
    let mut e = Encoder::new(Compression::Gzip, Vec::new()).unwrap();
    e.write_all(&sample()).unwrap();
    let bytes = e.finish().unwrap();
    let err = compression::decoder(
        Compression::Gzip,
        Box::new(Cursor::new(bytes[..bytes.len() - 4].to_vec())),
    )
    .read_to_end(&mut Vec::new())
    .unwrap_err();
    assert!(
        err.to_string().starts_with("the file is truncated or not valid gzip ("),
        "{err}"
    );
    assert!(err
        .to_string()
        .ends_with("check the upload, or set compression explicitly if the codec was guessed"));
}

#[test]
fn zip_streams_refuse_what_they_cannot_read() {
    // A member compressed with a method other than stored/deflate.
    let bytes = zip_of_one("t.csv", b"a\n1\n", zip::CompressionMethod::Bzip2);
    let err = compression::decoder(Compression::Zip, Box::new(Cursor::new(bytes)))
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert_eq!(
        err.to_string(),
        "zip member 't.csv' uses compression method 12, which cannot be streamed; only stored and deflate members can"
    );
    // Not a zip at all.
    let err = compression::decoder(Compression::Zip, Box::new(Cursor::new(b"not a zip file".to_vec())))
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file is not valid zip (not a zip local file header); set compression explicitly (e.g. \"none\") if it was guessed from the extension or the first bytes"
    );
    // A header cut inside its signature.
    let err = compression::decoder(Compression::Zip, Box::new(Cursor::new(b"PK".to_vec())))
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("truncated zip header"), "{err}");
    // An empty archive is an empty file.
    let empty = zip::ZipWriter::new(Cursor::new(Vec::new()))
        .finish()
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    compression::decoder(Compression::Zip, Box::new(Cursor::new(empty.clone())))
        .read_to_end(&mut out)
        .unwrap();
    assert!(out.is_empty());
    let mut n = 0;
    compression::for_each_zip_member("e.zip", Cursor::new(empty.clone()), |_, _| {
        n += 1;
        Ok(())
    })
    .unwrap();
    compression::for_each_zip_member_in_stream("e.zip", Cursor::new(empty), |_, _| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 0);
    // No bytes at all is not an archive.
    let err =
        compression::for_each_zip_member_in_stream("none.zip", Cursor::new(Vec::new()), |_, _| Ok(())).unwrap_err();
    assert!(
        err.to_string().contains("none.zip") && err.to_string().contains("not a valid zip archive"),
        "{err}"
    );
    let err =
        compression::for_each_zip_member_in_stream("bad.zip", Cursor::new(b"PK\x03\x04xx".to_vec()), |_, _| Ok(()))
            .unwrap_err();
    assert!(
        err.to_string().contains("bad.zip") && err.to_string().contains("not a valid zip archive"),
        "{err}"
    );
}
