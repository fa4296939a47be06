//! Reading streams: full refresh in key order with a STATE after every
//! batch, incremental in `(cursor, key)` order with a STATE only at
//! cursor-value boundaries. See [`crate::state`] for what the states hold.
//!
//! A full refresh of a table runs one short query per batch
//! (`WHERE key > last ORDER BY key LIMIT batch_size`), each its own read
//! transaction, so writers are never held off for a whole table. An
//! incremental read is one query (it is ordered by the cursor, which may have
//! no index). This thread steps the statements and copies the rows out; a
//! writer thread serialises them and writes them, and the STATEs, in order
//! ([`crate::pipeline`]), so memory stays flat whatever the table size or
//! `batch_size`.

use lakeport_protocol::{
    now_millis, ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, InputState,
    StreamDescriptor, StreamStatus, SyncMode, TraceMessage,
};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::connect::Database;
use crate::count::Count;
use crate::discover::{describe, list_objects, select_objects, ObjectKind, RowKey, TableInfo};
use crate::error::SqliteSourceError;
use crate::ident::quote_ident;
use crate::pipeline;
use crate::state::{Checkpoint, Position};
use crate::value::position::{owned, same};
use crate::value::serialize::RecordLayout;

/// One configured stream resolved against the database.
struct Plan<'a> {
    configured: &'a ConfiguredAirbyteStream,
    table: TableInfo,
    /// Indices into `table.columns` of the columns to emit.
    columns: Vec<usize>,
}

impl Plan<'_> {
    fn descriptor(&self) -> StreamDescriptor {
        self.configured.stream.descriptor()
    }

    fn column_sql(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|&i| quote_ident(&self.table.columns[i].name))
            .collect()
    }

    /// The count of the rows matching `where_sql` for the stream's ESTIMATE
    /// (none for a view).
    fn count(&self, where_sql: &str, params: &[SqlValue]) -> Option<Count> {
        let stream = &self.configured.stream;
        Count::new(
            &self.table,
            &stream.name,
            stream.namespace.as_deref(),
            where_sql,
            params,
        )
    }

    fn layout(&self) -> RecordLayout {
        let cols: Vec<_> = self
            .columns
            .iter()
            .map(|&i| (self.table.columns[i].name.clone(), self.table.columns[i].kind))
            .collect();
        RecordLayout::new(
            self.configured.stream.namespace.as_deref(),
            &self.configured.stream.name,
            &cols,
        )
    }
}

/// Reads every stream of `catalog`.
pub fn read(
    db: &Database,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = plan(db, catalog, out)?;
    for p in &plans {
        let desc = p.descriptor();
        let saved = state.stream(&desc);
        out.trace(TraceMessage::stream_status(desc.clone(), StreamStatus::Started))?;
        let result = match p.configured.sync_mode {
            SyncMode::FullRefresh => full_refresh(db, p, saved, out),
            SyncMode::Incremental if p.configured.effective_cursor().is_none() => {
                // What Airbyte clients (e.g. PyAirbyte) ask of every stream;
                // without a cursor the only faithful answer is a full read.
                out.warn(format!(
                    "Stream '{}' was asked for incremental sync but has no cursor field (set cursor_field in the catalog or incremental_field in the config); reading it in full.",
                    desc.name
                ))?;
                full_refresh(db, p, saved, out)
            }
            SyncMode::Incremental => incremental(db, p, saved, out),
        };
        match result {
            Ok(count) => {
                out.trace(TraceMessage::stream_status(desc, StreamStatus::Complete))?;
                out.info(format!("Read {count} records from '{}'.", p.table.name))?;
            }
            Err(e) => {
                if !e.is_broken_pipe() {
                    let _ = out.trace(TraceMessage::stream_status(desc.clone(), StreamStatus::Incomplete));
                }
                return Err(e.with_stream(desc));
            }
        }
    }
    Ok(())
}

