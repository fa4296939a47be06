//! Airbyte's raw file layout, as destination-local-json and destination-csv
//! write it (the `airbyte_raw` config, set when such a config is imported):
//! one file per stream directly in the output directory,
//!
//! - `_airbyte_raw_<stream>.jsonl`: one line per record,
//!   `{"_airbyte_ab_id":"<uuid>","_airbyte_emitted_at":<millis>,"_airbyte_data":{…}}`;
//! - `_airbyte_raw_<stream>.csv`: a header `_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data`,
//!   then one row per record whose last column is the record's JSON text
//!   (RFC 4180 quoting, rows ending in CRLF, as Apache Commons CSV's default
//!   format that Airbyte uses).
//!
//! Sync modes follow Airbyte's connectors: `overwrite` (catalog
//! `destination_sync_mode`, or `overwrite: true`, or a refresh whose
//! `minimum_generation_id` is this sync's `generation_id`) replaces the file, every
//! other mode (and `write` without a catalog) appends to it. Each catalog
//! stream gets its file even when no record arrives (an overwrite empties
//! it). Namespaces are not part of the name, as in Airbyte.
//!
//! Durability, unlike Airbyte's (which flushes at a STATE and renames at the
//! end): records go to a hidden temporary file in the same directory — for
//! append, a copy of the old file — which is fsynced and renamed over the
//! file on commit. A STATE is echoed only once every record before it is in
//! a committed file. Every file is committed at the end of the input; an
//! appended file is also committed at a STATE when that is cheap (the
//! records added since its copy was taken are at least as large as the
//! copy), so states flow during a long sync at a total copying cost of at
//! most the output's size. An overwritten file is committed only at the end:
//! a failed sync leaves it as it was. A failed sync leaves an appended file
//! as of the last STATE echoed (the old content when none was).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use lakeport_core::sink::input::lines::for_each_line;
use lakeport_core::sink::input::{invalid_line, parse_line_full};
use lakeport_core::sink::layout::{safe_segment, temp_path};
use lakeport_core::sink::stale::create_temp;
use lakeport_core::sink::states::{Pending, PendingStates, Scope};
use lakeport_core::sink::streams::{configured, Streams};
use lakeport_protocol::stop::{remove_on_stop, StopGuard};
use lakeport_protocol::{
    AirbyteMessage, ConfiguredAirbyteCatalog, ConnectorError, DestinationSyncMode, Emitter, StreamDescriptor,
};

use crate::target;

/// The environment variable naming the directory that Airbyte's `/local`
/// stands for (Airbyte's own `LOCAL_ROOT`).
pub const LOCAL_ROOT_ENV: &str = "LAKEPORT_LOCAL_ROOT";

/// Where Airbyte mounts `/local` from on the host by default (its
/// `LOCAL_ROOT`).
pub const AIRBYTE_LOCAL_ROOT: &str = "/tmp/airbyte_local";

/// The prefix of every raw file's name.
pub const RAW_PREFIX: &str = "_airbyte_raw_";

/// The CSV header's columns (and the JSONL line's keys), in order.
pub const COLUMNS: [&str; 3] = ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"];

/// Output buffer per open file.
const FILE_BUFFER: usize = 1 << 20;

/// The two raw file kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    /// destination-local-json: `.jsonl`, one object per line.
    Jsonl,
    /// destination-csv: `.csv` with this delimiter.
    Csv {
        /// The field delimiter (`,` unless the config says otherwise).
        delimiter: u8,
    },
}

impl RawKind {
    fn extension(self) -> &'static str {
        match self {
            RawKind::Jsonl => "jsonl",
            RawKind::Csv { .. } => "csv",
        }
    }

    fn line_end(self) -> &'static [u8] {
        match self {
            RawKind::Jsonl => b"\n",
            RawKind::Csv { .. } => b"\r\n",
        }
    }
}

/// How a raw write goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSettings {
    /// The directory the files are written in (`/local` resolved).
    pub dir: PathBuf,
    /// JSONL or CSV.
    pub kind: RawKind,
    /// Overwrite every stream (besides catalog `destination_sync_mode`).
    pub overwrite: bool,
}

