//! The crash campaign: `source-file | destination-file` and `source-s3 |
//! destination-s3` (against a real s3s-fs server), each attempt killed with
//! SIGKILL at a random moment (the source or the destination), then resumed
//! with the last STATE the destination echoed, until a sync completes; then
//! an exact accounting: every source record is in the output (none lost, no
//! value altered), every duplicate is explained by a kill (the records
//! committed after the last STATE echoed before it) and stays within the
//! at-least-once bound, no partial file is visible as final, and no stale
//! temporary file outlives the next run.
//!
//! The suite runs a short campaign (`LAKEPORT_CRASH_KILLS`, default 8 kills
//! per pipeline); `scripts/crash-campaign.sh` runs the long one. The seed of
//! the kill schedule is printed (`LAKEPORT_CRASH_SEED` replays it).
//!
//! Also here: input cut at every kind of point (a clean error, never a
//! panic), sources whose reader goes away (death by SIGPIPE), stale
//! temporaries removed on start, a full disk and an output directory that
//! becomes unwritable mid-write.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lakeport_tests::{bin, configured_catalog, run, validate_messages, write_json, S3Server};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// The campaign
// ---------------------------------------------------------------------------

/// A tiny deterministic generator (xorshift64*) for the kill schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The value a source record carries for `id`: its content is checked
/// value by value after the campaign.
fn pad_of(id: u64) -> String {
    format!("r{id}-{}", "ü€x".repeat((id % 7) as usize + 20))
}

/// The source files' text: `files` JSONL files of `per_file` records.
fn source_files(files: u64, per_file: u64) -> Vec<(String, String)> {
    (0..files)
        .map(|f| {
            let mut text = String::new();
            for i in 0..per_file {
                let id = f * per_file + i;
                text.push_str(&json!({"id": id, "file": f, "pad": pad_of(id)}).to_string());
                text.push('\n');
            }
            (format!("part-{f:04}.jsonl"), text)
        })
        .collect()
}

/// Which process an attempt kills.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    Source,
    Destination,
}

/// One `source read | destination write` attempt.
struct Attempt {
    killed: Option<Victim>,
    source: ExitStatus,
    destination: ExitStatus,
    /// The destination's stdout lines that parse (a line cut by a kill does not).
    echoed: Vec<Value>,
    dest_stdout: String,
}

impl Attempt {
    fn states(&self) -> Vec<&Value> {
        self.echoed.iter().filter(|m| m["type"] == "STATE").collect()
    }
}

/// What a pipeline is: its two commands and how to look at its output.
trait Pipeline {
    fn name(&self) -> &str;
    /// `source read` arguments (config, catalog) without `--state`.
    fn source(&self) -> (&str, Vec<String>);
    /// `destination write` arguments for round `round`.
    fn destination(&self, round: usize) -> (&str, Vec<String>);
    /// Every committed (final) output file of round `round`: name → bytes.
    fn finals(&self, round: usize) -> Vec<(String, Vec<u8>)>;
    /// Temporary leftovers of round `round` (hidden temporaries, open uploads).
    fn leftovers(&self, round: usize) -> Vec<String>;
}

