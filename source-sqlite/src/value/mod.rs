//! SQLite values on their way out: copied into owned chunks of rows
//! ([`rows`]), as RECORD JSON ([`serialize`]) and as state positions
//! ([`position`]); dates and times checked before they are promised as such
//! ([`temporal`]).

pub mod escape;
pub mod position;
pub mod real;
pub mod rows;
pub mod serialize;
pub mod temporal;
