//! The Docker and Airbyte registration files, reviewed by a test: the
//! Dockerfile's labels, entrypoint, user and versions, its dependency-caching
//! layer (still a valid workspace), docker/build.sh and docker/smoke-test.sh,
//! and each connector's metadata.yaml against the crates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use lakeport_tests::{run, run_with, workspace_root, RunOpts};

const CONNECTORS: &[&str] = &[
    "source-s3",
    "destination-s3",
    "source-file",
    "destination-file",
    "source-sqlite",
];
/// The workspace version (the tests crate uses `version.workspace = true`).
const VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------
// A small Dockerfile reader: continuation lines joined, comments dropped,
// instructions grouped by stage.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Instr {
    op: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instrs: Vec<Instr>,
}

impl Stage {
    fn all(&self, op: &str) -> Vec<&str> {
        self.instrs
            .iter()
            .filter(|i| i.op == op)
            .map(|i| i.args.as_str())
            .collect()
    }
    fn one(&self, op: &str) -> &str {
        let all = self.all(op);
        assert_eq!(all.len(), 1, "stage {:?}: expected one {op}, found {all:?}", self.name);
        all[0]
    }
    fn position(&self, pred: impl Fn(&Instr) -> bool) -> Option<usize> {
        self.instrs.iter().position(pred)
    }
}

struct Dockerfile {
    /// ARGs before the first FROM.
    global_args: Vec<String>,
    stages: Vec<Stage>,
}

