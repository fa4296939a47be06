//! Compression codecs: detection (by extension, then magic bytes), streaming decoders,
//! streaming encoders with an explicit `finish`, and zip archives (each member is a file).

use std::fmt;
use std::io::{self, Read, Seek, Write};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A stream compression codec (or `Zip`, an archive whose members are files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip (RFC 1952), multi-member files included.
    Gzip,
    /// bzip2.
    Bz2,
    /// Zstandard.
    Zstd,
    /// Snappy, framed format (`.sz` / `.snappy` files as written by `snzip` and python-snappy).
    Snappy,
    /// LZ4 frame format.
    Lz4,
    /// Brotli.
    Brotli,
    /// A zip archive; each member is a file.
    Zip,
}

impl Compression {
    /// The canonical lower-case name (`"gzip"`, `"bz2"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bz2 => "bz2",
            Compression::Zstd => "zstd",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Brotli => "brotli",
            Compression::Zip => "zip",
        }
    }

    /// The usual file extension, without the dot (`""` for `None`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gz",
            Compression::Bz2 => "bz2",
            Compression::Zstd => "zst",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Brotli => "br",
            Compression::Zip => "zip",
        }
    }

    /// Detects the codec from a path's last extension; returns it with the path stripped of it
    /// (`"a/b.csv.gz"` → `(Gzip, "a/b.csv")`). `None` when the extension is not a codec.
    pub fn from_extension(path: &str) -> Option<(Compression, &str)> {
        let (stem, ext) = path.rsplit_once('.')?;
        if ext.contains('/') {
            return None;
        }
        let c = match ext.to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Compression::Gzip,
            "bz2" | "bzip2" => Compression::Bz2,
            "zst" | "zstd" => Compression::Zstd,
            "snappy" | "sz" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "br" | "brotli" => Compression::Brotli,
            "zip" => Compression::Zip,
            _ => return None,
        };
        Some((c, stem))
    }

    /// Detects the codec from the first bytes of a file (8 are enough). Brotli has no magic
    /// number and is never detected this way.
    pub fn detect_magic(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(b"BZh") {
            Some(Compression::Bz2)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P']) {
            Some(Compression::Snappy)
        } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
            Some(Compression::Lz4)
        } else if head.starts_with(b"PK\x03\x04") {
            Some(Compression::Zip)
        } else {
            None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Compression::Gzip,
            "bz2" | "bzip2" => Compression::Bz2,
            "zst" | "zstd" | "zstandard" => Compression::Zstd,
            "snappy" | "sz" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "brotli" | "br" => Compression::Brotli,
            "zip" => Compression::Zip,
            "none" | "" | "uncompressed" => Compression::None,
            other => {
                return Err(Error::Config(format!(
                    "unknown compression '{other}'; use one of gzip, bz2, zstd, snappy, lz4, brotli, zip, none"
                )))
            }
        })
    }
}

/// Detects the compression of `file`: by its extension first, then by the magic bytes at the
/// start of `reader`. Returns the codec and a reader that still yields every byte.
pub fn detect<'a>(
    file: &str,
    mut reader: Box<dyn Read + Send + 'a>,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    if let Some((c, _)) = Compression::from_extension(file) {
        return Ok((c, reader));
    }
    let mut head = Vec::with_capacity(8);
    (&mut reader)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(file, e))?;
    let c = Compression::detect_magic(&head).unwrap_or(Compression::None);
    Ok((c, Box::new(io::Cursor::new(head).chain(reader))))
}

/// A streaming decoder for `c` over `inner`. Read errors caused by data that is not in the
/// expected codec say so ("the file is not valid gzip; set compression explicitly…").
///
/// `Zip` yields the archive's one file (directory entries skipped); an archive
/// holding several files fails once the first is read — use
/// [`for_each_zip_member`] or [`for_each_zip_member_in_stream`] to read every member.
pub fn decoder<'a>(c: Compression, inner: Box<dyn Read + Send + 'a>) -> Box<dyn Read + Send + 'a> {
    let inner: Box<dyn Read + Send + 'a> = match c {
        Compression::None => return inner,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        Compression::Bz2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(inner) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(FailingReader(Some(e))),
        },
        Compression::Snappy => Box::new(snap::read::FrameDecoder::new(inner)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(inner)),
        Compression::Brotli => Box::new(brotli::Decompressor::new(inner, 64 * 1024)),
        Compression::Zip => Box::new(FirstZipMember::new(inner)),
    };
    Box::new(CodecErrors { inner, codec: c })
}

