//! The connector runtime: arguments → config (migrated to native names and
//! validated against the spec) → the connector's method → messages, errors as
//! one TRACE ERROR, and the process exit code.
//!
//! A connector implements [`Connector`] plus [`Source`] or [`Destination`] and
//! calls [`run_source`] or [`run_destination`] from `main`. One tokio runtime
//! serves the whole process.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::catalog::{AirbyteCatalog, ConfiguredAirbyteCatalog};
use crate::cli::{self, Flavour, Invocation, Role};
use crate::config::{read_json_file, read_text_file, validate_config_named};
use crate::emit::Emitter;
use crate::error::ConnectorError;
use crate::message::{AirbyteMessage, ConnectionStatus, ConnectorSpecification, ControlMessage, TraceMessage};
use crate::progress::{CountingInput, Task};
use crate::read_ahead::ReadAhead;
use crate::secrets::Secrets;
use crate::state::InputState;

/// A config after flavour detection and mapping to native names.
#[derive(Debug, Clone, PartialEq)]
pub struct MigratedConfig {
    /// The native config.
    pub config: Value,
    /// The flavour it was written in.
    pub flavour: Flavour,
    /// Which key of the user's config each renamed native key was read from:
    /// pairs of (native key, key as written), both as paths from their
    /// config's root (`streams[0].csv_delimiter`, `streams[0].format.delimiter`),
    /// so a validation error names the key as the user wrote it, e.g.
    /// "field 'file_type' (native 'file_format')". Key names only, never values.
    pub key_names: Vec<(String, String)>,
}

impl MigratedConfig {
    /// A migrated config whose keys kept their names.
    pub fn new(config: Value, flavour: Flavour) -> Self {
        MigratedConfig {
            config,
            flavour,
            key_names: Vec::new(),
        }
    }
}

/// What `import-config` prints: the migrated config, plus the rows of the
/// table printed on stderr (source key as written → native key, or
/// `dropped: why`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedConfig {
    /// The migrated config.
    pub migrated: MigratedConfig,
    /// Source key → native key (or `dropped: why`); never a value.
    pub table: Vec<(String, String)>,
}

/// The `import-config` table as text: one row per source key, aligned.
pub fn key_table_text(rows: &[(String, String)]) -> String {
    let head = ("source key", "native key");
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .chain(std::iter::once(head.0.len()))
        .max()
        .unwrap_or(0);
    let mut text = format!("{:<width$}  {}\n", head.0, head.1);
    text.push_str(&format!("{:-<width$}  {:-<10}\n", "", ""));
    for (k, v) in rows {
        text.push_str(&format!("{k:<width$}  {v}\n"));
    }
    text
}

/// What every connector has: a name, a version, a spec, and a way to map
/// configs of other flavours to its native one.
pub trait Connector {
    /// The binary's name, e.g. `source-s3`.
    const NAME: &'static str;
    /// The connector's version.
    const VERSION: &'static str;

    /// The connector's specification.
    fn spec(&self) -> ConnectorSpecification;

    /// Maps a config in any flavour (`from`, or detected when `Auto`) to the
    /// native config. WARN logs (legacy names used, options dropped) go to
    /// `out`. The default accepts native configs only.
    fn migrate_config(&self, raw: Value, from: Flavour, _out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        match from {
            Flavour::Auto | Flavour::Native => Ok(MigratedConfig::new(raw, Flavour::Native)),
            other => Err(ConnectorError::config(format!(
                "{} does not read {} configs; write the config with its native keys (see `{} spec`).",
                Self::NAME,
                other.name(),
                Self::NAME
            ))),
        }
    }

    /// Maps a config for `import-config`: the migrated config plus the table
    /// of source key → native key printed on stderr. The default calls
    /// [`Connector::migrate_config`] and derives a table from the top-level
    /// keys (kept, or renamed/dropped as the WARNs said).
    fn import_mapping(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<ImportedConfig, ConnectorError> {
        let keys: Vec<String> = raw.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let migrated = self.migrate_config(raw, from, out)?;
        let table = keys
            .into_iter()
            .map(|k| {
                let target = if migrated.config.get(&k).is_some() {
                    k.clone()
                } else {
                    "renamed or dropped (see the WARN lines)".to_string()
                };
                (k, target)
            })
            .collect();
        Ok(ImportedConfig { migrated, table })
    }
}

/// A source connector.
#[allow(async_fn_in_trait)]
pub trait Source: Connector {
    /// The typed native config.
    type Config: DeserializeOwned;
    /// Whether the `estimate` command is offered.
    const SUPPORTS_ESTIMATE: bool = false;

