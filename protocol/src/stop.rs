//! Undoing unfinished work when the process is told to stop.
//!
//! An orchestrator cancels a sync with SIGTERM (a shell user with Ctrl-C,
//! SIGINT). A destination then has files under temporary names and S3
//! multipart uploads in progress that nobody would ever finish: the files
//! stay behind, and S3 bills for the parts of an upload until it is aborted.
//! Whoever starts such work registers how to undo it with [`on_stop`] and
//! keeps the returned [`StopGuard`] until the work is committed or undone
//! another way; [`stop_on_signals`] runs what is still registered when a
//! signal comes, then ends the process *by that signal* (default action
//! restored, signal raised again), as an orchestrator expects: PyAirbyte
//! and the Airbyte platform accept exit code 0 or death by the SIGTERM they
//! sent, and a shell sees the usual 143 / 130.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Work that undoes something unfinished.
type Undo = Box<dyn FnOnce() + Send>;

static PENDING: Mutex<BTreeMap<u64, Undo>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(1);
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether the process is being stopped: work must not start anything new
/// to undo (an undo may already have run).
pub fn is_stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Undo work registered with [`on_stop`]; dropping it forgets the work (the
/// thing was committed, or undone another way).
#[must_use = "dropping it forgets the undo work at once"]
#[derive(Debug)]
pub struct StopGuard(u64);

impl Drop for StopGuard {
    fn drop(&mut self) {
        if let Ok(mut pending) = PENDING.lock() {
            pending.remove(&self.0);
        }
    }
}

/// Registers `undo` to run if the process is stopped before the returned
/// [`StopGuard`] is dropped. `undo` runs on a plain thread (it may block, e.g.
/// on a runtime handle).
pub fn on_stop(undo: impl FnOnce() + Send + 'static) -> StopGuard {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut pending) = PENDING.lock() {
        pending.insert(id, Box::new(undo));
    }
    StopGuard(id)
}

/// [`on_stop`] for a temporary file: removes `path` if the process is
/// stopped before it is committed (renamed into place) or removed.
pub fn remove_on_stop(path: std::path::PathBuf) -> StopGuard {
    on_stop(move || {
        let _ = std::fs::remove_file(path);
    })
}

/// Runs every registered undo once, in registration order, on this thread;
/// from then on [`is_stopping`] says so.
pub fn undo_all() {
    STOPPING.store(true, Ordering::SeqCst);
    let pending = match PENDING.lock() {
        Ok(mut p) => std::mem::take(&mut *p),
        Err(_) => return,
    };
    for (_, undo) in pending {
        undo();
    }
}

/// Whether undo work is registered (something is in flight).
pub fn in_flight() -> bool {
    PENDING.lock().map(|p| !p.is_empty()).unwrap_or(true)
}

/// On SIGTERM or SIGINT: when work is in flight, runs every registered undo
/// on a thread of its own (so it may block on `handle`'s runtime); then ends
/// the process by the same signal ([`die_by_signal`]). Call from within the
/// runtime that does the work.
pub fn stop_on_signals(handle: &tokio::runtime::Handle) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return;
    };
    handle.spawn(async move {
        let (signo, name) = tokio::select! {
            _ = term.recv() => (libc::SIGTERM, "SIGTERM"),
            _ = int.recv() => (libc::SIGINT, "SIGINT"),
        };
        if in_flight() {
            // A plain thread (undo work may block on this runtime), waited
            // for from the blocking pool: a worker stays free to drive the
            // requests.
            let _ = tokio::task::spawn_blocking(|| std::thread::spawn(undo_all).join()).await;
            eprintln!("stopped by {name}: unfinished files and uploads were discarded");
        } else {
            STOPPING.store(true, Ordering::SeqCst);
        }
        die_by_signal(signo);
    });
}

/// Ends the process by signal `signo`: its default action is restored (the
/// handler installed for it is dropped) and the signal sent to the process
/// again, so the parent sees death by that signal, not an exit code.
pub fn die_by_signal(signo: i32) -> ! {
    // SAFETY: `signal` with SIG_DFL and `kill` on our own pid are
    // async-signal-safe libc calls with no memory arguments; we run on an
    // ordinary thread, not in a signal handler.
    unsafe {
        libc::signal(signo, libc::SIG_DFL);
        libc::kill(libc::getpid(), signo);
    }
    // The default action of SIGTERM and SIGINT ends the process; should the
    // signal be blocked, end it with the shell's code for it.
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::process::exit(128 + signo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn registered_work_runs_once_unless_forgotten() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (Arc::clone(&ran), Arc::clone(&ran));
        let kept = on_stop(move || a.lock().unwrap().push("kept"));
        let forgotten = on_stop(move || b.lock().unwrap().push("forgotten"));
        drop(forgotten);
        undo_all();
        undo_all();
        assert_eq!(*ran.lock().unwrap(), ["kept"]);
        drop(kept);
    }
}
