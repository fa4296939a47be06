//! `source-sqlite`: reads a SQLite database as Airbyte streams.

use std::process::ExitCode;

fn main() -> ExitCode {
    lakeport_protocol::run_source(source_sqlite::SqliteSource)
}