    /// Checks that the config works.
    async fn check(&self, config: &Self::Config, out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError>;

    /// Describes the streams.
    async fn discover(&self, config: &Self::Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError>;

    /// Reads the catalog's streams, writing records and states to `out`.
    async fn read(
        &self,
        config: &Self::Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError>;

    /// Prices a read without reading (no object is downloaded). An empty
    /// catalog means every stream of the config, read in full.
    async fn estimate(
        &self,
        _config: &Self::Config,
        _catalog: &ConfiguredAirbyteCatalog,
        _state: &InputState,
        _out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::config(format!(
            "{} has no estimate command.",
            Self::NAME
        )))
    }
}

/// A destination connector.
#[allow(async_fn_in_trait)]
pub trait Destination: Connector {
    /// The typed native config.
    type Config: DeserializeOwned;

    /// Checks that the config works.
    async fn check(&self, config: &Self::Config, out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError>;

    /// Writes the messages of `input`; echoes each STATE once every record
    /// before it is durable. Without a catalog every stream is appended.
    async fn write(
        &self,
        config: &Self::Config,
        catalog: Option<&ConfiguredAirbyteCatalog>,
        input: &mut (dyn BufRead + Send),
        out: &mut Emitter,
    ) -> Result<(), ConnectorError>;
}

/// Runs a source with this process's arguments; returns the exit code.
pub fn run_source<S: Source>(source: S) -> ExitCode {
    let role = Role::Source {
        estimate: S::SUPPORTS_ESTIMATE,
    };
    run(S::NAME, S::VERSION, role, |inv, out| {
        let rt = runtime()?;
        rt.block_on(source_command(&source, inv, out))
    })
}

/// Runs a destination with this process's arguments; returns the exit code.
pub fn run_destination<D: Destination>(destination: D) -> ExitCode {
    run(D::NAME, D::VERSION, Role::Destination, |inv, out| {
        let rt = runtime()?;
        // A cancelled sync discards its unfinished files and uploads.
        rt.block_on(async { crate::stop::stop_on_signals(&tokio::runtime::Handle::current()) });
        rt.block_on(destination_command(&destination, inv, out))
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ConnectorError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ConnectorError::system(format!("Could not start the async runtime: {e}")))
}

fn run(
    name: &'static str,
    version: &'static str,
    role: Role,
    body: impl FnOnce(Invocation, &mut Emitter) -> Result<(), ConnectorError>,
) -> ExitCode {
    install_panic_hook();
    let invocation = match cli::parse(name, version, role, std::env::args_os()) {
        Ok(inv) => inv,
        Err(e) => {
            // --help / --version print to stdout and succeed; usage errors go to stderr.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::pipe::widen_pipes();
    let mut out = Emitter::stdout();
    let result = body(invocation, &mut out);
    if let Some(terminal) = out.terminal() {
        // A progress line a failure cut short ends before the error is printed.
        terminal.stop();
    }
    let flushed = out.flush();
    match result {
        Ok(()) => match flushed {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => crate::pipe::exit_on_broken_pipe(name),
            Err(e) => {
                eprintln!("{name}: could not write to stdout: {e}");
                ExitCode::FAILURE
            }
            Ok(()) => ExitCode::SUCCESS,
        },
        Err(e) if e.is_broken_pipe() => crate::pipe::exit_on_broken_pipe(name),
        Err(e) => {
            let masked = out.secrets().mask(&e.message).into_owned();
            eprintln!("{name}: {masked}");
            let _ = out.trace(TraceMessage::error(e.to_trace()));
            let _ = out.flush();
            ExitCode::FAILURE
        }
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if crate::panics::is_catching() {
            // A reader's panic on malformed input, handled as an error.
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let err = ConnectorError::system(
            "The connector hit an internal error it did not expect. Please report it with the internal message.",
        )
        .with_internal(format!("panic{place}: {what}"));
        let line = serde_json::to_string(&AirbyteMessage::Trace {
            trace: TraceMessage::error(err.to_trace()),
        })
        .unwrap_or_default();
        println!("{line}");
        eprintln!("internal error{place}: {what}");
    }));
}

/// Loads a config file, maps it to native names, validates it against the
/// spec (an error names each offending key as the user wrote it, when the
/// mapping renamed it), registers its secrets with `out`, and deserialises
/// it.
pub fn load_config<C: Connector, T: DeserializeOwned>(
    connector: &C,
    path: &Path,
    out: &mut Emitter,
    announce_migration: bool,
) -> Result<T, ConnectorError> {
    let raw = read_json_file(path, "config")?;
    let spec = connector.spec();
    let schema = &spec.connection_specification;
    let mut secrets = Secrets::from_spec_and_config(schema, &raw);
    out.set_secrets(secrets.clone());
    let migrated = connector.migrate_config(raw, Flavour::Auto, out)?;
    secrets.extend(&Secrets::from_spec_and_config(schema, &migrated.config));
    out.set_secrets(secrets);
    validate_config_named(schema, &migrated.config, &migrated.key_names)?;
    if announce_migration && migrated.flavour != Flavour::Native {
        if Secrets::from_spec_and_config(schema, &migrated.config).is_empty() {
            out.emit(&AirbyteMessage::Control {
                control: ControlMessage::connector_config(migrated.config.clone()),
            })?;
        } else {
            // A CONTROL message would have to carry the secrets (masked, it
            // would overwrite them wherever the platform stores it).
            out.warn(format!(
                "This {} config was read as a native one. It holds secrets, so it is not sent back as a CONTROL message; run `{} import-config FILE` to convert the file once.",
                migrated.flavour.name(),
                C::NAME
            ))?;
        }
    }
    serde_json::from_value(migrated.config).map_err(|e| {
        ConnectorError::config(format!(
            "The config is invalid: {e}. Fix the field and run again (run `spec` to see every field)."
        ))
    })
}

fn load_catalog(path: &Path) -> Result<ConfiguredAirbyteCatalog, ConnectorError> {
    let value = read_json_file(path, "catalog")?;
    serde_json::from_value(value).map_err(|e| {
        ConnectorError::config(format!(
            "The catalog file '{}' is not a configured catalog: {e}. Pass the configured catalog Airbyte writes (with \"streams\": [{{\"stream\": …, \"sync_mode\": …}}]).",
            path.display()
        ))
    })
}

fn load_state(path: &Path) -> Result<InputState, ConnectorError> {
    let text = read_text_file(path, "state")?;
    InputState::parse(&text).map_err(|e| {
        ConnectorError::config(format!(
            "The state file '{}' cannot be used: {e}. Pass the STATE messages of an earlier run, or remove --state to start over.",
            path.display()
        ))
    })
}

fn emit_spec<C: Connector>(c: &C, out: &mut Emitter) -> Result<(), ConnectorError> {
    out.emit(&AirbyteMessage::Spec { spec: c.spec() })?;
    Ok(())
}

fn emit_status(status: ConnectionStatus, out: &mut Emitter) -> Result<(), ConnectorError> {
    out.emit(&AirbyteMessage::ConnectionStatus {
        connection_status: status,
    })?;
    Ok(())
}

fn import_config<C: Connector>(c: &C, from: Flavour, file: &Path, out: &mut Emitter) -> Result<(), ConnectorError> {
    let raw = read_json_file(file, "config")?;
    // Warnings about the mapping (renamed keys, options with no equivalent)
    // go to stderr as text, secrets masked: stdout carries the config.
    let mut warnings = Emitter::logs_to_stderr_only();
    warnings.set_secrets(Secrets::from_spec_and_config(&c.spec().connection_specification, &raw));
    let imported = c.import_mapping(raw, from, &mut warnings)?;
    eprintln!(
        "{}: read as a {} config\n{}",
        C::NAME,
        imported.migrated.flavour.name(),
        key_table_text(&imported.table)
    );
    let text =
        serde_json::to_string_pretty(&imported.migrated.config).map_err(|e| ConnectorError::system(e.to_string()))?;
    out.record_lines(format!("{text}\n").as_bytes(), 0)?;
    Ok(())
}

async fn source_command<S: Source>(s: &S, inv: Invocation, out: &mut Emitter) -> Result<(), ConnectorError> {
    match inv {
        Invocation::Spec => emit_spec(s, out),
        Invocation::Check { config } => {
            let status = match load_config::<S, S::Config>(s, &config, out, true) {
                Ok(cfg) => match s.check(&cfg, out).await {
                    Ok(status) => status,
                    Err(e) if e.is_broken_pipe() => return Err(e),
                    Err(e) => ConnectionStatus::failed(e.message),
                },
                Err(e) => ConnectionStatus::failed(e.message),
            };
            emit_status(status, out)
        }
        Invocation::Discover { config } => {
            let cfg: S::Config = load_config(s, &config, out, false)?;
            let catalog = s.discover(&cfg, out).await?;
            out.emit(&AirbyteMessage::Catalog { catalog })?;
            Ok(())
        }
        Invocation::Read { config, catalog, state } => {
            let (cfg, catalog, state) = read_inputs(s, &config, catalog.as_deref(), state.as_deref(), out).await?;
            s.read(&cfg, &catalog, &state, out).await
        }
        Invocation::Estimate { config, catalog, state } => {
            // No discovery here: it would download samples, and an estimate
            // fetches nothing. Without --catalog the catalog is empty, which
            // `estimate` takes as "every stream of the config, full refresh".
            let cfg: S::Config = load_config(s, &config, out, false)?;
            let state = match state.as_deref() {
                Some(p) => load_state(p)?,
                None => InputState::default(),
            };
            let catalog = match catalog.as_deref() {
                Some(p) => load_catalog(p)?,
                None => ConfiguredAirbyteCatalog::default(),
            };
            s.estimate(&cfg, &catalog, &state, out).await
        }
        Invocation::Write { .. } => Err(ConnectorError::config(format!(
            "{} is a source: it has no write command.",
            S::NAME
        ))),
        Invocation::ImportConfig { from, file } => import_config(s, from, &file, out),
    }
}

async fn read_inputs<S: Source>(
    s: &S,
    config: &Path,
    catalog: Option<&Path>,
    state: Option<&Path>,
    out: &mut Emitter,
) -> Result<(S::Config, ConfiguredAirbyteCatalog, InputState), ConnectorError> {
    let cfg: S::Config = load_config(s, config, out, true)?;
    let state = match state {
        Some(p) => load_state(p)?,
        None => InputState::default(),
    };
    let catalog = match catalog {
        Some(p) => load_catalog(p)?,
        None => ConfiguredAirbyteCatalog::full_refresh_of(s.discover(&cfg, out).await?),
    };
    Ok((cfg, catalog, state))
}

async fn destination_command<D: Destination>(d: &D, inv: Invocation, out: &mut Emitter) -> Result<(), ConnectorError> {
    match inv {
        Invocation::Spec => emit_spec(d, out),
        Invocation::Check { config } => {
            let status = match load_config::<D, D::Config>(d, &config, out, true) {
                Ok(cfg) => match d.check(&cfg, out).await {
                    Ok(status) => status,
                    Err(e) if e.is_broken_pipe() => return Err(e),
                    Err(e) => ConnectionStatus::failed(e.message),
                },
                Err(e) => ConnectionStatus::failed(e.message),
            };
            emit_status(status, out)
        }
        Invocation::Write { config, catalog } => {
            let cfg: D::Config = load_config(d, &config, out, false)?;
            let catalog = catalog.as_deref().map(load_catalog).transpose()?;
            let Some(terminal) = out.terminal().cloned() else {
                let mut input = read_ahead(std::io::stdin())?;
                return d.write(&cfg, catalog.as_ref(), &mut input, out).await;
            };
            // A person at a shell: the input counted into a progress line.
            terminal.start(Task {
                label: "write".into(),
                files_word: "files committed",
                records_word: "messages",
                files_total: None,
                bytes_total: stdin_file_size(),
                records_total: None,
            });
            let counted = CountingInput::new(std::io::stdin(), terminal.clone());
            let mut input = read_ahead(counted)?;
            let result = d.write(&cfg, catalog.as_ref(), &mut input, out).await;
            if result.is_ok() {
                terminal.finish();
            }
            result
        }
        Invocation::ImportConfig { from, file } => import_config(d, from, &file, out),
        Invocation::Discover { .. } | Invocation::Read { .. } | Invocation::Estimate { .. } => {
            Err(ConnectorError::config(format!(
                "{} is a destination: it has only spec, check, write and import-config.",
                D::NAME
            )))
        }
    }
}

/// `input` read ahead on a thread of its own (see [`ReadAhead`]).
fn read_ahead<R: std::io::Read + Send + 'static>(input: R) -> Result<ReadAhead, ConnectorError> {
    ReadAhead::spawn(input).map_err(|e| ConnectorError::system(format!("Could not start the input reader thread: {e}")))
}

/// The size of stdin when it is a regular file (`write … < messages.jsonl`):
/// the progress line's total.
fn stdin_file_size() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        let meta = std::fs::File::from(fd).metadata().ok()?;
        meta.is_file().then_some(meta.len())
    }
    #[cfg(not(unix))]
    {
        None
    }
}