/// The file name of a stream's raw file: `_airbyte_raw_<stream>.<ext>`, the
/// stream name made safe as the sink makes stream folders safe.
pub fn file_name(stream: &str, kind: RawKind) -> String {
    format!("{RAW_PREFIX}{}.{}", safe_segment(stream), kind.extension())
}

/// The directory an Airbyte `/local/…` path means here: under
/// `$LAKEPORT_LOCAL_ROOT` when set; else `/local` itself when it exists (a
/// container with Airbyte's mount); else under Airbyte's default
/// `LOCAL_ROOT`, `/tmp/airbyte_local` (where Airbyte put the files on the
/// host). Paths outside `/local` are used as they are.
pub fn resolve_local(base: &Path) -> PathBuf {
    let Ok(rest) = base.strip_prefix("/local") else {
        return base.to_path_buf();
    };
    match std::env::var_os(LOCAL_ROOT_ENV).filter(|v| !v.is_empty()) {
        Some(root) => PathBuf::from(root).join(rest),
        None if Path::new("/local").is_dir() => base.to_path_buf(),
        None => Path::new(AIRBYTE_LOCAL_ROOT).join(rest),
    }
}

/// What a raw write did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawSummary {
    /// Records written.
    pub records: u64,
    /// Files committed (final paths), in the order they were first written.
    pub files: Vec<PathBuf>,
    /// States echoed.
    pub states: u64,
}

/// The temporary file a raw file is being written through.
struct OpenTemp {
    writer: BufWriter<File>,
    /// Bytes carried over from the file being appended to.
    base: u64,
    /// Bytes written since (header and records).
    added: u64,
    /// Removes the temporary file if the process is stopped before it is committed.
    _undo: StopGuard,
}

/// One raw file.
struct RawFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    overwrite: bool,
    /// The first stream writing it (for the warning when another shares it).
    stream: String,
    open: Option<OpenTemp>,
    /// Committed at least once in this sync.
    committed: bool,
    /// Sequence number of the oldest record not yet committed.
    first_uncommitted: Option<u64>,
    records: u64,
}

struct StreamEntry {
    /// The stream's file (in `files`).
    file: usize,
    /// Records since the stream's last STATE.
    since_state: u64,
}

fn io(path: &Path, e: std::io::Error) -> ConnectorError {
    target::io(path, e).into()
}

