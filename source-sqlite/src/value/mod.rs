//! SQLite values on their way out: as RECORD JSON ([`serialize`]) and as
//! state positions ([`position`]).

pub mod position;
pub mod serialize;
