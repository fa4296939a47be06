//! `source-s3`: reads files from S3 and S3-compatible servers as Airbyte records.
//!
//! The binary is glue: the config and spec live in [`config`], the connector
//! in [`source`]; storage, formats and the protocol come from
//! `lakeport-core` and `lakeport-protocol`.

use std::process::ExitCode;

mod config;
mod discover;
mod hive;
mod objects;
mod pruning;
mod read;
mod source;
mod streams;

fn main() -> ExitCode {
    lakeport_protocol::run_source(source::SourceS3::default())
}