/// Opens `reader` for `file` decompressed: with `compression` when given, else detected by
/// [`detect`]. Returns the codec used and the plain byte stream.
pub fn open_decompressed<'a>(
    file: &str,
    compression: Option<Compression>,
    reader: Box<dyn Read + Send + 'a>,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let (c, reader) = match compression {
        Some(c) => (c, reader),
        None => detect(file, reader)?,
    };
    Ok((c, decoder(c, reader)))
}

/// Rewrites a decoder's I/O errors so they name the codec and suggest the fix.
struct CodecErrors<R> {
    inner: R,
    codec: Compression,
}

impl<R: Read> Read for CodecErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            // Interrupted is retried; Unsupported says what to do itself.
            if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::Unsupported) {
                return e;
            }
            let truncated = e.kind() == io::ErrorKind::UnexpectedEof;
            io::Error::new(
                io::ErrorKind::InvalidData,
                if truncated {
                    format!(
                        "the file is truncated or not valid {} ({e}); check the upload, or set compression explicitly if the codec was guessed",
                        self.codec
                    )
                } else {
                    format!(
                        "the file is not valid {} ({e}); set compression explicitly (e.g. \"none\") if it was guessed from the extension or the first bytes",
                        self.codec
                    )
                },
            )
        })
    }
}

/// A reader that fails once with a stored error (used when a decoder cannot start).
struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Err(io::Error::other("decoder failed to start")),
        }
    }
}

/// Streams the one file of a zip archive read as a stream (local file
/// headers), as pandas reads a zipped file. Directory entries are skipped.
/// An archive that holds a second file fails once the first is read (its
/// files are not one table; pandas refuses such archives too), and a stored
/// or deflated member shorter than its header says fails as truncated.
/// After a member whose sizes follow its data (a data descriptor), the
/// stream cannot be followed further: the check for a second file is skipped.
struct FirstZipMember<'a> {
    state: Option<Box<dyn Read + Send + 'a>>,
    member: Option<Member<'a>>,
    /// The first file's name, for messages.
    name: String,
}

/// The member being read.
enum Member<'a> {
    /// Stored, its size known from the local header.
    Stored(ExactTake<'a>),
    /// Deflated, its compressed size known from the local header.
    Deflated(flate2::read::DeflateDecoder<ExactTake<'a>>),
    /// Deflated, its sizes in a data descriptor after the data.
    Streamed(Box<dyn Read + Send + 'a>),
}

impl<'a> FirstZipMember<'a> {
    fn new(inner: Box<dyn Read + Send + 'a>) -> Self {
        FirstZipMember {
            state: Some(inner),
            member: None,
            name: String::new(),
        }
    }

    /// The next file's header (directory entries skipped), or `None` at the
    /// end of the members.
    fn next_file(inner: &mut Box<dyn Read + Send + 'a>) -> io::Result<Option<LocalHeader>> {
        loop {
            match read_local_header(inner)? {
                Some(h) if h.name.ends_with('/') && h.compressed_size == 0 && !h.has_descriptor => continue,
                other => return Ok(other),
            }
        }
    }

    /// After the first file: fails if another one follows.
    fn check_alone(&mut self, member: Member<'a>) -> io::Result<()> {
        let mut rest = match member {
            Member::Stored(t) => t,
            Member::Deflated(d) => d.into_inner(),
            Member::Streamed(_) => return Ok(()),
        };
        // Whatever of the member's bytes the decoder left unread.
        io::copy(&mut rest, &mut io::sink())?;
        let mut inner = rest.inner;
        match Self::next_file(&mut inner)? {
            Some(next) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the zip archive holds more than one file ('{}', then '{}'); a zipped file must be alone \
                     in its archive: unzip it and read the files themselves",
                    self.name, next.name
                ),
            )),
            None => Ok(()),
        }
    }
}

impl Read for FirstZipMember<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.member.is_none() {
            let Some(mut inner) = self.state.take() else {
                return Ok(0);
            };
            let Some(header) = Self::next_file(&mut inner)? else {
                return Ok(0);
            };
            self.name = header.name.clone();
            self.member = Some(member_reader(header, inner)?);
        }
        let n = match self.member.as_mut() {
            Some(Member::Stored(r)) => r.read(buf)?,
            Some(Member::Deflated(r)) => r.read(buf)?,
            Some(Member::Streamed(r)) => r.read(buf)?,
            None => 0,
        };
        if n == 0 && !buf.is_empty() {
            if let Some(member) = self.member.take() {
                self.check_alone(member)?;
            }
        }
        Ok(n)
    }
}

/// `inner` limited to `left` bytes; ending early is an error (a truncated member).
struct ExactTake<'a> {
    inner: Box<dyn Read + Send + 'a>,
    left: u64,
}

