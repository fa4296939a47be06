//! Temporary files that killed destination runs left behind.
//!
//! A destination writes each file under a hidden temporary name
//! ([`super::layout::temp_path`]) and renames it into place on commit; a
//! stopped run removes its temporaries, but a run killed with SIGKILL (or
//! whose machine went away) cannot. The next run removes them on start with
//! [`remove_stale_temps`].
//!
//! Only our own temporaries are touched: files named as `temp_path` names
//! them (`.<name>.<pid>.lakeport-tmp`) that no live run is writing. A run
//! holds an exclusive `flock` on each temporary it writes for as long as the
//! file is open ([`create_temp`]); the kernel drops it when the process dies,
//! however it dies. A temporary whose lock cannot be taken (held, or a file
//! system without locks) is left alone.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::layout::{is_temp_name, TEMP_SUFFIX};

/// Creates the temporary file `temp` (which must not exist), open for
/// reading and writing, and locks it for as long as the file stays open, so
/// that [`remove_stale_temps`] of another run leaves it alone.
pub fn create_temp(temp: &Path) -> io::Result<File> {
    loop {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(temp)?;
        // Waits while a cleaner holds the lock (it saw the file unlocked
        // between its creation and this line, and is removing it).
        if lock(&file, true).is_err() {
            // No locks on this file system: nobody can remove it either.
            return Ok(file);
        }
        if same_file(&file, temp) {
            return Ok(file);
        }
        // A cleaner removed the path before the lock was taken: create it again.
    }
}

/// Removes every stale temporary file under `root` (its whole tree, symbolic
/// links not followed): files named as our temporaries
/// (`.<name>.<pid>.lakeport-tmp`) whose lock no live run holds. Returns the paths removed; a file that cannot be checked or
/// removed is left as it is.
pub fn remove_stale_temps(root: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && is_ours(&entry.file_name().to_string_lossy()) && remove_if_stale(&path) {
                removed.push(path);
            }
        }
    }
    removed
}

/// True for the name of a temporary file of ours: `.<name>.<pid>.lakeport-tmp`.
fn is_ours(name: &str) -> bool {
    if !is_temp_name(name) {
        return false;
    }
    let inner = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .unwrap_or_default();
    match inner.rsplit_once('.') {
        Some((file, pid)) => !file.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Removes `path` when no run holds its lock.
fn remove_if_stale(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).open(path) else {
        return false;
    };
    // Holding the lock while removing: a writer that created the file just
    // now waits for it, then sees the path gone and creates it again.
    if !matches!(lock(&file, false), Ok(true)) || !same_file(&file, path) {
        return false;
    }
    std::fs::remove_file(path).is_ok()
}

/// True when `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Takes the exclusive lock of `file`: waiting for it when `wait`, else
/// `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn lock(file: &File, wait: bool) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: `flock` on a descriptor this `File` owns; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Without `flock` nothing can tell a live temporary from a stale one.
#[cfg(not(unix))]
fn lock(_file: &File, _wait: bool) -> io::Result<bool> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no file locks"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::layout::temp_path;

    #[test]
    fn only_unlocked_temporaries_of_ours_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("users").join("country=FR");
        std::fs::create_dir_all(&sub).unwrap();
        // A killed run's temporary: named as ours, nobody holds it.
        let stale = sub.join(".users_1.parquet.4242.lakeport-tmp");
        std::fs::write(&stale, b"half a file").unwrap();
        // A live run's temporary: held open by `create_temp`.
        let live = temp_path(&dir.path().join("users").join("users_2.parquet"));
        let held = create_temp(&live).unwrap();
        // A user's files, hidden or not, and a directory named like a temporary.
        let user_files = [
            dir.path().join(".users_1.parquet"),
            dir.path().join("users").join("notes.lakeport-tmp"),
            dir.path().join(".lakeport-tmp.keep"),
            dir.path().join(".lakeport-tmp"),
            dir.path().join(".notes.lakeport-tmp"),
            dir.path().join(".notes.v2.lakeport-tmp"),
            sub.join("users_1.parquet"),
        ];
        for f in &user_files {
            std::fs::write(f, b"user data").unwrap();
        }
        std::fs::create_dir(dir.path().join(".d.1.lakeport-tmp")).unwrap();

        let removed = remove_stale_temps(dir.path());
        assert_eq!(removed, vec![stale.clone()]);
        assert!(!stale.exists());
        assert!(live.exists(), "a live run's temporary was removed");
        for f in &user_files {
            assert!(f.exists(), "{} was removed", f.display());
        }
        assert!(dir.path().join(".d.1.lakeport-tmp").is_dir());

        // Once its writer is gone (closed, as a killed process's files are), it is stale.
        drop(held);
        assert_eq!(remove_stale_temps(dir.path()), vec![live.clone()]);
        assert!(remove_stale_temps(dir.path()).is_empty());
    }

    #[test]
    fn a_temporary_is_never_shared() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".f.1.lakeport-tmp");
        let file = create_temp(&temp).unwrap();
        assert!(same_file(&file, &temp));
        assert_eq!(create_temp(&temp).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_missing_root_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(remove_stale_temps(&dir.path().join("absent")).is_empty());
    }
}
