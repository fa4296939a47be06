//! Where files go: safe directory names for streams and partition values,
//! file names with the sync's timestamp, the writer id (several writers of
//! one stream) and a rollover number, temporary names for writing.

use std::path::{Path, PathBuf};

/// A stream name made safe as one path segment: separators, `..`, control
/// characters and other characters that are troublesome in file names are
/// replaced by `_`, so a hostile name cannot leave `base_path`.
pub fn safe_segment(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    // No segment may be empty, `.` or `..`, nor start with a dot (hidden, or
    // mistaken for our temporary files).
    while out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > 200 {
        let mut cut = 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// A hive partition folder `key=value`, both parts made safe.
pub fn partition_segment(key: &str, value: &str) -> String {
    let value = if value.is_empty() {
        "__HIVE_DEFAULT_PARTITION__"
    } else {
        value
    };
    format!("{}={}", safe_segment(key), safe_segment(value).replace('=', "_"))
}

/// The sync's timestamp as it appears in file names: `YYYYMMDD_HHMMSS` (UTC).
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%d_%H%M%S").to_string()
}

/// The final name of the `n`th file (0-based) of a stream in this sync:
/// `<stream>_<YYYYMMDD_HHMMSS>[_w<writer>][_<n>].<ext>` (`writer`: this
/// writer's id when several write one stream, see [`writer_id`]).
pub fn file_name(stream: &str, stamp: &str, writer: Option<&str>, n: usize, ext: &str) -> String {
    let mut name = format!("{stream}_{stamp}");
    if let Some(w) = writer {
        name.push_str(WRITER_MARK);
        name.push_str(w);
    }
    if n > 0 {
        name.push_str(&format!("_{n}"));
    }
    format!("{name}.{ext}")
}

/// What precedes the writer id in a file name (`_w`), telling it from the
/// rollover number.
pub const WRITER_MARK: &str = "_w";

/// The environment variable a destination takes its writer id from when
/// the config does not set `writer_id`: the index a Kubernetes Indexed Job
/// gives each pod (so the pods of one Job never write the same name).
pub const WRITER_ENV: &str = "JOB_COMPLETION_INDEX";

/// The writer id of a destination: `configured` (`writer_id`), else the
/// value of [`WRITER_ENV`] (`env`), else none. An id is 1 to 64 ASCII
/// letters, digits or `-`; anything else is an error naming the key.
pub fn writer_id(configured: Option<&str>, env: Option<String>) -> Result<Option<String>, String> {
    let (id, from) = match configured.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => (id.to_string(), "writer_id".to_string()),
        None => match env.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()) {
            Some(id) => (id, format!("the environment variable {WRITER_ENV}")),
            None => return Ok(None),
        },
    };
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "{from}: '{id}' is not a writer id; use 1 to 64 letters, digits or '-' (e.g. the shard index, 3)."
        ));
    }
    Ok(Some(id))
}

/// The text of a `writer_id` setting as written: a string, or a whole number.
pub fn writer_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The writer id in a file name of a stream whose files start with
/// `file_prefix` (`<stream>_`), as [`file_name`] writes it: `None` for a
/// file written without one (or not named by [`file_name`]).
pub fn writer_in_name<'a>(name: &'a str, file_prefix: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(file_prefix)?;
    let stamp = rest.get(..15)?;
    let is_stamp = stamp
        .bytes()
        .enumerate()
        .all(|(i, b)| if i == 8 { b == b'_' } else { b.is_ascii_digit() });
    if !is_stamp {
        return None;
    }
    let id = rest[15..].strip_prefix(WRITER_MARK)?;
    let end = id.find(['_', '.']).unwrap_or(id.len());
    (end > 0).then(|| &id[..end])
}

/// The suffix of the temporary names files are written under
/// (`.<name>.<pid>.lakeport-tmp`).
pub const TEMP_SUFFIX: &str = ".lakeport-tmp";

/// The temporary name a file is written under before it is committed: hidden,
/// in the same directory (so the rename is atomic), unique to this process.
pub fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()))
}

/// True for a temporary file left by an interrupted run.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_segment() {
        for name in ["../../etc/passwd", "..", ".", "a/b", "a\\b", "x\u{0}y\n", "", ".hidden"] {
            let s = safe_segment(name);
            assert!(!s.contains('/') && !s.contains('\\'), "{s}");
            assert!(s != "." && s != ".." && !s.starts_with('.'), "{s}");
            assert!(!s.chars().any(char::is_control), "{s:?}");
            let joined = Path::new("/base").join(&s);
            assert_eq!(joined.parent(), Some(Path::new("/base")));
        }
        assert_eq!(safe_segment("users"), "users");
        assert_eq!(safe_segment("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_segment("données"), "données");
        assert_eq!(partition_segment("country", "FR/../x"), "country=FR_.._x");
        assert_eq!(partition_segment("k", ""), "k=__HIVE_DEFAULT_PARTITION__");
    }

    #[test]
    fn writer_ids_come_from_the_config_then_the_environment() {
        assert_eq!(writer_id(None, None), Ok(None));
        assert_eq!(writer_id(Some("7"), Some("2".into())), Ok(Some("7".into())));
        assert_eq!(writer_id(None, Some("2".into())), Ok(Some("2".into())));
        assert_eq!(writer_id(Some(" "), None), Ok(None));
        let e = writer_id(Some("a/b"), None).unwrap_err();
        assert!(e.contains("writer_id: 'a/b'"), "{e}");
        let e = writer_id(None, Some("x y".into())).unwrap_err();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
    }

    #[test]
    fn names_follow_the_layout() {
        assert_eq!(
            file_name("users", "20241130_120000", None, 0, "parquet"),
            "users_20241130_120000.parquet"
        );
        assert_eq!(
            file_name("users", "20241130_120000", None, 2, "csv.gz"),
            "users_20241130_120000_2.csv.gz"
        );
        let named = file_name("my_web", "20241130_120000", Some("3"), 2, "csv.gz");
        assert_eq!(named, "my_web_20241130_120000_w3_2.csv.gz");
        assert_eq!(writer_in_name(&named, "my_web_"), Some("3"));
        let first = file_name("my_web", "20241130_120000", Some("a-1"), 0, "parquet");
        assert_eq!(writer_in_name(&first, "my_web_"), Some("a-1"));
        assert_eq!(writer_in_name("my_web_20241130_120000_2.csv.gz", "my_web_"), None);
        assert_eq!(writer_in_name("my_web_20241130_120000.parquet", "my_web_"), None);
        assert_eq!(writer_in_name("my_notes_w1.txt", "my_"), None);
        let t = temp_path(Path::new("/b/users/users_1.parquet"));
        assert!(is_temp_name(&t.file_name().unwrap().to_string_lossy()));
        assert_eq!(t.parent(), Some(Path::new("/b/users")));
    }
}
