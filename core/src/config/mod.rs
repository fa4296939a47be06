//! Typed native config pieces shared by several connectors, and the mapping
//! of configs written in other flavours (legacy names, Airbyte, Fivetran)
//! onto each connector's native config (CONTRACT §4).

pub mod destination_file;
pub mod format_options;
pub mod mapping;
pub mod source_file;
pub mod source_s3;

pub use destination_file::to_native_destination_file;
pub use format_options::FormatOptions;
pub use mapping::{KeyNote, Mapped};
pub use source_file::to_native_source_file;
pub use source_s3::to_native_source_s3;
