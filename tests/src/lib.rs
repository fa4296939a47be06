//! The Lakeport test rig: runs the real connector binaries, validates every
//! line they print against the official Airbyte protocol models (PyPI
//! `airbyte-protocol-models`), and starts a real S3-protocol server
//! (`s3s-fs`) on 127.0.0.1.
//!
//! Everything the rig needs is installed by `scripts/test-deps.sh` (a Python
//! venv and the `s3s-fs` binary, cached outside the clone); the rig runs that
//! script itself the first time it needs either, so `cargo test` works on a
//! fresh machine once `cargo build --workspace` has built the binaries.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod fidelity;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The directory holding the built binaries (`target/debug`), found from the
/// running test executable (`target/debug/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("exe dir");
    if deps.ends_with("deps") {
        deps.parent().expect("target/debug").to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// The path of a connector binary; panics with what to do when it is missing.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` before the tests (scripts/test.sh does)",
        path.display()
    );
    path
}

struct Deps {
    python: PathBuf,
    s3s_fs: PathBuf,
}

fn deps() -> &'static Deps {
    static DEPS: OnceLock<Deps> = OnceLock::new();
    DEPS.get_or_init(|| {
        let from_env = (std::env::var_os("LAKEPORT_PYTHON"), std::env::var_os("LAKEPORT_S3S_FS"));
        if let (Some(p), Some(s)) = from_env {
            return Deps {
                python: p.into(),
                s3s_fs: s.into(),
            };
        }
        let script = workspace_root().join("scripts/test-deps.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/test-deps.sh");
        assert!(out.status.success(), "scripts/test-deps.sh failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("scripts/test-deps.sh did not print {k}"))
        };
        Deps {
            python: get("LAKEPORT_PYTHON"),
            s3s_fs: get("LAKEPORT_S3S_FS"),
        }
    })
}

/// The test venv's Python (with airbyte-protocol-models, pyarrow, fastavro).
pub fn python() -> PathBuf {
    deps().python.clone()
}

/// Validates every line of `stdout` against the official Airbyte models;
/// panics listing each invalid line.
pub fn validate_messages(stdout: &str) {
    if stdout.is_empty() {
        return;
    }
    let script = workspace_root().join("tests/python/validate_messages.py");
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the protocol validator");
    let mut stdin = child.stdin.take().expect("stdin");
    let text = stdout.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("validator output");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "stdout holds lines that are not valid Airbyte messages:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a connector run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
    /// stdout parsed, one value per line.
    pub messages: Vec<Value>,
}

