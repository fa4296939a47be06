//! JSON text primitives written straight into byte buffers: escaped strings, numbers,
//! dates and timestamps (expanded years included), decimals, base64.

use arrow::datatypes::*;
use base64::Engine;

const fn escape_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
}

static ESCAPE: [u8; 256] = escape_table();

/// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
#[inline]
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a finite `f64` as its shortest JSON number (`ryu`); NaN and infinities as `null`.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends a finite `f32` as its shortest JSON number (`ryu`); NaN and infinities as `null`.
#[inline]
pub fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends an integer as a JSON number (`itoa`).
#[inline]
pub fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
#[inline]
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[inline]
fn push2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

#[inline]
fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

#[inline]
fn write_date_body(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        // Outside four digits: ISO 8601 expanded year.
        if y < 0 {
            out.push(b'-');
        } else {
            out.push(b'+');
        }
        push_digits(out, y.unsigned_abs(), 6);
    }
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

/// Appends a quoted `"YYYY-MM-DD"` for a day count since the epoch.
#[inline]
pub fn write_date(out: &mut Vec<u8>, days: i64) {
    out.push(b'"');
    write_date_body(out, days);
    out.push(b'"');
}

/// Appends a quoted ISO-8601 timestamp for `value` in `unit` since the epoch, with the unit's
/// fractional digits (none for seconds, 3 for ms, 6 for µs, 9 for ns) and a `Z` when `utc`.
#[inline]
pub fn write_timestamp(out: &mut Vec<u8>, value: i64, unit: TimeUnit, utc: bool) {
    let (per_sec, digits) = match unit {
        TimeUnit::Second => (1i64, 0usize),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let secs = value.div_euclid(per_sec);
    let frac = value.rem_euclid(per_sec) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    out.push(b'"');
    write_date_body(out, days);
    out.push(b'T');
    push2(out, sod / 3600);
    out.push(b':');
    push2(out, (sod / 60) % 60);
    out.push(b':');
    push2(out, sod % 60);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac, digits);
    }
    if utc {
        out.push(b'Z');
    }
    out.push(b'"');
}

/// Appends a quoted `"HH:MM:SS[.fff…]"` for a time of day in nanoseconds, with `digits`
/// fractional digits.
pub fn write_time_of_day(out: &mut Vec<u8>, nanos: i64, digits: usize) {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000) as u64;
    let sod = secs.rem_euclid(86_400) as u32;
    out.push(b'"');
    push2(out, sod / 3600);
    out.push(b':');
    push2(out, (sod / 60) % 60);
    out.push(b':');
    push2(out, sod % 60);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac / 10u64.pow(9 - digits as u32), digits);
    }
    out.push(b'"');
}

pub(super) fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + n);
    out.push(b'"');
}

/// Appends an `i128` decimal of `scale` as a JSON number (`-12.345` for -12345 at scale 3).
pub fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    if scale <= 0 {
        write_int(out, v);
        for _ in 0..(-scale) {
            out.push(b'0');
        }
        return;
    }
    let scale = scale as u32;
    let neg = v < 0;
    let abs = v.unsigned_abs();
    let pow = 10u128.pow(scale);
    if neg {
        out.push(b'-');
    }
    write_int(out, abs / pow);
    out.push(b'.');
    let frac = abs % pow;
    let mut digits = [b'0'; 40];
    let mut f = frac;
    for i in (0..scale as usize).rev() {
        digits[i] = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits[..scale as usize]);
}

/// Appends a decimal given as its unscaled integer's text (`-123`) and a scale: every digit,
/// as a JSON number (`-1.23` for scale 2; trailing zeros for a negative scale).
pub fn write_decimal_digits(out: &mut Vec<u8>, unscaled: &str, scale: i32) {
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    if neg {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if digits != "0" {
            out.extend(std::iter::repeat_n(b'0', scale.unsigned_abs() as usize));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        out.extend_from_slice(&digits.as_bytes()[..digits.len() - scale]);
        out.push(b'.');
        out.extend_from_slice(&digits.as_bytes()[digits.len() - scale..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    }
}

pub(super) fn key_bytes(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 3);
    write_json_str(&mut k, name);
    k.push(b':');
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps() {
        let mut o = vec![];
        write_date(&mut o, 0);
        write_date(&mut o, 19_782);
        write_date(&mut o, -1);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "\"1970-01-01\"\"2024-02-29\"\"1969-12-31\""
        );
        let mut o = vec![];
        write_timestamp(&mut o, -1, TimeUnit::Microsecond, true);
        assert_eq!(String::from_utf8(o).unwrap(), "\"1969-12-31T23:59:59.999999Z\"");
        let mut o = vec![];
        write_decimal(&mut o, -12345, 3);
        write_decimal(&mut o, 5, 2);
        assert_eq!(String::from_utf8(o).unwrap(), "-12.3450.05");
    }

    #[test]
    fn escaping() {
        let mut o = vec![];
        write_json_str(&mut o, "a\"b\\c\n\u{1}é😀");
        let s = String::from_utf8(o).unwrap();
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "a\"b\\c\n\u{1}é😀");
    }
}
