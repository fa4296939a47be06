//! Masking of secrets in everything a connector prints.
//!
//! Which config keys are secret comes from the spec (`airbyte_secret: true`,
//! at any depth) plus the legacy and foreign names of the same secrets
//! (`secret_key`, `aws_secret_access_key`, Fivetran's `access_key_secret`, …).
//! Every value found under such a key in the config is replaced by `**********`
//! wherever it appears in the text of a LOG, TRACE or CONNECTION_STATUS message
//! or a stderr line: in string values only, never in the JSON keys of a
//! message (which would no longer be a valid message). A secret shorter than
//! [`MIN_SUBSTRING_SECRET`] characters is masked only where it stands as a
//! word of its own: inside words it is far more likely ordinary text (a
//! one-letter "secret" would otherwise mask every `e` of every message).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Value;

/// The replacement text.
pub const MASK: &str = "**********";

/// Names that are secret in any flavour of any connector, spec or not.
const WELL_KNOWN_SECRET_KEYS: &[&str] = &[
    "secret_access_key",
    "secret_key",
    "aws_secret_access_key",
    "access_key_secret",
    "session_token",
    "aws_session_token",
    "password",
    "token",
    "api_key",
    "private_key",
    "pgp_secret_key",
    "pgp_pass_phrase",
    "client_secret",
    "external_id",
];

/// Secrets at least this long (in characters) are masked wherever they
/// appear; shorter ones only as whole words.
pub const MIN_SUBSTRING_SECRET: usize = 4;

/// A set of secret values to mask.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Values, longest first, in raw and JSON-escaped forms.
    values: Vec<String>,
}

impl Secrets {
    /// No secrets.
    pub fn none() -> Self {
        Self::default()
    }

    /// The secret key names declared by a `connectionSpecification`.
    pub fn secret_keys_of_spec(spec: &Value) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = WELL_KNOWN_SECRET_KEYS.iter().map(|s| s.to_string()).collect();
        collect_spec_secret_keys(spec, &mut keys);
        keys
    }

    /// Every value of `config` found under a secret key of `spec`.
    pub fn from_spec_and_config(spec: &Value, config: &Value) -> Self {
        let keys = Self::secret_keys_of_spec(spec);
        let mut found = BTreeSet::new();
        collect_config_values(config, &keys, &mut found);
        let mut s = Secrets::default();
        for v in found {
            s.add(&v);
        }
        s
    }

    /// Adds one secret value (ignored when empty).
    pub fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let escaped = serde_json::to_string(value)
            .map(|q| q[1..q.len() - 1].to_string())
            .unwrap_or_default();
        for v in [value.to_string(), escaped] {
            if !v.is_empty() && !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Adds every secret of another set.
    pub fn extend(&mut self, other: &Secrets) {
        for v in &other.values {
            if !self.values.contains(v) {
                self.values.push(v.clone());
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether any secret appears in `text` (as a substring, even a short one).
    pub fn appear_in(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
    }

    /// `text` with every secret replaced by [`MASK`] (a short one only where
    /// it stands as a word: see [`MIN_SUBSTRING_SECRET`]).
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for v in &self.values {
            if !out.contains(v.as_str()) {
                continue;
            }
            out = Cow::Owned(if v.chars().count() >= MIN_SUBSTRING_SECRET {
                out.replace(v.as_str(), MASK)
            } else {
                replace_words(&out, v)
            });
        }
        out
    }

    /// Masks every string value in `value` (a whole string equal to a secret,
    /// or the secrets in it as [`Secrets::mask`] does); object keys are left
    /// as they are.
    pub fn mask_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if self.values.iter().any(|v| v == s) {
                    *s = MASK.to_string();
                } else if let Cow::Owned(masked) = self.mask(s) {
                    *s = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_value(v)),
            Value::Object(obj) => obj.values_mut().for_each(|v| self.mask_value(v)),
            _ => {}
        }
    }
}

