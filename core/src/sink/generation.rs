//! Refresh generations (Airbyte protocol "refreshes", v0.5+).
//!
//! Each configured stream may carry `generation_id`, `minimum_generation_id`
//! and `sync_id` (the last names the sync in destination-s3's Airbyte
//! layout and `_airbyte_meta`). Every row written gets `_airbyte_generation_id`, every
//! file or object records its generation (S3 user metadata
//! [`METADATA_KEY`]; a hidden sidecar file beside a local file, see
//! [`sidecar_name`]), and after a *successful* sync the stream's data of
//! generations below `minimum_generation_id` is removed ([`Cleanup`]); when
//! the minimum is the sync's own generation (a truncate), everything older
//! than this sync goes, even of the same generation, since clients such as
//! PyAirbyte send generation 1, minimum 1 on every write. Data written
//! without a generation counts as generation 0, as in Airbyte.
//!
//! A catalog without these fields behaves as before: append, or replace the
//! stream's older files for `destination_sync_mode: overwrite` (and the
//! destinations' own `overwrite: true`).
//!
//! Several writers of one stream (N shards, each with its `writer_id`)
//! each remove only what [`Sweep`] allows: never another writer's files of
//! the current generation.

use lakeport_protocol::{ConfiguredAirbyteStream, DestinationSyncMode};
use serde::{Deserialize, Serialize};

/// The generation column written beside `_airbyte_raw_id` and
/// `_airbyte_extracted_at`.
pub const GENERATION_ID: &str = "_airbyte_generation_id";

/// The S3 user metadata key holding an object's generation (the one
/// Airbyte's destination-s3 uses).
pub const METADATA_KEY: &str = "ab-generation-id";

/// The S3 user metadata key holding the id of the writer that wrote an
/// object, when several write one stream (`writer_id`).
pub const WRITER_METADATA_KEY: &str = "lakeport-writer";

/// What happens to a stream's older data once the sync has succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Nothing is removed (append).
    Keep,
    /// Files of generations below this one are removed (a refresh whose
    /// `minimum_generation_id` is below its `generation_id`: the
    /// generations from the minimum on are kept).
    BelowGeneration(i64),
    /// Every file not written by this sync is removed: a truncate refresh
    /// (`minimum_generation_id` = `generation_id`), an overwrite of a
    /// catalog without generations, or the config's `overwrite: true`.
    AllOlder,
}

impl Cleanup {
    /// The cleanup a stream asks for: `overwrite` is the destination's own
    /// config option; `configured` is the catalog's stream (`None` without
    /// a catalog).
    pub fn of(configured: Option<&ConfiguredAirbyteStream>, overwrite: bool) -> Self {
        if overwrite {
            return Cleanup::AllOlder;
        }
        let Some(c) = configured else {
            return Cleanup::Keep;
        };
        match (c.minimum_generation_id, c.generation_id) {
            // A truncate refresh: this sync's data replaces the stream's
            // (PyAirbyte sends generation 1, minimum 1 on every write).
            (Some(min), Some(generation)) if min > 0 && min >= generation => Cleanup::AllOlder,
            (Some(min), _) if min > 0 => Cleanup::BelowGeneration(min),
            _ if c.destination_sync_mode == DestinationSyncMode::Overwrite => Cleanup::AllOlder,
            _ => Cleanup::Keep,
        }
    }

    /// Whether anything may be removed.
    pub fn removes(self) -> bool {
        self != Cleanup::Keep
    }

    /// Whether a file of generation `generation` (`None`: written without
    /// one, i.e. generation 0) not written by this sync is removed.
    pub fn removes_generation(self, generation: Option<i64>) -> bool {
        match self {
            Cleanup::Keep => false,
            Cleanup::AllOlder => true,
            Cleanup::BelowGeneration(min) => generation.unwrap_or(0) < min,
        }
    }
}

/// What one writer of a stream removes of the stream's older files after
/// its successful sync: its [`Cleanup`], applied to every file when it is
/// the stream's only writer. When several write the stream (each with its
/// own `writer`), another writer's file is removed only when its
/// generation is below this sync's `generation` — never another writer's
/// file of the current generation, whichever writer finishes first; without
/// a generation (a plain overwrite), each writer replaces only its own files
/// and those written without a writer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// What the stream's catalog and config ask.
    pub cleanup: Cleanup,
    /// This writer's id (`None`: the stream's only writer).
    pub writer: Option<String>,
    /// The generation this sync writes (the catalog's `generation_id`).
    pub generation: Option<i64>,
}

