//! Discovery: which tables and views the database has, their columns and
//! types, primary and foreign keys, and how a row can be addressed for
//! resumable reads (rowid or primary key).
//!
//! Foreign keys are listed in the stream's `json_schema` under
//! `x-foreign-keys`, one object per constraint:
//! `{"columns": ["user_id"], "referenced_table": "users", "referenced_columns": ["id"]}`.

use std::collections::BTreeMap;

use lakeport_protocol::{AirbyteCatalog, AirbyteStream, SyncMode};
use serde_json::{json, Map, Value};

use crate::connect::Database;
use crate::error::SqliteSourceError;
use crate::ident::{quote_ident, quote_list};
use crate::types::{ColumnKind, Observed};

/// Rows sampled to type columns declared without a type.
const UNTYPED_SAMPLE_ROWS: u32 = 1000;

/// A table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A table (rowid, WITHOUT ROWID or virtual).
    Table,
    /// A view.
    View,
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// Its name.
    pub name: String,
    /// The declared type, as written in the schema (may be empty).
    pub declared_type: String,
    /// What its values become in JSON.
    pub kind: ColumnKind,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Storage classes seen in a sample (untyped columns only).
    pub observed: Observed,
}

/// One foreign-key constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub referenced_table: String,
    /// The referenced columns (the parent's primary key when not spelled out).
    pub referenced_columns: Vec<String>,
}

/// Everything known about a table or view.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// Its name.
    pub name: String,
    /// Table or view.
    pub kind: ObjectKind,
    /// Its columns, in declaration order.
    pub columns: Vec<ColumnInfo>,
    /// Primary-key columns, in key order (empty: none).
    pub primary_key: Vec<String>,
    /// An expression selecting the rowid (`rowid`, `_rowid_` or `oid`, whichever
    /// no column shadows), for tables that have one.
    pub rowid: Option<&'static str>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

/// How rows are ordered and addressed for resuming.
#[derive(Debug, Clone, PartialEq)]
pub enum RowKey {
    /// By rowid, selected with this expression.
    Rowid(&'static str),
    /// By these primary-key columns (WITHOUT ROWID tables).
    Columns(Vec<String>),
    /// Not addressable (views).
    None,
}

impl RowKey {
    /// The names the state records for this key.
    pub fn names(&self) -> Vec<String> {
        match self {
            RowKey::Rowid(_) => vec!["rowid".to_string()],
            RowKey::Columns(c) => c.clone(),
            RowKey::None => Vec::new(),
        }
    }

    /// SQL expressions selecting the key, quoted.
    pub fn select_exprs(&self) -> Vec<String> {
        match self {
            RowKey::Rowid(alias) => vec![(*alias).to_string()],
            RowKey::Columns(c) => c.iter().map(|n| quote_ident(n)).collect(),
            RowKey::None => Vec::new(),
        }
    }
}

impl TableInfo {
    /// The column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// How to address rows for resumable reads.
    pub fn row_key(&self) -> RowKey {
        match (self.rowid, self.primary_key.is_empty()) {
            (Some(alias), _) => RowKey::Rowid(alias),
            (None, false) => RowKey::Columns(self.primary_key.clone()),
            (None, true) => RowKey::None,
        }
    }

    /// The Airbyte stream describing this table. `incremental_field` becomes the
    /// default cursor when the table has that column.
    pub fn to_stream(&self, incremental_field: Option<&str>) -> AirbyteStream {
        let mut properties = Map::new();
        for c in &self.columns {
            properties.insert(c.name.clone(), c.kind.json_schema(!c.not_null, &c.observed));
        }
        let mut schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": true,
            "properties": Value::Object(properties),
        });
        if !self.foreign_keys.is_empty() {
            schema["x-foreign-keys"] = Value::Array(
                self.foreign_keys
                    .iter()
                    .map(|fk| {
                        json!({
                            "columns": fk.columns,
                            "referenced_table": fk.referenced_table,
                            "referenced_columns": fk.referenced_columns,
                        })
                    })
                    .collect(),
            );
        }
        let default_cursor = incremental_field
            .filter(|f| self.column(f).is_some())
            .map(|f| vec![f.to_string()]);
        AirbyteStream {
            name: self.name.clone(),
            json_schema: schema,
            supported_sync_modes: vec![SyncMode::FullRefresh, SyncMode::Incremental],
            source_defined_cursor: Some(false),
            default_cursor_field: default_cursor,
            source_defined_primary_key: if self.primary_key.is_empty() {
                None
            } else {
                Some(self.primary_key.iter().map(|k| vec![k.clone()]).collect())
            },
            namespace: None,
            is_resumable: Some(self.row_key() != RowKey::None),
        }
    }
}