/// Appends `text` to `buf` as one CSV field: quoted (quotes doubled) when it
/// is empty, holds the delimiter, a quote or a line break, starts with a
/// character up to `#` or ends with a space or control character — the
/// minimal quoting of Apache Commons CSV.
fn push_csv_field(buf: &mut Vec<u8>, text: &str, delimiter: u8) {
    let bytes = text.as_bytes();
    let quote = match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            first <= b'#'
                || last <= b' '
                || bytes
                    .iter()
                    .any(|&b| matches!(b, b'"' | b'\r' | b'\n') || b == delimiter)
        }
        _ => true,
    };
    if !quote {
        buf.extend_from_slice(bytes);
        return;
    }
    buf.push(b'"');
    for &b in bytes {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

/// The CSV header line.
fn csv_header(delimiter: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            h.push(delimiter);
        }
        h.extend_from_slice(c.as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// Appends one record's line (terminator included) to `buf`.
fn push_record(buf: &mut Vec<u8>, kind: RawKind, data: &str, emitted_at: i64) {
    let mut id = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id);
    let mut millis = itoa::Buffer::new();
    let millis = millis.format(emitted_at);
    match kind {
        RawKind::Jsonl => {
            buf.extend_from_slice(b"{\"_airbyte_ab_id\":\"");
            buf.extend_from_slice(id.as_bytes());
            buf.extend_from_slice(b"\",\"_airbyte_emitted_at\":");
            buf.extend_from_slice(millis.as_bytes());
            buf.extend_from_slice(b",\"_airbyte_data\":");
            buf.extend_from_slice(data.as_bytes());
            buf.extend_from_slice(b"}\n");
        }
        RawKind::Csv { delimiter } => {
            buf.extend_from_slice(id.as_bytes());
            buf.push(delimiter);
            buf.extend_from_slice(millis.as_bytes());
            buf.push(delimiter);
            push_csv_field(buf, data, delimiter);
            buf.extend_from_slice(b"\r\n");
        }
    }
}

/// What a new stream needs: whether its file is overwritten (from the
/// catalog or the settings) and the file itself, shared (with a WARN) when
/// another stream's file has the same name.
fn new_entry(
    files: &mut Vec<RawFile>,
    by_name: &mut HashMap<String, usize>,
    settings: &RawSettings,
    catalog: Option<&ConfiguredAirbyteCatalog>,
    desc: &StreamDescriptor,
    out: &mut Emitter,
) -> Result<StreamEntry, ConnectorError> {
    let overwrite = match catalog {
        Some(catalog) => {
            let configured = configured(catalog, desc)?;
            // One file per stream, without generations: a refresh that
            // keeps only this sync's generation replaces it; one that
            // keeps older generations too appends.
            let refresh = matches!(
                (configured.generation_id, configured.minimum_generation_id),
                (Some(g), Some(m)) if m > 0 && m >= g
            );
            settings.overwrite || refresh || configured.destination_sync_mode == DestinationSyncMode::Overwrite
        }
        None => settings.overwrite,
    };
    let name = file_name(&desc.name, settings.kind);
    let file = match by_name.get(&name) {
        Some(&i) => {
            out.warn(format!(
                "Streams '{}' and '{}' both write {name}: raw files are named after the stream name only (namespaces and characters unsafe in file names are not part of it), so their records share the file{}.",
                files[i].stream,
                desc.name,
                if files[i].overwrite == overwrite {
                    String::new()
                } else {
                    format!(
                        ", which is {}",
                        if files[i].overwrite { "overwritten" } else { "appended to" }
                    )
                }
            ))?;
            i
        }
        None => {
            let final_path = settings.dir.join(&name);
            files.push(RawFile {
                temp_path: temp_path(&final_path),
                final_path,
                overwrite,
                stream: desc.name.clone(),
                open: None,
                committed: false,
                first_uncommitted: None,
                records: 0,
            });
            by_name.insert(name, files.len() - 1);
            files.len() - 1
        }
    };
    Ok(StreamEntry { file, since_state: 0 })
}

struct RawWriter<'a> {
    settings: &'a RawSettings,
    catalog: Option<&'a ConfiguredAirbyteCatalog>,
    files: Vec<RawFile>,
    by_name: HashMap<String, usize>,
    streams: Streams<StreamEntry>,
    pending: PendingStates,
    seq: u64,
    buf: Vec<u8>,
    summary: RawSummary,
}

impl<'a> RawWriter<'a> {
    fn new(settings: &'a RawSettings, catalog: Option<&'a ConfiguredAirbyteCatalog>) -> Self {
        RawWriter {
            settings,
            catalog,
            files: Vec::new(),
            by_name: HashMap::new(),
            streams: Streams::default(),
            pending: PendingStates::default(),
            seq: 0,
            buf: Vec::with_capacity(4096),
            summary: RawSummary::default(),
        }
    }

    /// The stream's position in `streams`, set up (with its file) on the
    /// stream's first use.
    fn stream(&mut self, name: &str, namespace: Option<&str>, out: &mut Emitter) -> Result<usize, ConnectorError> {
        let (files, by_name, settings, catalog) = (&mut self.files, &mut self.by_name, self.settings, self.catalog);
        self.streams.get_or_try_insert(name, namespace, |desc| {
            new_entry(files, by_name, settings, catalog, desc, out)
        })
    }

