//! Opening a database read-only: a `file:` URI with `mode=ro`, no create
//! flag (so a missing file is never created), a busy timeout, and
//! `query_only` as a second guard.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::config::SqliteConfig;
use crate::error::SqliteSourceError;

/// An open, read-only connection with the context needed for error messages.
pub struct Database {
    /// The connection.
    pub conn: Connection,
    /// The config it was opened with.
    pub config: SqliteConfig,
}

impl Database {
    /// Opens the configured database read-only and reads its schema once, so
    /// "not a database" and "locked" surface here.
    pub fn open(config: &SqliteConfig) -> Result<Self, SqliteSourceError> {
        let path = config.database_path.as_path();
        preflight(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let uri = read_only_uri(path);
        let conn =
            Connection::open_with_flags(&uri, flags).map_err(|e| classify_open(e, path, config.busy_timeout_ms))?;
        let db = Database {
            conn,
            config: config.clone(),
        };
        db.conn
            .busy_timeout(config.busy_timeout())
            .map_err(|e| db.error(e, "setting the busy timeout"))?;
        db.conn
            .execute_batch("PRAGMA query_only = ON;")
            .map_err(|e| db.error(e, "making the connection query-only"))?;
        // Touches the file header and schema: fails with NOTADB / BUSY here.
        db.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|e| db.error(e, "reading the schema"))?;
        Ok(db)
    }

    /// Classifies a SQLite error met while `context`.
    pub fn error(&self, e: rusqlite::Error, context: &str) -> SqliteSourceError {
        SqliteSourceError::from_sqlite(e, &self.config.database_path, self.config.busy_timeout_ms, context)
    }
}

/// Checks the path before SQLite sees it, for precise messages.
fn preflight(path: &Path) -> Result<(), SqliteSourceError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => SqliteSourceError::PermissionDenied(path.to_path_buf()),
        _ => SqliteSourceError::NoSuchFile(path.to_path_buf()),
    })?;
    if meta.is_dir() {
        return Err(SqliteSourceError::IsDirectory(path.to_path_buf()));
    }
    std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SqliteSourceError::NoSuchFile(path.to_path_buf()),
        _ => SqliteSourceError::PermissionDenied(path.to_path_buf()),
    })?;
    Ok(())
}

fn classify_open(e: rusqlite::Error, path: &Path, busy_timeout_ms: u64) -> SqliteSourceError {
    if e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::CannotOpen) && !path.exists() {
        return SqliteSourceError::NoSuchFile(path.to_path_buf());
    }
    SqliteSourceError::from_sqlite(e, path, busy_timeout_ms, "opening the database")
}

/// The `file:` URI opening `path` read-only. Bytes outside the URI's
/// unreserved set (and `%`, `?`, `#`) are percent-encoded, so no file name can
/// smuggle in URI parameters.
pub fn read_only_uri(path: &Path) -> String {
    let bytes = path_bytes(path);
    let mut uri = String::with_capacity(bytes.len() + 16);
    // `file://` + absolute path gives an empty authority, so a path starting
    // with `//` is not taken for a host name.
    uri.push_str(if bytes.first() == Some(&b'/') {
        "file://"
    } else {
        "file:"
    });
    for &b in bytes.iter() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(b as char);
        } else {
            uri.push('%');
            uri.push(char::from(HEX[usize::from(b >> 4)]));
            uri.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    uri.push_str("?mode=ro");
    uri
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(path.to_string_lossy().replace('\\', "/").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_read_only_and_escaped() {
        assert_eq!(read_only_uri(Path::new("/data/app.db")), "file:///data/app.db?mode=ro");
        assert_eq!(read_only_uri(Path::new("rel/x.db")), "file:rel/x.db?mode=ro");
        assert_eq!(
            read_only_uri(Path::new("/tmp/a?mode=rwc#x %.db")),
            "file:///tmp/a%3Fmode%3Drwc%23x%20%25.db?mode=ro"
        );
        assert_eq!(read_only_uri(Path::new("//host/x")), "file:////host/x?mode=ro");
        assert_eq!(read_only_uri(Path::new("/é")), "file:///%C3%A9?mode=ro");
    }

    #[test]
    fn missing_file_is_not_created() {
        let dir = std::env::temp_dir().join(format!("lakeport-sqlite-unit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("missing.db");
        let err = Database::open(&SqliteConfig::new(&path)).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("does not exist"));
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