impl Run {
    /// Messages of one `type`.
    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.messages.iter().filter(|m| m["type"] == t).collect()
    }

    /// The `record` payloads, in order.
    pub fn records(&self) -> Vec<&Value> {
        self.of_type("RECORD").into_iter().map(|m| &m["record"]).collect()
    }

    /// The `record.data` objects, in order.
    pub fn data(&self) -> Vec<&Value> {
        self.records().into_iter().map(|r| &r["data"]).collect()
    }

    /// The `state` payloads, in order.
    pub fn states(&self) -> Vec<&Value> {
        self.of_type("STATE").into_iter().map(|m| &m["state"]).collect()
    }

    /// The TRACE ERROR payloads.
    pub fn errors(&self) -> Vec<&Value> {
        self.of_type("TRACE")
            .into_iter()
            .filter(|m| m["trace"]["type"] == "ERROR")
            .map(|m| &m["trace"]["error"])
            .collect()
    }

    /// The CONNECTION_STATUS payload; panics when there is none.
    pub fn connection_status(&self) -> &Value {
        self.of_type("CONNECTION_STATUS")
            .first()
            .map(|m| &m["connectionStatus"])
            .unwrap_or_else(|| panic!("no CONNECTION_STATUS in:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// The CATALOG payload; panics when there is none.
    pub fn catalog(&self) -> &Value {
        self.of_type("CATALOG")
            .first()
            .map(|m| &m["catalog"])
            .unwrap_or_else(|| panic!("no CATALOG in:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// The LOG messages' texts.
    pub fn logs(&self) -> Vec<String> {
        self.of_type("LOG")
            .into_iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m["log"]["level"].as_str().unwrap_or(""),
                    m["log"]["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Panics with stdout and stderr unless the run exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "run failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Options of one run.
#[derive(Debug, Default, Clone)]
pub struct RunOpts {
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Bytes for stdin (stdin is closed when `None`).
    pub stdin: Option<Vec<u8>>,
    /// Skip protocol validation (for runs that print a config, e.g. import-config).
    pub raw_stdout: bool,
}

/// Runs `target/debug/<name> args…`, with `stdin` when given, validates
/// every stdout line against the official models, and parses them.
pub fn run(name: &str, args: &[&str], stdin: Option<&[u8]>) -> Run {
    run_with(
        name,
        args,
        RunOpts {
            stdin: stdin.map(|s| s.to_vec()),
            ..Default::default()
        },
    )
}

/// [`run`] with options.
pub fn run_with(name: &str, args: &[&str], opts: RunOpts) -> Run {
    let mut cmd = Command::new(bin(name));
    cmd.args(args)
        .stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &opts.cwd {
        cmd.current_dir(dir);
    }
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
    let writer = opts.stdin.clone().map(|input| {
        let mut stdin = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        })
    });
    let out = child.wait_with_output().expect("wait for connector");
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let messages = if opts.raw_stdout {
        Vec::new()
    } else {
        validate_messages(&stdout);
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
            .collect()
    };
    Run {
        status: out.status,
        stdout,
        stderr,
        messages,
    }
}

/// Runs a source's `read`, then pipes its stdout into a destination's `write`
/// (as `source read … | destination write …` does in a shell). Both outputs
/// are validated.
pub fn pipe(source: &str, source_args: &[&str], destination: &str, destination_args: &[&str]) -> (Run, Run) {
    let src = run(source, source_args, None);
    src.assert_success();
    let dst = run(destination, destination_args, Some(src.stdout.as_bytes()));
    (src, dst)
}

/// Writes `value` as JSON to `dir/name` and returns the path.
pub fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).expect("serialise")).expect("write json");
    path
}

/// Runs a Python snippet in the test venv (pyarrow, fastavro available) with
/// `args` as `sys.argv[1:]`; returns stdout, panics on failure.
pub fn python_eval(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `data` compressed by the system's `gzip`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip output");
    writer.join().expect("gzip writer").expect("write gzip input");
    assert!(out.status.success(), "gzip failed");
    out.stdout
}

/// A real S3-protocol server (`s3s-fs`) on 127.0.0.1 with a temporary data
/// directory; stopped when dropped. Buckets are directories of `dir`.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The access key it accepts.
    pub access_key: String,
    /// The secret key it accepts.
    pub secret_key: String,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl S3Server {
    /// Starts a server with fresh credentials and waits until it accepts
    /// connections.
    pub fn start() -> S3Server {
        Self::start_with_keys("lakeport-test-key", "lakeport-test-secret-Zq8xW2")
    }

    /// Starts a server accepting the given keys.
    pub fn start_with_keys(access_key: &str, secret_key: &str) -> S3Server {
        let mut dir = tempfile::tempdir().expect("tempdir");
        for _attempt in 0..5 {
            let port = free_port();
            let child = Command::new(&deps().s3s_fs)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", access_key, "--secret-key", secret_key])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start s3s-fs");
            let mut server = S3Server {
                endpoint: format!("http://127.0.0.1:{port}"),
                access_key: access_key.into(),
                secret_key: secret_key.into(),
                port,
                dir,
                child,
            };
            if server.wait_ready() {
                return server;
            }
            let _ = server.child.kill();
            let _ = server.child.wait();
            dir = std::mem::replace(&mut server.dir, tempfile::tempdir().expect("tempdir"));
        }
        panic!("s3s-fs did not start");
    }

    fn wait_ready(&mut self) -> bool {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The data directory (buckets are its subdirectories).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.dir.path().join(bucket)).expect("create bucket dir");
    }

    /// The file holding an object.
    pub fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.dir.path().join(bucket).join(key)
    }

    /// Stores an object (written straight into the server's directory).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let path = self.path(bucket, key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create object dir");
        }
        std::fs::write(&path, body).expect("write object");
    }

    /// Reads an object's bytes straight from the server's directory.
    pub fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        std::fs::File::open(self.path(bucket, key))
            .and_then(|mut f| f.read_to_end(&mut buf))
            .unwrap_or_else(|e| panic!("read object {bucket}/{key}: {e}"));
        buf
    }

    /// Every object key in a bucket, sorted (files under the bucket directory,
    /// minus the server's own metadata files).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let root = self.dir.path().join(bucket);
        let mut keys = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&root) {
                    let key = rel.to_string_lossy().replace('\\', "/");
                    if !key.starts_with(".") && !key.contains("/.") {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        keys
    }

    /// A connection config fragment for this server.
    pub fn connection(&self, bucket: &str) -> Value {
        serde_json::json!({
            "bucket": bucket,
            "endpoint_url": self.endpoint,
            "access_key_id": self.access_key,
            "secret_access_key": self.secret_key,
            "region": "us-east-1",
            "use_ssl": false
        })
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test environment for the S3 connectors: an [`S3Server`] with one
/// bucket, and a temporary directory for the config, catalog and state files
/// given to the binaries.
pub struct S3Env {
    /// The server.
    pub server: S3Server,
    /// The bucket, created empty.
    pub bucket: String,
    dir: tempfile::TempDir,
}

impl S3Env {
    /// Starts a server with `bucket`.
    pub fn new(bucket: &str) -> S3Env {
        let server = S3Server::start();
        server.create_bucket(bucket);
        S3Env {
            server,
            bucket: bucket.into(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The directory of the files written by [`S3Env::path`].
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `value` as JSON to the file `name` and returns its path.
    pub fn path(&self, name: &str, value: &Value) -> String {
        write_json(self.dir.path(), name, value)
            .to_str()
            .expect("utf-8 path")
            .to_string()
    }

    /// The server's connection keys for the bucket ([`S3Server::connection`])
    /// plus the keys of `extra` (an object).
    pub fn connection(&self, extra: Value) -> Value {
        let mut c = self.server.connection(&self.bucket);
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        c
    }

    /// Writes [`S3Env::connection`] with `extra` as the file `name`; returns its path.
    pub fn config(&self, name: &str, extra: Value) -> String {
        self.path(name, &self.connection(extra))
    }

    /// An Airbyte source-s3 v4 config of the bucket with these `streams`.
    pub fn airbyte_v4(&self, streams: Value) -> Value {
        serde_json::json!({
            "bucket": self.bucket,
            "aws_access_key_id": self.server.access_key,
            "aws_secret_access_key": self.server.secret_key,
            "endpoint": self.server.endpoint,
            "region_name": "us-east-1",
            "delivery_method": {"delivery_type": "use_records_transfer"},
            "streams": streams
        })
    }

    /// Stores an object of the bucket last modified `age` ago.
    pub fn put_aged(&self, key: &str, body: &[u8], age: Duration) {
        self.server.put_object(&self.bucket, key, body);
        let file = std::fs::File::options()
            .write(true)
            .open(self.server.path(&self.bucket, key))
            .expect("open object file");
        file.set_modified(std::time::SystemTime::now() - age)
            .expect("set mtime");
    }

    /// Runs `connector discover` with `config` and writes a catalog of every
    /// stream in sync mode `mode` (`catalog_<mode>.json`); returns its path.
    pub fn catalog(&self, connector: &str, config: &str, mode: &str) -> String {
        let r = run(connector, &["discover", "--config", config], None);
        r.assert_success();
        self.path(&format!("catalog_{mode}.json"), &configured_catalog(r.catalog(), mode))
    }

    /// Runs `connector read` with `config`, `catalog` and, when given, the
    /// `state` (written to `state.json`).
    pub fn read(&self, connector: &str, config: &str, catalog: &str, state: Option<&Value>) -> Run {
        let mut args = vec!["read", "--config", config, "--catalog", catalog];
        let state_path;
        if let Some(state) = state {
            state_path = self.path("state.json", &serde_json::json!([state]));
            args.extend(["--state", &state_path]);
        }
        run(connector, &args, None)
    }
}

/// A configured catalog of every stream of a discovered `catalog` in sync
/// mode `mode` (`full_refresh` or `incremental`), appended.
pub fn configured_catalog(catalog: &Value, mode: &str) -> Value {
    let streams: Vec<Value> = catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| serde_json::json!({"stream": s, "sync_mode": mode, "destination_sync_mode": "append"}))
        .collect();
    serde_json::json!({ "streams": streams })
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Requests that reached the S3 server through a [`CountingProxy`], by kind.
#[derive(Debug, Default)]
pub struct RequestLog {
    /// ListObjects(V2) requests.
    pub list: std::sync::atomic::AtomicUsize,
    /// Object GETs (whole or ranged).
    pub get: std::sync::atomic::AtomicUsize,
    /// HEAD requests.
    pub head: std::sync::atomic::AtomicUsize,
    /// Everything else (PUT, POST, DELETE).
    pub other: std::sync::atomic::AtomicUsize,
    /// The `prefix` of each LIST request, in the order they arrived.
    pub list_prefixes: std::sync::Mutex<Vec<String>>,
}

impl RequestLog {
    /// `(list, get, head, other)` so far.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (
            self.list.load(SeqCst),
            self.get.load(SeqCst),
            self.head.load(SeqCst),
            self.other.load(SeqCst),
        )
    }

    /// The `prefix` of each LIST request so far (percent-decoded).
    pub fn list_prefixes(&self) -> Vec<String> {
        self.list_prefixes.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// The `prefix` query parameter of a request line, percent-decoded (empty when absent).
fn query_prefix(request_line: &str) -> String {
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("prefix="))
        .unwrap_or_default();
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A plain TCP proxy in front of an [`S3Server`] that logs every request
/// the server receives (one request per connection: `Connection: close` is
/// forced both ways), so a test can compare a connector's own meter with
/// what the server saw. Runs until the test process ends.
pub struct CountingProxy {
    /// `http://127.0.0.1:<port>` of the proxy.
    pub endpoint: String,
    /// The requests forwarded so far.
    pub log: std::sync::Arc<RequestLog>,
}

impl CountingProxy {
    /// Starts a proxy forwarding to the server's port.
    pub fn start(server: &S3Server) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let upstream = server.port;
        let log = std::sync::Arc::new(RequestLog::default());
        let l = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let l = l.clone();
                std::thread::spawn(move || proxy_one(conn, upstream, &l));
            }
        });
        CountingProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        }
    }
}

fn read_http_head(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn with_connection_close(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

fn proxy_one(mut client: TcpStream, upstream: u16, log: &RequestLog) {
    use std::sync::atomic::Ordering::SeqCst;
    let Some(head) = read_http_head(&mut client) else {
        return;
    };
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let counter = if request_line.starts_with("GET ") && request_line.contains("list-type") {
        if let Ok(mut prefixes) = log.list_prefixes.lock() {
            prefixes.push(query_prefix(&request_line));
        }
        &log.list
    } else if request_line.starts_with("GET ") {
        &log.get
    } else if request_line.starts_with("HEAD ") {
        &log.head
    } else {
        &log.other
    };
    counter.fetch_add(1, SeqCst);
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if up.write_all(with_connection_close(&head).as_bytes()).is_err() {
        return;
    }
    if let (Ok(mut from), Ok(mut to)) = (client.try_clone(), up.try_clone()) {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
        });
    }
    let Some(resp) = read_http_head(&mut up) else { return };
    if client.write_all(with_connection_close(&resp).as_bytes()).is_err() {
        return;
    }
    let _ = std::io::copy(&mut up, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
}
