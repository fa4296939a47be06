//! Running the connector images with podman the way an orchestrator does:
//! `podman run --rm -i` with the job directory mounted read-only at the
//! image's working directory (`/config`), data volumes beside it, the host
//! network only when the connector needs it, stdout and stderr kept apart,
//! every stdout line validated against the official Airbyte models.
//!
//! The images are built by `scripts/images.sh` (podman, a debootstrap base,
//! release binaries). Where podman cannot run or the images are missing, the
//! tests print `SKIP` with the reason — unless `LAKEPORT_REQUIRE_CONTAINERS`
//! is set (`scripts/test.sh` sets it), when they fail instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use lakeport_tests::{validate_messages, Run};
use serde_json::Value;

/// The five connectors, one image each.
pub const CONNECTORS: [&str; 5] = [
    "source-s3",
    "destination-s3",
    "source-file",
    "destination-file",
    "source-sqlite",
];

/// The workspace version, which the images are tagged with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The image name prefix (`IMAGE_PREFIX`, as for `scripts/images.sh`).
pub fn prefix() -> String {
    std::env::var("IMAGE_PREFIX").unwrap_or_else(|_| "lakeport".into())
}

/// `lakeport/<connector>:<version>`.
pub fn image(connector: &str) -> String {
    format!("{}/{connector}:{VERSION}", prefix())
}

/// The containers.conf `scripts/images.sh` writes (runtime runc, ulimits
/// within the hard limits): `CONTAINERS_CONF`, else the one in the cache.
pub fn containers_conf() -> Option<PathBuf> {
    if let Some(conf) = std::env::var_os("CONTAINERS_CONF") {
        return Some(conf.into());
    }
    let cache = std::env::var_os("LAKEPORT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/lakeport")))?;
    let conf = cache.join("containers/containers.conf");
    conf.exists().then_some(conf)
}

/// A `podman` command with the project's containers.conf.
pub fn podman() -> Command {
    let mut cmd = Command::new("podman");
    if let Some(conf) = containers_conf() {
        cmd.env("CONTAINERS_CONF", conf);
    }
    cmd
}

/// `podman ARGS`' stdout; panics with its stderr when it fails.
pub fn podman_out(args: &[&str]) -> String {
    let out = podman()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?}: {e}"));
    assert!(
        out.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Why the container tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    match podman().arg("--version").output() {
        Err(e) => return Some(format!("podman is not installed ({e}); scripts/images.sh installs it")),
        Ok(o) if !o.status.success() => return Some("`podman --version` failed".into()),
        Ok(_) => {}
    }
    let info = podman()
        .args(["info", "--format", "{{.Host.OCIRuntime.Name}}"])
        .output();
    match info {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            return Some(format!("podman cannot run here: {last}"));
        }
        Err(e) => return Some(format!("podman cannot run here: {e}")),
    }
    for c in CONNECTORS {
        let exists = podman().args(["image", "exists", &image(c)]).status();
        if !exists.map(|s| s.success()).unwrap_or(false) {
            return Some(format!("the image {} is not built: run scripts/images.sh", image(c)));
        }
    }
    None
}

/// True when the images can be run. Otherwise prints `SKIP` and the reason
/// and returns false, or panics when `LAKEPORT_REQUIRE_CONTAINERS` is set.
pub fn available(test: &str) -> bool {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    match REASON.get_or_init(unavailable) {
        None => true,
        Some(reason) if std::env::var_os("LAKEPORT_REQUIRE_CONTAINERS").is_some() => {
            panic!("LAKEPORT_REQUIRE_CONTAINERS is set but the container tests cannot run: {reason}")
        }
        Some(reason) => {
            eprintln!("SKIP {test}: {reason}");
            false
        }
    }
}

/// A directory the container's user (uid 1000) can read (`writable`: and
/// write): host temporary directories are private to root.
pub fn shared_dir(writable: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = if writable { 0o777 } else { 0o755 };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    dir
}

/// A job directory as the platform prepares one: config, catalog and state
/// files, mounted read-only at the image's working directory `/config`.
pub struct JobDir {
    dir: tempfile::TempDir,
}

impl JobDir {
    /// An empty job directory.
    pub fn new() -> JobDir {
        JobDir { dir: shared_dir(false) }
    }

    /// Its path on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` (a bare file name) into the job directory.
    pub fn file(&self, name: &str, value: &Value) -> &Self {
        let path = self.path().join(name);
        std::fs::write(&path, serde_json::to_vec(value).expect("serialise")).expect("write job file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        self
    }
}

/// One `podman run` of a connector image.
#[derive(Debug, Clone)]
pub struct Ctr {
    image: String,
    volumes: Vec<String>,
    host_network: bool,
    name: Option<String>,
    keep: bool,
    entrypoint: Option<String>,
    env: Vec<(String, String)>,
}

impl Ctr {
    /// A run of `connector`'s image: no network, removed on exit.
    pub fn new(connector: &str) -> Ctr {
        Ctr {
            image: image(connector),
            volumes: vec![],
            host_network: false,
            name: None,
            keep: false,
            entrypoint: None,
            env: vec![],
        }
    }

    /// Mounts the job directory read-only at `/config`.
    pub fn job(self, job: &JobDir) -> Ctr {
        self.volume(job.path(), "/config", true)
    }

