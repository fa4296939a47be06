//! source-sqlite end to end: real SQLite databases built with rusqlite, the
//! real binary, every stdout line validated against the official models.
//! Each test also checks that the database file is byte-identical afterwards.

use std::path::{Path, PathBuf};

use lakeport_tests::{run, write_json, Run};
use rusqlite::Connection;
use serde_json::{json, Value};

const HOSTILE: &str = "Robert'); DROP TABLE x;--";

/// A temporary directory holding `app.db` and the files of one test.
struct Fixture {
    dir: tempfile::TempDir,
    db: PathBuf,
    original: Vec<u8>,
}

impl Fixture {
    /// A database with several tables, a composite key, foreign keys, a view,
    /// every affinity, NULLs, unicode, blobs and a hostile table name.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            r#"
            CREATE TABLE users(
                id INTEGER PRIMARY KEY,
                name VARCHAR(40) NOT NULL,
                score REAL,
                balance NUMERIC,
                price DECIMAL(10,2),
                active BOOLEAN,
                born DATE,
                updated_at DATETIME,
                seen TIMESTAMP,
                avatar BLOB,
                notes TEXT,
                anything
            );
            CREATE TABLE orders(
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id),
                total DOUBLE,
                updated_at TEXT
            );
            CREATE TABLE order_lines(
                order_id INTEGER NOT NULL,
                line INTEGER NOT NULL,
                sku CHAR(8),
                PRIMARY KEY (order_id, line),
                FOREIGN KEY (order_id) REFERENCES orders(id)
            ) WITHOUT ROWID;
            CREATE TABLE shipments(
                order_id INTEGER,
                line INTEGER,
                carrier CLOB,
                FOREIGN KEY (order_id, line) REFERENCES order_lines
            );
            CREATE TABLE "{h}"("a""b" TEXT, x INTEGER);
            CREATE TABLE x(keep INTEGER);
            CREATE VIEW user_totals AS
                SELECT u.name AS name, count(o.id) AS orders, sum(o.total) AS spent
                FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id;
            INSERT INTO users VALUES
                (1, 'Ann', 1.5, 10, 9.99, 1, '1990-01-02', '2024-01-01 10:00:00', '2024-01-01T10:00:00Z', x'00ff10', 'plain', 42),
                (2, 'Bé "quoted" ☂ 漢字', NULL, 2.25, 0, 0, NULL, '2024-01-02 10:00:00', NULL, NULL, 'line
break	tab \ backslash', 'text'),
                (3, 'Cy', -0.0, NULL, NULL, NULL, NULL, '2024-01-02 10:00:00', NULL, x'', NULL, 2.5),
                (4, 'Di', 1e300, 'n/a', NULL, 2, 20240101, '2024-01-03 10:00:00', NULL, NULL, '', NULL),
                (5, 'Ed', 9e999, -7, NULL, 1, NULL, NULL, NULL, NULL, NULL, x'41');
            INSERT INTO orders VALUES (1, 1, 10.5, '2024-01-01'), (2, 1, 20, '2024-01-02'), (3, 2, NULL, '2024-01-02');
            INSERT INTO order_lines VALUES (2, 1, 'B'), (1, 2, 'A2'), (1, 1, 'A1');
            INSERT INTO shipments VALUES (1, 1, 'dhl');
            INSERT INTO "{h}" VALUES ('bobby', 1), (NULL, 2);
            INSERT INTO x VALUES (7);
            "#,
            h = HOSTILE.replace('"', "\"\"")
        ))
        .unwrap();
        drop(conn);
        let original = std::fs::read(&db).unwrap();
        Fixture { dir, db, original }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self, extra: Value) -> String {
        let mut c = json!({"database_path": self.db.to_str().unwrap()});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        self.write("config.json", &c)
    }

    fn write(&self, name: &str, v: &Value) -> String {
        write_json(self.path(), name, v).to_str().unwrap().to_string()
    }

    /// Changes the database (for incremental tests); the new bytes become the
    /// reference the read-only check compares with.
    fn modify(&mut self, sql: &str) {
        let conn = Connection::open(&self.db).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        self.original = std::fs::read(&self.db).unwrap();
    }

    fn assert_untouched(&self) {
        let now = std::fs::read(&self.db).unwrap();
        assert!(now == self.original, "the database file changed");
        for suffix in ["-journal", "-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", self.db.display()));
            assert!(!side.exists(), "{} was created", side.display());
        }
    }

    fn discover(&self, config: &str) -> Value {
        let r = run("source-sqlite", &["discover", "--config", config], None);
        r.assert_success();
        r.catalog().clone()
    }

    /// A configured catalog of the named streams of a discovery.
    fn catalog(&self, config: &str, streams: &[(&str, &str, Option<&str>)]) -> String {
        let discovered = self.discover(config);
        let configured: Vec<Value> = streams
            .iter()
            .map(|(name, mode, cursor)| {
                let stream = discovered["streams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["name"] == *name)
                    .unwrap_or_else(|| panic!("no stream {name}"))
                    .clone();
                let mut c = json!({"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"});
                if let Some(cursor) = cursor {
                    c["cursor_field"] = json!([cursor]);
                }
                c
            })
            .collect();
        self.write("catalog.json", &json!({"streams": configured}))
    }

    fn read(&self, config: &str, catalog: Option<&str>, state: Option<&Value>) -> Run {
        let mut args = vec!["read", "--config", config];
        if let Some(c) = catalog {
            args.extend(["--catalog", c]);
        }
        let state_path;
        if let Some(s) = state {
            state_path = self.write("state.json", s);
            args.extend(["--state", state_path.as_str()]);
        }
        let r = run("source-sqlite", &args, None);
        self.assert_untouched();
        r
    }
}