fn spawn_pair(p: &dyn Pipeline, round: usize, state: Option<&Path>) -> (Child, Child) {
    let (src_bin, mut src_args) = p.source();
    if let Some(s) = state {
        src_args.extend(["--state".to_string(), s.display().to_string()]);
    }
    let mut source = Command::new(bin(src_bin))
        .args(&src_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the source");
    let (dst_bin, dst_args) = p.destination(round);
    let destination = Command::new(bin(dst_bin))
        .args(&dst_args)
        .stdin(source.stdout.take().expect("source stdout"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the destination");
    (source, destination)
}

fn attempt(p: &dyn Pipeline, round: usize, state: Option<&Path>, kill: Option<(Duration, Victim)>) -> Attempt {
    let (mut source, mut destination) = spawn_pair(p, round, state);
    let mut out = destination.stdout.take().expect("destination stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text);
        text
    });
    let mut err = destination.stderr.take().expect("destination stderr");
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = err.read_to_end(&mut text);
        text
    });
    let mut killed = None;
    if let Some((after, victim)) = kill {
        let deadline = Instant::now() + after;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let child = match victim {
            Victim::Source => &mut source,
            Victim::Destination => &mut destination,
        };
        // Only a kill that reaches a live process counts.
        if matches!(child.try_wait(), Ok(None)) && child.kill().is_ok() {
            killed = Some(victim);
        }
    }
    let source_status = source.wait().expect("wait for the source");
    let destination_status = destination.wait().expect("wait for the destination");
    // A process that was exiting when the signal came ended on its own.
    let victim_status = match killed {
        Some(Victim::Source) => source_status,
        Some(Victim::Destination) => destination_status,
        None => source_status,
    };
    if victim_status.signal() != Some(9) {
        killed = None;
    }
    let stdout = String::from_utf8_lossy(&reader.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    let echoed = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let a = Attempt {
        killed,
        source: source_status,
        destination: destination_status,
        echoed,
        dest_stdout: stdout,
    };
    check_statuses(p, &a, &stderr);
    a
}

/// What each process may end with, given what was killed.
fn check_statuses(p: &dyn Pipeline, a: &Attempt, dest_stderr: &str) {
    let context = || {
        format!(
            "{}: killed {:?}, source {:?}, destination {:?}\nlast output: {}\n{dest_stderr}",
            p.name(),
            a.killed,
            a.source,
            a.destination,
            a.dest_stdout
                .lines()
                .last()
                .unwrap_or("")
                .chars()
                .take(2000)
                .collect::<String>()
        )
    };
    assert_ne!(
        a.destination.code(),
        Some(101),
        "the destination panicked: {}",
        context()
    );
    assert_ne!(a.source.code(), Some(101), "the source panicked: {}", context());
    match a.killed {
        None => {
            assert!(a.source.success() && a.destination.success(), "{}", context());
        }
        Some(Victim::Source) => {
            assert_eq!(a.source.signal(), Some(9), "{}", context());
            // Cut between two lines the input just ends (everything is
            // committed); cut inside one, the destination says the upstream
            // stopped mid-message, as a system error.
            if !a.destination.success() {
                let errors: Vec<&Value> = a
                    .echoed
                    .iter()
                    .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
                    .collect();
                let e = &errors
                    .first()
                    .unwrap_or_else(|| panic!("no TRACE ERROR: {}", context()))["trace"]["error"];
                assert_eq!(e["failure_type"], "system_error", "{}", context());
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("ended in the middle of message line"),
                    "{}",
                    context()
                );
            }
        }
        Some(Victim::Destination) => {
            assert_eq!(a.destination.signal(), Some(9), "{}", context());
            // The source either had written everything into the pipe already,
            // or it stops at the broken pipe: death by SIGPIPE, not exit 0.
            assert!(
                a.source.success() || a.source.signal() == Some(13),
                "the source did not die of SIGPIPE: {}",
                context()
            );
        }
    }
}

/// The rows of JSONL output files, and whether each file is whole.
fn rows_of(finals: &[(String, Vec<u8>)]) -> Vec<Value> {
    let mut rows = Vec::new();
    for (name, bytes) in finals {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} is visible as final but its last line is cut"
        );
        for line in text.lines() {
            let row: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: a partial or invalid row ({e}): {line}"));
            rows.push(row);
        }
    }
    rows
}

/// The campaign's figures for one pipeline.
#[derive(Debug, Default)]
struct Figures {
    rounds: usize,
    kills: usize,
    source_kills: usize,
    destination_kills: usize,
    /// Attempts after a kill.
    resumes: usize,
    /// Of those, the ones started from a STATE (the others had none echoed yet).
    resumes_with_state: usize,
    records: u64,
    rows: u64,
    lost: u64,
    altered: u64,
    duplicates: u64,
    max_duplicates_per_kill: u64,
    kills_past_one_interval: usize,
    sigpipe_deaths: usize,
    cut_input_errors: usize,
    stale_temporaries_removed: usize,
    kills_leaving_temporaries: usize,
    leftovers_at_end: usize,
    bound: u64,
}

impl Figures {
    fn print(&self, name: &str) {
        println!(
            "crash campaign {name}: rounds {} | kills {} (source {}, destination {}) | resumes {} ({} from a STATE) | records {} | \
             rows {} | lost {} | altered {} | duplicates {} (max {} per kill, bound {}; {} kill(s) past one state \
             interval) | sources dead of SIGPIPE {} | cut-input errors {} | stale temporaries removed {} | \
             kills that left a temporary or an open upload {} | left at the end {}",
            self.rounds,
            self.kills,
            self.source_kills,
            self.destination_kills,
            self.resumes,
            self.resumes_with_state,
            self.records,
            self.rows,
            self.lost,
            self.altered,
            self.duplicates,
            self.max_duplicates_per_kill,
            self.bound,
            self.kills_past_one_interval,
            self.sigpipe_deaths,
            self.cut_input_errors,
            self.stale_temporaries_removed,
            self.kills_leaving_temporaries,
            self.leftovers_at_end
        );
    }
}