    /// Opens the file's temporary file: empty for an overwrite not yet
    /// committed in this sync, else a copy of the file as committed.
    fn open(&mut self, i: usize) -> Result<(), ConnectorError> {
        let kind = self.settings.kind;
        let f = &mut self.files[i];
        if f.open.is_some() {
            return Ok(());
        }
        // A temporary file of this process can only be a leftover of ours.
        let _ = std::fs::remove_file(&f.temp_path);
        let mut temp = create_temp(&f.temp_path).map_err(|e| io(&f.temp_path, e))?;
        let mut base = 0;
        if !f.overwrite || f.committed {
            match File::open(&f.final_path) {
                Ok(mut old) => base = std::io::copy(&mut old, &mut temp).map_err(|e| io(&f.final_path, e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&f.final_path, e)),
            }
        }
        let mut head = Vec::new();
        if base > 0 {
            // Never glue a record onto a last line without its end.
            let mut last = [0u8; 1];
            temp.seek(SeekFrom::End(-1))
                .and_then(|_| temp.read_exact(&mut last))
                .and_then(|_| temp.seek(SeekFrom::End(0)))
                .map_err(|e| io(&f.temp_path, e))?;
            if last[0] != b'\n' {
                head.extend_from_slice(kind.line_end());
            }
        } else if let RawKind::Csv { delimiter } = kind {
            head = csv_header(delimiter);
        }
        let mut writer = BufWriter::with_capacity(FILE_BUFFER, temp);
        writer.write_all(&head).map_err(|e| io(&f.temp_path, e))?;
        let undo = remove_on_stop(f.temp_path.clone());
        f.open = Some(OpenTemp {
            writer,
            base,
            added: head.len() as u64,
            _undo: undo,
        });
        Ok(())
    }

    fn record(&mut self, i: usize, data: &str, emitted_at: i64) -> Result<(), ConnectorError> {
        self.open(i)?;
        self.seq += 1;
        self.buf.clear();
        push_record(&mut self.buf, self.settings.kind, data, emitted_at);
        let f = &mut self.files[i];
        let Some(open) = f.open.as_mut() else {
            return Err(ConnectorError::system("a raw file is not open after opening it"));
        };
        open.writer.write_all(&self.buf).map_err(|e| io(&f.temp_path, e))?;
        open.added += self.buf.len() as u64;
        f.first_uncommitted.get_or_insert(self.seq);
        f.records += 1;
        Ok(())
    }

    /// Makes the file's temporary file durable and renames it over the file.
    fn commit(&mut self, i: usize) -> Result<(), ConnectorError> {
        let f = &mut self.files[i];
        let Some(open) = f.open.take() else {
            return Ok(());
        };
        let file = open.writer.into_inner().map_err(|e| io(&f.temp_path, e.into_error()))?;
        file.sync_all().map_err(|e| io(&f.temp_path, e))?;
        drop(file);
        std::fs::rename(&f.temp_path, &f.final_path).map_err(|e| io(&f.final_path, e))?;
        target::sync_dir(&self.settings.dir)?;
        if !f.committed {
            self.summary.files.push(f.final_path.clone());
        }
        f.committed = true;
        f.first_uncommitted = None;
        Ok(())
    }

    /// Removes every temporary file not committed.
    fn abort(&mut self) {
        for f in &mut self.files {
            if f.open.take().is_some() {
                let _ = std::fs::remove_file(&f.temp_path);
            }
        }
    }

    /// Echoes, in order, the states whose records are all committed.
    fn release(&mut self, out: &mut Emitter) -> Result<(), ConnectorError> {
        let (files, streams) = (&self.files, &self.streams);
        let done = |i: usize, p: &Pending| files[i].first_uncommitted.is_none_or(|f| f > p.seq);
        let covered = |p: &Pending| match &p.scope {
            Scope::Stream(d) => streams.get(d).is_none_or(|e| done(e.file, p)),
            Scope::All => (0..files.len()).all(|i| done(i, p)),
        };
        for state in self.pending.release(covered) {
            out.emit(&AirbyteMessage::State { state })?;
            self.summary.states += 1;
        }
        Ok(())
    }

