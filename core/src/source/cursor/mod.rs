//! The incremental cursors of file-based sources.
//!
//! | file         | holds                                                               |
//! |--------------|---------------------------------------------------------------------|
//! | [`fields`]   | the file fields added to records, and the state's time format       |
//! | [`compare`]  | how cursor values order (numbers, timestamps, strings)              |
//! | [`mod@file`] | [`FileCursor`]: the file history (Airbyte's state shape) and [`StatePacer`] |
//! | [`record`]   | [`RecordCursor`]: the record-level cursor (`cursor_field`) and its filter |

pub mod compare;
pub mod fields;
pub mod file;
pub mod record;

pub use fields::{format_timestamp, truncate_micros, FILE_URL_FIELD, LAST_MODIFIED_FIELD};
pub use file::{
    FileCursor, StatePacer, DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL, DEFAULT_MAX_HISTORY, RECORD_CURSOR_KEY,
};
pub use record::{check_cursor_field, record_cursor_field, record_field, RecordCursor, RecordFilter};