fn stream_data<'a>(r: &'a Run, stream: &str) -> Vec<&'a Value> {
    r.records()
        .into_iter()
        .filter(|rec| rec["stream"] == stream)
        .map(|rec| &rec["data"])
        .collect()
}

fn stream_states<'a>(r: &'a Run, stream: &str) -> Vec<&'a Value> {
    r.states()
        .into_iter()
        .filter(|s| s["stream"]["stream_descriptor"]["name"] == stream)
        .collect()
}

fn blob(state: &Value) -> &Value {
    &state["stream"]["stream_state"]
}

fn statuses(r: &Run, stream: &str) -> Vec<String> {
    r.of_type("TRACE")
        .into_iter()
        .filter(|m| {
            m["trace"]["type"] == "STREAM_STATUS" && m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
        })
        .map(|m| m["trace"]["stream_status"]["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn spec_accepts_seed_configs() {
    let r = run("source-sqlite", &["spec"], None);
    r.assert_success();
    let spec = &r.of_type("SPEC")[0]["spec"];
    assert_eq!(spec["supportsIncremental"], true);
    let schema = &spec["connectionSpecification"];
    assert_eq!(schema["required"], json!(["database_path"]));
    assert_eq!(schema["properties"]["batch_size"]["default"], 1000);
    assert_eq!(schema["properties"]["busy_timeout_ms"]["default"], 5000);
}

#[test]
fn discover_describes_tables_views_keys_and_types() {
    let fx = Fixture::new();
    let config = fx.config(json!({"incremental_field": "updated_at"}));
    let catalog = fx.discover(&config);
    fx.assert_untouched();
    let names: Vec<&str> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            HOSTILE,
            "order_lines",
            "orders",
            "shipments",
            "user_totals",
            "users",
            "x"
        ]
    );
    let stream = |n: &str| {
        catalog["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };

    let nullable = |t: &str| json!({"type": ["null", t]});
    assert_eq!(
        stream("users"),
        json!({
            "name": "users",
            "json_schema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "additionalProperties": true,
                "properties": {
                    "id": nullable("integer"),
                    "name": {"type": "string"},
                    "score": nullable("number"),
                    "balance": nullable("number"),
                    "price": nullable("number"),
                    "active": nullable("boolean"),
                    "born": {"type": ["null", "string"], "format": "date"},
                    "updated_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
                    "seen": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
                    "avatar": {"type": ["null", "string"], "contentEncoding": "base64"},
                    "notes": nullable("string"),
                    "anything": {"type": ["null", "number", "string"]}
                }
            },
            "supported_sync_modes": ["full_refresh", "incremental"],
            "source_defined_cursor": false,
            "default_cursor_field": ["updated_at"],
            "source_defined_primary_key": [["id"]],
            "is_resumable": true
        })
    );
    let lines = stream("order_lines");
    assert_eq!(lines["source_defined_primary_key"], json!([["order_id"], ["line"]]));
    assert_eq!(
        lines["json_schema"]["x-foreign-keys"],
        json!([{"columns": ["order_id"], "referenced_table": "orders", "referenced_columns": ["id"]}])
    );
    assert_eq!(
        lines["json_schema"]["properties"]["order_id"],
        json!({"type": "integer"})
    );
    assert_eq!(lines["json_schema"]["properties"]["sku"], nullable("string"));
    assert!(lines.get("default_cursor_field").is_none());
    // A composite foreign key naming only the parent: resolved to its primary key.
    assert_eq!(
        stream("shipments")["json_schema"]["x-foreign-keys"],
        json!([{"columns": ["order_id", "line"], "referenced_table": "order_lines", "referenced_columns": ["order_id", "line"]}])
    );
    assert!(stream("shipments").get("source_defined_primary_key").is_none());
    assert_eq!(stream("shipments")["is_resumable"], true);
    assert_eq!(
        stream("orders")["json_schema"]["x-foreign-keys"],
        json!([{"columns": ["user_id"], "referenced_table": "users", "referenced_columns": ["id"]}])
    );
    let view = stream("user_totals");
    assert_eq!(view["is_resumable"], false);
    assert!(view.get("source_defined_primary_key").is_none());
    assert_eq!(view["json_schema"]["properties"]["name"], nullable("string"));
    assert_eq!(
        stream(HOSTILE)["json_schema"]["properties"],
        json!({"a\"b": nullable("string"), "x": nullable("integer")})
    );
}

#[test]
fn tables_restricts_discovery_and_check_names_missing_tables() {
    let fx = Fixture::new();
    let config = fx.config(json!({"tables": ["users", "user_totals"]}));
    let names: Vec<Value> = fx.discover(&config)["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("users"), json!("user_totals")]);

    let config = fx.config(json!({"tables": ["users", "nope"]}));
    let r = run("source-sqlite", &["check", "--config", &config], None);
    r.assert_success();
    assert_eq!(r.connection_status()["status"], "FAILED");
    assert!(r.connection_status()["message"].as_str().unwrap().contains("'nope'"));
    fx.assert_untouched();
}

#[test]
fn full_refresh_reads_values_faithfully() {
    let fx = Fixture::new();
    let config = fx.config(json!({}));
    let r = fx.read(&config, None, None);
    r.assert_success();
    assert_eq!(
        stream_data(&r, "users"),
        vec![
            &json!({"id": 1, "name": "Ann", "score": 1.5, "balance": 10, "price": 9.99, "active": true, "born": "1990-01-02",
                    "updated_at": "2024-01-01 10:00:00", "seen": "2024-01-01T10:00:00Z", "avatar": "AP8Q", "notes": "plain", "anything": 42}),
            &json!({"id": 2, "name": "Bé \"quoted\" ☂ 漢字", "score": null, "balance": 2.25, "price": 0, "active": false, "born": null,
                    "updated_at": "2024-01-02 10:00:00", "seen": null, "avatar": null, "notes": "line\nbreak\ttab \\ backslash", "anything": "text"}),
            &json!({"id": 3, "name": "Cy", "score": -0.0, "balance": null, "price": null, "active": null, "born": null,
                    "updated_at": "2024-01-02 10:00:00", "seen": null, "avatar": "", "notes": null, "anything": 2.5}),
            &json!({"id": 4, "name": "Di", "score": 1e300, "balance": null, "price": null, "active": null, "born": null,
                    "updated_at": "2024-01-03 10:00:00", "seen": null, "avatar": null, "notes": "", "anything": null}),
            &json!({"id": 5, "name": "Ed", "score": null, "balance": -7, "price": null, "active": true, "born": null,
                    "updated_at": null, "seen": null, "avatar": null, "notes": null, "anything": "QQ=="}),
        ]
    );
    // Only the values that had to change are noted: those the column's type
    // cannot hold (text in a NUMERIC column, 2 in a BOOLEAN one, an integer in
    // a DATE one) and ±Inf.
    let metas: Vec<&Value> = r
        .records()
        .into_iter()
        .filter(|rec| rec.get("meta").is_some())
        .collect();
    assert_eq!(metas.len(), 2, "{metas:?}");
    let nulled = |fields: &[&str]| {
        let changes: Vec<Value> = fields
            .iter()
            .map(|f| json!({"field": f, "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}))
            .collect();
        json!({ "changes": changes })
    };
    assert_eq!(metas[0]["data"]["id"], 4);
    assert_eq!(metas[0]["meta"], nulled(&["balance", "active", "born"]));
    assert_eq!(metas[1]["data"]["id"], 5);
    assert_eq!(metas[1]["meta"], nulled(&["score"]));
    // Integers stay integers, reals stay reals.
    assert!(r.stdout.contains(r#""balance":10,"#));
    assert!(r.stdout.contains(r#""total":20.0,"#));
    assert_eq!(
        stream_data(&r, "order_lines"),
        vec![
            &json!({"order_id": 1, "line": 1, "sku": "A1"}),
            &json!({"order_id": 1, "line": 2, "sku": "A2"}),
            &json!({"order_id": 2, "line": 1, "sku": "B"})
        ]
    );
    assert_eq!(
        stream_data(&r, "user_totals"),
        vec![
            &json!({"name": "Ann", "orders": 2, "spent": 30.5}),
            &json!({"name": "Bé \"quoted\" ☂ 漢字", "orders": 1, "spent": null}),
            &json!({"name": "Cy", "orders": 0, "spent": null}),
            &json!({"name": "Di", "orders": 0, "spent": null}),
            &json!({"name": "Ed", "orders": 0, "spent": null}),
        ]
    );
    // The hostile name is only a name: read fine, nothing dropped.
    assert_eq!(
        stream_data(&r, HOSTILE),
        vec![&json!({"a\"b": "bobby", "x": 1}), &json!({"a\"b": null, "x": 2})]
    );
    assert_eq!(stream_data(&r, "x"), vec![&json!({"keep": 7})]);

    for stream in ["users", "order_lines", "user_totals", HOSTILE] {
        assert_eq!(statuses(&r, stream), vec!["STARTED", "RUNNING", "COMPLETE"], "{stream}");
        let last = *stream_states(&r, stream).last().unwrap();
        assert_eq!(blob(last), &json!({"sync_mode": "full_refresh", "complete": true}));
    }
    // An estimate per table, before its records.
    let pos = |pred: &dyn Fn(&Value) -> bool| r.messages.iter().position(pred).unwrap();
    let est =
        pos(&|m| m["type"] == "TRACE" && m["trace"]["type"] == "ESTIMATE" && m["trace"]["estimate"]["name"] == "users");
    let first = pos(&|m| m["type"] == "RECORD" && m["record"]["stream"] == "users");
    assert!(est < first);
    assert_eq!(r.messages[est]["trace"]["estimate"]["row_estimate"], 5);
    // The whole database was read with the default batch: counts add up.
    let counted: f64 = stream_states(&r, "users")
        .iter()
        .map(|s| s["sourceStats"]["recordCount"].as_f64().unwrap())
        .sum();
    assert_eq!(counted, 5.0);
}

#[test]
fn full_refresh_checkpoints_every_batch_and_resumes() {
    let fx = Fixture::new();
    let config = fx.config(json!({"batch_size": 2}));
    let catalog = fx.catalog(
        &config,
        &[("users", "full_refresh", None), ("order_lines", "full_refresh", None)],
    );
    let r = fx.read(&config, Some(&catalog), None);
    r.assert_success();
    let states: Vec<Value> = stream_states(&r, "users")
        .into_iter()
        .map(|s| blob(s).clone())
        .collect();
    assert_eq!(
        states,
        vec![
            json!({"sync_mode": "full_refresh", "key_columns": ["rowid"], "key": [2]}),
            json!({"sync_mode": "full_refresh", "key_columns": ["rowid"], "key": [4]}),
            json!({"sync_mode": "full_refresh", "complete": true}),
        ]
    );
    let lines: Vec<Value> = stream_states(&r, "order_lines")
        .into_iter()
        .map(|s| blob(s).clone())
        .collect();
    assert_eq!(
        lines[0],
        json!({"sync_mode": "full_refresh", "key_columns": ["order_id", "line"], "key": [1, 2]})
    );

    // A run killed after the first checkpoint resumes after it: nothing lost, nothing repeated.
    let killed_at = stream_states(&r, "users")[0].clone();
    let lines_at = stream_states(&r, "order_lines")[0].clone();
    let resumed = fx.read(&config, Some(&catalog), Some(&json!([killed_at, lines_at])));
    resumed.assert_success();
    let ids: Vec<&Value> = stream_data(&resumed, "users").into_iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, vec![&json!(3), &json!(4), &json!(5)]);
    assert_eq!(
        stream_data(&resumed, "order_lines"),
        vec![&json!({"order_id": 2, "line": 1, "sku": "B"})]
    );

    // A completed state starts over.
    let done = stream_states(&r, "users").last().cloned().cloned().unwrap();
    let again = fx.read(&config, Some(&catalog), Some(&json!([done])));
    assert_eq!(stream_data(&again, "users").len(), 5);
}

#[test]
fn catalog_selects_columns() {
    let fx = Fixture::new();
    let config = fx.config(json!({}));
    let catalog_path = fx.catalog(&config, &[("users", "full_refresh", None)]);
    let mut catalog: Value = serde_json::from_str(&std::fs::read_to_string(&catalog_path).unwrap()).unwrap();
    catalog["streams"][0]["stream"]["json_schema"]["properties"] =
        json!({"id": {"type": "integer"}, "notes": {"type": "string"}, "gone": {"type": "string"}});
    let catalog_path = fx.write("catalog.json", &catalog);
    let r = fx.read(&config, Some(&catalog_path), None);
    r.assert_success();
    assert_eq!(
        stream_data(&r, "users")[1],
        &json!({"id": 2, "notes": "line\nbreak\ttab \\ backslash"})
    );
    assert!(r.logs().iter().any(|l| l.starts_with("WARN") && l.contains("gone")));
}

fn events_fixture() -> Fixture {
    let mut fx = Fixture::new();
    fx.modify(
        "CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT, updated_at TEXT);
         INSERT INTO events VALUES
            (1, 'a', '2024-01-01'), (2, 'b', '2024-01-01'),
            (3, 'c', '2024-01-02'), (4, 'd', '2024-01-02'), (5, 'e', '2024-01-02'),
            (6, 'f', '2024-01-03');
         CREATE VIEW recent AS SELECT id, kind, updated_at FROM events;",
    );
    fx
}

fn ids(r: &Run, stream: &str) -> Vec<i64> {
    stream_data(r, stream)
        .into_iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn incremental_checkpoints_only_at_cursor_boundaries() {
    let fx = events_fixture();
    let config = fx.config(json!({"batch_size": 1, "incremental_field": "updated_at"}));
    let catalog = fx.catalog(&config, &[("events", "incremental", None)]);
    let r = fx.read(&config, Some(&catalog), None);
    r.assert_success();
    assert_eq!(ids(&r, "events"), vec![1, 2, 3, 4, 5, 6]);
    let states: Vec<Value> = stream_states(&r, "events")
        .into_iter()
        .map(|s| blob(s).clone())
        .collect();
    let cp = |c: &str, k: i64| json!({"sync_mode": "incremental", "cursor_field": ["updated_at"], "cursor": c, "key_columns": ["rowid"], "key": [k]});
    assert_eq!(
        states,
        vec![cp("2024-01-01", 2), cp("2024-01-02", 5), cp("2024-01-03", 6)]
    );
    // Each STATE follows exactly the records of whole cursor values.
    let counts: Vec<f64> = stream_states(&r, "events")
        .iter()
        .map(|s| s["sourceStats"]["recordCount"].as_f64().unwrap())
        .collect();
    assert_eq!(counts, vec![2.0, 3.0, 1.0]);
    // Between a STATE and the record before it, the cursor value changes.
    let mut last_cursor = Value::Null;
    for m in &r.messages {
        if m["type"] == "RECORD" {
            last_cursor = m["record"]["data"]["updated_at"].clone();
        }
        if m["type"] == "STATE" {
            assert_eq!(blob(&m["state"])["cursor"], last_cursor);
        }
    }

    // Killed after the first STATE: the resumed run reads exactly the rest.
    let first = stream_states(&r, "events")[0].clone();
    let resumed = fx.read(&config, Some(&catalog), Some(&json!([first])));
    resumed.assert_success();
    assert_eq!(ids(&resumed, "events"), vec![3, 4, 5, 6]);
}

#[test]
fn incremental_second_run_reads_only_new_rows() {
    let mut fx = events_fixture();
    let config = fx.config(json!({"incremental_field": "updated_at"}));
    let catalog = fx.catalog(&config, &[("events", "incremental", None)]);
    let first = fx.read(&config, Some(&catalog), None);
    first.assert_success();
    assert_eq!(ids(&first, "events"), vec![1, 2, 3, 4, 5, 6]);
    let saved: Vec<Value> = first.states().into_iter().cloned().collect();

    // Nothing new: nothing read, the same position kept.
    let second = fx.read(&config, Some(&catalog), Some(&json!(saved)));
    second.assert_success();
    assert!(second.records().is_empty());
    assert_eq!(blob(second.states()[0]), blob(&saved[saved.len() - 1]));
    assert_eq!(second.states()[0]["sourceStats"]["recordCount"], 0.0);

    // New rows: one equal to the last cursor value, one newer, one older (not read).
    fx.modify("INSERT INTO events VALUES (7, 'g', '2024-01-03'), (8, 'h', '2024-01-04'), (9, 'old', '2023-12-31');");
    let third = fx.read(&config, Some(&catalog), Some(&json!(saved)));
    third.assert_success();
    assert_eq!(ids(&third, "events"), vec![7, 8]);
    assert_eq!(blob(third.states().last().unwrap())["cursor"], "2024-01-04");
}

#[test]
fn incremental_on_a_view_and_a_changed_cursor() {
    let fx = events_fixture();
    let config = fx.config(json!({"batch_size": 1}));
    let catalog = fx.catalog(&config, &[("recent", "incremental", Some("updated_at"))]);
    let r = fx.read(&config, Some(&catalog), None);
    r.assert_success();
    assert_eq!(ids(&r, "recent"), vec![1, 2, 3, 4, 5, 6]);
    // Keyless: resuming re-reads the rows of the saved cursor value (never loses them).
    let first = stream_states(&r, "recent")[0].clone();
    assert_eq!(blob(&first)["cursor"], "2024-01-01");
    let resumed = fx.read(&config, Some(&catalog), Some(&json!([first])));
    assert_eq!(ids(&resumed, "recent"), vec![1, 2, 3, 4, 5, 6]);
    let last = stream_states(&r, "recent").last().cloned().cloned().unwrap();
    let resumed = fx.read(&config, Some(&catalog), Some(&json!([last])));
    assert_eq!(ids(&resumed, "recent"), vec![6]);

    // The state records the cursor field: a different cursor starts over, with a warning.
    let by_kind = fx.catalog(&config, &[("recent", "incremental", Some("kind"))]);
    let changed = fx.read(&config, Some(&by_kind), Some(&json!([last])));
    changed.assert_success();
    assert_eq!(ids(&changed, "recent").len(), 6);
    assert!(changed
        .logs()
        .iter()
        .any(|l| l.starts_with("WARN") && l.contains("cursor")));
}

#[test]
fn incremental_without_a_cursor_fails_the_stream() {
    let fx = events_fixture();
    let config = fx.config(json!({}));
    let catalog = fx.catalog(
        &config,
        &[("users", "full_refresh", None), ("events", "incremental", Some("nope"))],
    );
    let r = fx.read(&config, Some(&catalog), None);
    assert!(!r.status.success());
    assert_eq!(stream_data(&r, "users").len(), 5);
    assert_eq!(statuses(&r, "events"), vec!["STARTED", "INCOMPLETE"]);
    let err = r.errors()[0];
    assert_eq!(err["failure_type"], "config_error");
    assert_eq!(err["stream_descriptor"]["name"], "events");
    assert!(err["message"].as_str().unwrap().contains("nope"));
}

#[test]
fn check_succeeds_read_only() {
    let fx = Fixture::new();
    let config = fx.config(json!({}));
    let r = run("source-sqlite", &["check", "--config", &config], None);
    r.assert_success();
    assert_eq!(r.connection_status()["status"], "SUCCEEDED", "{}", r.stdout);
    fx.assert_untouched();
}

#[test]
fn check_missing_file_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let config = write_json(dir.path(), "c.json", &json!({"database_path": missing}));
    let r = run("source-sqlite", &["check", "--config", config.to_str().unwrap()], None);
    r.assert_success();
    assert_eq!(r.connection_status()["status"], "FAILED");
    assert!(r.connection_status()["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert!(!missing.exists(), "check created the database file");
    // read fails the same way, as a config error.
    let r = run("source-sqlite", &["read", "--config", config.to_str().unwrap()], None);
    assert!(!r.status.success());
    assert_eq!(r.errors()[0]["failure_type"], "config_error");
    assert!(!missing.exists());
}

#[test]
fn check_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.db");
    std::fs::write(
        &file,
        "this is plainly not a SQLite database, just some text that is long enough\n".repeat(20),
    )
    .unwrap();
    let config = write_json(dir.path(), "c.json", &json!({"database_path": file}));
    let r = run("source-sqlite", &["check", "--config", config.to_str().unwrap()], None);
    r.assert_success();
    assert_eq!(r.connection_status()["status"], "FAILED");
    assert!(
        r.connection_status()["message"]
            .as_str()
            .unwrap()
            .contains("not a database"),
        "{}",
        r.stdout
    );
    // A directory gets its own message too.
    let config = write_json(dir.path(), "d.json", &json!({"database_path": dir.path()}));
    let r = run("source-sqlite", &["check", "--config", config.to_str().unwrap()], None);
    assert!(r.connection_status()["message"]
        .as_str()
        .unwrap()
        .contains("is a directory"));
}

#[test]
fn check_and_read_a_locked_database() {
    let fx = Fixture::new();
    let config = fx.config(json!({"busy_timeout_ms": 100}));
    let holder = Connection::open(&fx.db).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO x VALUES (8);")
        .unwrap();
    let r = run("source-sqlite", &["check", "--config", &config], None);
    r.assert_success();
    assert_eq!(r.connection_status()["status"], "FAILED");
    let msg = r.connection_status()["message"].as_str().unwrap();
    assert!(msg.contains("is locked") && msg.contains("busy_timeout_ms"), "{msg}");
    let r = run("source-sqlite", &["read", "--config", &config], None);
    assert!(!r.status.success());
    assert_eq!(r.errors()[0]["failure_type"], "transient_error");
    holder.execute_batch("ROLLBACK;").unwrap();
    drop(holder);
    fx.assert_untouched();
}

#[test]
fn bad_state_is_a_config_error() {
    let fx = Fixture::new();
    let config = fx.config(json!({}));
    let catalog = fx.catalog(&config, &[("users", "full_refresh", None)]);
    let state =
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"what": 1}}}]);
    let r = fx.read(&config, Some(&catalog), Some(&state));
    assert!(!r.status.success());
    assert_eq!(r.errors()[0]["failure_type"], "config_error");
    assert!(r.errors()[0]["message"].as_str().unwrap().contains("users"));
    // A rowid that is not an integer would read nothing and say complete.
    let state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"},
        "stream_state": {"sync_mode": "full_refresh", "key_columns": ["rowid"], "key": ["x"]}}}]);
    let r = fx.read(&config, Some(&catalog), Some(&state));
    assert!(!r.status.success());
    assert!(stream_data(&r, "users").is_empty());
    let msg = r.errors()[0]["message"].as_str().unwrap();
    assert!(msg.contains("rowid is \"x\", not an integer"), "{msg}");
}

