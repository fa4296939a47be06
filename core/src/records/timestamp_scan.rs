//! The spellings of a UTC timestamp sources print most —
//! `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]` — read by hand, for
//! the flat fast path: several times faster than Arrow's general parser,
//! and the same value. Any other spelling (an offset, a leap second, a
//! short field, more than nine fraction digits…) is `None`, and the caller
//! asks Arrow's parser.

/// Microseconds since the epoch of `s` read as a UTC time, as Arrow's
/// `string_to_datetime(UTC, s)?.timestamp_micros()` reads it (a fraction
/// finer than a microsecond is truncated toward the past), or `None` for a
/// spelling this reader leaves to Arrow.
pub(super) fn utc_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if b.len() == 10 {
        return days.checked_mul(86_400_000_000);
    }
    // `HH:MM:SS` after the separator.
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let len = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return None;
        }
        nanos = digits(&b[start..start + len])? * 10u32.pow(9 - len as u32);
        i = start + len;
    }
    match &b[i..] {
        [] | [b'Z' | b'z'] => {}
        _ => return None,
    }
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    seconds.checked_mul(1_000_000)?.checked_add(i64::from(nanos / 1000))
}

/// The number written in ASCII digits `b` (at most nine); `None` for any other byte.
pub(super) fn digits(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use arrow::array::timezone::Tz;
    use arrow::compute::kernels::cast_utils::string_to_datetime;

    use super::*;

    fn arrow(s: &str) -> Option<i64> {
        let tz: Tz = "UTC".parse().ok()?;
        string_to_datetime(&tz, s).ok().map(|t| t.timestamp_micros())
    }

    /// Every spelling read by hand is read as Arrow reads it; the others
    /// are left to Arrow.
    #[test]
    fn reads_as_arrow_or_not_at_all() {
        let mut samples: Vec<String> = [
            "2023-11-14T22:13:20.000000Z",
            "2023-11-14T22:13:20Z",
            "2023-11-14 22:13:20",
            "2023-11-14t22:13:20z",
            "2023-11-14",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "1969-12-31T23:59:59.9999999Z",
            "0001-01-01T00:00:00.5Z",
            "0000-03-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2024-02-29T12:00:00.1Z",
            "2023-02-29T12:00:00Z",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:60:00Z",
            "2024-01-01T23:59:60Z",
            "2024-01-01T23:59:59.Z",
            "2024-01-01T23:59:59.1234567891Z",
            "2024-01-01T23:59:59+02:00",
            "2024-01-01T23:59:59.123+00:00",
            "2024-01-01T23:59",
            "2024-01-01T1:02:03",
            "2024-1-01",
            "+2024-01-01",
            "2024-01-01X10:00:00",
            "2024-01-01T10:00:00ZZ",
            "2024-01-01T10:00:00 ",
            "20240101",
            "",
            "soon",
            "2024-01-01T10:00:00.123456Zé",
        ]
        .map(str::to_string)
        .to_vec();
        // A day of every month over four centuries, at odd times.
        for year in (1600..2400).step_by(7) {
            for month in 1..=12 {
                for day in [1, 28, 29, 30, 31] {
                    samples.push(format!(
                        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:0>6}Z",
                        day % 24,
                        month * 4,
                        (year % 60),
                        year * 37
                    ));
                }
            }
        }
        let mut by_hand = 0;
        for s in &samples {
            if let Some(ours) = utc_micros(s) {
                assert_eq!(Some(ours), arrow(s), "{s}");
                by_hand += 1;
            }
        }
        assert!(by_hand > samples.len() / 2, "{by_hand} of {}", samples.len());
    }
}