impl Sweep {
    /// Whether a file not written by this sync, written by `file_writer`
    /// (`None`: without a writer id) with generation `file_generation`
    /// (`None`: without one, i.e. 0), is removed.
    pub fn removes(&self, file_writer: Option<&str>, file_generation: Option<i64>) -> bool {
        if !self.cleanup.removes_generation(file_generation) {
            return false;
        }
        match (self.writer.as_deref(), file_writer) {
            (Some(me), Some(them)) if me != them => self.generation.is_some_and(|g| file_generation.unwrap_or(0) < g),
            _ => true,
        }
    }
}

/// What the sidecar of a local file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarContent {
    /// The file's generation.
    pub generation_id: i64,
}

/// The hidden sidecar beside local file `name` that records its generation:
/// `.<name>.generation.json` (hidden, so readers of the directory — Spark,
/// pyarrow datasets, source-file — skip it; the data file keeps the
/// contract's name).
pub fn sidecar_name(name: &str) -> String {
    format!(".{name}.generation.json")
}

/// The data file a sidecar name belongs to (`None` for other names).
pub fn sidecar_data_name(sidecar: &str) -> Option<&str> {
    sidecar.strip_prefix('.')?.strip_suffix(".generation.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(mode: DestinationSyncMode, gen: Option<i64>, min: Option<i64>) -> ConfiguredAirbyteStream {
        let mut c: ConfiguredAirbyteStream = serde_json::from_value(serde_json::json!({
            "stream": {"name": "s", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh"
        }))
        .unwrap();
        c.destination_sync_mode = mode;
        c.generation_id = gen;
        c.minimum_generation_id = min;
        c
    }

    #[test]
    fn the_catalog_decides_unless_the_config_overwrites() {
        use DestinationSyncMode::{Append, Overwrite};
        assert_eq!(Cleanup::of(None, false), Cleanup::Keep);
        assert_eq!(Cleanup::of(None, true), Cleanup::AllOlder);
        assert_eq!(Cleanup::of(Some(&configured(Append, None, None)), false), Cleanup::Keep);
        assert_eq!(
            Cleanup::of(Some(&configured(Overwrite, None, None)), false),
            Cleanup::AllOlder
        );
        assert_eq!(
            Cleanup::of(Some(&configured(Append, Some(3), Some(0))), false),
            Cleanup::Keep
        );
        assert_eq!(
            Cleanup::of(Some(&configured(Append, Some(3), Some(3))), false),
            Cleanup::AllOlder
        );
        assert_eq!(
            Cleanup::of(Some(&configured(Overwrite, Some(3), Some(3))), false),
            Cleanup::AllOlder
        );
        assert_eq!(
            Cleanup::of(Some(&configured(Append, Some(3), Some(2))), false),
            Cleanup::BelowGeneration(2)
        );
        let c = Cleanup::BelowGeneration(3);
        assert!(c.removes_generation(None) && c.removes_generation(Some(2)));
        assert!(!c.removes_generation(Some(3)) && !c.removes_generation(Some(4)));
    }

    #[test]
    fn a_writer_of_several_removes_only_older_generations_of_the_others() {
        let truncate = |writer: Option<&str>, generation| Sweep {
            cleanup: Cleanup::AllOlder,
            writer: writer.map(str::to_string),
            generation,
        };
        // The only writer: everything older goes, as before.
        let only = truncate(None, Some(2));
        assert!(only.removes(Some("1"), Some(2)) && only.removes(None, Some(1)));
        // One of several, generation 2: another writer's generation-2 file stays.
        let w0 = truncate(Some("0"), Some(2));
        assert!(!w0.removes(Some("1"), Some(2)));
        assert!(w0.removes(Some("1"), Some(1)) && w0.removes(Some("1"), None));
        assert!(w0.removes(Some("0"), Some(2)) && w0.removes(None, Some(2)));
        // Without a generation: only its own files and those without a writer.
        let plain = truncate(Some("0"), None);
        assert!(!plain.removes(Some("1"), None));
        assert!(plain.removes(Some("0"), None) && plain.removes(None, None));
        // Keep keeps, whoever wrote the file.
        let keep = Sweep {
            cleanup: Cleanup::Keep,
            ..w0.clone()
        };
        assert!(!keep.removes(Some("0"), Some(1)));
        let below = Sweep {
            cleanup: Cleanup::BelowGeneration(2),
            ..w0
        };
        assert!(below.removes(Some("1"), Some(1)) && !below.removes(Some("1"), Some(2)));
    }

    #[test]
    fn sidecars_are_hidden_and_name_their_file() {
        let s = sidecar_name("users_20240101_000000.parquet");
        assert_eq!(s, ".users_20240101_000000.parquet.generation.json");
        assert_eq!(sidecar_data_name(&s), Some("users_20240101_000000.parquet"));
        assert_eq!(sidecar_data_name("users_1.parquet"), None);
    }
}
