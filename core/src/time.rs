//! The date-time spellings every layer accepts (cursor values, `start_date`,
//! `_airbyte_extracted_at`, partition moments): one list, parsed here.
//!
//! A bottom-layer module: it imports nothing of the crate.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses a date-time (no bare date): RFC 3339 (offsets applied, as UTC),
/// Airbyte's `%Y-%m-%dT%H:%M:%S.%fZ`, and the same without `Z` or with a
/// space.
pub fn parse_date_time(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    [
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%SZ",
    ]
    .iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
}

/// Parses a time as [`parse_date_time`] does, or a bare `%Y-%m-%d` date
/// (midnight), as a UTC instant: the spellings of Airbyte's file-source
/// states and of `_airbyte_extracted_at`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    parse_date_time(s).map(|t| t.and_utc()).or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let t = parse_timestamp("2024-01-15T10:00:00.123456Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-15T10:00:00.123456+00:00");
        assert_eq!(
            parse_timestamp("2024-01-15T12:00:00+02:00"),
            parse_timestamp("2024-01-15 10:00:00")
        );
        assert_eq!(
            parse_timestamp("2024-01-15").unwrap().to_rfc3339(),
            "2024-01-15T00:00:00+00:00"
        );
        assert!(parse_date_time("2024-01-15").is_none());
        assert!(parse_timestamp("15/01/2024").is_none());
    }
}
