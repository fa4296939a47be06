//! A hand-written scanner of one flat JSON object (`{"k": scalar, …}`) into
//! its keys and scalar tokens, for [`FlatJsonDecoder`](super::FlatJsonDecoder):
//! about twice as fast as a serde pass on the records sources print.
//!
//! It takes only the plainest shape — keys and strings without escapes,
//! integers that fit an `i64`, numbers as JSON writes them, `true`, `false`,
//! `null`, no nesting — and checks what it takes as strictly as JSON does
//! (no leading zeros, no trailing garbage, no control characters in
//! strings). Anything else is `None`, and the caller reads the row with
//! serde, which handles (or refuses) every JSON text.

/// One scalar value of a flat object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Token<'a> {
    Null,
    Bool(bool),
    /// An integer without fraction nor exponent, within `i64`.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string without escapes.
    Str(&'a str),
}

/// Scans `row` (one JSON object): calls `field` with each key and its
/// value, in order; `None` when the row is not in the shape this scanner
/// takes (or `field` says `None`). Nothing is called for a row refused
/// before its first key; a row refused later may have called `field` for
/// its first keys — the caller keeps what `field` saw until the scan ends.
pub(super) fn scan_flat<'a>(text: &'a str, field: impl FnMut(&'a str, Token<'a>) -> Option<()>) -> Option<()> {
    scan_with::<true>(text, field)
}

/// [`scan_flat`] for callers that judge only each token's kind (a fit check): a
/// number with a fraction that is finite by its shape (no exponent, at most 300 digits
/// before the point) is not converted, its token is `Float(0.0)`; the rest is as
/// [`scan_flat`] reads it (the same rows refused, the same kinds, but for `-0`: the
/// integer it is to a fit check, the `-0.0` Arrow reads into a double column to the
/// decoder).
pub(super) fn scan_flat_kinds<'a>(text: &'a str, field: impl FnMut(&'a str, Token<'a>) -> Option<()>) -> Option<()> {
    scan_with::<false>(text, field)
}

fn scan_with<'a, const VALUES: bool>(
    text: &'a str,
    mut field: impl FnMut(&'a str, Token<'a>) -> Option<()>,
) -> Option<()> {
    let row = text.as_bytes();
    let mut i = skip_ws(row, 0);
    if row.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(row, i + 1);
    if row.get(i) == Some(&b'}') {
        return (skip_ws(row, i + 1) == row.len()).then_some(());
    }
    loop {
        if row.get(i) != Some(&b'"') {
            return None;
        }
        let (key, next) = plain_string(text, i + 1)?;
        i = skip_ws(row, next);
        if row.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(row, i + 1);
        let (token, next) = value::<VALUES>(text, i)?;
        field(key, token)?;
        i = skip_ws(row, next);
        match row.get(i) {
            Some(b',') => i = skip_ws(row, i + 1),
            Some(b'}') => return (skip_ws(row, i + 1) == row.len()).then_some(()),
            _ => return None,
        }
    }
}

/// `a == b` for the short keys of records, compared in place (a word or two of
/// overlapping loads) rather than by a call to `memcmp` per key.
#[inline]
pub(super) fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn word(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    }
    fn half(s: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    }
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A string's content from just past its opening quote, and the index past
/// its closing one: `None` for an escape, a control character or no end.
fn plain_string(text: &str, start: usize) -> Option<(&str, usize)> {
    let rest = text.as_bytes().get(start..)?;
    let len = string_stop(rest)?;
    if rest[len] != b'"' {
        return None;
    }
    // Between two quotes of UTF-8 text: whole characters (only the bounds are checked).
    Some((text.get(start..start + len)?, start + len + 1))
}

/// The first quote, backslash or control character in `b`, eight bytes at
/// a time: in each word, the lowest byte flagged is always a true one (a
/// borrow only flags bytes above a true one).
pub(crate) fn string_stop(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero_byte(w ^ (ONES * u64::from(b'"')))
            | zero_byte(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&x| x == b'"' || x == b'\\' || x < 0x20)
        .map(|p| i + p)
}

