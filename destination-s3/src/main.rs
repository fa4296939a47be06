//! `destination-s3`: writes Airbyte records to S3 and S3-compatible servers
//! as Parquet, JSON, JSONL, CSV or Avro files.
//!
//! The binary is glue: the config and spec live in [`config`], the connector
//! in [`destination`]; storage, formats and the protocol come from
//! `lakeport-core` and `lakeport-protocol`.

use std::process::ExitCode;

mod config;
mod destination;
mod envelope;
mod layout;
mod target;

fn main() -> ExitCode {
    lakeport_protocol::run_destination(destination::DestinationS3)
}