/// Resolves every configured stream to a table or view, failing up front when
/// one does not exist.
fn plan<'a>(
    db: &Database,
    catalog: &'a ConfiguredAirbyteCatalog,
    out: &mut Emitter,
) -> Result<Vec<Plan<'a>>, ConnectorError> {
    catalog.check_no_repeated_streams()?;
    let all = list_objects(db)?;
    let wanted: Vec<String> = catalog.streams.iter().map(|s| s.stream.name.clone()).collect();
    let found = select_objects(&all, &wanted)?;
    let mut plans = Vec::with_capacity(catalog.streams.len());
    for configured in &catalog.streams {
        let name = &configured.stream.name;
        let (object, kind) = found
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| found.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .cloned()
            .unwrap_or_else(|| (name.clone(), ObjectKind::Table));
        let table = describe(db, &object, kind, false)?;
        let columns = select_columns(&table, &configured.stream.json_schema, out)?;
        plans.push(Plan {
            configured,
            table,
            columns,
        });
    }
    Ok(plans)
}

/// The columns the configured schema asks for (all of them when it lists none).
fn select_columns(table: &TableInfo, schema: &Value, out: &mut Emitter) -> Result<Vec<usize>, ConnectorError> {
    let all: Vec<usize> = (0..table.columns.len()).collect();
    let Some(props) = schema
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
    else {
        return Ok(all);
    };
    let unknown: Vec<&str> = props
        .keys()
        .filter(|k| table.column(k).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        out.warn(format!(
            "The catalog's schema of '{}' lists fields the table does not have ({}); they are left out. Run discover again to refresh the catalog.",
            table.name,
            unknown.join(", ")
        ))?;
    }
    let picked: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| props.contains_key(&table.columns[i].name))
        .collect();
    Ok(if picked.is_empty() { all } else { picked })
}

fn state_error(table: &str, why: String) -> ConnectorError {
    ConnectorError::config(format!(
        "The saved state of stream '{table}' cannot be used: {why}. Pass the STATE messages of an earlier source-sqlite run, or drop this stream's state to read it from the start."
    ))
}