fn value<const VALUES: bool>(text: &str, i: usize) -> Option<(Token<'_>, usize)> {
    let b = text.as_bytes();
    let literal = |word: &[u8], token| b.get(i..)?.starts_with(word).then_some((token, i + word.len()));
    match *b.get(i)? {
        b'"' => plain_string(text, i + 1).map(|(s, next)| (Token::Str(s), next)),
        b'n' => literal(b"null", Token::Null),
        b't' => literal(b"true", Token::Bool(true)),
        b'f' => literal(b"false", Token::Bool(false)),
        b'-' | b'0'..=b'9' => number::<VALUES>(text, i),
        _ => None,
    }
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number<const VALUES: bool>(text: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > from).then_some(i)
    };
    let mut i = start + usize::from(b[start] == b'-');
    let int_start = i;
    i = digits(i)?;
    if b[int_start] == b'0' && i - int_start > 1 {
        return None;
    }
    let mut is_float = false;
    let int_digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
        is_float = true;
    }
    if !VALUES && is_float && int_digits <= 300 && !matches!(b.get(i), Some(b'e' | b'E')) {
        // Below 10^301: finite whatever its digits.
        return Some((Token::Float(0.0), i));
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
        is_float = true;
    }
    let text = text.get(start..i)?;
    if VALUES && text == "-0" {
        // As Arrow reads it into a double column (into an integer one it refuses the fast path).
        return Some((Token::Float(-0.0), i));
    }
    let token = if is_float {
        // Out of a double's range: serde's error to give.
        Token::Float(text.parse().ok().filter(|f: &f64| f.is_finite())?)
    } else {
        // Beyond i64: serde's (u64 or a double).
        Token::Int(text.parse().ok()?)
    };
    Some((token, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(row: &str) -> Option<Vec<(String, Token<'_>)>> {
        let mut out = vec![];
        scan_flat(row, |k, t| {
            out.push((k.to_string(), t));
            Some(())
        })?;
        Some(out)
    }

    #[test]
    fn scans_flat_objects() {
        let row = r#" { "i" : -12, "f":1.5e3,"z":-0.0, "b":true, "c":false, "n":null, "s":"é x" } "#;
        let got = scan(row).unwrap();
        let want = [
            ("i", Token::Int(-12)),
            ("f", Token::Float(1500.0)),
            ("z", Token::Float(-0.0)),
            ("b", Token::Bool(true)),
            ("c", Token::Bool(false)),
            ("n", Token::Null),
            ("s", Token::Str("é x")),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, t), (wk, wt)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), *t), (wk, wt));
        }
        assert_eq!(scan("{}"), Some(vec![]));
        assert_eq!(scan(r#"{"x":0}"#).unwrap()[0].1, Token::Int(0));
        // Every float reads as Rust (and serde with float_roundtrip) reads it.
        let f = scan(r#"{"x":0.1000000000000000055511151231257827}"#).unwrap();
        assert_eq!(f[0].1, Token::Float(0.1));
    }

    /// The kinds-only scan takes and refuses the rows the full one does, with tokens of
    /// the same kinds (equal but for the floats it leaves unconverted).
    #[test]
    fn the_kinds_scan_agrees_with_the_full_one() {
        let big = format!("{}.5", "9".repeat(300));
        let bigger = format!("{}.5", "9".repeat(309));
        let rows = [
            r#"{"a":1.5,"b":-0.25,"c":12,"d":"x","e":null,"f":true}"#.to_string(),
            r#"{"a":1.5e3,"b":1e400,"c":-1e-400}"#.to_string(),
            r#"{"a":1e400}"#.to_string(),
            format!(r#"{{"a":{big}}}"#),
            format!(r#"{{"a":{bigger}}}"#),
            format!(r#"{{"a":-{bigger}}}"#),
            r#"{"a":1.}"#.to_string(),
            r#"{"a":01.5}"#.to_string(),
            r#"{"a":1.5x}"#.to_string(),
            r#"{"a":99999999999999999999}"#.to_string(),
        ];
        for row in &rows {
            let mut full = vec![];
            let full_ok = scan_flat(row, |k, t| {
                full.push((k, t));
                Some(())
            });
            let mut kinds = vec![];
            let kinds_ok = scan_flat_kinds(row, |k, t| {
                kinds.push((k, t));
                Some(())
            });
            assert_eq!(full_ok, kinds_ok, "{row}");
            assert_eq!(full.len(), kinds.len(), "{row}");
            for ((fk, ft), (kk, kt)) in full.iter().zip(&kinds) {
                assert_eq!(fk, kk);
                match (ft, kt) {
                    (Token::Float(_), Token::Float(k)) => assert!(*k == 0.0 || ft == kt, "{row}"),
                    _ => assert_eq!(ft, kt, "{row}"),
                }
            }
        }
    }

    #[test]
    fn same_key_is_equality() {
        let keys: Vec<String> = (0..40)
            .flat_map(|n| {
                let base: String = "abcdefghijklmnopqrstuvwxyz0123456789_ABCD".chars().take(n).collect();
                let mut last = base.clone();
                if let Some(c) = last.pop() {
                    last.push(if c == 'Z' { 'Y' } else { 'Z' });
                }
                let mut first = base.clone();
                if !first.is_empty() {
                    first.replace_range(0..1, "é");
                }
                [base, last, first]
            })
            .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn string_stop_finds_the_first_special_byte() {
        let naive = |b: &[u8]| b.iter().position(|&x| x == b'"' || x == b'\\' || x < 0x20);
        let specials = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        let fillers = [b'a', 0x20, 0x21, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'];
        for len in 0..20 {
            for at in 0..=len {
                for &sp in &specials {
                    for &fill in &fillers {
                        let mut b = vec![fill; len];
                        if at < len {
                            b[at] = sp;
                            // A second special byte after the first must not win.
                            if at + 1 < len {
                                b[at + 1] = b'"';
                            }
                        }
                        assert_eq!(string_stop(&b), naive(&b), "{b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn leaves_the_rest_to_serde() {
        for row in [
            r#"{"a\"b":1}"#,
            r#"{"s":"a\nb"}"#,
            "{\"s\":\"a\tb\"}",
            r#"{"o":{}}"#,
            r#"{"l":[]}"#,
            r#"{"i":01}"#,
            r#"{"i":1.}"#,
            r#"{"i":.5}"#,
            r#"{"i":1e}"#,
            r#"{"i":-}"#,
            r#"{"i":9223372036854775808}"#,
            r#"{"f":1e400}"#,
            r#"{"i":nul}"#,
            r#"{"i":1,}"#,
            r#"{"i":1} x"#,
            r#"{"i":1"#,
            r#"{"i" 1}"#,
            r#"{,}"#,
            r#"[1]"#,
            "",
        ] {
            assert!(scan(row).is_none(), "{row}");
        }
    }
}