impl Read for ExactTake<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("a zip member ends {} byte(s) early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a zip local file header says about the member that follows it.
struct LocalHeader {
    name: String,
    method: u16,
    compressed_size: u64,
    has_descriptor: bool,
}

fn read_local_header(r: &mut dyn Read) -> io::Result<Option<LocalHeader>> {
    let mut fixed = [0u8; 30];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut fixed[got..4])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated zip header"))
            };
        }
        got += n;
    }
    let sig = u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
    if sig != 0x0403_4b50 {
        // Central directory or end record: no more members.
        if sig == 0x0201_4b50 || sig == 0x0605_4b50 {
            return Ok(None);
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a zip local file header",
        ));
    }
    r.read_exact(&mut fixed[4..])?;
    let u16_at = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
    let flags = u16_at(6);
    let method = u16_at(8);
    let mut compressed_size = u64::from(u32_at(18));
    let name_len = usize::from(u16_at(26));
    let extra_len = usize::from(u16_at(28));
    let mut name = vec![0u8; name_len];
    r.read_exact(&mut name)?;
    let mut extra = vec![0u8; extra_len];
    r.read_exact(&mut extra)?;
    // zip64 extra field (id 1): uncompressed then compressed size.
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16::from_le_bytes([extra[i], extra[i + 1]]);
        let len = usize::from(u16::from_le_bytes([extra[i + 2], extra[i + 3]]));
        if id == 1 && len >= 16 && i + 4 + 16 <= extra.len() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&extra[i + 12..i + 20]);
            compressed_size = u64::from_le_bytes(b);
        }
        i += 4 + len;
    }
    Ok(Some(LocalHeader {
        name: String::from_utf8_lossy(&name).into_owned(),
        method,
        compressed_size,
        has_descriptor: flags & 0x08 != 0,
    }))
}

fn member_reader<'a>(h: LocalHeader, inner: Box<dyn Read + Send + 'a>) -> io::Result<Member<'a>> {
    let exact = |inner| ExactTake {
        inner,
        left: h.compressed_size,
    };
    match h.method {
        0 if !h.has_descriptor => Ok(Member::Stored(exact(inner))),
        8 if h.has_descriptor => Ok(Member::Streamed(Box::new(flate2::read::DeflateDecoder::new(inner)))),
        8 => Ok(Member::Deflated(flate2::read::DeflateDecoder::new(exact(inner)))),
        m => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "zip member '{}' uses compression method {m}, which cannot be streamed; only stored and deflate members can",
                h.name
            ),
        )),
    }
}

/// Calls `f(member_name, member_bytes)` for every file member of a seekable zip archive
/// (directories skipped), in archive order. The member reader is `Send`, so it can be given
/// to [`crate::formats::read_stream`] as `Box::new(member)`.
pub fn for_each_zip_member<R, F>(file: &str, reader: R, mut f: F) -> Result<()>
where
    R: Read + Seek + Send,
    F: FnMut(&str, &mut (dyn Read + Send)) -> Result<()>,
{
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| Error::format(file, format!("the file is not a valid zip archive ({e})")))?;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| Error::format(file, format!("zip member {i} cannot be read ({e})")))?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().to_string();
        f(&name, &mut member)?;
    }
    Ok(())
}

/// Calls `f(member_name, member_bytes)` for every file member of a zip archive read as a
/// plain stream (no seeking: local file headers are followed). Members must be stored or
/// deflated; a member's bytes must be fully consumed or are skipped by `f`'s return.
pub fn for_each_zip_member_in_stream<R, F>(file: &str, reader: R, mut f: F) -> Result<()>
where
    R: Read + Send,
    F: FnMut(&str, &mut (dyn Read + Send)) -> Result<()>,
{
    // An archive of no members is only its end record, which the zip crate's stream
    // reader does not accept where a first member could be: read as no members.
    let mut reader = reader;
    let mut head = Vec::with_capacity(4);
    (&mut reader)
        .take(4)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(file, e))?;
    if head == b"PK\x05\x06" {
        return Ok(());
    }
    let mut reader = io::Cursor::new(head).chain(reader);
    loop {
        let member = zip::read::read_zipfile_from_stream(&mut reader)
            .map_err(|e| Error::format(file, format!("the file is not a valid zip archive ({e})")))?;
        let Some(mut member) = member else {
            return Ok(());
        };
        if member.is_dir() {
            continue;
        }
        let name = member.name().to_string();
        f(&name, &mut member)?;
        io::copy(&mut member, &mut io::sink()).map_err(|e| Error::format(file, e.to_string()))?;
    }
}