/// Runs rounds of kill-and-resume until `kills` kills were delivered.
/// `per_file` is the source's STATE interval (one STATE per source file).
fn campaign(p: &dyn Pipeline, records: u64, per_file: u64, kills: usize, seed: u64, work: &Path) -> Figures {
    let mut rng = Rng(seed.max(1));
    let mut f = Figures {
        records,
        ..Figures::default()
    };
    // How long an uninterrupted sync takes: kills land within it.
    let start = Instant::now();
    let calibration = attempt(p, usize::MAX, None, None);
    let full = start.elapsed();
    assert!(calibration.states().len() as u64 >= records / per_file);
    let max_kills_per_round = 6;
    let mut round = 0;
    while f.kills < kills {
        round += 1;
        f.rounds += 1;
        let state_file = work.join(format!("{}-state-{round}.json", p.name()));
        let mut state: Option<Value> = None;
        let mut covered = 0u64;
        let mut explained = 0u64;
        let mut kills_this_round = 0;
        loop {
            let remaining = 1.0 - covered as f64 / records as f64;
            let kill = (kills_this_round < max_kills_per_round && f.kills < kills).then(|| {
                let at = full.mul_f64(rng.unit() * remaining.max(0.05));
                let victim = if rng.next() % 2 == 0 {
                    Victim::Source
                } else {
                    Victim::Destination
                };
                (at, victim)
            });
            if let Some(s) = &state {
                std::fs::write(&state_file, json!([s]).to_string()).expect("write the state file");
                f.resumes_with_state += 1;
            }
            if kills_this_round > 0 {
                f.resumes += 1;
            }
            let before: HashSet<String> = p.leftovers(round).into_iter().collect();
            let a = attempt(p, round, state.as_ref().map(|_| state_file.as_path()), kill);
            f.stale_temporaries_removed += removed_temporaries(&a);
            for s in a.states() {
                covered += s["state"]["destinationStats"]["recordCount"].as_f64().unwrap_or(0.0) as u64;
                state = Some(s["state"].clone());
            }
            let Some(victim) = a.killed else {
                assert!(a.source.success() && a.destination.success());
                validate_messages(&a.dest_stdout);
                break;
            };
            f.kills += 1;
            kills_this_round += 1;
            match victim {
                Victim::Source => f.source_kills += 1,
                Victim::Destination => f.destination_kills += 1,
            }
            if a.source.signal() == Some(13) {
                f.sigpipe_deaths += 1;
            }
            if victim == Victim::Source && !a.destination.success() {
                f.cut_input_errors += 1;
            }
            // Exact accounting of this kill: rows committed but not covered by
            // an echoed STATE are what the resume delivers again.
            let committed = rows_of(&p.finals(round)).len() as u64;
            assert!(
                committed >= covered + explained,
                "{}: echoed states cover {covered} records (+{explained} re-delivered) but only {committed} rows \
                 are committed",
                p.name()
            );
            let dup = committed - covered - explained;
            explained += dup;
            f.max_duplicates_per_kill = f.max_duplicates_per_kill.max(dup);
            if dup > per_file {
                // Only a kill between a commit and the echo that follows it
                // (the directory's fsync or the upload's completion, then one line).
                f.kills_past_one_interval += 1;
                println!(
                    "  {} kill of the {victim:?}: {dup} rows committed after the last STATE echoed \
                     ({committed} rows, {covered} covered)",
                    p.name()
                );
            }
            if p.leftovers(round).iter().any(|l| !before.contains(l)) {
                f.kills_leaving_temporaries += 1;
            }
            // A round needs progress to finish; a kill that lands before any
            // STATE just starts over from the same state.
        }
        // The round is complete: account for every record.
        let finals = p.finals(round);
        let largest_file = finals
            .iter()
            .map(|(_, b)| b.iter().filter(|&&c| c == b'\n').count() as u64)
            .max()
            .unwrap_or(0);
        f.bound = f.bound.max(per_file + largest_file);
        let rows = rows_of(&finals);
        let mut seen: HashMap<u64, u64> = HashMap::new();
        for row in &rows {
            let id = row["id"].as_u64().unwrap_or_else(|| panic!("a row without id: {row}"));
            *seen.entry(id).or_default() += 1;
            if row["pad"].as_str() != Some(pad_of(id).as_str()) || row["file"].as_u64() != Some(id / per_file) {
                f.altered += 1;
            }
        }
        let lost = (0..records).filter(|id| !seen.contains_key(id)).count() as u64;
        let duplicates = rows.len() as u64 - seen.len() as u64;
        assert_eq!(seen.len() as u64, records - lost, "ids outside the source's range");
        assert_eq!(
            duplicates,
            explained,
            "{}: duplicates not explained by the kills' committed-but-not-echoed records",
            p.name()
        );
        f.rows += rows.len() as u64;
        f.lost += lost;
        f.duplicates += duplicates;
        if p.name() == "file" {
            let left = p.leftovers(round);
            assert!(left.is_empty(), "temporary files outlived the last run: {left:?}");
        }
    }
    // S3 keeps the parts of an upload a SIGKILL left open until it is aborted
    // (a bucket lifecycle rule does it; see the README).
    f.leftovers_at_end = p.leftovers(0).len();
    f.records = records * f.rounds as u64;
    f
}

