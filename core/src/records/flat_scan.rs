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
pub(super) fn scan_flat<'a>(text: &'a str, mut field: impl FnMut(&'a str, Token<'a>) -> Option<()>) -> Option<()> {
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
        let (token, next) = value(text, i)?;
        field(key, token)?;
        i = skip_ws(row, next);
        match row.get(i) {
            Some(b',') => i = skip_ws(row, i + 1),
            Some(b'}') => return (skip_ws(row, i + 1) == row.len()).then_some(()),
            _ => return None,
        }
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
fn string_stop(b: &[u8]) -> Option<usize> {
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

fn value(text: &str, i: usize) -> Option<(Token<'_>, usize)> {
    let b = text.as_bytes();
    let literal = |word: &[u8], token| b.get(i..)?.starts_with(word).then_some((token, i + word.len()));
    match *b.get(i)? {
        b'"' => plain_string(text, i + 1).map(|(s, next)| (Token::Str(s), next)),
        b'n' => literal(b"null", Token::Null),
        b't' => literal(b"true", Token::Bool(true)),
        b'f' => literal(b"false", Token::Bool(false)),
        b'-' | b'0'..=b'9' => number(text, i),
        _ => None,
    }
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number(text: &str, start: usize) -> Option<(Token<'_>, usize)> {
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
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
        is_float = true;
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
