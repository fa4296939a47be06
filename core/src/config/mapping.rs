//! A small toolkit for mapping configs written in another flavour (legacy
//! names, Airbyte, Fivetran) onto a connector's native config.
//!
//! A mapping produces a [`Mapped`]: the native config, the flavour it was
//! read as, and one [`KeyNote`] per key the user wrote (renamed, kept,
//! dropped with why, …). Notes hold key names and fixed reasons only, never a
//! value, so they can be logged safely: [`Mapped::warnings`] turns them into
//! the WARN lines the runtime logs, [`Mapped::table`] into the table
//! `import-config` prints on stderr.

use std::collections::BTreeSet;

use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What happened to one key of the input config. `from` is the key as the
/// user wrote it (dotted path, e.g. `provider.bucket`, `streams[1].globs`);
/// `to` is where it went in the native config, as a path from the native
/// config's root (e.g. `csv_delimiter`, `streams[1].file_format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNote {
    /// Read as native key `to` (the same name for native keys).
    Mapped {
        /// The key as written.
        from: String,
        /// The native key.
        to: String,
    },
    /// A legacy (or older) name, read as `to`; logged as a WARN.
    Legacy {
        /// The legacy key as written.
        from: String,
        /// The native key it was read as.
        to: String,
    },
    /// A legacy or lower-precedence name given together with `winner`, which
    /// wins; `from` is ignored. Logged as a WARN.
    Shadowed {
        /// The ignored key as written.
        from: String,
        /// The native key both mean.
        to: String,
        /// The key that was used instead.
        winner: String,
    },
    /// Read as `to`, but the native behaviour is only close; listed in the
    /// WARN of options without an exact equivalent.
    Approximated {
        /// The key as written.
        from: String,
        /// The native key.
        to: String,
        /// What differs.
        why: String,
    },
    /// Not applied: no equivalent. Listed in the WARN of dropped options.
    Dropped {
        /// The key as written.
        from: String,
        /// Why it has no equivalent, and what to do.
        why: String,
    },
    /// Not applied, and nothing is lost (a default, a UI-only setting).
    Ignored {
        /// The key as written.
        from: String,
        /// Why nothing is lost.
        why: String,
    },
}

impl KeyNote {
    /// The key as the user wrote it.
    pub fn source_key(&self) -> &str {
        match self {
            KeyNote::Mapped { from, .. }
            | KeyNote::Legacy { from, .. }
            | KeyNote::Shadowed { from, .. }
            | KeyNote::Approximated { from, .. }
            | KeyNote::Dropped { from, .. }
            | KeyNote::Ignored { from, .. } => from,
        }
    }

    /// The table cell describing the native side.
    pub fn target(&self) -> String {
        match self {
            KeyNote::Mapped { to, .. } => to.clone(),
            KeyNote::Legacy { to, .. } => format!("{to} (legacy name)"),
            KeyNote::Shadowed { winner, .. } => format!("ignored: {winner} is also set and wins"),
            KeyNote::Approximated { to, why, .. } => format!("{to} (approximate: {why})"),
            KeyNote::Dropped { why, .. } => format!("dropped: {why}"),
            KeyNote::Ignored { why, .. } => format!("ignored: {why}"),
        }
    }
}

/// A config mapped to native keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The native config.
    pub config: Value,
    /// The flavour the input was read as.
    pub flavour: Flavour,
    /// What happened to each key of the input.
    pub notes: Vec<KeyNote>,
}