    /// Mounts `host` at `at`.
    pub fn volume(mut self, host: &Path, at: &str, read_only: bool) -> Ctr {
        let ro = if read_only { ":ro" } else { "" };
        self.volumes.push(format!("{}:{at}{ro}", host.display()));
        self
    }

    /// Shares the host's network (to reach the rig's S3 server on 127.0.0.1).
    pub fn host_network(mut self) -> Ctr {
        self.host_network = true;
        self
    }

    /// Names the container.
    pub fn name(mut self, name: &str) -> Ctr {
        self.name = Some(name.into());
        self
    }

    /// Keeps the container after it exits (for `podman logs`).
    pub fn keep(mut self) -> Ctr {
        self.keep = true;
        self
    }

    /// Sets an environment variable in the container (`-e`).
    pub fn env(mut self, name: &str, value: &str) -> Ctr {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Replaces the image's entrypoint.
    pub fn entrypoint(mut self, entrypoint: &str) -> Ctr {
        self.entrypoint = Some(entrypoint.into());
        self
    }

    /// The `podman run …` command for `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = podman();
        cmd.args(["run", "-i"]);
        if !self.keep {
            cmd.arg("--rm");
        }
        cmd.arg(if self.host_network {
            "--network=host"
        } else {
            "--network=none"
        });
        if let Some(n) = &self.name {
            cmd.args(["--name", n]);
        }
        if let Some(e) = &self.entrypoint {
            cmd.args(["--entrypoint", e]);
        }
        for v in &self.volumes {
            cmd.args(["-v", v]);
        }
        for (k, v) in &self.env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        cmd.arg(&self.image).args(args);
        cmd
    }

    /// Runs `args` with stdin closed; validates and parses stdout.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("start podman run");
        finish(out.status, out.stdout, out.stderr)
    }

    /// Runs `args` (not a connector command: `--version`, a shell) and
    /// returns its stdout; panics when it fails.
    pub fn run_raw(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("start podman run");
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            self.image,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `args` with `input` on stdin; validates and parses stdout.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start podman run");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("podman run output");
        let _ = writer.join();
        finish(out.status, out.stdout, out.stderr)
    }

    /// Starts `args` with stdin piped; stdout and stderr are collected.
    pub fn spawn_writer(&self, args: &[&str]) -> Writer {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start podman run");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        Writer {
            child,
            stdin: Some(stdin),
            stdout,
            stderr,
        }
    }
}

/// A running `podman run -i` whose stdin the test writes.
pub struct Writer {
    child: Child,
    /// The container's stdin (`None` once closed).
    pub stdin: Option<ChildStdin>,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl Writer {
    /// Writes `bytes` to the container's stdin.
    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("write to the container");
        stdin.flush().expect("flush");
    }

    /// Waits for `podman run` to exit (stdin may still be open) and returns
    /// the run, its stdout validated.
    pub fn wait(mut self) -> Run {
        let status = self.child.wait().expect("wait for podman run");
        drop(self.stdin.take());
        let stdout = self.stdout.join().expect("stdout reader");
        let stderr = self.stderr.join().expect("stderr reader");
        finish(status, stdout, stderr)
    }
}

impl Default for JobDir {
    fn default() -> Self {
        JobDir::new()
    }
}

/// A [`Run`] of a container's output, its stdout validated line by line
/// against the official models.
pub fn finish(status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Run {
    let stdout = String::from_utf8(stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    validate_messages(&stdout);
    let messages = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    Run {
        status,
        stdout,
        stderr,
        messages,
    }
}

/// A source container piped into a destination container, with the test in
/// the middle as the platform is: every line of the source's stdout is kept,
/// its RECORD and STATE lines are streamed on to the destination's stdin as
/// they come. Returns both runs, validated.
pub fn relay(source: &Ctr, source_args: &[&str], destination: &Ctr, destination_args: &[&str]) -> (Run, Run) {
    let mut src = source
        .command(source_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the source container");
    let mut dst = destination
        .command(destination_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the destination container");
    let src_out = src.stdout.take().expect("source stdout");
    let mut dst_in = dst.stdin.take().expect("destination stdin");
    let forwarder = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for line in BufReader::new(src_out).split(b'\n') {
            let line = line.expect("read the source's stdout");
            kept.extend_from_slice(&line);
            kept.push(b'\n');
            let kind = serde_json::from_slice::<Value>(&line)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_string));
            if matches!(kind.as_deref(), Some("RECORD" | "STATE")) {
                dst_in.write_all(&line).expect("write to the destination");
                dst_in.write_all(b"\n").expect("write to the destination");
            }
        }
        kept
    });
    let src_err = drain(src.stderr.take().expect("source stderr"));
    let src_status = src.wait().expect("wait for the source");
    let src_stdout = forwarder.join().expect("forwarder");
    let dst_out = dst.wait_with_output().expect("wait for the destination");
    let src_stderr = src_err.join().expect("stderr reader");
    (
        finish(src_status, src_stdout, src_stderr),
        finish(dst_out.status, dst_out.stdout, dst_out.stderr),
    )
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

/// A container name unique to this test process.
pub fn unique_name(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "lakeport-test-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Removes a kept container (ignores one already gone).
pub fn remove(name: &str) {
    let _ = podman().args(["rm", "-f", name]).output();
}
