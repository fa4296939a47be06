//! Quoting SQL identifiers, so any table or column name — including
//! `Robert'); DROP TABLE x;--` — is only ever a name.

/// `name` as a double-quoted SQL identifier (embedded `"` doubled).
pub fn quote_ident(name: &str) -> String {
    let mut q = String::with_capacity(name.len() + 2);
    q.push('"');
    for c in name.chars() {
        if c == '"' {
            q.push('"');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Quoted identifiers joined by `, `.
pub fn quote_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| quote_ident(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_names() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(
            quote_ident("Robert'); DROP TABLE x;--"),
            "\"Robert'); DROP TABLE x;--\""
        );
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_list(&["a", "b c"]), "\"a\", \"b c\"");
    }
}
