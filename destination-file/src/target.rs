//! Files on the local filesystem, written under a hidden temporary name in
//! the final directory, fsynced, and renamed into place on commit.
//!
//! A file of a refresh generation gets a hidden sidecar
//! `.<name>.generation.json` ([`sidecar_name`]), written and fsynced before
//! the file is renamed into place, so a committed file always has its
//! generation on record.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use lakeport_core::sink::generation::{sidecar_name, SidecarContent, Sweep};
use lakeport_core::sink::layout::{is_temp_name, temp_path, writer_in_name};
use lakeport_core::sink::stale::create_temp;
use lakeport_core::sink::target::Target;
use lakeport_core::{Error, Result};
use lakeport_protocol::stop::{remove_on_stop, StopGuard};

/// Output buffer per open file.
const FILE_BUFFER: usize = 1 << 20;

/// A directory tree receiving a destination's files.
pub struct LocalTarget {
    root: PathBuf,
    /// Files being written: their temporary path (removed if the process is
    /// stopped before they are committed) and refresh generation.
    open: HashMap<String, OpenFile>,
}

/// A file being written.
struct OpenFile {
    temp: PathBuf,
    generation: Option<i64>,
    _undo: StopGuard,
}

impl LocalTarget {
    /// A target rooted at `root` (created when missing).
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| {
            Error::Config(format!(
                "base_path '{}' cannot be the output directory ({e}). Set base_path to a directory this \
                 user can create and write; `check` tests it.",
                root.display()
            ))
        })?;
        Ok(LocalTarget {
            root: root.to_path_buf(),
            open: HashMap::new(),
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        rel.split('/').fold(self.root.clone(), |p, seg| p.join(seg))
    }
}

/// An I/O error on `path`, as the engine reports it.
pub(crate) fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path.display().to_string(), e)
}

/// Makes the directory's entries (a rename into it) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

impl Target for LocalTarget {
    type Sink = BufWriter<File>;

    fn exists(&mut self, rel_path: &str) -> Result<bool> {
        Ok(self.path(rel_path).exists())
    }

    fn create(&mut self, rel_path: &str, generation: Option<i64>) -> Result<Self::Sink> {
        let final_path = self.path(rel_path);
        if let Some(dir) = final_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let temp = temp_path(&final_path);
        let file = create_temp(&temp).map_err(|e| io(&temp, e))?;
        let undo = remove_on_stop(temp.clone());
        self.open.insert(
            rel_path.to_string(),
            OpenFile {
                temp,
                generation,
                _undo: undo,
            },
        );
        Ok(BufWriter::with_capacity(FILE_BUFFER, file))
    }

    fn commit(&mut self, rel_path: &str, sink: Self::Sink) -> Result<()> {
        let final_path = self.path(rel_path);
        let open = self
            .open
            .remove(rel_path)
            .ok_or_else(|| Error::Internal(format!("commit of a file never created: {rel_path}")))?;
        let temp = &open.temp;
        let file = sink.into_inner().map_err(|e| io(temp, e.into_error()))?;
        file.sync_all().map_err(|e| io(temp, e))?;
        drop(file);
        if let Some(generation_id) = open.generation {
            write_sidecar(&final_path, generation_id)?;
        }
        std::fs::rename(temp, &final_path).map_err(|e| io(&final_path, e))?;
        if let Some(dir) = final_path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    fn abort_all(&mut self) {
        for (_, open) in self.open.drain() {
            let _ = std::fs::remove_file(&open.temp);
        }
    }

    fn remove_older(&mut self, dir: &str, prefix: &str, keep: &[String], sweep: &Sweep) -> Result<usize> {
        let start = self.path(dir);
        let mut removed = 0;
        let mut stack = vec![start];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for entry in entries {
                let entry = entry.map_err(|e| io(&d, e))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !name.starts_with(prefix) || is_temp_name(&name) {
                    continue;
                }
                let rel = path
                    .strip_prefix(&self.root)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                if keep.contains(&rel) {
                    continue;
                }
                let sidecar = path.with_file_name(sidecar_name(&name));
                if !sweep.removes(writer_in_name(&name, prefix), read_generation(&sidecar)?) {
                    continue;
                }
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
                match std::fs::remove_file(&sidecar) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&sidecar, e)),
                }
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Writes the sidecar recording `final_path`'s generation, durably.
fn write_sidecar(final_path: &Path, generation_id: i64) -> Result<()> {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = final_path.with_file_name(sidecar_name(&name));
    let content = SidecarContent { generation_id };
    let text = serde_json::to_vec(&content).map_err(|e| Error::Internal(format!("generation sidecar: {e}")))?;
    let mut f = File::create(&path).map_err(|e| io(&path, e))?;
    f.write_all(&text).and_then(|()| f.sync_all()).map_err(|e| io(&path, e))
}

/// The generation a file's sidecar records (`None` without a sidecar: the
/// file was written without a generation, i.e. generation 0).
fn read_generation(sidecar: &Path) -> Result<Option<i64>> {
    match std::fs::read(sidecar) {
        Ok(bytes) => serde_json::from_slice::<SidecarContent>(&bytes)
            .map(|c| Some(c.generation_id))
            .map_err(|e| {
                Error::Config(format!(
                    "the generation file '{}' is not valid ({e}); remove it (its data file then counts as generation 0) or restore it.",
                    sidecar.display()
                ))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(sidecar, e)),
    }
}

/// Checks that `root` can hold files: creates it when missing, then writes,
/// reads back and removes a probe file.
pub fn probe(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
    let probe = root.join(format!(".lakeport-check-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&probe)?;
        f.write_all(b"lakeport")?;
        f.sync_all()?;
        std::fs::read(&probe)
    })();
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(bytes) if bytes == b"lakeport" => Ok(()),
        Ok(_) => Err(Error::Internal(format!(
            "a probe file in {} did not read back",
            root.display()
        ))),
        Err(e) => Err(io(root, e)),
    }
}

#[cfg(test)]
mod tests {
    use lakeport_core::sink::generation::Cleanup;