#[test]
fn round_trips_through_parquet_with_identical_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rt.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, active BOOLEAN, born DATE, pic BLOB);
           INSERT INTO users VALUES (1, 'Ann', 1.5, 1, '2000-01-02', x'00ff'), (2, 'Bé "q" ☂', NULL, 0, NULL, NULL),
                                    (3, 'C', -2.25, NULL, '1999-12-31', x'41');"#,
    )
    .unwrap();
    drop(conn);
    let original = std::fs::read(&db).unwrap();
    let out = dir.path().join("out");
    let src_cfg = write_json(dir.path(), "src.json", &json!({"database_path": db}));
    let dst_cfg = write_json(dir.path(), "dst.json", &json!({"base_path": out, "format": "parquet"}));
    let back_cfg = write_json(
        dir.path(),
        "back.json",
        &json!({"file_path": out, "layout": "per_subdirectory", "format": "parquet"}),
    );
    let discovered = run(
        "source-sqlite",
        &["discover", "--config", src_cfg.to_str().unwrap()],
        None,
    );
    let streams: Vec<Value> = discovered.catalog()["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}))
        .collect();
    let catalog = write_json(dir.path(), "catalog.json", &json!({"streams": streams}));
    let (src, dst) = lakeport_tests::pipe(
        "source-sqlite",
        &[
            "read",
            "--config",
            src_cfg.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ],
        "destination-file",
        &[
            "write",
            "--config",
            dst_cfg.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ],
    );
    dst.assert_success();
    let back = run("source-file", &["read", "--config", back_cfg.to_str().unwrap()], None);
    back.assert_success();
    let strip = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.retain(|k, _| !k.starts_with("_a"));
        Value::Object(m)
    };
    let mut read_back: Vec<Value> = back.data().into_iter().map(strip).collect();
    read_back.sort_by_key(|v| v["id"].as_i64());
    let sent: Vec<Value> = src.data().into_iter().cloned().collect();
    assert_eq!(read_back, sent);
    assert!(std::fs::read(&db).unwrap() == original, "the database file changed");
}

#[test]
fn a_broken_view_is_left_out_with_a_warning_unless_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE keep(id INTEGER PRIMARY KEY); INSERT INTO keep VALUES (1);
         CREATE TABLE tmp(x INTEGER); CREATE VIEW stale AS SELECT x FROM tmp; DROP TABLE tmp;",
    )
    .unwrap();
    drop(conn);
    let config = write_json(dir.path(), "c.json", &json!({"database_path": db}));
    let r = run(
        "source-sqlite",
        &["discover", "--config", config.to_str().unwrap()],
        None,
    );
    r.assert_success();
    let names: Vec<&str> = r.catalog()["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
    assert!(
        r.logs().iter().any(|l| l.starts_with("WARN") && l.contains("'stale'")),
        "{:?}",
        r.logs()
    );
    // Named in `tables`: a config error saying what to do.
    let named = write_json(dir.path(), "n.json", &json!({"database_path": db, "tables": ["stale"]}));
    let r = run(
        "source-sqlite",
        &["discover", "--config", named.to_str().unwrap()],
        None,
    );
    assert!(!r.status.success());
    let err = r.errors()[0];
    assert_eq!(err["failure_type"], "config_error");
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("'stale'") && msg.contains("fix or drop the view"), "{msg}");
}
