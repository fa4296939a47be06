//! Finite REALs as JSON numbers, exactly as `ryu` writes them (the shortest
//! digits that read back as the same double), with a fast path for the most
//! common REALs, amounts with at most two decimals.
//!
//! The fast path: when `n / 100` (for `n` the nearest integer to `x × 100`,
//! below 10¹⁵ in magnitude) reads back as `x`, it is the shortest such
//! decimal. Another decimal of as few digits differs from it by at least one
//! unit of its last digit, which for 15 significant digits or fewer exceeds a
//! double's spacing there, so it cannot read back as `x` too. Its text is then
//! what `ryu` prints for a decimal point within 16 digits: `12.5`, `0.05`,
//! `3.0`.

/// Largest `|x × 100|` the fast path takes: 15 significant digits.
const FAST_LIMIT: f64 = 1e15;

/// Writes finite `x`.
pub fn write_real(buf: &mut Vec<u8>, x: f64) {
    if !write_cents(buf, x) {
        buf.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    }
}

/// The fast path; false (nothing written) when `x` does not take it.
fn write_cents(buf: &mut Vec<u8>, x: f64) -> bool {
    // Finite, or infinite when `x` is huge: never NaN.
    let scaled = (x * 100.0).round();
    // `x == 0.0` is left to ryu, which keeps the sign of -0.0.
    if x == 0.0 || scaled.abs() >= FAST_LIMIT {
        return false;
    }
    // Exact: |scaled| < 10^15 < 2^53 is an integer.
    let n = scaled as i64;
    // One correctly rounded division: the double nearest to n / 100.
    if (n as f64) / 100.0 != x {
        return false;
    }
    if n < 0 {
        buf.push(b'-');
    }
    let abs = n.unsigned_abs();
    buf.extend_from_slice(itoa::Buffer::new().format(abs / 100).as_bytes());
    let cents = (abs % 100) as u8;
    buf.push(b'.');
    buf.push(b'0' + cents / 10);
    if cents % 10 != 0 {
        buf.push(b'0' + cents % 10);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(x: f64) -> String {
        let mut b = Vec::new();
        write_real(&mut b, x);
        String::from_utf8(b).unwrap()
    }

    fn check(x: f64) {
        assert_eq!(
            ours(x),
            ryu::Buffer::new().format_finite(x),
            "{x:e} ({:#x})",
            x.to_bits()
        );
    }

    #[test]
    fn same_text_as_ryu() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.05,
            0.01,
            0.1,
            0.2,
            0.3,
            0.15,
            0.25,
            2.5,
            3.0,
            12.34,
            -12.34,
            1e-5,
            1e-3,
            1.005,
            1e12,
            9.99e12,
            1e13,
            1e15,
            1e16,
            1e300,
            5e-324,
            123456789012.34,
            9999999999999.99,
            99999999999999.9,
            0.30000000000000004,
            1.0 / 3.0,
            2.675,
            1e7,
            1e-7,
            4503599627370496.5,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            check(x);
            check(-x);
        }
    }

    #[test]
    fn same_text_as_ryu_for_many_values() {
        // Cents and quarters across magnitudes, and arbitrary bit patterns.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..200_000i64 {
            check(i as f64 * 0.25);
            check(i as f64 / 100.0);
            check(-(i as f64) * 0.01);
        }
        for _ in 0..300_000 {
            let r = next();
            let digits = (r % 16) as i32;
            let n = (next() % 10u64.pow(digits as u32 + 1)) as f64;
            check(n / 100.0);
            check(n / 10.0);
            check(n * 1.01);
            let bits = f64::from_bits(next());
            if bits.is_finite() {
                check(bits);
            }
        }
    }
}
