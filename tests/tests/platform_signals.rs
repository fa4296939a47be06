//! Signals as orchestrators send them: SIGTERM (the Airbyte platform,
//! PyAirbyte after it has read what it wanted) and SIGINT (Ctrl-C). With
//! nothing in flight a connector dies by that signal; with files or
//! uploads in flight it first cleans up (temporary files removed, multipart
//! uploads aborted), then dies by the signal too — exit status "killed by
//! SIGTERM" (-15 to Python's subprocess), which PyAirbyte and the platform
//! accept, not an exit code.

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lakeport_tests::{bin, write_json, S3Server};
use serde_json::json;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Sends `signal` with the shell's own `kill` (no procps needed).
fn send(child: &Child, signal: i32) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -{signal} {}", child.id())])
        .status()
        .expect("kill");
    assert!(ok.success());
}

fn wait_for(secs: u64, mut ready: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn spawn(connector: &str, args: &[&str], stdin: bool) -> Child {
    Command::new(bin(connector))
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {connector}: {e}"))
}

/// Waits for the child, at most 30 s, and returns the signal that ended it.
fn ended_by(mut child: Child) -> Option<i32> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(
                status.code(),
                None,
                "exited with a code instead of dying by the signal: {status:?}"
            );
            return status.signal();
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("the connector did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP endpoint that accepts connections and never answers: an S3
/// request to it hangs until the connector is stopped.
fn silent_endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().contains("lakeport-tmp") {
                found.push(e.path());
            }
        }
    }
    found
}

#[test]
fn an_idle_destination_dies_by_sigterm_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(
        dir.path(),
        "dst.json",
        &json!({"base_path": dir.path().join("out"), "format": "jsonl"}),
    );
    for signal in [SIGTERM, SIGINT] {
        // Waiting for input, nothing written yet.
        let child = spawn("destination-file", &["write", "--config", cfg.to_str().unwrap()], true);
        std::thread::sleep(Duration::from_millis(500));
        send(&child, signal);
        assert_eq!(ended_by(child), Some(signal));
    }
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn sources_and_checks_waiting_on_the_network_die_by_the_signal() {
    let (listener, endpoint) = silent_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let conn = json!({"bucket": "b", "endpoint_url": endpoint, "access_key_id": "k",
                      "secret_access_key": "s", "region": "us-east-1", "use_ssl": false});
    let source = write_json(dir.path(), "s3.json", &conn);
    let mut dest = conn.clone();
    dest["file_format"] = json!("jsonl");
    let dest = write_json(dir.path(), "dest.json", &dest);
    for (connector, verb, signal) in [
        ("source-s3", "check", SIGTERM),
        ("source-s3", "read", SIGINT),
        ("destination-s3", "check", SIGTERM),
        ("destination-s3", "check", SIGINT),
    ] {
        let cfg = if connector.starts_with("source") {
            &source
        } else {
            &dest
        };
        let child = spawn(connector, &[verb, "--config", cfg.to_str().unwrap()], false);
        // The request reached the endpoint: the connector is waiting on it.
        listener.set_nonblocking(true).unwrap();
        let mut held = vec![];
        assert!(
            wait_for(20, || match listener.accept() {
                Ok((s, _)) => {
                    held.push(s);
                    true
                }
                Err(_) => false,
            }),
            "{connector} {verb} never connected"
        );
        send(&child, signal);
        assert_eq!(ended_by(child), Some(signal), "{connector} {verb}");
    }
}

#[test]
fn a_destination_with_a_file_in_flight_cleans_up_then_dies_by_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = write_json(dir.path(), "dst.json", &json!({"base_path": out, "format": "csv"}));
    let mut child = spawn("destination-file", &["write", "--config", cfg.to_str().unwrap()], true);
    let mut stdin = child.stdin.take().unwrap();
    let line = |i: u32| {
        format!("{{\"type\":\"RECORD\",\"record\":{{\"stream\":\"s\",\"data\":{{\"id\":{i}}},\"emitted_at\":1}}}}\n")
    };
    let until = Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    while temp_files(&out).is_empty() {
        assert!(Instant::now() < until, "the file never opened");
        for _ in 0..1000 {
            stdin.write_all(line(i).as_bytes()).unwrap();
            i += 1;
        }
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    send(&child, SIGTERM);
    assert_eq!(ended_by(child), Some(SIGTERM));
    drop(stdin);
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
}

#[test]
fn a_destination_with_an_upload_in_flight_aborts_it_then_dies_by_sigint() {
    let server = S3Server::start();
    server.create_bucket("lake");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = server.connection("lake");
    cfg["path_prefix"] = json!("cancel");
    cfg["file_format"] = json!("jsonl");
    cfg["part_size_mb"] = json!(5);
    let cfg = write_json(dir.path(), "dst.json", &cfg);
    let mut child = spawn("destination-s3", &["write", "--config", cfg.to_str().unwrap()], true);
    let mut stdin = child.stdin.take().unwrap();
    let pad = "x".repeat(1024);
    let mut input = String::new();
    for i in 0..11_000 {
        input.push_str(
            &json!({"type": "RECORD", "record": {"stream": "users", "data": {"id": i, "pad": pad}, "emitted_at": 1}})
                .to_string(),
        );
        input.push('\n');
    }
    stdin.write_all(input.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let uploads = || -> Vec<PathBuf> {
        let mut out = vec![];
        let mut stack = vec![server.dir().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir() {
                    stack.push(e.path());
                } else if name.starts_with(".upload") || name.contains(".upload-") {
                    out.push(e.path());
                }
            }
        }
        out
    };
    assert!(wait_for(60, || !uploads().is_empty()), "no part was uploaded");
    send(&child, SIGINT);
    assert_eq!(ended_by(child), Some(SIGINT));
    drop(stdin);
    assert!(uploads().is_empty(), "{:?}", uploads());
    assert!(
        server.keys("lake").iter().all(|k| !k.starts_with("cancel/")),
        "{:?}",
        server.keys("lake")
    );
}
