//! What can go wrong talking to a SQLite database, each case with its own
//! message for the user, and how it maps to a [`ConnectorError`].

use std::path::{Path, PathBuf};

use lakeport_protocol::ConnectorError;
use rusqlite::ffi::ErrorCode;

/// An error of this connector before it becomes a TRACE ERROR or a failed check.
#[derive(Debug, thiserror::Error)]
pub enum SqliteSourceError {
    /// The database file does not exist.
    #[error("The database file '{}' does not exist. Check database_path (an absolute path is safest); source-sqlite opens existing databases read-only and never creates one.", .0.display())]
    NoSuchFile(PathBuf),
    /// The path names a directory.
    #[error("The database path '{}' is a directory, not a SQLite database file. Set database_path to the database file itself.", .0.display())]
    IsDirectory(PathBuf),
    /// The file cannot be read.
    #[error("The database file '{}' cannot be read (permission denied). Give the connector's user read access to the file (and its directory).", .0.display())]
    PermissionDenied(PathBuf),
    /// The file is not a SQLite database.
    #[error("The file '{}' is not a database: it is not a SQLite 3 database file (it may be another kind of file, encrypted, or truncated). Check database_path.", .0.display())]
    NotADatabase(PathBuf),
    /// Another connection holds a lock.
    #[error("The database '{}' is locked: another process holds a write lock and did not release it within busy_timeout_ms ({timeout_ms} ms). Retry when the writer is done, or raise busy_timeout_ms.", path.display())]
    Locked {
        /// The database.
        path: PathBuf,
        /// How long we waited.
        timeout_ms: u64,
    },
    /// The database file is corrupt.
    #[error("The database '{}' is corrupt (SQLite reports 'database disk image is malformed'). Restore it from a backup or repair it with `sqlite3 {} .recover`.", .0.display(), .0.display())]
    Corrupt(PathBuf),
    /// The database needs a write (hot journal or WAL recovery) before it can be read.
    #[error("The database '{}' cannot be read read-only: it has an unfinished write to roll back, or its -wal/-shm files cannot be used. Open it once with write access (e.g. `sqlite3 {} 'PRAGMA quick_check'`) or make its directory writable, then retry.", .0.display(), .0.display())]
    NeedsWrite(PathBuf),
    /// A configured table or view does not exist.
    #[error("The database has no table or view named {}. Existing tables and views: {}. Fix `tables` in the config or the stream names in the catalog.", quoted_list(.missing), quoted_list(.existing))]
    NoSuchTable {
        /// The names not found.
        missing: Vec<String>,
        /// What the database has.
        existing: Vec<String>,
    },
    /// A stream is read incrementally without a cursor.
    #[error("The stream '{0}' is configured for incremental sync but has no cursor field. Set the stream's cursor_field in the catalog, or incremental_field in the config to a column of the table.")]
    NoCursor(String),
    /// The cursor names no column of the stream.
    #[error("The cursor field {cursor:?} of stream '{stream}' is not a column of the table. Columns: {}. Choose one of them as cursor_field (or incremental_field).", quoted_list(.columns))]
    BadCursor {
        /// The stream.
        stream: String,
        /// The cursor path as configured.
        cursor: Vec<String>,
        /// The stream's columns.
        columns: Vec<String>,
    },
    /// A view SQLite cannot describe (it names a table or column that is gone).
    #[error("The view '{name}' cannot be read: {reason}. It refers to a table or column that no longer exists; fix or drop the view, or leave it out of `tables` (and the catalog).")]
    BrokenView {
        /// The view.
        name: String,
        /// SQLite's reason.
        reason: String,
    },
    /// Any other SQLite error.
    #[error("SQLite failed while {context} in '{}': {source}", path.display())]
    Sqlite {
        /// What we were doing.
        context: String,
        /// The database.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

impl SqliteSourceError {
    /// Classifies a SQLite error met while `context` (e.g. "listing tables").
    pub fn from_sqlite(e: rusqlite::Error, path: &Path, busy_timeout_ms: u64, context: &str) -> Self {
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => SqliteSourceError::NotADatabase(path),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => SqliteSourceError::Locked {
                path,
                timeout_ms: busy_timeout_ms,
            },
            Some(ErrorCode::DatabaseCorrupt) => SqliteSourceError::Corrupt(path),
            Some(ErrorCode::ReadOnly) => SqliteSourceError::NeedsWrite(path),
            Some(ErrorCode::PermissionDenied) => SqliteSourceError::PermissionDenied(path),
            _ => SqliteSourceError::Sqlite {
                context: context.to_string(),
                path,
                source: e,
            },
        }
    }
}

impl From<SqliteSourceError> for ConnectorError {
    fn from(e: SqliteSourceError) -> Self {
        let message = e.to_string();
        match e {
            SqliteSourceError::Locked { .. } => ConnectorError::transient(message),
            SqliteSourceError::Sqlite { ref source, .. } => {
                let internal = format!("{source:?}");
                ConnectorError::system(message).with_internal(internal)
            }
            _ => ConnectorError::config(message),
        }
    }
}