/// The count in the destination's "Removed N temporary file(s)" LOG.
fn removed_temporaries(a: &Attempt) -> usize {
    a.echoed
        .iter()
        .filter(|m| m["type"] == "LOG")
        .filter_map(|m| m["log"]["message"].as_str())
        .filter_map(|t| t.strip_prefix("Removed "))
        .filter_map(|t| t.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

fn assert_campaign(name: &str, f: &Figures, kills: usize) {
    f.print(name);
    assert!(f.kills >= kills);
    assert_eq!(f.lost, 0, "records lost");
    assert_eq!(f.altered, 0, "values altered");
    assert!(
        f.max_duplicates_per_kill <= f.bound,
        "a kill re-delivered {} records; the bound is {}",
        f.max_duplicates_per_kill,
        f.bound
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A destination's temporary file: `.<name>.<pid>.lakeport-tmp`.
fn is_temp(p: &Path) -> bool {
    p.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n.starts_with('.') && n.ends_with(".lakeport-tmp") && n != ".lakeport-tmp"
    })
}

/// `source-file | destination-file`, JSONL, rollover at `file_size_mb`.
struct FilePipeline {
    work: PathBuf,
    source_config: PathBuf,
    catalog: PathBuf,
    file_size_mb: f64,
}

impl FilePipeline {
    fn new(work: &Path, files: &[(String, String)], file_size_mb: f64) -> Self {
        let input = work.join("input");
        std::fs::create_dir_all(&input).expect("input dir");
        for (name, text) in files {
            std::fs::write(input.join(name), text).expect("write a source file");
        }
        let source_config = write_json(
            work,
            "source-file.json",
            &json!({"file_path": input, "stream_name": "rows"}),
        );
        let r = run(
            "source-file",
            &["discover", "--config", &source_config.display().to_string()],
            None,
        );
        r.assert_success();
        let catalog = write_json(
            work,
            "catalog-file.json",
            &configured_catalog(r.catalog(), "incremental"),
        );
        FilePipeline {
            work: work.to_path_buf(),
            source_config,
            catalog,
            file_size_mb,
        }
    }

    fn base(&self, round: usize) -> PathBuf {
        self.work.join(format!("out-{round}"))
    }
}

impl Pipeline for FilePipeline {
    fn name(&self) -> &str {
        "file"
    }

    fn source(&self) -> (&str, Vec<String>) {
        let args = ["read", "--config"].map(String::from).to_vec();
        let mut args = args;
        args.push(self.source_config.display().to_string());
        args.extend(["--catalog".to_string(), self.catalog.display().to_string()]);
        ("source-file", args)
    }

    fn destination(&self, round: usize) -> (&str, Vec<String>) {
        let cfg = write_json(
            &self.work,
            &format!("destination-file-{round}.json"),
            &json!({"base_path": self.base(round), "format": "jsonl", "file_size_mb": self.file_size_mb}),
        );
        (
            "destination-file",
            vec!["write".into(), "--config".into(), cfg.display().to_string()],
        )
    }

    fn finals(&self, round: usize) -> Vec<(String, Vec<u8>)> {
        walk(&self.base(round))
            .into_iter()
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read an output file");
                (p.display().to_string(), bytes)
            })
            .collect()
    }

    fn leftovers(&self, round: usize) -> Vec<String> {
        walk(&self.base(round))
            .into_iter()
            .filter(|p| is_temp(p))
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// `source-s3 | destination-s3` against s3s-fs, JSONL, multipart uploads
/// above `part_size_mb`.
struct S3Pipeline {
    server: S3Server,
    work: PathBuf,
    source_config: PathBuf,
    catalog: PathBuf,
    file_size_mb: u64,
}

const BUCKET: &str = "campaign";

impl S3Pipeline {
    fn new(work: &Path, files: &[(String, String)], file_size_mb: u64) -> Self {
        let server = S3Server::start();
        server.create_bucket(BUCKET);
        for (name, text) in files {
            server.put_object(BUCKET, &format!("in/{name}"), text.as_bytes());
        }
        let mut cfg = server.connection(BUCKET);
        cfg["path_prefix"] = json!("in/");
        cfg["file_format"] = json!("jsonl");
        let source_config = write_json(work, "source-s3.json", &cfg);
        let r = run(
            "source-s3",
            &["discover", "--config", &source_config.display().to_string()],
            None,
        );
        r.assert_success();
        let catalog = write_json(work, "catalog-s3.json", &configured_catalog(r.catalog(), "incremental"));
        S3Pipeline {
            server,
            work: work.to_path_buf(),
            source_config,
            catalog,
            file_size_mb,
        }
    }

    fn prefix(round: usize) -> String {
        format!("out-{round}/")
    }

    /// Files s3s-fs keeps for multipart uploads not completed nor aborted.
    fn open_uploads(&self) -> Vec<String> {
        walk(self.server.dir())
            .into_iter()
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with(".upload") || n.contains(".upload-") || n.starts_with(".tmp.")
            })
            .map(|p| p.display().to_string())
            .collect()
    }
}

