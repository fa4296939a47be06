//! Typed native config pieces shared by several connectors.

pub mod format_options;

pub use format_options::FormatOptions;
