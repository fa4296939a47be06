//! What a connector does when the reader of its stdout goes away (a broken
//! pipe: the destination of `source read | destination write` died, or
//! `| head` had enough).
//!
//! Its output can no longer reach anyone, so it stops at once: no write is
//! retried, nothing more is read. It does not exit 0 — that would tell a
//! shell or an orchestrator that every message was delivered — but, like the
//! Unix tools, it dies of `SIGPIPE`: a shell reports status 141, and a
//! pipeline under `set -o pipefail` fails; a parent process sees the signal.
//! One line on stderr says why.

use std::io::Write;
use std::process::ExitCode;

/// The exit status a shell reports for a process killed by `SIGPIPE` (128 + 13).
pub const SIGPIPE_STATUS: u8 = 141;

/// Ends the process for a closed stdout: one line on stderr, then death by
/// `SIGPIPE` (status 141 where signals are not available).
pub fn exit_on_broken_pipe(name: &str) -> ExitCode {
    // Not `eprintln!`: it panics when stderr is a closed pipe too.
    let _ = writeln!(
        std::io::stderr(),
        "{name}: stopped: the process reading its output closed it (broken pipe); nothing more is sent."
    );
    raise_sigpipe();
    ExitCode::from(SIGPIPE_STATUS)
}

#[cfg(unix)]
fn raise_sigpipe() {
    // SAFETY: `signal` restores the default action of SIGPIPE (Rust ignores it
    // at start-up) and `raise` delivers it to this thread; the default action
    // ends the whole process, which is the intent. Neither touches memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
}

#[cfg(not(unix))]
fn raise_sigpipe() {}