impl Pipeline for S3Pipeline {
    fn name(&self) -> &str {
        "s3"
    }

    fn source(&self) -> (&str, Vec<String>) {
        let args = vec![
            "read".to_string(),
            "--config".into(),
            self.source_config.display().to_string(),
            "--catalog".into(),
            self.catalog.display().to_string(),
        ];
        ("source-s3", args)
    }

    fn destination(&self, round: usize) -> (&str, Vec<String>) {
        let mut cfg = self.server.connection(BUCKET);
        cfg["path_prefix"] = json!(Self::prefix(round));
        cfg["file_format"] = json!("jsonl");
        cfg["file_size_mb"] = json!(self.file_size_mb);
        cfg["part_size_mb"] = json!(5);
        let path = write_json(&self.work, &format!("destination-s3-{round}.json"), &cfg);
        (
            "destination-s3",
            vec!["write".into(), "--config".into(), path.display().to_string()],
        )
    }

    fn finals(&self, round: usize) -> Vec<(String, Vec<u8>)> {
        let prefix = Self::prefix(round);
        self.server
            .keys(BUCKET)
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .map(|k| {
                let bytes = self.server.object(BUCKET, &k);
                (k, bytes)
            })
            .collect()
    }

    fn leftovers(&self, _round: usize) -> Vec<String> {
        self.open_uploads()
    }
}

fn seed() -> u64 {
    env_number(
        "LAKEPORT_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    )
}

#[test]
fn crash_campaign_source_file_to_destination_file() {
    let kills = env_number("LAKEPORT_CRASH_KILLS", 8) as usize;
    let files = env_number("LAKEPORT_CRASH_FILES", 30);
    let per_file = env_number("LAKEPORT_CRASH_PER_FILE", 400);
    let seed = seed();
    println!("crash campaign file: seed {seed} (LAKEPORT_CRASH_SEED={seed} replays it)");
    let work = tempfile::tempdir().expect("tempdir");
    let p = FilePipeline::new(work.path(), &source_files(files, per_file), 0.5);
    let f = campaign(&p, files * per_file, per_file, kills, seed, work.path());
    assert_campaign("source-file | destination-file", &f, kills);
}

#[test]
fn crash_campaign_source_s3_to_destination_s3() {
    let kills = env_number("LAKEPORT_CRASH_KILLS", 8) as usize;
    let files = env_number("LAKEPORT_CRASH_FILES", 30);
    let per_file = env_number("LAKEPORT_CRASH_PER_FILE", 400);
    let seed = seed();
    println!("crash campaign s3: seed {seed} (LAKEPORT_CRASH_SEED={seed} replays it)");
    let work = tempfile::tempdir().expect("tempdir");
    let file_mb = env_number("LAKEPORT_CRASH_S3_FILE_MB", 1);
    let p = S3Pipeline::new(work.path(), &source_files(files, per_file), file_mb);
    let f = campaign(&p, files * per_file, per_file, kills, seed, work.path());
    assert_campaign("source-s3 | destination-s3", &f, kills);
}

// ---------------------------------------------------------------------------
// Input cut by a killed source
// ---------------------------------------------------------------------------

fn record_line(id: u64, value: &str) -> String {
    json!({"type": "RECORD", "record": {"stream": "s", "data": {"id": id, "v": value}, "emitted_at": 1_700_000_000_000i64}})
        .to_string()
}

#[test]
fn input_cut_mid_message_is_a_clean_error_that_names_the_upstream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole: String = (0..3).map(|i| record_line(i, "ok") + "\n").collect();
    let last = record_line(3, "a\\b \"q\" é€😀");
    // Cut right after the backslash (the panic of the first campaign), inside
    // each multi-byte character, inside a number, a key and a literal.
    let backslash = last.find('\\').expect("a backslash") + 1;
    let e_acute = last.find('é').expect("é") + 1;
    let euro = last.find('€').expect("€") + 2;
    let emoji = last.find('😀').expect("emoji") + 3;
    let number = last.find("17000").expect("a number") + 3;
    let key = last.find("emitted").expect("a key") + 4;
    for (what, cut) in [
        ("after a backslash", backslash),
        ("inside é", e_acute),
        ("inside €", euro),
        ("inside 😀", emoji),
        ("inside a number", number),
        ("inside a key", key),
        ("before the last brace", last.len() - 1),
    ] {
        let base = dir.path().join(format!("out-{cut}"));
        let cfg = write_json(
            dir.path(),
            &format!("d-{cut}.json"),
            &json!({"base_path": base, "format": "jsonl"}),
        );
        let mut input = whole.clone().into_bytes();
        input.extend_from_slice(&last.as_bytes()[..cut]);
        let r = run(
            "destination-file",
            &["write", "--config", cfg.to_str().expect("utf-8")],
            Some(&input),
        );
        assert_eq!(r.status.code(), Some(1), "{what}: {r:?}");
        let e = r.errors()[0];
        assert_eq!(e["failure_type"], "system_error", "{what}: {e}");
        let message = e["message"].as_str().unwrap_or("");
        assert!(
            message.contains("ended in the middle of message line 4")
                && message.contains("stopped before finishing")
                && !message.contains("UTF-8")
                && !message.contains("Pipe a source"),
            "{what}: {message}"
        );
        // Nothing committed (no STATE came), nothing left behind.
        assert!(walk(&base).is_empty(), "{what}: {:?}", walk(&base));
    }
    // The same cut line followed by a line end is a malformed message.
    let mut input = whole.into_bytes();
    input.extend_from_slice(&last.as_bytes()[..backslash]);
    input.push(b'\n');
    let cfg = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": dir.path().join("o"), "format": "jsonl"}),
    );
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().expect("utf-8")],
        Some(&input),
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(r.errors()[0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("Input line 4 is not a valid Airbyte message"));
}