/// Every table and view of the database (minus `sqlite_*` internals), by name.
pub fn list_objects(db: &Database) -> Result<Vec<(String, ObjectKind)>, SqliteSourceError> {
    let ctx = "listing tables and views";
    let mut stmt = db
        .conn
        .prepare(
            "SELECT name, type FROM sqlite_master \
             WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )
        .map_err(|e| db.error(e, ctx))?;
    let rows = stmt
        .query_map([], |r| {
            let kind = if r.get_ref(1)?.as_str().unwrap_or("table") == "view" {
                ObjectKind::View
            } else {
                ObjectKind::Table
            };
            Ok((r.get::<_, String>(0)?, kind))
        })
        .map_err(|e| db.error(e, ctx))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| db.error(e, ctx))
}

/// Picks the objects named in `wanted` (exact name first, then ignoring
/// ASCII case, as SQLite does); every name must exist.
pub fn select_objects(
    all: &[(String, ObjectKind)],
    wanted: &[String],
) -> Result<Vec<(String, ObjectKind)>, SqliteSourceError> {
    let mut picked = Vec::with_capacity(wanted.len());
    let mut missing = Vec::new();
    for w in wanted {
        let found = all
            .iter()
            .find(|(n, _)| n == w)
            .or_else(|| all.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)));
        match found {
            Some(o) if !picked.contains(o) => picked.push(o.clone()),
            Some(_) => {}
            None => missing.push(w.clone()),
        }
    }
    if missing.is_empty() {
        Ok(picked)
    } else {
        Err(SqliteSourceError::NoSuchTable {
            missing,
            existing: all.iter().map(|(n, _)| n.clone()).collect(),
        })
    }
}

/// Describes one table or view. `sample_untyped` samples the values of
/// columns declared without a type (discover does; read does not need to).
/// A view SQLite cannot describe is a [`SqliteSourceError::BrokenView`].
pub fn describe(
    db: &Database,
    name: &str,
    kind: ObjectKind,
    sample_untyped: bool,
) -> Result<TableInfo, SqliteSourceError> {
    describe_object(db, name, kind, sample_untyped).map_err(|e| match e {
        SqliteSourceError::Sqlite { source, .. } if kind == ObjectKind::View => SqliteSourceError::BrokenView {
            name: name.to_string(),
            reason: source.to_string(),
        },
        other => other,
    })
}

fn describe_object(
    db: &Database,
    name: &str,
    kind: ObjectKind,
    sample_untyped: bool,
) -> Result<TableInfo, SqliteSourceError> {
    let ctx = format!("describing '{name}'");
    let err = |e| db.error(e, &ctx);
    // (name, declared type, not null, pk position)
    let mut cols: Vec<(ColumnInfo, i64)> = Vec::new();
    {
        let mut stmt = db
            .conn
            .prepare("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1, 'main')")
            .map_err(err)?;
        let mut rows = stmt.query([name]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            // hidden = 1: a virtual table's hidden column; 2/3: generated columns (readable).
            if r.get::<_, i64>(4).map_err(err)? == 1 {
                continue;
            }
            let col_name: String = r.get(0).map_err(err)?;
            let declared: String = r.get::<_, Option<String>>(1).map_err(err)?.unwrap_or_default();
            let not_null = r.get::<_, i64>(2).map_err(err)? != 0;
            let pk = r.get::<_, i64>(3).map_err(err)?;
            cols.push((
                ColumnInfo {
                    kind: ColumnKind::from_declared(&declared),
                    name: col_name,
                    declared_type: declared,
                    not_null,
                    observed: Observed::default(),
                },
                pk,
            ));
        }
    }
    let mut pk: Vec<(i64, String)> = cols
        .iter()
        .filter(|(_, p)| *p > 0)
        .map(|(c, p)| (*p, c.name.clone()))
        .collect();
    pk.sort();
    let primary_key: Vec<String> = if kind == ObjectKind::View {
        Vec::new()
    } else {
        pk.into_iter().map(|(_, n)| n).collect()
    };
    let mut columns: Vec<ColumnInfo> = cols.into_iter().map(|(c, _)| c).collect();

    let rowid = if kind == ObjectKind::Table {
        find_rowid(db, name, &columns)
    } else {
        None
    };
    let foreign_keys = if kind == ObjectKind::Table {
        foreign_keys(db, name)?
    } else {
        Vec::new()
    };
    if sample_untyped {
        sample_untyped_columns(db, name, &mut columns)?;
    }
    Ok(TableInfo {
        name: name.to_string(),
        kind,
        columns,
        primary_key,
        rowid,
        foreign_keys,
    })
}

/// The rowid alias to select with, if the table has a rowid at all
/// (WITHOUT ROWID tables do not).
fn find_rowid(db: &Database, table: &str, columns: &[ColumnInfo]) -> Option<&'static str> {
    let alias = ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|a| !columns.iter().any(|c| c.name.eq_ignore_ascii_case(a)))?;
    let sql = format!("SELECT {alias} FROM {} LIMIT 0", quote_ident(table));
    db.conn.prepare(&sql).ok().map(|_| alias)
}

