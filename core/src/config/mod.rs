//! The top layer of core: typed native config pieces shared by several
//! connectors, and the mapping of configs written in other flavours (legacy
//! names, Airbyte, Fivetran) onto each connector's native config (CONTRACT
//! §4). Every connector's flavour mapping lives here, one folder per
//! connector and one file per flavour:
//!
//! - `mapping.rs`: the toolkit every mapping uses ([`Mapper`](mapping::Mapper), [`Mapped`],
//!   [`KeyNote`]);
//! - `format_options.rs`: [`FormatOptions`], the native format keys the file
//!   sources share;
//! - `source_s3/`: `mod.rs` (dispatch), `detect.rs`, `legacy.rs`,
//!   `airbyte_v4.rs`, `airbyte_v3.rs`, `fivetran.rs`, `common.rs`;
//! - `source_file/`: `mod.rs` (dispatch), `legacy.rs`, `airbyte.rs`;
//! - `destination_file/`: `mod.rs` (dispatch), `legacy.rs`, `airbyte.rs`;
//! - `destination_s3/`: `mod.rs` (dispatch), `legacy.rs`, `airbyte.rs`.

pub mod destination_file;
pub mod destination_s3;
pub mod format_options;
pub mod mapping;
pub mod source_file;
pub mod source_s3;

pub use destination_file::to_native_destination_file;
pub use destination_s3::to_native_destination_s3;
pub use format_options::FormatOptions;
pub use mapping::{KeyNote, Mapped};
pub use source_file::to_native_source_file;
pub use source_s3::to_native_source_s3;