// ---------------------------------------------------------------------------
// Sources whose reader goes away
// ---------------------------------------------------------------------------

/// Waits for `child` at most `limit` (a hang is a failure, not a slow run).
fn wait_at_most(child: &mut Child, limit: Duration) -> ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("the process did not stop within {limit:?} after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `cmd` with stdout piped, reads a little of it, closes it, and
/// returns how the process ended and its stderr.
fn read_a_little_then_close(cmd: &mut Command) -> (ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the source");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 4096];
    out.read_exact(&mut first).expect("the source writes at least 4 KB");
    drop(out);
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    let _ = child.stderr.take().expect("stderr").read_to_string(&mut stderr);
    (status, stderr)
}

#[test]
fn a_source_whose_reader_goes_away_dies_of_sigpipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input");
    std::fs::create_dir_all(&input).expect("input dir");
    for (name, text) in source_files(20, 2000) {
        std::fs::write(input.join(name), text).expect("write");
    }
    let cfg = write_json(
        dir.path(),
        "s.json",
        &json!({"file_path": input, "stream_name": "rows"}),
    );
    let cfg = cfg.display().to_string();
    let (status, stderr) = read_a_little_then_close(Command::new(bin("source-file")).args(["read", "--config", &cfg]));
    assert_eq!(status.signal(), Some(13), "source-file: {status:?}\n{stderr}");
    assert!(stderr.contains("broken pipe") && !stderr.contains("panic"), "{stderr}");

    let server = S3Server::start();
    server.create_bucket(BUCKET);
    for (name, text) in source_files(20, 2000) {
        server.put_object(BUCKET, &format!("in/{name}"), text.as_bytes());
    }
    let mut s3 = server.connection(BUCKET);
    s3["path_prefix"] = json!("in/");
    s3["file_format"] = json!("jsonl");
    let s3cfg = write_json(dir.path(), "s3.json", &s3).display().to_string();
    let (status, stderr) = read_a_little_then_close(Command::new(bin("source-s3")).args(["read", "--config", &s3cfg]));
    assert_eq!(status.signal(), Some(13), "source-s3: {status:?}\n{stderr}");
    assert!(stderr.contains("broken pipe") && !stderr.contains("panic"), "{stderr}");

    // What a shell user sees: `set -o pipefail` fails the pipeline with 141.
    let script = format!(
        "set -o pipefail; '{}' read --config '{cfg}' 2>/dev/null | head -c 100 >/dev/null; echo $?",
        bin("source-file").display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "141");
}

// ---------------------------------------------------------------------------
// Stale temporaries of killed runs
// ---------------------------------------------------------------------------

