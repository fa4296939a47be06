//! Where files go: safe directory names for streams and partition values,
//! file names with the sync's timestamp and a rollover number, temporary
//! names for writing.

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
/// `<stream>_<YYYYMMDD_HHMMSS>[_<n>].<ext>`.
pub fn file_name(stream: &str, stamp: &str, n: usize, ext: &str) -> String {
    if n == 0 {
        format!("{stream}_{stamp}.{ext}")
    } else {
        format!("{stream}_{stamp}_{n}.{ext}")
    }
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
    fn names_follow_the_layout() {
        assert_eq!(
            file_name("users", "20241130_120000", 0, "parquet"),
            "users_20241130_120000.parquet"
        );
        assert_eq!(
            file_name("users", "20241130_120000", 2, "csv.gz"),
            "users_20241130_120000_2.csv.gz"
        );
        let t = temp_path(Path::new("/b/users/users_1.parquet"));
        assert!(is_temp_name(&t.file_name().unwrap().to_string_lossy()));
        assert_eq!(t.parent(), Some(Path::new("/b/users")));
    }
}
