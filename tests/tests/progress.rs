//! What a person at a shell sees: the real binaries run with stderr on a
//! pseudo-terminal (Python's `pty` module, tests/python/pty_run.py) show a
//! live progress line and the COST report as a table there, while stdout —
//! validated against the official Airbyte models — stays exactly what a run
//! without a terminal prints. Without a terminal, or with
//! `LAKEPORT_PROGRESS=0`, nothing of it appears.

use std::path::{Path, PathBuf};
use std::process::Command;

use lakeport_tests::{python, run, run_with, validate_messages, workspace_root, write_json, RunOpts, S3Env};
use serde_json::json;

/// Erases a terminal line (what the progress line is drawn after).
const CLEAR_LINE: &str = "\r\x1b[2K";

/// A run whose stderr was a terminal.
struct TtyRun {
    status: i32,
    stdout: String,
    /// What the terminal received (CR LF line ends).
    terminal: String,
}

/// Runs `target/debug/<name> args…` with stderr on a pseudo-terminal, stdin
/// from `stdin` (or /dev/null) and the extra environment `env`.
fn run_on_terminal(name: &str, args: &[&str], stdin: Option<&Path>, env: &[(&str, &str)]) -> TtyRun {
    run_pty(name, args, stdin, env, false)
}

/// [`run_on_terminal`], with stdout on the terminal too when `stdout_on_screen`
/// (then [`TtyRun::stdout`] is empty: the messages are in the terminal's text).
fn run_pty(name: &str, args: &[&str], stdin: Option<&Path>, env: &[(&str, &str)], stdout_on_screen: bool) -> TtyRun {
    let dir = tempfile::tempdir().unwrap();
    let term = dir.path().join("terminal");
    let out = if stdout_on_screen {
        PathBuf::from("-")
    } else {
        dir.path().join("stdout")
    };
    let stdin = stdin
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/dev/null"));
    let mut cmd = Command::new(python());
    cmd.arg(workspace_root().join("tests/python/pty_run.py"))
        .arg(&stdin)
        .arg(&out)
        .arg(&term)
        .arg(lakeport_tests::bin(name))
        .args(args)
        .env_remove("LAKEPORT_PROGRESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let result = cmd.output().expect("run pty_run.py");
    assert!(
        result.status.success(),
        "pty_run.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let status = String::from_utf8_lossy(&result.stdout)
        .trim()
        .parse()
        .expect("exit status");
    TtyRun {
        status,
        stdout: if stdout_on_screen {
            String::new()
        } else {
            std::fs::read_to_string(&out).unwrap()
        },
        terminal: String::from_utf8_lossy(&std::fs::read(&term).unwrap()).into_owned(),
    }
}

/// stdout with every `emitted_at` time set to 0 (the only bytes two runs of
/// the same read may differ in).
fn without_times(stdout: &str) -> String {
    let key = "\"emitted_at\":";
    let mut out = String::with_capacity(stdout.len());
    let mut rest = stdout;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        out.push('0');
        rest = rest[i + key.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The last progress line drawn on the terminal (after the last line clear).
fn last_line(terminal: &str) -> &str {
    let drawn = terminal.rsplit(CLEAR_LINE).next().unwrap_or("");
    drawn.split(['\r', '\n']).next().unwrap_or("")
}

/// The cells of the table row starting with `label`.
fn row<'a>(terminal: &'a str, label: &str) -> Vec<&'a str> {
    terminal
        .split(['\r', '\n'])
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no row '{label}' on the terminal:\n{terminal}"))
        .split_whitespace()
        .collect()
}

/// A bucket with three CSV objects of 100 rows each under `orders/`.
fn orders() -> (S3Env, String, String) {
    let env = S3Env::new("tty");
    for part in 0..3 {
        let mut body = String::from("id,name\n");
        for i in 0..100 {
            body.push_str(&format!("{},name {i}\n", part * 100 + i));
        }
        env.server
            .put_object("tty", &format!("orders/part-{part}.csv"), body.as_bytes());
    }
    let config = env.config("config.json", json!({"path_prefix": "orders/", "file_format": "csv"}));
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    (env, config, catalog)
}

#[test]
fn a_read_on_a_terminal_shows_its_progress_and_cost_table_and_prints_the_same_stdout() {
    let (_env, config, catalog) = orders();
    let args = ["read", "--config", config.as_str(), "--catalog", catalog.as_str()];
    let tty = run_on_terminal("source-s3", &args, None, &[]);
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    validate_messages(&tty.stdout);
    let plain = run("source-s3", &args, None);
    plain.assert_success();
    assert_eq!(plain.records().len(), 300);
    // stdout is the protocol only, byte for byte what a run without a terminal prints.
    assert_eq!(without_times(&tty.stdout), without_times(&plain.stdout));

    // The progress line, drawn last when the stream was read.
    let line = last_line(&tty.terminal);
    assert!(
        line.starts_with("orders: 3/3 files, 300 records, ")
            && line.contains(" MB/s, ")
            && line.ends_with(" elapsed, done"),
        "{line:?} in {:?}",
        tty.terminal
    );
    assert!(tty
        .terminal
        .contains(&format!("{CLEAR_LINE}orders: 0/3 files, 0 records")));
    // The COST report as a table: one GET per small object, estimated and metered.
    assert_eq!(row(&tty.terminal, "COST"), ["estimate", "actual"]);
    assert_eq!(row(&tty.terminal, "GET requests"), ["3", "3"]);
    assert_eq!(row(&tty.terminal, "LIST requests"), ["-", "1"]);
    assert!(
        tty.terminal.contains("files: 3 listed, 3 selected, 3 read, 0 deferred"),
        "{}",
        tty.terminal
    );
    // The LOG echo a shell always saw is still there.
    assert!(tty.terminal.contains("INFO: COST {"), "{}", tty.terminal);

    // Without a terminal: no progress line, no table, no escape sequence.
    assert!(plain.stderr.contains("INFO: COST {"), "{}", plain.stderr);
    for absent in ["\x1b", "\r", "3/3 files", "GET requests", "elapsed"] {
        assert!(!plain.stderr.contains(absent), "{absent:?} in {:?}", plain.stderr);
    }
}

#[test]
fn an_estimate_on_a_terminal_shows_its_cost_table() {
    let (_env, config, catalog) = orders();
    let args = ["estimate", "--config", config.as_str(), "--catalog", catalog.as_str()];
    let tty = run_on_terminal("source-s3", &args, None, &[]);
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    validate_messages(&tty.stdout);
    let plain = run("source-s3", &args, None);
    plain.assert_success();
    assert_eq!(without_times(&tty.stdout), without_times(&plain.stdout));
    // Nothing fetched: the metered column is the listing.
    assert_eq!(row(&tty.terminal, "COST"), ["estimate", "listing"]);
    assert_eq!(row(&tty.terminal, "GET requests"), ["3", "0"]);
    assert_eq!(row(&tty.terminal, "LIST requests"), ["-", "1"]);
    assert!(
        tty.terminal.contains("files: 3 listed, 3 selected, 0 read"),
        "{}",
        tty.terminal
    );
    assert!(!plain.stderr.contains("GET requests") && !plain.stderr.contains('\x1b'));
}

#[test]
fn lakeport_progress_0_turns_the_terminal_display_off() {
    let (_env, config, catalog) = orders();
    let args = ["read", "--config", config.as_str(), "--catalog", catalog.as_str()];
    let tty = run_on_terminal("source-s3", &args, None, &[("LAKEPORT_PROGRESS", "0")]);
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    validate_messages(&tty.stdout);
    assert!(tty.terminal.contains("INFO: COST {"), "{}", tty.terminal);
    for absent in ["\x1b", "3/3 files", "GET requests", "elapsed"] {
        assert!(!tty.terminal.contains(absent), "{absent:?} in {:?}", tty.terminal);
    }
}

#[test]
fn a_write_on_a_terminal_counts_messages_and_committed_files_and_prints_the_same_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..2000 {
        input.push_str(
            &json!({"type": "RECORD", "record": {"stream": "events", "data": {"id": i, "name": format!("e{i}")}, "emitted_at": 1_700_000_000_000u64}})
                .to_string(),
        );
        input.push('\n');
        if i % 500 == 499 {
            let state = json!({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"}, "stream_state": {"id": i}}}});
            input.push_str(&state.to_string());
            input.push('\n');
        }
    }
    let input_path = dir.path().join("input.jsonl");
    std::fs::write(&input_path, &input).unwrap();
    let write = |name: &str| {
        let out = dir.path().join(name);
        let config = write_json(
            dir.path(),
            &format!("{name}.json"),
            &json!({"base_path": out, "format": "jsonl"}),
        );
        (out, config)
    };
    let (tty_out, tty_config) = write("tty");
    let (plain_out, plain_config) = write("plain");

    let tty = run_on_terminal(
        "destination-file",
        &["write", "--config", tty_config.to_str().unwrap()],
        Some(&input_path),
        &[],
    );
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    validate_messages(&tty.stdout);
    let plain = run_with(
        "destination-file",
        &["write", "--config", plain_config.to_str().unwrap()],
        RunOpts {
            stdin: Some(input.clone().into_bytes()),
            ..Default::default()
        },
    );
    plain.assert_success();
    assert_eq!(plain.states().len(), 4);
    let same = |stdout: &str, out: &Path| without_times(stdout).replace(out.to_str().unwrap(), "OUT");
    assert_eq!(same(&tty.stdout, &tty_out), same(&plain.stdout, &plain_out));

    // 2,004 messages (2,000 records, 4 states) in one committed file, all of the input's bytes.
    let line = last_line(&tty.terminal);
    let mb = format!("{:.1} MB at ", input.len() as f64 / 1e6);
    assert!(
        line.starts_with(&format!("write: 1 file committed, 2,004 messages, {mb}")) && line.ends_with(", done"),
        "{line:?} in {:?}",
        tty.terminal
    );
    // Both runs wrote the same rows.
    let rows = |out: &Path| -> usize {
        walk(out)
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
            .sum()
    };
    assert_eq!(rows(&tty_out), 2000);
    assert_eq!(rows(&plain_out), 2000);
    for absent in ["\x1b", "\r", "files committed", "messages"] {
        assert!(!plain.stderr.contains(absent), "{absent:?} in {:?}", plain.stderr);
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn a_sqlite_read_on_a_terminal_counts_rows_against_the_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..2500 {
        tx.execute(
            "INSERT INTO items VALUES (?1, ?2)",
            rusqlite::params![i, format!("item {i}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(conn);
    let config = write_json(dir.path(), "config.json", &json!({"database_path": db}));
    let args = ["read", "--config", config.to_str().unwrap()];
    let tty = run_on_terminal("source-sqlite", &args, None, &[]);
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    validate_messages(&tty.stdout);
    let plain = run("source-sqlite", &args, None);
    plain.assert_success();
    assert_eq!(plain.records().len(), 2500);
    assert_eq!(without_times(&tty.stdout), without_times(&plain.stdout));
    // The table's row count (its ESTIMATE) is the line's total.
    let line = last_line(&tty.terminal);
    assert!(
        line.starts_with("items: 2,500/2,500 records, ") && line.ends_with(", done"),
        "{line:?} in {:?}",
        tty.terminal
    );
    for absent in ["\x1b", "\r", "2,500/2,500", "elapsed"] {
        assert!(!plain.stderr.contains(absent), "{absent:?} in {:?}", plain.stderr);
    }
}

#[test]
fn with_the_messages_on_the_screen_too_only_the_tables_are_shown() {
    let (_env, config, catalog) = orders();
    let args = ["read", "--config", config.as_str(), "--catalog", catalog.as_str()];
    let tty = run_pty("source-s3", &args, None, &[], true);
    assert_eq!(tty.status, 0, "{}", tty.terminal);
    // The messages, each on a line of its own, valid.
    let messages: String = tty
        .terminal
        .split("\r\n")
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    validate_messages(&messages);
    assert_eq!(messages.matches("\"type\":\"RECORD\"").count(), 300);
    // No live line to run into them; the COST table still.
    for absent in ["\x1b", "3/3 files", "elapsed"] {
        assert!(!tty.terminal.contains(absent), "{absent:?} in {:?}", tty.terminal);
    }
    assert_eq!(row(&tty.terminal, "GET requests"), ["3", "3"]);
}
