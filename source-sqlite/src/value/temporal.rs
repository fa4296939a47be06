//! Whether a TEXT value of a DATE, DATETIME or TIME column is one: SQLite
//! stores any text under any declared type, but the discovered schema
//! promises `format: date`, `date-time` or `time`, and a destination parses
//! them. Byte checks only (no allocation), accepting what SQLite's own date
//! functions write and ISO 8601 with `T`, fractions and zones.

/// `YYYY-MM-DD` with a real month and a day of 01–31.
pub fn is_date(s: &[u8]) -> bool {
    s.len() == 10 && date_prefix(s)
}

/// A date, optionally followed by `T` or a space and a time
/// (`HH:MM[:SS[.fff]]`), then optionally `Z` or `±HH[:]MM`.
pub fn is_date_time(s: &[u8]) -> bool {
    if s.len() < 10 || !date_prefix(s) {
        return false;
    }
    match s.get(10) {
        None => true,
        Some(b'T' | b't' | b' ') => time_with_zone(&s[11..]),
        Some(_) => false,
    }
}

/// `HH:MM[:SS[.fff]]`, optionally with a zone.
pub fn is_time(s: &[u8]) -> bool {
    time_with_zone(s)
}

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn number(s: &[u8]) -> u32 {
    s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

fn date_prefix(s: &[u8]) -> bool {
    digits(&s[0..4])
        && s[4] == b'-'
        && digits(&s[5..7])
        && s[7] == b'-'
        && digits(&s[8..10])
        && (1..=12).contains(&number(&s[5..7]))
        && (1..=31).contains(&number(&s[8..10]))
}

fn time_with_zone(s: &[u8]) -> bool {
    let zone_at = s
        .iter()
        .position(|b| matches!(b, b'Z' | b'z' | b'+' | b'-'))
        .unwrap_or(s.len());
    is_clock(&s[..zone_at]) && is_zone(&s[zone_at..])
}

fn is_clock(s: &[u8]) -> bool {
    if s.len() < 5 || !digits(&s[0..2]) || s[2] != b':' || !digits(&s[3..5]) {
        return false;
    }
    if number(&s[0..2]) > 23 || number(&s[3..5]) > 59 {
        return false;
    }
    let rest = &s[5..];
    if rest.is_empty() {
        return true;
    }
    if rest.len() < 3 || rest[0] != b':' || !digits(&rest[1..3]) || number(&rest[1..3]) > 60 {
        return false;
    }
    match &rest[3..] {
        [] => true,
        [b'.', frac @ ..] => digits(frac),
        _ => false,
    }
}

fn is_zone(s: &[u8]) -> bool {
    match s {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2] => digits(&[*h1, *h2]),
        [b'+' | b'-', h1, h2, b':', m1, m2] | [b'+' | b'-', h1, h2, m1, m2] => digits(&[*h1, *h2, *m1, *m2]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_date_times() {
        for ok in ["2024-02-29", "1999-12-31"] {
            assert!(is_date(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "not a date",
            "2024-13-01",
            "2024-01-32",
            "2024/01/01",
            "2024-01-01 10:00",
            "",
        ] {
            assert!(!is_date(bad.as_bytes()), "{bad}");
        }
        for ok in [
            "2024-01-01",
            "2024-01-01 10:00",
            "2024-01-01 10:00:00",
            "2024-01-01T10:00:00.123456",
            "2024-01-01T10:00:00Z",
            "2024-01-01 10:00:00+02:00",
            "2024-01-01T10:00:00-0530",
        ] {
            assert!(is_date_time(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "yesterday",
            "2024-01-01X10:00",
            "2024-01-01 25:00",
            "2024-01-01 10:00:00+2",
            "1700000000",
        ] {
            assert!(!is_date_time(bad.as_bytes()), "{bad}");
        }
        assert!(is_time(b"23:59:59.5") && is_time(b"10:00") && is_time(b"10:00:00Z"));
        assert!(!is_time(b"noon") && !is_time(b"24:00") && !is_time(b"10"));
    }
}