/// A streaming compressor over any `Write`. Call [`Encoder::finish`] to write the trailer.
pub struct Encoder<W: Write> {
    inner: EncoderInner<W>,
}

enum EncoderInner<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Bz2(bzip2::write::BzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Snappy(Box<snap::write::FrameEncoder<W>>),
    Lz4(lz4_flex::frame::FrameEncoder<W>),
    Brotli(Box<brotli::CompressorWriter<W>>),
}

/// The deflate level of gzip output: 3, zlib's fast end. On the benchmark's
/// JSON lines it compresses 1.7 times faster than the default level 6 for
/// output 4% larger, which keeps a gzip destination near its decoder's speed.
fn gzip_level() -> flate2::Compression {
    flate2::Compression::new(3)
}

impl<W: Write> Encoder<W> {
    /// A compressor for `c` writing into `sink`. `Zip` is not a stream codec and is refused.
    pub fn new(c: Compression, sink: W) -> Result<Self> {
        let inner = match c {
            Compression::None => EncoderInner::None(sink),
            Compression::Gzip => EncoderInner::Gzip(flate2::write::GzEncoder::new(sink, gzip_level())),
            Compression::Bz2 => EncoderInner::Bz2(bzip2::write::BzEncoder::new(sink, bzip2::Compression::default())),
            Compression::Zstd => EncoderInner::Zstd(
                zstd::stream::write::Encoder::new(sink, 3)
                    .map_err(|e| Error::Internal(format!("zstd encoder: {e}")))?,
            ),
            Compression::Snappy => EncoderInner::Snappy(Box::new(snap::write::FrameEncoder::new(sink))),
            Compression::Lz4 => EncoderInner::Lz4(lz4_flex::frame::FrameEncoder::new(sink)),
            Compression::Brotli => {
                EncoderInner::Brotli(Box::new(brotli::CompressorWriter::new(sink, 64 * 1024, 5, 22)))
            }
            Compression::Zip => {
                return Err(Error::Config(
                    "zip is an archive format, not a stream compression; use gzip or zstd for written files".into(),
                ))
            }
        };
        Ok(Encoder { inner })
    }

    /// The sink being written to.
    pub fn get_ref(&self) -> &W {
        match &self.inner {
            EncoderInner::None(w) => w,
            EncoderInner::Gzip(e) => e.get_ref(),
            EncoderInner::Bz2(e) => e.get_ref(),
            EncoderInner::Zstd(e) => e.get_ref(),
            EncoderInner::Snappy(e) => e.get_ref(),
            EncoderInner::Lz4(e) => e.get_ref(),
            EncoderInner::Brotli(e) => e.get_ref(),
        }
    }

    /// Writes the codec's trailer and returns the sink (flushed).
    pub fn finish(self) -> io::Result<W> {
        let mut w = match self.inner {
            EncoderInner::None(w) => w,
            EncoderInner::Gzip(e) => e.finish()?,
            EncoderInner::Bz2(e) => e.finish()?,
            EncoderInner::Zstd(e) => e.finish()?,
            EncoderInner::Snappy(e) => e.into_inner().map_err(|e| e.into_error())?,
            EncoderInner::Lz4(e) => e.finish().map_err(io::Error::other)?,
            EncoderInner::Brotli(mut e) => {
                e.flush()?;
                e.into_inner()
            }
        };
        w.flush()?;
        Ok(w)
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            EncoderInner::None(w) => w.write(buf),
            EncoderInner::Gzip(e) => e.write(buf),
            EncoderInner::Bz2(e) => e.write(buf),
            EncoderInner::Zstd(e) => e.write(buf),
            EncoderInner::Snappy(e) => e.write(buf),
            EncoderInner::Lz4(e) => e.write(buf),
            EncoderInner::Brotli(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            EncoderInner::None(w) => w.flush(),
            EncoderInner::Gzip(e) => e.flush(),
            EncoderInner::Bz2(e) => e.flush(),
            EncoderInner::Zstd(e) => e.flush(),
            EncoderInner::Snappy(e) => e.flush(),
            EncoderInner::Lz4(e) => e.flush(),
            EncoderInner::Brotli(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!("gz".parse::<Compression>().unwrap(), Compression::Gzip);
        assert_eq!("BR".parse::<Compression>().unwrap(), Compression::Brotli);
        assert!("rar".parse::<Compression>().is_err());
        assert_eq!(
            Compression::from_extension("a/b.csv.gz"),
            Some((Compression::Gzip, "a/b.csv"))
        );
        assert_eq!(Compression::from_extension("a.b/c"), None);
        assert_eq!(Compression::from_extension("x.csv"), None);
    }
}