impl Mapped {
    /// The WARN lines this mapping calls for: one per legacy name used
    /// (naming the new one), then one listing every option not applied (or
    /// only approximated) with why. Never holds a value.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for note in &self.notes {
            match note {
                KeyNote::Legacy { from, to } => lines.push(format!(
                    "`{from}` is a legacy name: it was read as `{to}`. Rename it to `{to}`."
                )),
                KeyNote::Shadowed { from, to, winner } => lines.push(format!(
                    "`{from}` is a legacy name of `{to}`, and `{winner}` is also set: `{winner}` wins and `{from}` is ignored. Remove `{from}`."
                )),
                _ => {}
            }
        }
        let dropped: Vec<String> = self
            .notes
            .iter()
            .filter_map(|n| match n {
                KeyNote::Dropped { from, why } => Some(format!("`{from}` ({why})")),
                KeyNote::Approximated { from, to, why } => {
                    Some(format!("`{from}` (read as `{to}` approximately: {why})"))
                }
                _ => None,
            })
            .collect();
        if !dropped.is_empty() {
            lines.push(format!(
                "{} option(s) of this {} config have no exact equivalent in Lakeport: {}. Check the native config with `import-config`.",
                dropped.len(),
                self.flavour.name(),
                dropped.join("; ")
            ));
        }
        lines
    }

    /// Logs [`Mapped::warnings`] as WARN messages.
    pub fn emit_warnings(&self, out: &mut Emitter) -> std::io::Result<()> {
        for line in self.warnings() {
            out.warn(line)?;
        }
        Ok(())
    }

    /// The rows of the import table: source key → native key or
    /// `dropped: why`.
    pub fn table_rows(&self) -> Vec<(String, String)> {
        self.notes
            .iter()
            .map(|n| (n.source_key().to_string(), n.target()))
            .collect()
    }

    /// The import table as text, for `import-config`'s stderr.
    pub fn table(&self) -> String {
        lakeport_protocol::runtime::key_table_text(&self.table_rows())
    }

    /// Native key → the key as the user wrote it, for every key the mapping
    /// renamed (both as paths from their config's root, e.g.
    /// `streams[0].csv_delimiter` → `streams[0].format.delimiter`). Keys kept
    /// under their own name are left out: the native name is the user's.
    pub fn native_key_names(&self) -> Vec<(String, String)> {
        self.notes
            .iter()
            .filter_map(|n| match n {
                KeyNote::Mapped { from, to }
                | KeyNote::Legacy { from, to }
                | KeyNote::Approximated { from, to, .. }
                    if from != to =>
                {
                    Some((to.clone(), from.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The runtime's view of this mapping (the notes are dropped; the
    /// renamed keys are kept, so validation errors name the user's keys).
    pub fn into_migrated(self) -> MigratedConfig {
        let key_names = self.native_key_names();
        MigratedConfig {
            config: self.config,
            flavour: self.flavour,
            key_names,
        }
    }

    /// Logs the warnings to `out` and returns the runtime's view: what a
    /// connector's `migrate_config` returns.
    pub fn migrate(self, out: &mut Emitter) -> std::result::Result<MigratedConfig, ConnectorError> {
        // A closed stdout is reported by the next real write.
        let _ = self.emit_warnings(out);
        Ok(self.into_migrated())
    }
}

/// A value that says "unset": null, or an empty string. (A string of
/// whitespace is a value: a tab or a space is a valid delimiter.)
pub fn is_blank(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(str::is_empty)
}

/// A string value, trimmed unless it is only whitespace (a tab delimiter);
/// numbers and booleans are written out.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.trim().is_empty() && !s.is_empty() => Some(s.clone()),
        Value::String(s) if !s.is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean value; `"true"`/`"false"` strings are accepted.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative integer value; numeric strings are accepted.
pub fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Maps the keys of one object of the input config into a native object,
/// recording a [`KeyNote`] for each. Keys are looked up in `src`; notes name
/// them with `path` in front (e.g. `provider.`), and the native keys with
/// the native object's own path in front (e.g. `streams[0].`; empty for the
/// native config's root).
#[derive(Debug)]
pub struct Mapper<'a> {
    src: &'a Map<String, Value>,
    path: String,
    native: String,
    /// The native object being built.
    pub out: Map<String, Value>,
    /// The notes so far.
    pub notes: Vec<KeyNote>,
    used: BTreeSet<String>,
}

impl<'a> Mapper<'a> {
    /// A mapper over `src`, whose keys are written `path` + key in notes.
    pub fn new(src: &'a Map<String, Value>, path: impl Into<String>) -> Self {
        Self::within(src, path, "")
    }

    /// A mapper over `src` (keys written `path` + key in notes) whose output
    /// is placed at `native` in the native config (e.g. `streams[0].`), so
    /// notes name the native keys from the native config's root.
    pub fn within(src: &'a Map<String, Value>, path: impl Into<String>, native: impl Into<String>) -> Self {
        Mapper {
            src,
            path: path.into(),
            native: native.into(),
            out: Map::new(),
            notes: Vec::new(),
            used: BTreeSet::new(),
        }
    }

    /// The source object.
    pub fn src(&self) -> &'a Map<String, Value> {
        self.src
    }

    /// The dotted name of `key` as the user wrote it.
    pub fn key_path(&self, key: &str) -> String {
        format!("{}{key}", self.path)
    }

    /// The value of `key`, unless absent or blank (does not consume it).
    pub fn peek(&self, key: &str) -> Option<&'a Value> {
        self.src.get(key).filter(|v| !is_blank(v))
    }

    /// Marks `key` as handled and returns its value unless absent or blank.
    /// A blank value is noted as ignored.
    pub fn take(&mut self, key: &str) -> Option<&'a Value> {
        let v = self.src.get(key)?;
        if self.used.insert(key.to_string()) && is_blank(v) {
            self.notes.push(KeyNote::Ignored {
                from: self.key_path(key),
                why: "empty".into(),
            });
            return None;
        }
        Some(v).filter(|v| !is_blank(v))
    }

    /// Marks `key` as handled without a note.
    pub fn consume(&mut self, key: &str) {
        self.used.insert(key.to_string());
    }

    /// The path of native key `to` from the native config's root.
    pub fn native_path(&self, to: &str) -> String {
        format!("{}{to}", self.native)
    }

    /// Sets native key `to` from source key `from` (already taken). When `to`
    /// is already set (a native key, or a higher-precedence name) the value is
    /// not used and `from` is noted as shadowed.
    pub fn set(&mut self, from: &str, to: &str, value: Value) {
        let from_path = self.key_path(from);
        let to_path = self.native_path(to);
        if self.out.contains_key(to) {
            let winner = self
                .notes
                .iter()
                .rev()
                .find_map(|n| match n {
                    KeyNote::Mapped { from, to: t }
                    | KeyNote::Legacy { from, to: t }
                    | KeyNote::Approximated { from, to: t, .. }
                        if *t == to_path =>
                    {
                        Some(from.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| to_path.clone());
            self.notes.push(KeyNote::Shadowed {
                from: from_path,
                to: to_path,
                winner,
            });
            return;
        }
        self.out.insert(to.to_string(), value);
        self.notes.push(KeyNote::Mapped {
            from: from_path,
            to: to_path,
        });
    }

    /// Like [`Mapper::set`] but noted as a legacy name.
    pub fn set_legacy(&mut self, from: &str, to: &str, value: Value) {
        self.set(from, to, value);
        if let Some(KeyNote::Mapped { from, to }) = self.notes.last().cloned() {
            self.notes.pop();
            self.notes.push(KeyNote::Legacy { from, to });
        }
    }

    /// Like [`Mapper::set`] but noted as approximate, with why.
    pub fn set_approx(&mut self, from: &str, to: &str, value: Value, why: &str) {
        self.set(from, to, value);
        if let Some(KeyNote::Mapped { from, to }) = self.notes.last().cloned() {
            self.notes.pop();
            self.notes.push(KeyNote::Approximated {
                from,
                to,
                why: why.into(),
            });
        }
    }

    /// Copies `from` to native key `to` as it is (when present and not blank).
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        match self.take(from) {
            Some(v) => {
                self.set(from, to, v.clone());
                true
            }
            None => false,
        }
    }

    /// Renames the first present of `names` (most preferred first) to `to`;
    /// the later ones present are noted as shadowed. `legacy` says from which
    /// index on a name is a legacy (older) one.
    pub fn rename_first(&mut self, names: &[&str], to: &str, legacy: usize) {
        for (i, name) in names.iter().enumerate() {
            if let Some(v) = self.take(name) {
                if i >= legacy {
                    self.set_legacy(name, to, v.clone());
                } else {
                    self.set(name, to, v.clone());
                }
            }
        }
    }

    /// Notes `from` as dropped, with why (nothing when the source lacks it).
    pub fn drop_key(&mut self, from: &str, why: impl Into<String>) {
        if !self.src.contains_key(from) {
            return;
        }
        self.consume(from);
        self.notes.push(KeyNote::Dropped {
            from: self.key_path(from),
            why: why.into(),
        });
    }

    /// Notes `from` as ignored, with why: nothing is lost (nothing when the
    /// source lacks it or it is already noted).
    pub fn ignore(&mut self, from: &str, why: impl Into<String>) {
        if !self.src.contains_key(from) || self.notes.iter().any(|n| n.source_key() == self.key_path(from)) {
            self.consume(from);
            return;
        }
        self.consume(from);
        self.notes.push(KeyNote::Ignored {
            from: self.key_path(from),
            why: why.into(),
        });
    }

    /// Drops `from` with `why` when its value is not `harmless` (compared as
    /// text, case-insensitively); ignores it otherwise.
    pub fn drop_unless(&mut self, from: &str, harmless: &[&str], why: &str) {
        let Some(v) = self.take(from) else { return };
        let text = as_text(v).unwrap_or_default().to_ascii_lowercase();
        if harmless.iter().any(|h| h.eq_ignore_ascii_case(&text)) {
            self.ignore(from, "the default behaviour");
        } else {
            self.drop_key(from, why);
        }
    }

    /// Copies every native key of `native` present in the source as it is,
    /// before mapping, so native names beat the flavour's own (native >
    /// other). Nested values are kept verbatim.
    pub fn keep_native(&mut self, native: &[&str]) {
        for key in native {
            if let Some(v) = self.take(key) {
                self.set(key, key, v.clone());
            }
        }
    }

    /// Adds a child mapper's notes (its output is the caller's to place).
    pub fn absorb_notes(&mut self, child: Mapper<'_>) -> Map<String, Value> {
        self.notes.extend(child.notes);
        child.out
    }

    /// Ends `child` as [`Mapper::finish`] does (its keys not handled dropped
    /// as `why`) and takes in its notes and the keys it mapped; a key this
    /// mapper has already set keeps its value.
    pub fn merge_finished(&mut self, child: Mapper<'_>, why: &str) {
        let (out, notes) = child.finish(why);
        self.notes.extend(notes);
        for (k, v) in out {
            self.out.entry(k).or_insert(v);
        }
    }

    /// Ends the mapping: every source key not handled is dropped as `why`.
    pub fn finish(mut self, why: &str) -> (Map<String, Value>, Vec<KeyNote>) {
        let left: Vec<String> = self.src.keys().filter(|k| !self.used.contains(*k)).cloned().collect();
        for k in left {
            if self.src.get(&k).is_some_and(is_blank) {
                self.ignore(&k, "empty");
            } else {
                self.drop_key(&k, why);
            }
        }
        (self.out, self.notes)
    }
}

/// Renames legacy keys of a native-flavour object in place (native > legacy),
/// returning a note per key: legacy names as [`KeyNote::Legacy`] or
/// [`KeyNote::Shadowed`], other keys as kept. Only string (or null) values
/// are renamed: other shapes are not the legacy key (e.g. an Airbyte
/// `format` object).
pub fn rename_legacy(map: &mut Map<String, Value>, names: &[(&str, &str)]) -> Vec<KeyNote> {
    let mut notes = Vec::new();
    let mut renamed = BTreeSet::new();
    for (old, new) in names {
        let Some(value) = map.get(*old) else { continue };
        if !(value.is_string() || value.is_null()) {
            continue;
        }
        let value = map.remove(*old).unwrap_or(Value::Null);
        renamed.insert((*old).to_string());
        if map.contains_key(*new) {
            let winner = notes
                .iter()
                .find_map(|n| match n {
                    KeyNote::Legacy { from, to } if to == new => Some(from.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| (*new).to_string());
            notes.push(KeyNote::Shadowed {
                from: (*old).into(),
                to: (*new).into(),
                winner,
            });
        } else {
            notes.push(KeyNote::Legacy {
                from: (*old).into(),
                to: (*new).into(),
            });
            if !is_blank(&value) {
                map.insert((*new).to_string(), value);
            }
        }
    }
    let kept: Vec<KeyNote> = map
        .keys()
        .filter(|k| {
            !notes
                .iter()
                .any(|n| matches!(n, KeyNote::Legacy { to, .. } if to == *k))
        })
        .map(|k| KeyNote::Mapped {
            from: k.clone(),
            to: k.clone(),
        })
        .collect();
    let mut all = kept;
    all.extend(notes);
    all
}

/// Whether any note says a legacy name was used.
pub fn used_legacy(notes: &[KeyNote]) -> bool {
    notes
        .iter()
        .any(|n| matches!(n, KeyNote::Legacy { .. } | KeyNote::Shadowed { .. }))
}

/// The config must be a JSON object.
pub fn object(raw: &Value) -> Result<&Map<String, Value>> {
    raw.as_object().ok_or_else(|| {
        Error::Config("The config must be a JSON object (`{...}`) of the keys the `spec` command lists.".into())
    })
}

/// A config_error for a config whose flavour cannot be told.
pub fn unknown_flavour(connector: &str, expected: &[&str]) -> Error {
    Error::Config(format!(
        "{connector} could not tell which kind of config this is. Expected one of: {}. Fix the config, or pass --from to import-config.",
        expected.join("; ")
    ))
}

/// A config_error for a config mixing the distinctive keys of several flavours.
pub fn ambiguous_flavour(connector: &str, found: &[(&str, Vec<String>)]) -> Error {
    let parts: Vec<String> = found
        .iter()
        .map(|(flavour, keys)| format!("{flavour} ({})", keys.join(", ")))
        .collect();
    Error::Config(format!(
        "{connector}: this config mixes keys of several config kinds: {}. Keep the keys of one kind only.",
        parts.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_renames_with_precedence_and_warnings() {
        let mut map = json!({"bucket": "b", "prefix": "p/", "path_prefix": "n/", "aws_access_key_id": "AKIDSECRETISH"})
            .as_object()
            .cloned()
            .unwrap();
        let notes = rename_legacy(
            &mut map,
            &[("prefix", "path_prefix"), ("aws_access_key_id", "access_key_id")],
        );
        assert_eq!(map["path_prefix"], "n/");
        assert_eq!(map["access_key_id"], "AKIDSECRETISH");
        let m = Mapped {
            config: Value::Object(map),
            flavour: Flavour::Legacy,
            notes,
        };
        let w = m.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w
            .iter()
            .any(|l| l.contains("`prefix`") && l.contains("`path_prefix` wins")));
        assert!(w.iter().any(|l| l.contains("Rename it to `access_key_id`")));
        assert!(!w.concat().contains("AKIDSECRETISH"));
        let t = m.table();
        assert!(t.contains("aws_access_key_id"), "{t}");
    }

    #[test]
    fn mapper_drops_unknown_and_shadows() {
        let src = json!({"a": 1, "b": 2, "old": 3, "x": "", "weird": true})
            .as_object()
            .cloned()
            .unwrap();
        let mut m = Mapper::new(&src, "cfg.");
        m.rename("a", "alpha");
        m.rename_first(&["b", "old"], "beta", 1);
        let (out, notes) = m.finish("unknown");
        assert_eq!(out, json!({"alpha": 1, "beta": 2}).as_object().cloned().unwrap());
        assert!(notes.contains(&KeyNote::Shadowed {
            from: "cfg.old".into(),
            to: "beta".into(),
            winner: "cfg.b".into()
        }));
        assert!(notes.contains(&KeyNote::Dropped {
            from: "cfg.weird".into(),
            why: "unknown".into()
        }));
        assert!(notes.iter().any(|n| n.source_key() == "cfg.x"));
    }

    #[test]
    fn nested_mappers_name_native_keys_from_the_root() {
        let src = json!({"format": {"delimiter": ";", "filetype": "csv"}, "name": "a"})
            .as_object()
            .cloned()
            .unwrap();
        let mut s = Mapper::within(&src, "streams[2].", "streams[0].");
        s.rename("name", "name");
        let fmt = src["format"].as_object().cloned().unwrap();
        let mut f = Mapper::within(&fmt, "streams[2].format.", "streams[0].");
        f.rename("delimiter", "csv_delimiter");
        f.rename("filetype", "csv_delimiter");
        let out = s.absorb_notes(f);
        assert_eq!(out, json!({"csv_delimiter": ";"}).as_object().cloned().unwrap());
        let m = Mapped {
            config: Value::Null,
            flavour: Flavour::Airbyte,
            notes: s.notes,
        };
        assert_eq!(
            m.native_key_names(),
            vec![
                ("streams[0].name".to_string(), "streams[2].name".to_string()),
                (
                    "streams[0].csv_delimiter".to_string(),
                    "streams[2].format.delimiter".to_string()
                ),
            ]
        );
        assert!(m.notes.contains(&KeyNote::Shadowed {
            from: "streams[2].format.filetype".into(),
            to: "streams[0].csv_delimiter".into(),
            winner: "streams[2].format.delimiter".into(),
        }));
    }
}