fn foreign_keys(db: &Database, table: &str) -> Result<Vec<ForeignKey>, SqliteSourceError> {
    let ctx = format!("reading the foreign keys of '{table}'");
    let err = |e| db.error(e, &ctx);
    let mut stmt = db
        .conn
        .prepare(
            "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, 'main') ORDER BY id, seq",
        )
        .map_err(err)?;
    // Constraint id → (parent table, referencing columns, referenced columns if named).
    type Partial = (String, Vec<String>, Vec<Option<String>>);
    let mut by_id: BTreeMap<i64, Partial> = BTreeMap::new();
    let mut rows = stmt.query([table]).map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        let id: i64 = r.get(0).map_err(err)?;
        let parent: String = r.get(2).map_err(err)?;
        let from: String = r.get(3).map_err(err)?;
        let to: Option<String> = r.get(4).map_err(err)?;
        let entry = by_id.entry(id).or_insert_with(|| (parent, Vec::new(), Vec::new()));
        entry.1.push(from);
        entry.2.push(to);
    }
    drop(rows);
    let mut fks = Vec::with_capacity(by_id.len());
    // pragma_foreign_key_list lists constraints last-declared first; keep declaration order.
    for (_, (parent, columns, to)) in by_id.into_iter().rev() {
        let referenced_columns = if to.iter().all(Option::is_some) {
            to.into_iter().flatten().collect()
        } else {
            parent_primary_key(db, &parent)?
        };
        fks.push(ForeignKey {
            columns,
            referenced_table: parent,
            referenced_columns,
        });
    }
    Ok(fks)
}

fn parent_primary_key(db: &Database, table: &str) -> Result<Vec<String>, SqliteSourceError> {
    let ctx = format!("reading the primary key of '{table}'");
    let err = |e| db.error(e, &ctx);
    let mut stmt = db
        .conn
        .prepare("SELECT name FROM pragma_table_info(?1, 'main') WHERE pk > 0 ORDER BY pk")
        .map_err(err)?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    Ok(names)
}

fn sample_untyped_columns(db: &Database, table: &str, columns: &mut [ColumnInfo]) -> Result<(), SqliteSourceError> {
    let untyped: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].kind == ColumnKind::Untyped)
        .collect();
    if untyped.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = untyped.iter().map(|&i| columns[i].name.as_str()).collect();
    let exprs: Vec<String> = names.iter().map(|n| format!("typeof({})", quote_ident(n))).collect();
    let sql = format!(
        "SELECT {} FROM (SELECT {} FROM {} LIMIT {UNTYPED_SAMPLE_ROWS})",
        exprs.join(", "),
        quote_list(&names),
        quote_ident(table)
    );
    let ctx = format!("sampling the untyped columns of '{table}'");
    let err = |e| db.error(e, &ctx);
    let mut stmt = db.conn.prepare(&sql).map_err(err)?;
    let mut rows = stmt.query([]).map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        for (j, &i) in untyped.iter().enumerate() {
            if let Ok(t) = r.get_ref(j).map_err(err)?.as_str() {
                columns[i].observed.note(t);
            }
        }
    }
    Ok(())
}

/// What discover found: the catalog, its tables, and warnings (views left
/// out because SQLite cannot describe them).
pub struct Discovered {
    /// The catalog.
    pub catalog: AirbyteCatalog,
    /// Its tables and views, described.
    pub tables: Vec<TableInfo>,
    /// One WARN per view left out.
    pub warnings: Vec<String>,
}

/// Discovers the catalog: every table and view, or only the configured
/// `tables`. Without `tables`, a broken view is left out with a warning (one
/// stale view must not hide every table); a broken view named in `tables`
/// is an error.
pub fn discover(db: &Database) -> Result<Discovered, SqliteSourceError> {
    let all = list_objects(db)?;
    let filter = db.config.table_filter();
    let objects = match filter {
        Some(wanted) => select_objects(&all, wanted)?,
        None => all,
    };
    let mut tables = Vec::with_capacity(objects.len());
    let mut warnings = Vec::new();
    for (name, kind) in objects {
        match describe(db, &name, kind, true) {
            Ok(t) => tables.push(t),
            Err(e @ SqliteSourceError::BrokenView { .. }) if filter.is_none() => {
                warnings.push(format!("{e} The view is left out of the catalog."));
            }
            Err(e) => return Err(e),
        }
    }
    let incremental_field = db.config.incremental_field();
    let streams = tables.iter().map(|t| t.to_stream(incremental_field)).collect();
    Ok(Discovered {
        catalog: AirbyteCatalog { streams },
        tables,
        warnings,
    })
}
