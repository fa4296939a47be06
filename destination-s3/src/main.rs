//! `destination-s3`: writes Airbyte records to S3 and S3-compatible servers
//! as Parquet, JSON, JSONL, CSV or Avro files.
//!
//! The binary is a thin face over the sink engine of `lakeport-core`: the
//! native config and its write settings in [`config`], the connector (spec,
//! check, write) in [`destination`], and the engine's [`target::S3Target`]
//! (multipart uploads, object metadata, cleanup) in [`target`]. The engine,
//! Airbyte's record envelope and key layout, and the flavour mapping come
//! from `lakeport_core::sink` and `lakeport_core::config`.

use std::process::ExitCode;

mod config;
mod destination;
mod target;

fn main() -> ExitCode {
    lakeport_protocol::run_destination(destination::DestinationS3)
}
