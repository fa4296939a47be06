//! `source-s3`: reads files from S3 and S3-compatible servers as Airbyte records.
//!
//! The binary is a face over the file-source engine: the config, its
//! flavour mapping and its read plan live in [`config`], the spec and the
//! wiring in [`source`]; the engine, storage and formats come from
//! `lakeport-core`, the protocol from `lakeport-protocol`.

use std::process::ExitCode;

mod config;
mod source;

fn main() -> ExitCode {
    lakeport_protocol::run_source(source::SourceS3::default())
}
