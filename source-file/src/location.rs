//! Where `file_path` points: a local file or directory, or `s3://bucket/key`
//! (an object, or a prefix whose objects are read as a directory's files).

use std::path::PathBuf;

use lakeport_protocol::ConnectorError;

/// The scheme of S3 paths.
const S3_SCHEME: &str = "s3://";

/// A parsed `file_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file or directory.
    Local(PathBuf),
    /// An S3 object or prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key, or a prefix (`""`: the whole bucket).
        key: String,
    },
}

impl Location {
    /// Parses `file_path`: `s3://bucket/key` (scheme in any case), else a local path.
    pub fn parse(file_path: &str) -> Result<Location, ConnectorError> {
        let is_s3 = file_path
            .get(..S3_SCHEME.len())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(S3_SCHEME));
        if !is_s3 {
            return Ok(Location::Local(PathBuf::from(file_path)));
        }
        let rest = &file_path[S3_SCHEME.len()..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(ConnectorError::config(format!(
                "file_path '{file_path}' names no bucket: write it as s3://bucket/key or s3://bucket/prefix/."
            )));
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            key: key.trim_start_matches('/').to_string(),
        })
    }
}

/// An object's URL, as records and the state name it.
pub fn s3_url(bucket: &str, key: &str) -> String {
    format!("{S3_SCHEME}{bucket}/{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_s3_paths() {
        assert_eq!(
            Location::parse("./data/x.csv").unwrap(),
            Location::Local("./data/x.csv".into())
        );
        assert_eq!(
            Location::parse("s3://lake/users/part-1.csv").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: "users/part-1.csv".into()
            }
        );
        let dir = Location::parse("S3://lake/users/").unwrap();
        assert_eq!(
            dir,
            Location::S3 {
                bucket: "lake".into(),
                key: "users/".into()
            }
        );
        assert_eq!(
            Location::parse("s3://lake").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: String::new()
            }
        );
        let e = Location::parse("s3:///key").unwrap_err();
        assert!(e.message.contains("names no bucket"), "{}", e.message);
    }
}
