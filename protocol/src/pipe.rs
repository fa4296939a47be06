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
//!
//! Also here: the pipes of `source read | destination write` are widened
//! ([`widen_pipes`]), so the two processes hand over a megabyte at a time
//! instead of Linux's default 64 KiB.

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

/// What a pipe between two connectors holds once widened (Linux's default
/// is 64 KiB; an unprivileged process may go up to `/proc/sys/fs/pipe-max-size`,
/// 1 MiB unless changed).
pub const PIPE_BYTES: usize = 1 << 20;

/// Widens stdin and stdout to [`PIPE_BYTES`] where they are pipes: a source
/// writes its output in chunks of about a megabyte, and through a 64 KiB
/// pipe each chunk costs the two processes a dozen wake-ups (`source-sqlite
/// read | destination-file write`, 1M records: 1.7–1.8 s → 1.35–1.5 s).
/// Anything else (a file, a terminal), or a system that refuses, is left as
/// it is.
pub fn widen_pipes() {
    for fd in [0, 1] {
        widen(fd);
    }
}

/// Widens the pipe `fd` to [`PIPE_BYTES`]; true when it is a pipe that now
/// holds at least that much.
#[cfg(target_os = "linux")]
pub fn widen(fd: i32) -> bool {
    // SAFETY: `fstat` writes only into the struct given; `fcntl` with
    // F_SETPIPE_SZ / F_GETPIPE_SZ takes and returns integers. A closed or
    // foreign descriptor makes them fail, which is handled.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
            return false;
        }
        let size = PIPE_BYTES as libc::c_int;
        if libc::fcntl(fd, libc::F_GETPIPE_SZ) >= size {
            return true;
        }
        libc::fcntl(fd, libc::F_SETPIPE_SZ, size) >= size
    }
}

/// Pipes keep their size where it cannot be set.
#[cfg(not(target_os = "linux"))]
pub fn widen(_fd: i32) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn a_pipe_is_widened_and_a_file_left_alone() {
        let mut fds = [0; 2];
        // SAFETY: `pipe` writes two descriptors into the array given.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let allowed: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let widened = widen(fds[1]);
        // SAFETY: an integer query of a descriptor this test owns.
        let size = unsafe { libc::fcntl(fds[0], libc::F_GETPIPE_SZ) } as usize;
        if allowed >= PIPE_BYTES {
            assert!(widened, "the pipe was not widened");
            assert!(size >= PIPE_BYTES, "the pipe holds {size} bytes");
        } else {
            assert!(!widened && size < PIPE_BYTES);
        }
        // SAFETY: closing the two descriptors `pipe` gave.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        let file = tempfile::tempfile().unwrap();
        assert!(!widen(file.as_raw_fd()));
    }
}
