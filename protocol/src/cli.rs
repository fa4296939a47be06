//! The command line every connector shares (CONTRACT §2).
//!
//! ```text
//! <connector> spec
//! <connector> check    --config FILE
//! <connector> discover --config FILE                                  # sources
//! <connector> read     --config FILE [--catalog FILE] [--state FILE]  # sources
//! <connector> estimate --config FILE [--catalog FILE] [--state FILE]  # sources that price runs
//! <connector> write    --config FILE [--catalog FILE]  < messages     # destinations
//! <connector> import-config [--from auto|native|legacy|airbyte|fivetran] FILE
//! <connector> --version
//! ```

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

/// The flavour a config is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Detect it from the keys.
    Auto,
    /// Lakeport's own names.
    Native,
    /// The names of the seed documents (`prefix`, `format`, `aws_access_key_id`, …).
    Legacy,
    /// An Airbyte connector's config.
    Airbyte,
    /// A Fivetran connector's config.
    Fivetran,
}

impl Flavour {
    /// The flavour's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Auto => "auto",
            Flavour::Native => "native",
            Flavour::Legacy => "legacy",
            Flavour::Airbyte => "airbyte",
            Flavour::Fivetran => "fivetran",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Flavour::Auto,
            "native" => Flavour::Native,
            "legacy" => Flavour::Legacy,
            "airbyte" => Flavour::Airbyte,
            "fivetran" => Flavour::Fivetran,
            _ => return None,
        })
    }
}

/// Whether the binary is a source or a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A source; `estimate` says whether it has the `estimate` command.
    Source {
        /// Whether `estimate` is offered.
        estimate: bool,
    },
    /// A destination.
    Destination,
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Print the spec.
    Spec,
    /// Check a config.
    Check {
        /// The config file.
        config: PathBuf,
    },
    /// Discover the catalog.
    Discover {
        /// The config file.
        config: PathBuf,
    },
    /// Read records.
    Read {
        /// The config file.
        config: PathBuf,
        /// The configured catalog file.
        catalog: Option<PathBuf>,
        /// The state file.
        state: Option<PathBuf>,
    },
    /// Price a read without reading.
    Estimate {
        /// The config file.
        config: PathBuf,
        /// The configured catalog file.
        catalog: Option<PathBuf>,
        /// The state file.
        state: Option<PathBuf>,
    },
    /// Write messages from stdin.
    Write {
        /// The config file.
        config: PathBuf,
        /// The configured catalog file.
        catalog: Option<PathBuf>,
    },
    /// Print the native config of a config in any flavour.
    ImportConfig {
        /// The flavour to read it as.
        from: Flavour,
        /// The config file.
        file: PathBuf,
    },
}

fn config_arg() -> Arg {
    Arg::new("config")
        .long("config")
        .value_name("FILE")
        .required(true)
        .value_parser(clap::value_parser!(PathBuf))
        .help("The connector's config (JSON)")
}

fn catalog_arg() -> Arg {
    Arg::new("catalog")
        .long("catalog")
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help("The configured catalog (JSON); without it every stream is used")
}

fn state_arg() -> Arg {
    Arg::new("state")
        .long("state")
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help("State to resume from: an array of states, STATE messages (JSON lines too), or a legacy object")
}

/// The clap command for a connector.
pub fn command(name: &'static str, version: &'static str, role: Role) -> Command {
    let mut cmd = Command::new(name)
        .version(version)
        .about("An Airbyte-protocol connector. stdout carries protocol messages only (JSON lines).")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(Command::new("spec").about("Print the connector's specification"))
        .subcommand(
            Command::new("check")
                .about("Check that the config works (credentials, paths)")
                .arg(config_arg()),
        )
        .subcommand(
            Command::new("import-config")
                .about("Print the native config for a config written for Airbyte, Fivetran or legacy names")
                .arg(
                    Arg::new("from")
                        .long("from")
                        .value_name("FLAVOUR")
                        .default_value("auto")
                        .value_parser(["auto", "native", "legacy", "airbyte", "fivetran"])
                        .help("The flavour of FILE"),
                )
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf)),
                ),
        );
    match role {
        Role::Source { estimate } => {
            cmd = cmd
                .subcommand(
                    Command::new("discover")
                        .about("Print the catalog of streams")
                        .arg(config_arg()),
                )
                .subcommand(
                    Command::new("read")
                        .about("Read records to stdout")
                        .arg(config_arg())
                        .arg(catalog_arg())
                        .arg(state_arg()),
                );
            if estimate {
                cmd = cmd.subcommand(
                    Command::new("estimate")
                        .about("List, prune and price a read without downloading any object")
                        .arg(config_arg())
                        .arg(catalog_arg())
                        .arg(state_arg()),
                );
            }
        }
        Role::Destination => {
            cmd = cmd.subcommand(
                Command::new("write")
                    .about("Write the messages read from stdin")
                    .arg(config_arg())
                    .arg(catalog_arg()),
            );
        }
    }
    cmd.arg(
        Arg::new("debug")
            .long("debug")
            .global(true)
            .action(ArgAction::SetTrue)
            .hide(true),
    )
}

/// Parses a command line.
pub fn parse<I, T>(name: &'static str, version: &'static str, role: Role, args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command(name, version, role).try_get_matches_from(args)?;
    Ok(from_matches(&matches))
}

fn path(m: &ArgMatches, id: &str) -> Option<PathBuf> {
    m.get_one::<PathBuf>(id).cloned()
}

fn from_matches(m: &ArgMatches) -> Invocation {
    let (sub, sm) = m.subcommand().expect("clap: subcommand_required");
    let config = || path(sm, "config").unwrap_or_default();
    match sub {
        "spec" => Invocation::Spec,
        "check" => Invocation::Check { config: config() },
        "discover" => Invocation::Discover { config: config() },
        "read" => Invocation::Read {
            config: config(),
            catalog: path(sm, "catalog"),
            state: path(sm, "state"),
        },
        "estimate" => Invocation::Estimate {
            config: config(),
            catalog: path(sm, "catalog"),
            state: path(sm, "state"),
        },
        "write" => Invocation::Write {
            config: config(),
            catalog: path(sm, "catalog"),
        },
        _ => Invocation::ImportConfig {
            from: sm
                .get_one::<String>("from")
                .and_then(|s| Flavour::parse(s))
                .unwrap_or(Flavour::Auto),
            file: path(sm, "file").unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        let src = Role::Source { estimate: true };
        assert_eq!(parse("s", "1", src, ["s", "spec"]).unwrap(), Invocation::Spec);
        assert_eq!(
            parse("s", "1", src, ["s", "read", "--config", "c.json", "--state", "st.json"]).unwrap(),
            Invocation::Read {
                config: "c.json".into(),
                catalog: None,
                state: Some("st.json".into())
            }
        );
        assert!(matches!(
            parse("s", "1", src, ["s", "estimate", "--config", "c"]).unwrap(),
            Invocation::Estimate { .. }
        ));
        assert!(parse(
            "s",
            "1",
            Role::Source { estimate: false },
            ["s", "estimate", "--config", "c"]
        )
        .is_err());
        assert!(parse("s", "1", src, ["s", "write", "--config", "c"]).is_err());
        assert_eq!(
            parse(
                "d",
                "1",
                Role::Destination,
                ["d", "import-config", "--from", "fivetran", "f.json"]
            )
            .unwrap(),
            Invocation::ImportConfig {
                from: Flavour::Fivetran,
                file: "f.json".into()
            }
        );
        assert!(parse("d", "1", Role::Destination, ["d", "check"]).is_err());
    }
}