/// A destination-file `write` fed through its stdin, until told to stop.
struct Writer {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    next: u64,
}

impl Writer {
    fn start(cfg: &Path) -> Writer {
        let mut child = Command::new(bin("destination-file"))
            .args(["write", "--config", cfg.to_str().expect("utf-8")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start destination-file");
        let stdin = child.stdin.take();
        Writer { child, stdin, next: 0 }
    }

    /// Writes `n` records; false when the destination stopped reading.
    fn feed(&mut self, n: u64) -> bool {
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(&record_line(self.next, &"x".repeat(200)));
            text.push('\n');
            self.next += 1;
        }
        let Some(stdin) = self.stdin.as_mut() else { return false };
        stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()).is_ok()
    }

    /// Feeds records until `ready` says so (or the destination stops).
    fn feed_until(&mut self, mut ready: impl FnMut() -> bool) {
        let until = Instant::now() + Duration::from_secs(60);
        while !ready() {
            assert!(Instant::now() < until, "the destination never got there");
            if !self.feed(500) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Closes stdin and returns the run's status and parsed stdout.
    fn finish(mut self) -> (ExitStatus, Vec<Value>, String) {
        drop(self.stdin.take());
        let out = self.child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let messages = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        (out.status, messages, stdout + &String::from_utf8_lossy(&out.stderr))
    }
}

fn temps(base: &Path) -> Vec<PathBuf> {
    walk(base).into_iter().filter(|p| is_temp(p)).collect()
}

#[test]
fn stale_temporaries_of_a_killed_destination_are_removed_on_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("out");
    let cfg = write_json(dir.path(), "d.json", &json!({"base_path": base, "format": "jsonl"}));
    // A run killed mid-write leaves its temporary.
    let mut killed = Writer::start(&cfg);
    killed.feed_until(|| !temps(&base).is_empty());
    killed.child.kill().expect("SIGKILL");
    let _ = killed.finish();
    let stale = temps(&base);
    assert_eq!(stale.len(), 1, "{stale:?}");
    // Files of the user's that look a little like ours stay.
    let user_files = [
        base.join("s").join(".s_notes.jsonl"),
        base.join("s").join("s_kept.lakeport-tmp"),
        base.join(".lakeport-tmp"),
    ];
    for f in &user_files {
        std::fs::write(f, "user data\n").expect("write a user file");
    }
    // The next run removes it on start, and says so; it keeps the user's files.
    let mut live = Writer::start(&cfg);
    live.feed_until(|| {
        let now = temps(&base);
        now.len() == 1 && !now.contains(&stale[0])
    });
    let live_temp = temps(&base);
    for f in &user_files {
        assert!(f.exists(), "{} was removed", f.display());
    }
    // A run beside it leaves the live run's temporary alone (its lock is held).
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().expect("utf-8")],
        Some((record_line(1, "beside") + "\n").as_bytes()),
    );
    r.assert_success();
    assert!(!r.logs().iter().any(|l| l.contains("Removed")), "{:?}", r.logs());
    assert_eq!(temps(&base), live_temp, "a live run's temporary was removed");
    let (status, messages, text) = live.finish();
    assert!(status.success(), "the live run was disturbed: {text}");
    let said = messages
        .iter()
        .filter_map(|m| m["log"]["message"].as_str())
        .any(|t| t.starts_with("Removed 1 temporary file(s)"));
    assert!(said, "{text}");
    assert!(temps(&base).is_empty());
}

// ---------------------------------------------------------------------------
// A full disk, an output directory that becomes unwritable
// ---------------------------------------------------------------------------

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A mount made by a test, undone when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }

    /// `dir` again over itself, read-only (files already open stay writable).
    fn read_only_over(dir: &Path) -> Option<Mount> {
        let bind = Command::new("mount").arg("--bind").arg(dir).arg(dir).status();
        if !bind.is_ok_and(|s| s.success()) {
            return None;
        }
        let m = Mount(dir.to_path_buf());
        let ro = Command::new("mount").args(["-o", "remount,bind,ro"]).arg(dir).status();
        ro.is_ok_and(|s| s.success()).then_some(m)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Every final file is whole and the echoed states cover no more records
/// than are committed.
fn nothing_half_written(base: &Path, messages: &[Value]) {
    let finals: Vec<(String, Vec<u8>)> = walk(base)
        .into_iter()
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect();
    let rows = rows_of(&finals).len() as f64;
    let covered: f64 = messages
        .iter()
        .filter(|m| m["type"] == "STATE")
        .filter_map(|m| m["state"]["destinationStats"]["recordCount"].as_f64())
        .sum();
    assert!(covered <= rows, "states cover {covered} records, {rows} are committed");
}

fn state_line(n: u64) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "s"}, "stream_state": {"upto": n}}}})
    .to_string()
}