    fn line(&mut self, text: &str, n: u64, out: &mut Emitter) -> Result<(), ConnectorError> {
        // The record's data is copied as it is: the full parse checks it.
        let parsed = parse_line_full(text).map_err(|e| invalid_line(n, &e))?;
        match parsed.kind.as_ref() {
            "RECORD" => {
                let Some(r) = parsed.record else { return Ok(()) };
                let s = self.stream(&r.stream, r.namespace.as_deref(), out)?;
                let entry = self.streams.at_mut(s).1;
                entry.since_state += 1;
                let file = entry.file;
                self.record(file, r.data, r.emitted_at)
            }
            "STATE" => {
                let Some(raw) = parsed.state else { return Ok(()) };
                let streams = &mut self.streams;
                self.pending
                    .push(raw, self.seq, |scope| streams.take_count(scope, |e| &mut e.since_state))?;
                for i in 0..self.files.len() {
                    let f = &self.files[i];
                    let cheap = f.open.as_ref().is_some_and(|o| o.added >= o.base);
                    if !f.overwrite && f.first_uncommitted.is_some() && cheap {
                        self.commit(i)?;
                    }
                }
                self.release(out)
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, out: &mut Emitter) -> Result<(), ConnectorError> {
        // Every catalog stream has its file, as with Airbyte: an overwrite
        // empties it, an append creates it when missing.
        if let Some(catalog) = self.catalog {
            for configured in &catalog.streams {
                let desc = configured.stream.descriptor();
                self.stream(&desc.name, desc.namespace.as_deref(), out)?;
            }
        }
        for i in 0..self.files.len() {
            let f = &self.files[i];
            let create = f.open.is_none() && !f.committed && (f.overwrite || !f.final_path.exists());
            if create {
                self.open(i)?;
            }
            self.commit(i)?;
        }
        self.release(out)?;
        self.summary.records = self.files.iter().map(|f| f.records).sum();
        Ok(())
    }
}

/// Writes every message of `input` in Airbyte's raw layout (see the module
/// documentation). On error every temporary file is removed and the files
/// keep their last committed content.
pub fn write_raw(
    settings: &RawSettings,
    catalog: Option<&ConfiguredAirbyteCatalog>,
    input: &mut (dyn BufRead + Send),
    out: &mut Emitter,
) -> Result<RawSummary, ConnectorError> {
    std::fs::create_dir_all(&settings.dir).map_err(|e| io(&settings.dir, e))?;
    let mut writer = RawWriter::new(settings, catalog);
    let result = drive(&mut writer, input, out);
    if result.is_err() {
        writer.abort();
    }
    result?;
    Ok(writer.summary)
}

fn drive(
    writer: &mut RawWriter<'_>,
    input: &mut (dyn BufRead + Send),
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    for_each_line(input, |text, n| writer.line(text, n, out))?;
    writer.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_like_commons_csv() {
        let field = |s: &str| {
            let mut b = Vec::new();
            push_csv_field(&mut b, s, b',');
            String::from_utf8(b).unwrap()
        };
        assert_eq!(field("{}"), "{}");
        assert_eq!(field(r#"{"a":1}"#), r#""{""a"":1}""#);
        assert_eq!(field("{1,2}"), "\"{1,2}\"");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field("#x"), "\"#x\"");
        assert_eq!(field("x "), "\"x \"");
        let mut b = Vec::new();
        push_csv_field(&mut b, "a;b", b';');
        assert_eq!(b, b"\"a;b\"");
    }

    #[test]
    fn record_lines() {
        let mut b = Vec::new();
        push_record(&mut b, RawKind::Jsonl, r#"{"a":[1,"x"]}"#, 1_700_000_000_123);
        let text = String::from_utf8(b).unwrap();
        assert!(text.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["_airbyte_emitted_at"], 1_700_000_000_123i64);
        assert_eq!(v["_airbyte_data"], serde_json::json!({"a": [1, "x"]}));
        assert_eq!(v["_airbyte_ab_id"].as_str().unwrap().len(), 36);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);

        let mut b = Vec::new();
        push_record(&mut b, RawKind::Csv { delimiter: b',' }, r#"{"a":"x,y"}"#, 5);
        let text = String::from_utf8(b).unwrap();
        assert!(text.ends_with(",5,\"{\"\"a\"\":\"\"x,y\"\"}\"\r\n"), "{text}");
        assert_eq!(
            csv_header(b','),
            b"_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data\r\n"
        );
    }

    #[test]
    fn names_and_local_paths() {
        assert_eq!(file_name("users", RawKind::Jsonl), "_airbyte_raw_users.jsonl");
        assert_eq!(
            file_name("../../etc/passwd", RawKind::Csv { delimiter: b',' }),
            "_airbyte_raw__._.._etc_passwd.csv"
        );
        assert_eq!(resolve_local(Path::new("/data/out")), PathBuf::from("/data/out"));
        assert_eq!(resolve_local(Path::new("/localx/out")), PathBuf::from("/localx/out"));
    }
}
