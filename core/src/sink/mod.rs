//! The destination engine: the write loop of file-based destinations, shared
//! by destination-file and destination-s3 (each adds its config and its
//! [`Target`](target::Target); destination-file also Airbyte's raw-file layout). It may use
//! storage, formats, records and schema, never the file-source engine nor
//! `config`:
//!
//! stdin lines → per-stream buffered writer (one open file per partition) →
//! rollover at `file_size_mb` → commit (rename into place / complete the
//! upload) → only then echo the STATE messages that came before.
//!
//! A STATE is held until every record before it, in the streams it covers,
//! is in a committed file; a failure discards every uncommitted file and
//! echoes nothing more.
//!
//! Refreshes ([`generation`]): after the input ended cleanly and everything
//! is committed, each stream's older data is removed as its [`Cleanup`](generation::Cleanup)
//! says — unless the input said the stream did not complete (a TRACE
//! STREAM_STATUS `INCOMPLETE`, or `STARTED`/`RUNNING` never followed by
//! `COMPLETE`) or carried a TRACE ERROR: a failed sync removes nothing.
//!
//! | file | holds |
//! |------|-------|
//! | `engine.rs` | [`engine::run_sink`]: the loop above, STATE release, each stream's cleanup |
//! | `settings.rs` | [`settings::SinkConfig`] (how a destination writes) and the codecs per format |
//! | `input/` | the one parser of input lines: reading lines, the fast RECORD scan, serde as its fallback |
//! | `stream.rs` | one stream's writer: schema (given or inferred), one open file per partition, rollover |
//! | `streams.rs` | a write's streams by descriptor (the last one found without a lookup), counts per STATE scope |
//! | `rows.rs` | a file's records on their way to its writer thread: decoded as they are read (the flat fast path), or held as JSON text and decoded a batch at a time there |
//! | `states.rs` | STATE messages held until the records before them are committed |
//! | `target.rs` | the [`Target`](target::Target) trait: where files go (local directory, object store) |
//! | `layout.rs` | relative paths: safe stream and partition folders, file names (with the writer id of one of several writers), temporary names |
//! | `key_layout.rs` | object keys from relative paths: native, or Airbyte's `s3_path_format` |
//! | `envelope.rs` | Airbyte's record envelope (`_airbyte_raw_id`, `_airbyte_meta`, …) as an input rewrite |
//! | `generation.rs` | refresh generations and what a stream's cleanup removes (per writer: [`Sweep`](generation::Sweep)) |
//! | `source_status.rs` | what the input said of the source's read (STREAM_STATUS, ERROR) |
//! | `replayed.rs` | the extraction time of records replayed from an Airbyte cache |
//! | `stale.rs` | temporary files that killed runs left behind |

pub mod engine;
pub mod envelope;
pub mod generation;
pub mod input;
pub mod key_layout;
pub mod layout;
pub mod replayed;
pub mod rows;
pub mod settings;
pub mod source_status;
pub mod stale;
pub mod states;
pub mod stream;
pub mod streams;
pub mod target;
