//! Where a destination's files go: the local filesystem or an object store.

use std::io::Write;

use super::generation::Sweep;
use crate::error::Result;

/// A place files are written to, invisible until committed.
///
/// The engine creates a file, writes it through the returned sink, and either
/// commits it (it appears under its final name, complete) or leaves it to
/// [`Target::abort_all`], which discards every file not committed.
pub trait Target {
    /// What a file is written through.
    type Sink: Write + Send + 'static;

    /// Whether a committed file exists at `rel_path` (to avoid name clashes).
    fn exists(&mut self, rel_path: &str) -> Result<bool>;

    /// Starts a new file to be committed at `rel_path` (`/`-separated,
    /// relative to the destination's root); `generation` is the refresh
    /// generation it holds, recorded with it when set (S3 user metadata, a
    /// sidecar file) so a later sync can tell it apart.
    fn create(&mut self, rel_path: &str, generation: Option<i64>) -> Result<Self::Sink>;

    /// Makes a finished file durable and visible under its final name.
    fn commit(&mut self, rel_path: &str, sink: Self::Sink) -> Result<()>;

    /// Discards every file created and not committed.
    fn abort_all(&mut self);

    /// Removes the files under `dir` (recursively) whose names start with
    /// `prefix`, except those in `keep` (this sync's), that `sweep` says go
    /// given their recorded generation and writer ([`Sweep::removes`]):
    /// a stream's older data after a successful refresh or overwrite.
    /// Returns how many were removed.
    fn remove_older(&mut self, dir: &str, prefix: &str, keep: &[String], sweep: &Sweep) -> Result<usize>;
}
