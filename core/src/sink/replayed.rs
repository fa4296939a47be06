//! Records replayed from an Airbyte cache: PyAirbyte's `destination.write`
//! sends the rows of its cache, which carry the `_airbyte_extracted_at` of
//! their first extraction in `data`, with an `emitted_at` in seconds (not
//! the protocol's milliseconds). The extraction time written is then the
//! record's own.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Deserialize;

use super::stream::EXTRACTED_AT;
use crate::time::parse_timestamp;

/// The `_airbyte_extracted_at` a record's `data` carries, in milliseconds
/// since the epoch (`None` when it has none, or not a timestamp).
pub fn replayed_extracted_at(data: &str) -> Option<i64> {
    // Most records have no such field: a substring test (SIMD), no parse.
    static FIELD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(EXTRACTED_AT));
    FIELD.find(data.as_bytes())?;
    #[derive(Deserialize)]
    struct Replayed<'a> {
        #[serde(borrow, rename = "_airbyte_extracted_at", default)]
        extracted_at: Option<Cow<'a, str>>,
    }
    let replayed: Replayed = serde_json::from_str(data).ok()?;
    parse_timestamp(replayed.extracted_at.as_deref()?).map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_own_extraction_time() {
        let ms = 1_796_554_436_148;
        for text in [
            r#"{"id":1,"_airbyte_extracted_at":"2026-12-06T10:53:56.148000+00:00"}"#,
            r#"{"id":1,"_airbyte_extracted_at":"2026-12-06T10:53:56.148Z","_airbyte_meta":{}}"#,
        ] {
            assert_eq!(replayed_extracted_at(text), Some(ms), "{text}");
        }
        assert_eq!(replayed_extracted_at(r#"{"id":1}"#), None);
        assert_eq!(replayed_extracted_at(r#"{"_airbyte_extracted_at":12}"#), None);
        assert_eq!(replayed_extracted_at(r#"{"_airbyte_extracted_at":"soon"}"#), None);
    }
}
