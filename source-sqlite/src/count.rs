//! A stream's ESTIMATE: `SELECT count(*)` over the rows a read will return
//! (tables only: a view is not counted, as that would run it twice). The
//! count runs on a connection and a thread of its own while the read starts
//! ([`crate::pipeline`]); its ESTIMATE still goes out before the first record.

use lakeport_protocol::{ConnectorError, EstimateTrace, EstimateType, TraceMessage};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;

use crate::config::SqliteConfig;
use crate::connect::Database;
use crate::discover::{ObjectKind, TableInfo};
use crate::ident::quote_ident;

/// A row count to run, and the ESTIMATE it answers.
#[derive(Debug, Clone)]
pub struct Count {
    sql: String,
    params: Vec<SqlValue>,
    trace: EstimateTrace,
}

impl Count {
    /// The count of the rows of `table` matching `where_sql` (empty, or
    /// ` WHERE …` with `params`), for stream `name` in `namespace`; `None`
    /// for a view.
    pub fn new(
        table: &TableInfo,
        name: &str,
        namespace: Option<&str>,
        where_sql: &str,
        params: &[SqlValue],
    ) -> Option<Self> {
        if table.kind == ObjectKind::View {
            return None;
        }
        Some(Count {
            sql: format!("SELECT count(*) FROM {}{where_sql}", quote_ident(&table.name)),
            params: params.to_vec(),
            trace: EstimateTrace {
                name: name.to_string(),
                estimate_type: EstimateType::Stream,
                namespace: namespace.map(str::to_string),
                row_estimate: None,
                byte_estimate: None,
            },
        })
    }

    /// Counts on a new read-only connection to the database of `config`.
    pub fn run(self, config: &SqliteConfig) -> Result<TraceMessage, ConnectorError> {
        let db = Database::open(config)?;
        let n: i64 = db
            .conn
            .query_row(&self.sql, params_from_iter(self.params.iter()), |r| r.get(0))
            .map_err(|e| db.error(e, "counting rows"))?;
        Ok(TraceMessage::estimate(EstimateTrace {
            row_estimate: Some(u64::try_from(n).unwrap_or(0)),
            ..self.trace
        }))
    }
}