#[test]
fn a_full_disk_is_a_clear_error_and_nothing_half_written_is_final() {
    if !is_root() {
        println!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_disk) = Mount::tmpfs(&dir.path().join("disk"), "1m") else {
        println!("skipped: this machine does not allow mounting a tmpfs");
        return;
    };
    let base = dir.path().join("disk").join("out");
    let cfg = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": base, "format": "jsonl", "file_size_mb": 0.25}),
    );
    let mut input = String::new();
    for i in 0..20_000u64 {
        input.push_str(&record_line(i, &"x".repeat(200)));
        input.push('\n');
        if i % 500 == 499 {
            input.push_str(&state_line(i));
            input.push('\n');
        }
    }
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().expect("utf-8")],
        Some(input.as_bytes()),
    );
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let e = r.errors()[0];
    let message = e["message"].as_str().unwrap_or("");
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains("free space"), "the error says what to do: {message}");
    assert!(
        !r.states().is_empty(),
        "files committed before the disk filled are kept and their states echoed"
    );
    nothing_half_written(&base, &r.messages);
    assert!(temps(&base).is_empty(), "{:?}", temps(&base));
}

#[test]
fn an_output_directory_made_unwritable_mid_write_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("out");
    let stream_dir = base.join("s");
    let cfg = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": base, "format": "jsonl", "file_size_mb": 0.25}),
    );
    let mut w = Writer::start(&cfg);
    w.feed_until(|| !temps(&base).is_empty());
    // Root ignores permissions: a read-only mount over the directory does it.
    let guard = if is_root() {
        match Mount::read_only_over(&stream_dir) {
            Some(m) => Some(m),
            None => {
                println!("skipped: this machine does not allow a read-only bind mount");
                return;
            }
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stream_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        None
    };
    w.feed(5000);
    let (status, messages, text) = w.finish();
    assert_eq!(status.code(), Some(1), "{text}");
    let e = messages
        .iter()
        .find(|m| m["type"] == "TRACE")
        .map(|m| m["trace"]["error"].clone())
        .unwrap_or_else(|| panic!("no TRACE ERROR: {text}"));
    let message = e["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&stream_dir.display().to_string())
            && (message.contains("Read-only file system") || message.contains("Permission denied")),
        "{message}"
    );
    nothing_half_written(&base, &messages);
    drop(guard);
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stream_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // Whatever temporary the failed run could not remove, the next run does.
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().expect("utf-8")],
        Some((record_line(1, "after") + "\n").as_bytes()),
    );
    r.assert_success();
    assert!(temps(&base).is_empty(), "{:?}", temps(&base));
}

// ---------------------------------------------------------------------------
// Malformed files that made a reader panic (found by fuzzing)
// ---------------------------------------------------------------------------

#[test]
fn malformed_parquet_that_made_the_reader_panic_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/format_reader");
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    for case in [
        "regress-parquet-negative-column-offset",
        "regress-parquet-dictionary-page-missing",
    ] {
        // The fuzz input's first byte picks the format; the rest is the file.
        let bytes = std::fs::read(corpus.join(case)).expect("regression file");
        let body = &bytes[1..];
        let local = dir.path().join(format!("{case}.parquet"));
        std::fs::write(&local, body).expect("write");
        let cfg = write_json(dir.path(), "f.json", &json!({"file_path": local, "stream_name": "t"}));
        let r = run("source-file", &["read", "--config", cfg.to_str().expect("utf-8")], None);
        let mut s3 = server.connection(BUCKET);
        server.put_object(BUCKET, &format!("{case}/t.parquet"), body);
        s3["path_prefix"] = json!(format!("{case}/"));
        s3["file_format"] = json!("parquet");
        let s3cfg = write_json(dir.path(), "s.json", &s3);
        let r3 = run("source-s3", &["read", "--config", s3cfg.to_str().expect("utf-8")], None);
        for (who, r) in [("source-file", r), ("source-s3", r3)] {
            assert_eq!(r.status.code(), Some(1), "{who} {case}: {}\n{}", r.stdout, r.stderr);
            assert!(!r.stderr.contains("internal error"), "{who} {case}: {}", r.stderr);
            let errors = r.errors();
            assert_eq!(errors.len(), 1, "{who} {case}: {}", r.stdout);
            let message = errors[0]["message"].as_str().unwrap_or("");
            assert!(
                message.contains("Parquet") && message.contains(".parquet"),
                "{who} {case}: {message}"
            );
        }
    }
}