    use super::*;

    fn write(target: &mut LocalTarget, rel: &str, body: &str, generation: Option<i64>) {
        let mut sink = target.create(rel, generation).unwrap();
        sink.write_all(body.as_bytes()).unwrap();
        target.commit(rel, sink).unwrap();
    }

    #[test]
    fn files_are_committed_with_their_generation_and_older_ones_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = LocalTarget::new(dir.path()).unwrap();
        write(&mut target, "s/s_1.jsonl", "old\n", Some(1));
        write(&mut target, "s/s_2.jsonl", "new\n", Some(2));
        write(&mut target, "s/s_0.jsonl", "none\n", None);
        assert!(target.exists("s/s_2.jsonl").unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s/s_2.jsonl")).unwrap(),
            "new\n"
        );
        let sidecar = dir.path().join("s").join(sidecar_name("s_1.jsonl"));
        assert_eq!(read_generation(&sidecar).unwrap(), Some(1));
        assert_eq!(read_generation(&dir.path().join("s/.missing")).unwrap(), None);

        // Generations below 2 go (their sidecars with them); the kept file stays.
        let sweep = Sweep {
            cleanup: Cleanup::BelowGeneration(2),
            writer: None,
            generation: Some(2),
        };
        let removed = target
            .remove_older("s", "s_", &["s/s_2.jsonl".to_string()], &sweep)
            .unwrap();
        assert_eq!(removed, 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("s"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [sidecar_name("s_2.jsonl"), "s_2.jsonl".to_string()]);
        // A directory that does not exist sweeps nothing.
        assert_eq!(target.remove_older("none", "s_", &[], &sweep).unwrap(), 0);
    }

    #[test]
    fn a_bad_sidecar_stops_the_sweep_with_advice_and_aborts_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = LocalTarget::new(dir.path()).unwrap();
        write(&mut target, "s/s_1.jsonl", "old\n", Some(1));
        let sidecar = dir.path().join("s").join(sidecar_name("s_1.jsonl"));
        std::fs::write(&sidecar, "not json").unwrap();
        let sweep = Sweep {
            cleanup: Cleanup::AllOlder,
            writer: None,
            generation: None,
        };
        let e = target.remove_older("s", "s_", &[], &sweep).unwrap_err().to_string();
        assert!(e.contains("is not valid") && e.contains("remove it"), "{e}");
        assert!(
            dir.path().join("s/s_1.jsonl").exists(),
            "nothing removed on a bad sidecar"
        );

        // A commit of a file never created is an internal error, not a panic.
        let sink = BufWriter::new(File::create(dir.path().join("stray")).unwrap());
        let e = target.commit("s/never.jsonl", sink).unwrap_err().to_string();
        assert!(e.contains("commit of a file never created"), "{e}");

        // Aborted files leave no temporary behind and no final file.
        let mut open = target.create("s/s_3.jsonl", None).unwrap();
        open.write_all(b"partial").unwrap();
        open.flush().unwrap();
        target.abort_all();
        let names: Vec<String> = std::fs::read_dir(dir.path().join("s"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains("s_3")), "{names:?}");
    }

    #[test]
    fn a_root_that_cannot_be_a_directory_is_refused_by_new_and_probe() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let under = file.join("out");
        let e = LocalTarget::new(&under).err().unwrap().to_string();
        assert!(e.contains("cannot be the output directory"), "{e}");
        assert!(probe(&under).is_err());
        assert!(probe(&dir.path().join("new/dir")).is_ok());
        // The probe cleans up after itself.
        assert_eq!(std::fs::read_dir(dir.path().join("new/dir")).unwrap().count(), 0);
        // A file where the stream's folder should be: a clear I/O error on create.
        let mut target = LocalTarget::new(dir.path()).unwrap();
        assert!(target.create("a-file/s.jsonl", None).is_err());
    }
}