/// `text` with each occurrence of `word` that is not part of a longer word
/// (no letter or digit right before or after it) replaced by [`MASK`].
fn replace_words(text: &str, word: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(i) = rest.find(word) {
        let prev = rest[..i].chars().next_back().or(before);
        let next = rest[i + word.len()..].chars().next();
        let alone = !prev.is_some_and(char::is_alphanumeric) && !next.is_some_and(char::is_alphanumeric);
        out.push_str(&rest[..i]);
        out.push_str(if alone { MASK } else { word });
        before = word.chars().next_back();
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

fn collect_spec_secret_keys(schema: &Value, keys: &mut BTreeSet<String>) {
    match schema {
        Value::Object(obj) => {
            if let Some(Value::Object(props)) = obj.get("properties") {
                for (name, prop) in props {
                    if prop.get("airbyte_secret").and_then(Value::as_bool) == Some(true) {
                        keys.insert(name.clone());
                    }
                }
            }
            for v in obj.values() {
                collect_spec_secret_keys(v, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_spec_secret_keys(v, keys)),
        _ => {}
    }
}

fn collect_config_values(config: &Value, keys: &BTreeSet<String>, found: &mut BTreeSet<String>) {
    match config {
        Value::Object(obj) => {
            for (k, v) in obj {
                if keys.contains(k.as_str()) {
                    // Whatever the value is — a string, or the wrong type
                    // (a number, a list), which an error message may quote.
                    collect_leaves(v, found);
                } else {
                    collect_config_values(v, keys, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_config_values(v, keys, found)),
        _ => {}
    }
}

/// Every string and number inside `value`, as text.
fn collect_leaves(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            found.insert(s.clone());
        }
        Value::Number(n) => {
            found.insert(n.to_string());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, found)),
        Value::Object(obj) => obj.values().for_each(|v| collect_leaves(v, found)),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_spec_and_legacy_secrets_at_any_depth() {
        let spec = json!({"properties": {"api_secret": {"type": "string", "airbyte_secret": true},
            "nested": {"type":"object","properties": {"pw": {"airbyte_secret": true}}}}});
        let config = json!({"api_secret": "s3cr3t-A", "nested": {"pw": "hunter2"},
            "secret_key": "legacy\"quote", "bucket": "public"});
        let s = Secrets::from_spec_and_config(&spec, &config);
        let text = "a s3cr3t-A b hunter2 c legacy\"quote d {\"k\":\"legacy\\\"quote\"} public";
        let masked = s.mask(text);
        assert!(!masked.contains("s3cr3t-A"));
        assert!(!masked.contains("hunter2"));
        assert!(!masked.contains("legacy"));
        assert!(masked.contains("public"));
    }

    #[test]
    fn secrets_of_the_wrong_type_are_masked_too() {
        let config = json!({"secret_access_key": ["SECRETXYZarr"], "credentials": {"session_token": 987654321},
            "password": {"nested": "pw-in-object"}});
        let s = Secrets::from_spec_and_config(&json!({}), &config);
        let text = "field 'secret_access_key': [\"SECRETXYZarr\"] is not of type \"string\"; 987654321; pw-in-object";
        let masked = s.mask(text);
        for leaked in ["SECRETXYZarr", "987654321", "pw-in-object"] {
            assert!(!masked.contains(leaked), "{masked}");
        }
    }

    #[test]
    fn short_secrets_are_masked_as_words_only_and_keys_never() {
        let mut s = Secrets::none();
        s.add("e");
        s.add("tt");
        assert_eq!(s.mask("the message: e, http://x"), "the message: **********, http://x");
        assert_eq!(s.mask("tt"), MASK);
        let mut v = json!({"message": "e", "streams": ["e", "see", "a tt b"], "n": 1});
        s.mask_value(&mut v);
        assert_eq!(
            v,
            json!({"message": MASK, "streams": [MASK, "see", "a ********** b"], "n": 1})
        );
        // Long secrets are masked anywhere, keys excepted.
        let mut s = Secrets::none();
        s.add("wJalrXUtnFEMI");
        let mut v = json!({"wJalrXUtnFEMI": "url?key=wJalrXUtnFEMI&x"});
        s.mask_value(&mut v);
        assert_eq!(v, json!({"wJalrXUtnFEMI": "url?key=**********&x"}));
    }
}
