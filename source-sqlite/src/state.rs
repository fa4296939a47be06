//! The per-stream state this source writes and reads back.
//!
//! ```json
//! {"sync_mode":"full_refresh","key_columns":["rowid"],"key":[1000]}
//! {"sync_mode":"full_refresh","complete":true}
//! {"sync_mode":"incremental","cursor_field":["updated_at"],"cursor":"2024-05-01","key_columns":["rowid"],"key":[17]}
//! ```
//!
//! A full refresh records the last row key read (rowid, or the primary key
//! of a WITHOUT ROWID table) after every batch, and `complete` at the end, so
//! a failed run resumes after the last checkpoint and a finished one starts
//! over. An incremental read records its cursor field, the last cursor value
//! and the key of the last row with that value: the next run reads rows
//! ordered by `(cursor, key)` after that pair, so rows added later with a
//! cursor equal to the saved one are read, and none is read twice. Values
//! keep their SQLite storage class (see [`crate::value::position`]).

use rusqlite::types::Value as SqlValue;
use serde_json::{json, Map, Value};

use crate::value::position::{from_json, to_json};

/// Where an incremental read stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The cursor value of the last row read.
    pub cursor: SqlValue,
    /// The key of the last row read (empty for keyless streams).
    pub key: Vec<SqlValue>,
}

/// A stream's checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Checkpoint {
    /// A full refresh: in progress (after `key`) or complete.
    FullRefresh {
        /// Names of the key columns (`rowid` or the primary key).
        key_columns: Vec<String>,
        /// The last key read; `None` when complete.
        key: Option<Vec<SqlValue>>,
    },
    /// An incremental read.
    Incremental {
        /// The cursor field the position belongs to.
        cursor_field: Vec<String>,
        /// Names of the key columns breaking cursor ties.
        key_columns: Vec<String>,
        /// Where the last run stopped; `None` if it read nothing.
        position: Option<Position>,
    },
}

impl Checkpoint {
    /// The state blob.
    pub fn to_json(&self) -> Value {
        match self {
            Checkpoint::FullRefresh { key_columns, key } => match key {
                Some(key) => json!({
                    "sync_mode": "full_refresh",
                    "key_columns": key_columns,
                    "key": key.iter().map(to_json).collect::<Vec<_>>(),
                }),
                None => json!({"sync_mode": "full_refresh", "complete": true}),
            },
            Checkpoint::Incremental {
                cursor_field,
                key_columns,
                position,
            } => {
                let mut m = Map::new();
                m.insert("sync_mode".into(), json!("incremental"));
                m.insert("cursor_field".into(), json!(cursor_field));
                if let Some(p) = position {
                    m.insert("cursor".into(), to_json(&p.cursor));
                    m.insert("key_columns".into(), json!(key_columns));
                    m.insert("key".into(), Value::Array(p.key.iter().map(to_json).collect()));
                }
                Value::Object(m)
            }
        }
    }

    /// Reads a state blob. Besides this source's own shapes, a bare
    /// `{"cursor_field": …, "cursor": …}` is taken as an incremental position
    /// without a tie-breaking key.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or_else(|| format!("expected an object, found {v}"))?;
        let strings = |key: &str| -> Result<Vec<String>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s.clone()]),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| format!("\"{key}\" must list strings"))
                    })
                    .collect(),
                Some(other) => Err(format!("\"{key}\" must be a list of strings, found {other}")),
            }
        };
        let values = |key: &str| -> Result<Vec<SqlValue>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => a.iter().map(from_json).collect(),
                Some(other) => Ok(vec![from_json(other)?]),
            }
        };
        let mode = obj.get("sync_mode").and_then(Value::as_str);
        match mode {
            Some("full_refresh") => {
                let complete = obj.get("complete").and_then(Value::as_bool).unwrap_or(false);
                let key = values("key")?;
                Ok(Checkpoint::FullRefresh {
                    key_columns: strings("key_columns")?,
                    key: if complete || key.is_empty() { None } else { Some(key) },
                })
            }
            Some("incremental") | None if obj.contains_key("cursor_field") => {
                let cursor_field = strings("cursor_field")?;
                let position = match obj.get("cursor") {
                    Some(c) => Some(Position {
                        cursor: from_json(c)?,
                        key: values("key")?,
                    }),
                    None => None,
                };
                Ok(Checkpoint::Incremental {
                    cursor_field,
                    key_columns: strings("key_columns")?,
                    position,
                })
            }
            _ => Err(format!(
                "it is not a source-sqlite state (expected \"sync_mode\" full_refresh or incremental): {v}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_round_trip() {
        let cases = [
            Checkpoint::FullRefresh {
                key_columns: vec!["rowid".into()],
                key: Some(vec![SqlValue::Integer(1000)]),
            },
            Checkpoint::FullRefresh {
                key_columns: vec![],
                key: None,
            },
            Checkpoint::Incremental {
                cursor_field: vec!["updated_at".into()],
                key_columns: vec!["a".into(), "b".into()],
                position: Some(Position {
                    cursor: SqlValue::Text("2024-05-01".into()),
                    key: vec![SqlValue::Integer(1), SqlValue::Text("x".into())],
                }),
            },
            Checkpoint::Incremental {
                cursor_field: vec!["n".into()],
                key_columns: vec![],
                position: Some(Position {
                    cursor: SqlValue::Null,
                    key: vec![],
                }),
            },
        ];
        for c in cases {
            let j = c.to_json();
            assert_eq!(Checkpoint::parse(&j).unwrap(), c, "{j}");
        }
    }

    #[test]
    fn documented_json() {
        let c = Checkpoint::Incremental {
            cursor_field: vec!["updated_at".into()],
            key_columns: vec!["rowid".into()],
            position: Some(Position {
                cursor: SqlValue::Text("2024-05-01".into()),
                key: vec![SqlValue::Integer(17)],
            }),
        };
        assert_eq!(
            serde_json::to_string(&c.to_json()).unwrap(),
            r#"{"sync_mode":"incremental","cursor_field":["updated_at"],"cursor":"2024-05-01","key_columns":["rowid"],"key":[17]}"#
        );
        let bare = Checkpoint::parse(&json!({"cursor_field": "u", "cursor": 5})).unwrap();
        assert!(matches!(bare, Checkpoint::Incremental { position: Some(_), .. }));
        assert!(Checkpoint::parse(&json!({"foo": 1})).is_err());
    }
}