fn parse_dockerfile(text: &str) -> Dockerfile {
    let mut logical = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(trimmed);
            if !cur.trim().is_empty() {
                logical.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    let mut df = Dockerfile {
        global_args: vec![],
        stages: vec![],
    };
    for l in logical {
        let (op, args) = l.split_once(char::is_whitespace).unwrap_or((&l, ""));
        let instr = Instr {
            op: op.to_ascii_uppercase(),
            args: args.trim().to_string(),
        };
        if instr.op == "FROM" {
            let parts: Vec<&str> = instr.args.split_whitespace().collect();
            let name = match parts.as_slice() {
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            df.stages.push(Stage {
                from: parts[0].to_string(),
                name,
                instrs: vec![],
            });
        } else if let Some(stage) = df.stages.last_mut() {
            stage.instrs.push(instr);
        } else {
            assert_eq!(instr.op, "ARG", "only ARG may come before the first FROM: {instr:?}");
            df.global_args.push(instr.args);
        }
    }
    df
}

fn dockerfile() -> Dockerfile {
    parse_dockerfile(&std::fs::read_to_string(workspace_root().join("docker/Dockerfile")).expect("docker/Dockerfile"))
}

/// `key="value" key2=value2` pairs (LABEL, ENV).
fn key_values(args: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap_or_else(|| panic!("not key=value: {rest}"));
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').expect("closing quote");
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.insert(key.trim().to_string(), value);
        rest = tail.trim_start();
    }
    out
}

/// The exec-form JSON array of ENTRYPOINT / CMD.
fn exec_form(args: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(args).unwrap_or_else(|e| panic!("not exec form ({e}): {args}"));
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

/// The `[workspace] members` of Cargo.toml.
fn workspace_members() -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let start = text.find("members = [").expect("members") + "members = [".len();
    let end = start + text[start..].find(']').unwrap();
    text[start..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn runtime_stage_has_airbyte_labels_entrypoint_and_a_non_root_user() {
    let df = dockerfile();
    assert!(df.stages.len() >= 2, "multi-stage build expected");
    let runtime = df.stages.last().unwrap();
    assert_eq!(runtime.from, "debian:bookworm-slim");

    // ARGs: CONNECTOR, and VERSION defaulting to the workspace version.
    let args = runtime.all("ARG");
    assert!(args.contains(&"CONNECTOR"), "{args:?}");
    let version_default = args
        .iter()
        .find_map(|a| a.strip_prefix("VERSION="))
        .unwrap_or_else(|| panic!("runtime stage needs `ARG VERSION={VERSION}`: {args:?}"));
    assert_eq!(
        version_default, VERSION,
        "ARG VERSION default must follow the workspace version"
    );

    // Labels.
    let labels: BTreeMap<String, String> = runtime.all("LABEL").into_iter().flat_map(key_values).collect();
    assert_eq!(
        labels.get("io.airbyte.name").map(String::as_str),
        Some("lakeport/${CONNECTOR}"),
        "{labels:?}"
    );
    assert_eq!(
        labels.get("io.airbyte.version").map(String::as_str),
        Some("${VERSION}"),
        "{labels:?}"
    );

    // ENTRYPOINT == AIRBYTE_ENTRYPOINT, and it is what the binary is installed as.
    let entrypoint = exec_form(runtime.one("ENTRYPOINT"));
    let env: BTreeMap<String, String> = runtime.all("ENV").into_iter().flat_map(key_values).collect();
    let airbyte_entrypoint = env.get("AIRBYTE_ENTRYPOINT").expect("ENV AIRBYTE_ENTRYPOINT");
    assert_eq!(
        &entrypoint.join(" "),
        airbyte_entrypoint,
        "ENTRYPOINT and AIRBYTE_ENTRYPOINT differ"
    );
    assert!(
        !airbyte_entrypoint.contains('$'),
        "exec-form ENTRYPOINT cannot expand variables: {airbyte_entrypoint}"
    );
    let ep = &entrypoint[0];
    assert!(ep.starts_with('/'), "absolute entrypoint expected: {ep}");
    let copy = runtime
        .all("COPY")
        .into_iter()
        .find(|c| c.starts_with("--from=builder"))
        .expect("COPY --from=builder of the binary");
    let installed_as = copy.split_whitespace().last().unwrap();
    assert!(
        installed_as == ep
            || runtime
                .all("RUN")
                .iter()
                .any(|r| r.contains("ln -s") && r.contains(ep.as_str())),
        "the entrypoint {ep} is neither the copied binary ({installed_as}) nor a link to it"
    );
    assert!(
        installed_as.ends_with("${CONNECTOR}"),
        "the binary keeps its name: {installed_as}"
    );

    // Non-root user, created in the image, set after the last RUN.
    let user = runtime.one("USER");
    let user_name = user.split(':').next().unwrap();
    assert!(!matches!(user_name, "" | "root" | "0"), "USER must not be root: {user}");
    let user_pos = runtime.position(|i| i.op == "USER").unwrap();
    assert!(
        runtime.instrs[..user_pos]
            .iter()
            .any(|i| i.op == "RUN" && i.args.contains("useradd") && i.args.contains(user_name)),
        "the user {user_name} is created with useradd before USER"
    );

    // CA certificates for HTTPS to S3.
    assert!(
        runtime
            .all("RUN")
            .iter()
            .any(|r| r.contains("install") && r.contains("ca-certificates")),
        "runtime stage installs ca-certificates"
    );

    // The working directory is absolute and owned by that user (config files
    // are mounted there and passed with relative paths).
    let workdir = runtime.one("WORKDIR");
    assert!(workdir.starts_with('/'), "{workdir}");
    assert!(
        runtime
            .all("RUN")
            .iter()
            .any(|r| r.contains("chown") && r.contains(workdir)),
        "WORKDIR {workdir} is created and chowned for the non-root user"
    );
}

#[test]
fn builder_stage_caches_dependencies_and_builds_the_chosen_connector() {
    let df = dockerfile();
    let builder = df
        .stages
        .iter()
        .find(|s| s.name.as_deref() == Some("builder"))
        .expect("a stage named builder");
    assert!(builder.from.starts_with("rust:"), "{}", builder.from);
    let rust_arg = df.global_args.iter().find_map(|a| a.strip_prefix("RUST_VERSION="));
    if builder.from.contains("${RUST_VERSION}") {
        let v = rust_arg.expect("ARG RUST_VERSION=<x.y> before FROM");
        let min: Vec<u32> = env!("CARGO_PKG_RUST_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        let got: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(
            got >= min,
            "builder Rust {v} is older than rust-version {}",
            env!("CARGO_PKG_RUST_VERSION")
        );
    }
    assert!(builder.all("ARG").contains(&"CONNECTOR"));

    // Manifests first, then a build of placeholders, then the sources.
    let copies = builder.all("COPY");
    let copy_all = builder
        .position(|i| i.op == "COPY" && i.args.trim() == ". .")
        .expect("COPY . . of the sources");
    let copied_manifests: BTreeSet<String> = builder.instrs[..copy_all]
        .iter()
        .filter(|i| i.op == "COPY")
        .flat_map(|i| i.args.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(copied_manifests.contains("Cargo.lock"), "{copies:?}");
    for m in workspace_members() {
        assert!(
            copied_manifests.contains(&format!("{m}/Cargo.toml")),
            "workspace member {m} is missing from the Dockerfile's manifest layer (add `COPY {m}/Cargo.toml {m}/Cargo.toml`)"
        );
    }
    let runs: Vec<(usize, &Instr)> = builder
        .instrs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.op == "RUN")
        .collect();
    let dep_build = runs
        .iter()
        .find(|(p, i)| *p < copy_all && i.args.contains("cargo build"))
        .expect("a cargo build before COPY . . (the dependency layer)");
    let real_build = runs
        .iter()
        .find(|(p, i)| *p > copy_all && i.args.contains("cargo build"))
        .expect("a cargo build after COPY . .");
    for (_, r) in [dep_build, real_build] {
        assert!(
            r.args.contains("--release") && r.args.contains("--locked"),
            "{}",
            r.args
        );
        assert!(r.args.contains("-p \"$CONNECTOR\""), "{}", r.args);
    }
    assert!(
        real_build.1.args.contains("touch"),
        "real sources must be touched newer than the placeholders"
    );
}

/// The dependency layer's placeholder tree must stay a valid workspace that
/// matches Cargo.lock (`--locked`): recreate it from the Dockerfile's own
/// script and ask cargo.
#[test]
fn dependency_layer_placeholders_form_a_valid_locked_workspace() {
    let df = dockerfile();
    let builder = df.stages.iter().find(|s| s.name.as_deref() == Some("builder")).unwrap();
    let script = builder
        .all("RUN")
        .into_iter()
        .find(|r| r.contains("for manifest in"))
        .expect("the placeholder loop");
    let start = script.find("for manifest in").unwrap();
    let end = start + script[start..].find("done;").expect("done;") + "done;".len();
    let loop_sh = &script[start..end];

    let dir = tempfile::tempdir().unwrap();
    let root = workspace_root();
    for f in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(root.join(f), dir.path().join(f)).unwrap();
    }
    for m in workspace_members() {
        std::fs::create_dir_all(dir.path().join(&m)).unwrap();
        std::fs::copy(root.join(&m).join("Cargo.toml"), dir.path().join(&m).join("Cargo.toml")).unwrap();
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("set -eu; {loop_sh}"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.path().join("source-sqlite/src/lib.rs").exists() && dir.path().join("source-sqlite/src/main.rs").exists()
    );
    assert!(dir.path().join("source-file/src/main.rs").exists() && !dir.path().join("source-file/src/lib.rs").exists());
    assert!(dir.path().join("protocol/src/lib.rs").exists());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--filter-platform",
        ])
        .arg(host_triple())
        .current_dir(dir.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the placeholder workspace does not resolve with --locked:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("host triple")
}

#[test]
fn build_script_uses_the_workspace_version_and_builds_all_five() {
    let root = workspace_root();
    let out = Command::new("bash")
        .arg(root.join("docker/build.sh"))
        .arg("--print-version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), VERSION);
    let text = std::fs::read_to_string(root.join("docker/build.sh")).unwrap();
    for c in CONNECTORS {
        assert!(text.contains(c), "build.sh does not build {c}");
    }
    assert!(text.contains("--build-arg \"VERSION=$VERSION\"") && text.contains("--build-arg \"CONNECTOR=$c\""));
    // An unknown connector is refused before Docker is touched.
    let out = Command::new("bash")
        .arg(root.join("docker/build.sh"))
        .arg("source-nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn dockerignore_keeps_the_context_small_but_complete() {
    let text = std::fs::read_to_string(workspace_root().join(".dockerignore")).expect(".dockerignore");
    let rules: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(rules.iter().any(|r| r.trim_end_matches('/') == "target"), "{rules:?}");
    assert!(rules.iter().any(|r| r.trim_end_matches('/') == ".git"), "{rules:?}");
    for m in workspace_members() {
        for needed in [m.to_string(), format!("{m}/src"), format!("{m}/Cargo.toml")] {
            assert!(
                !rules.iter().any(|r| r.trim_end_matches('/') == needed),
                ".dockerignore excludes {needed}, which the build needs"
            );
        }
    }
    assert!(!rules
        .iter()
        .any(|r| matches!(*r, "Cargo.toml" | "Cargo.lock" | "*.toml" | "*.rs" | "**/*.rs")));
}

/// Without a Docker engine, the smoke test says so and passes without
/// pretending; with one, it is run on demand (`LAKEPORT_DOCKER_SMOKE=1`), as
/// it builds five release images.
#[test]
fn smoke_test_reports_a_missing_engine_honestly() {
    let root = workspace_root();
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if engine && std::env::var_os("LAKEPORT_DOCKER_SMOKE").is_none() {
        eprintln!("a Docker engine is present: set LAKEPORT_DOCKER_SMOKE=1 to build and smoke-test the images");
        return;
    }
    let out = Command::new("bash")
        .arg(root.join("docker/smoke-test.sh"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    if engine {
        assert!(stdout.contains("image(s) passed"), "{stdout}");
    } else {
        assert!(
            stdout.contains("SKIPPED") && stdout.contains("no image was built or run"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("passed"),
            "must not claim success without an engine: {stdout}"
        );
    }
}

/// docker/Dockerfile.prebuilt (host-built binaries on the debootstrap base,
/// as scripts/images.sh builds them) gives images with the same labels,
/// entrypoint, command, user and working directory as the multi-stage
/// docker/Dockerfile, and both users are uid 1000.
#[test]
fn prebuilt_dockerfile_matches_the_multi_stage_runtime() {
    let root = workspace_root();
    let multi = dockerfile();
    let runtime = multi.stages.last().unwrap();
    let pre = parse_dockerfile(
        &std::fs::read_to_string(root.join("docker/Dockerfile.prebuilt")).expect("docker/Dockerfile.prebuilt"),
    );
    assert_eq!(pre.stages.len(), 1, "one stage: no build inside the image");
    let stage = &pre.stages[0];
    assert_eq!(stage.from, "${BASE}");
    assert!(
        pre.global_args.iter().any(|a| a.starts_with("BASE=lakeport/base:")),
        "{:?}",
        pre.global_args
    );
    let labels = |s: &Stage| -> BTreeMap<String, String> { s.all("LABEL").into_iter().flat_map(key_values).collect() };
    let env = |s: &Stage| -> BTreeMap<String, String> { s.all("ENV").into_iter().flat_map(key_values).collect() };
    assert_eq!(labels(stage), labels(runtime));
    assert_eq!(env(stage), env(runtime));
    for op in ["ENTRYPOINT", "CMD", "USER", "WORKDIR"] {
        assert_eq!(stage.one(op), runtime.one(op), "{op}");
    }
    let mut args = stage.all("ARG");
    let mut runtime_args = runtime.all("ARG");
    args.sort();
    runtime_args.sort();
    assert_eq!(args, runtime_args, "CONNECTOR and VERSION (defaulting to {VERSION})");
    assert!(
        stage.all("RUN").is_empty(),
        "no RUN: the build needs no container runtime"
    );
    assert_eq!(stage.all("COPY"), ["usr/local/bin/ /usr/local/bin/"]);

    // The same non-root user in both: uid and gid 1000.
    assert!(
        runtime
            .all("RUN")
            .iter()
            .any(|r| r.contains("--uid 1000") && r.contains("--gid 1000")),
        "the multi-stage image's airbyte user is 1000:1000"
    );
    let images_sh = std::fs::read_to_string(root.join("scripts/images.sh")).expect("scripts/images.sh");
    assert!(
        images_sh.contains("airbyte:x:1000:1000:"),
        "the base's airbyte user is 1000:1000"
    );
    assert!(images_sh.contains("ln -s \"$c\" \"$ctx/usr/local/bin/lakeport-connector\""));
}

// ---------------------------------------------------------------------------
// metadata.yaml
// ---------------------------------------------------------------------------

/// The `data:` mapping of an Airbyte metadata.yaml: scalar keys directly under
/// `data:` and their lists (`- item`); nested mappings are kept as "<nested>".
fn metadata_data(path: &Path) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>, String) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut scalars = BTreeMap::new();
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_data = false;
    let mut last_key = String::new();
    let mut spec_version = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 {
            in_data = t == "data:";
            if let Some(v) = t.strip_prefix("metadataSpecVersion:") {
                spec_version = unquote(v);
            }
            continue;
        }
        if !in_data {
            continue;
        }
        if indent == 2 {
            let (k, v) = t
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: bad line {line}", path.display()));
            last_key = k.trim().to_string();
            let v = v.trim();
            scalars.insert(
                last_key.clone(),
                if v.is_empty() { "<nested>".into() } else { unquote(v) },
            );
        } else if indent == 4 {
            if let Some(item) = t.strip_prefix("- ") {
                lists.entry(last_key.clone()).or_default().push(unquote(item));
            }
        }
    }
    (scalars, lists, spec_version)
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').trim_matches('\'').to_string()
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

#[test]
fn every_connector_has_airbyte_metadata_matching_its_crate() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut ids = BTreeSet::new();
    for c in CONNECTORS {
        let path: PathBuf = root.join(c).join("metadata.yaml");
        let (data, lists, spec_version) = metadata_data(&path);
        let get = |k: &str| {
            data.get(k)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("{}: data.{k} missing", path.display()))
        };
        assert_eq!(spec_version, "1.0", "{c}: metadataSpecVersion");
        assert_eq!(get("dockerRepository"), format!("lakeport/{c}"));
        assert_eq!(
            get("dockerImageTag"),
            VERSION,
            "{c}: dockerImageTag must be the crate version"
        );
        let expected_type = if c.starts_with("source-") {
            "source"
        } else {
            "destination"
        };
        assert_eq!(get("connectorType"), expected_type, "{c}");
        let expected_subtype = if *c == "source-sqlite" { "database" } else { "file" };
        assert_eq!(get("connectorSubtype"), expected_subtype, "{c}");
        let id = get("definitionId");
        assert!(is_uuid(id), "{c}: definitionId {id} is not a lowercase UUID");
        assert!(ids.insert(id.to_string()), "{c}: definitionId {id} is used twice");
        assert_eq!(get("releaseStage"), "alpha");
        assert_eq!(get("supportLevel"), "community");
        assert_eq!(get("license"), "Apache-2.0");
        assert!(!get("name").is_empty());
        let doc = get("documentationUrl");
        assert!(doc.starts_with("https://"), "{doc}");
        if let Some((_, anchor)) = doc.split_once('#') {
            assert!(
                readme.contains(&format!("### {anchor}\n")),
                "{c}: README has no section for #{anchor}"
            );
        }
        assert!(
            lists
                .get("tags")
                .is_some_and(|t| t.iter().any(|t| t == "language:rust")),
            "{c}: tags"
        );

        // The crate takes the workspace version and the binary reports it.
        let manifest = std::fs::read_to_string(root.join(c).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("version.workspace = true"),
            "{c}: version.workspace = true"
        );
        let v = run_with(
            c,
            &["--version"],
            RunOpts {
                raw_stdout: true,
                ..Default::default()
            },
        );
        v.assert_success();
        assert_eq!(v.stdout.trim(), format!("{c} {VERSION}"));

        // The type agrees with what the binary says it is.
        let spec = run(c, &["spec"], None);
        spec.assert_success();
        let spec_msg = &spec.of_type("SPEC")[0]["spec"];
        let has_dest_modes = spec_msg.get("supported_destination_sync_modes").is_some();
        assert_eq!(
            has_dest_modes,
            expected_type == "destination",
            "{c}: spec vs connectorType {expected_type}"
        );
    }
}