/// A saved rowid must be an integer: compared with any other value, every
/// rowid sorts before it, and the stream would be read as empty.
fn check_rowid(key: &RowKey, saved: &[SqlValue]) -> Result<(), String> {
    match (key, saved.first()) {
        (RowKey::Rowid(_), Some(v)) if !matches!(v, SqlValue::Integer(_)) => Err(format!(
            "its saved rowid is {}, not an integer",
            crate::value::position::to_json(v)
        )),
        _ => Ok(()),
    }
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// Reads a stream in full; returns how many records were read.
fn full_refresh(db: &Database, p: &Plan<'_>, saved: Option<&Value>, out: &mut Emitter) -> Result<u64, ConnectorError> {
    let key = p.table.row_key();
    if key == RowKey::None {
        return full_refresh_keyless(db, p, out);
    }
    let desc = p.descriptor();
    let key_names = key.names();
    let mut last: Option<Vec<SqlValue>> = match saved.map(Checkpoint::parse).transpose() {
        Err(e) => return Err(state_error(&p.table.name, e)),
        Ok(Some(Checkpoint::FullRefresh {
            key_columns,
            key: Some(k),
        })) => {
            if key_columns == key_names && k.len() == key_names.len() {
                check_rowid(&key, &k).map_err(|why| state_error(&p.table.name, why))?;
                out.info(format!(
                    "Resuming the full refresh of '{}' after key {:?}.",
                    p.table.name, k
                ))?;
                Some(k)
            } else {
                out.warn(format!(
                    "The saved state of '{}' is keyed by {:?} but the table is now read by {:?}; reading it from the start.",
                    p.table.name, key_columns, key_names
                ))?;
                None
            }
        }
        Ok(_) => None,
    };

    let key_exprs = key.select_exprs();
    let k = key_exprs.len();
    let key_list = key_exprs.join(", ");
    let mut select = key_exprs.clone();
    select.extend(p.column_sql());
    let select = select.join(", ");
    let table = quote_ident(&p.table.name);
    let batch = db.config.batch_size();
    // The limit is part of the SQL, not a parameter: SQLite re-prepares a
    // statement whenever a new value is bound to a parameter its plan used
    // (as it does a LIMIT's), which would be once per batch.
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let after = format!(" WHERE ({key_list}) > ({})", placeholders(1, k));
    let first_sql = format!("SELECT {select} FROM {table} ORDER BY {key_list} LIMIT {limit}");
    let next_sql = format!("SELECT {select} FROM {table}{after} ORDER BY {key_list} LIMIT {limit}");

    let count = match &last {
        Some(k) => p.count(&after, k),
        None => p.count("", &[]),
    };

    let err = |e| -> ConnectorError { db.error(e, "reading rows").into() };
    pipeline::run(db, out, p.layout(), desc, count, |sink| {
        let mut total = 0u64;
        loop {
            let (sql, params): (&str, &[SqlValue]) = match &last {
                Some(k) => (&next_sql, k),
                None => (&first_sql, &[]),
            };
            let mut stmt = db.conn.prepare_cached(sql).map_err(err)?;
            let mut rows = stmt.query(params_from_iter(params.iter())).map_err(err)?;
            let emitted_at = now_millis();
            let mut n = 0usize;
            let mut batch_key: Option<Vec<SqlValue>> = None;
            while let Some(row) = rows.next().map_err(err)? {
                sink.push(row, k, emitted_at)?;
                n += 1;
                if n == batch {
                    batch_key = Some(
                        (0..k)
                            .map(|i| row.get_ref(i).map(owned))
                            .collect::<Result<_, _>>()
                            .map_err(err)?,
                    );
                }
            }
            drop(rows);
            drop(stmt);
            total += n as u64;
            let done = batch_key.is_none();
            let cp = Checkpoint::FullRefresh {
                key_columns: key_names.clone(),
                key: batch_key.clone(),
            };
            sink.state(cp, n as u64)?;
            if done {
                return Ok(total);
            }
            last = batch_key;
        }
    })
}

/// A view: one query, a STATE at the end (it cannot be resumed).
fn full_refresh_keyless(db: &Database, p: &Plan<'_>, out: &mut Emitter) -> Result<u64, ConnectorError> {
    let sql = format!(
        "SELECT {} FROM {}",
        p.column_sql().join(", "),
        quote_ident(&p.table.name)
    );
    let err = |e| -> ConnectorError { db.error(e, "reading rows").into() };
    let mut stmt = db.conn.prepare(&sql).map_err(err)?;
    let mut rows = stmt.query([]).map_err(err)?;
    pipeline::run(db, out, p.layout(), p.descriptor(), p.count("", &[]), |sink| {
        let mut emitted_at = now_millis();
        let mut total = 0u64;
        while let Some(row) = rows.next().map_err(err)? {
            total += 1;
            if sink.push(row, 0, emitted_at)? {
                emitted_at = now_millis();
            }
        }
        let cp = Checkpoint::FullRefresh {
            key_columns: Vec::new(),
            key: None,
        };
        sink.state(cp, total)?;
        Ok(total)
    })
}

/// Reads the rows after the saved position in `(cursor, key)` order; returns
/// how many records were read.
fn incremental(db: &Database, p: &Plan<'_>, saved: Option<&Value>, out: &mut Emitter) -> Result<u64, ConnectorError> {
    let stream_name = &p.configured.stream.name;
    let cursor_path = p
        .configured
        .effective_cursor()
        .ok_or_else(|| SqliteSourceError::NoCursor(stream_name.clone()))?
        .to_vec();
    let cursor_col = match cursor_path.as_slice() {
        [c] if p.table.column(c).is_some() => c.clone(),
        _ => {
            return Err(SqliteSourceError::BadCursor {
                stream: stream_name.clone(),
                cursor: cursor_path,
                columns: p.table.columns.iter().map(|c| c.name.clone()).collect(),
            }
            .into())
        }
    };
    let key = p.table.row_key();
    let key_names = key.names();
    let desc = p.descriptor();

    // Where the last run stopped, and whether its key can break cursor ties.
    let (position, keyed_resume) = match saved.map(Checkpoint::parse).transpose() {
        Err(e) => return Err(state_error(&p.table.name, e)),
        Ok(Some(Checkpoint::Incremental {
            cursor_field,
            key_columns,
            position,
        })) => {
            if cursor_field != cursor_path {
                out.warn(format!(
                    "The cursor of '{}' changed from {:?} to {:?}; reading the stream from the start.",
                    p.table.name, cursor_field, cursor_path
                ))?;
                (None, false)
            } else {
                let keyed = key != RowKey::None
                    && key_columns == key_names
                    && position.as_ref().is_some_and(|pos| pos.key.len() == key_names.len());
                if let Some(pos) = position.as_ref().filter(|_| keyed) {
                    check_rowid(&key, &pos.key).map_err(|why| state_error(&p.table.name, why))?;
                }
                (position, keyed)
            }
        }
        Ok(Some(Checkpoint::FullRefresh { .. })) => {
            out.info(format!(
                "The saved state of '{}' is from a full refresh; reading it incrementally from the start.",
                p.table.name
            ))?;
            (None, false)
        }
        Ok(None) => (None, false),
    };

    let c = quote_ident(&cursor_col);
    let key_exprs = key.select_exprs();
    let k = key_exprs.len();
    let mut order = vec![c.clone()];
    order.extend(key_exprs.iter().cloned());
    let mut params: Vec<SqlValue> = Vec::new();
    let where_sql = match &position {
        None => String::new(),
        Some(pos) if keyed_resume => {
            let keys = key_exprs.join(", ");
            if pos.cursor == SqlValue::Null {
                params.extend(pos.key.iter().cloned());
                format!(
                    " WHERE ({c} IS NULL AND ({keys}) > ({})) OR {c} IS NOT NULL",
                    placeholders(1, k)
                )
            } else {
                params.push(pos.cursor.clone());
                params.extend(pos.key.iter().cloned());
                format!(" WHERE ({c}, {keys}) > ({})", placeholders(1, k + 1))
            }
        }
        // No usable tie-breaking key: re-read rows equal to the saved cursor
        // (duplicates rather than losses).
        Some(pos) if pos.cursor == SqlValue::Null => String::new(),
        Some(pos) => {
            params.push(pos.cursor.clone());
            format!(" WHERE {c} >= ?1")
        }
    };
    let count = p.count(&where_sql, &params);

    let mut select = order.clone();
    select.extend(p.column_sql());
    let sql = format!(
        "SELECT {} FROM {}{where_sql} ORDER BY {}",
        select.join(", "),
        quote_ident(&p.table.name),
        order.join(", ")
    );
    let err = |e| -> ConnectorError { db.error(e, "reading rows").into() };
    let mut stmt = db.conn.prepare(&sql).map_err(err)?;
    let mut rows = stmt.query(params_from_iter(params.iter())).map_err(err)?;

    let batch = db.config.batch_size() as u64;
    let checkpoint = |pos: Option<Position>| Checkpoint::Incremental {
        cursor_field: cursor_path.clone(),
        key_columns: key_names.clone(),
        position: pos,
    };
    pipeline::run(db, out, p.layout(), desc, count, |sink| {
        let mut emitted_at = now_millis();
        let mut total = 0u64;
        let mut since_state = 0u64;
        let mut last: Option<Position> = None;
        while let Some(row) = rows.next().map_err(err)? {
            let cursor = row.get_ref(0).map_err(err)?;
            if let Some(prev) = &last {
                if since_state >= batch && !same(&prev.cursor, cursor) {
                    // A cursor-value boundary: every row of the previous value is out.
                    sink.state(checkpoint(Some(prev.clone())), since_state)?;
                    since_state = 0;
                    emitted_at = now_millis();
                }
            }
            sink.push(row, 1 + k, emitted_at)?;
            total += 1;
            since_state += 1;
            match &mut last {
                Some(prev) => {
                    if !same(&prev.cursor, cursor) {
                        prev.cursor = owned(cursor);
                    }
                    for i in 0..k {
                        let v = row.get_ref(1 + i).map_err(err)?;
                        if !same(&prev.key[i], v) {
                            prev.key[i] = owned(v);
                        }
                    }
                }
                None => {
                    last = Some(Position {
                        cursor: owned(cursor),
                        key: (0..k)
                            .map(|i| row.get_ref(1 + i).map(owned))
                            .collect::<Result<_, _>>()
                            .map_err(err)?,
                    });
                }
            }
        }
        let final_position = last.or(position);
        sink.state(checkpoint(final_position), since_state)?;
        Ok(total)
    })
}
