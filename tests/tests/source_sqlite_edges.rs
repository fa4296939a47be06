//! source-sqlite edge cases end to end, on the real binary (every stdout line
//! validated against the official models): TIME columns, a virtual table's
//! hidden columns, a view longer than one row chunk, saved states that cannot
//! be used or belong to another mode or key, catalog fields the table lacks,
//! a keyed resume inside a run of NULL cursors, and names in `tables`.

use std::path::PathBuf;

use lakeport_tests::{run, write_json, Run};
use rusqlite::Connection;
use serde_json::{json, Value};

/// A database built from `sql` in a temporary directory.
struct Db {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new(sql: &str) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edge.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        Db { dir, path }
    }

    fn config(&self, extra: Value) -> String {
        let mut c = json!({"database_path": self.path.to_str().unwrap()});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        self.write("config.json", &c)
    }

    fn write(&self, name: &str, v: &Value) -> String {
        write_json(self.dir.path(), name, v).to_str().unwrap().to_string()
    }

    fn discover(&self, config: &str) -> Value {
        let r = run("source-sqlite", &["discover", "--config", config], None);
        r.assert_success();
        r.catalog().clone()
    }

    /// The discovered stream `name`.
    fn stream(&self, config: &str, name: &str) -> Value {
        self.discover(config)["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no stream {name}"))
            .clone()
    }

    /// A configured catalog of one stream.
    fn catalog(&self, stream: Value, mode: &str, cursor: Option<&str>) -> String {
        let mut c = json!({"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"});
        if let Some(cursor) = cursor {
            c["cursor_field"] = json!([cursor]);
        }
        self.write("catalog.json", &json!({"streams": [c]}))
    }

    /// `read` with a saved per-stream state for stream `name`, if given.
    fn read(&self, config: &str, catalog: &str, name: &str, state: Option<Value>) -> Run {
        let mut args = vec!["read", "--config", config, "--catalog", catalog];
        let state_path;
        if let Some(s) = state {
            let msg = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": s}}]);
            state_path = self.write("state.json", &msg);
            args.extend(["--state", state_path.as_str()]);
        }
        run("source-sqlite", &args, None)
    }
}

fn column(r: &Run, field: &str) -> Vec<Value> {
    r.data().iter().map(|d| d[field].clone()).collect()
}

fn last_state(r: &Run) -> Value {
    r.states().last().expect("a STATE")["stream"]["stream_state"].clone()
}

#[test]
fn time_columns_keep_clock_times_and_null_the_rest() {
    let db = Db::new(
        "CREATE TABLE shifts(id INTEGER PRIMARY KEY, starts TIME);
         INSERT INTO shifts(starts) VALUES ('10:11'), ('23:59:60.5'), ('08:00:00+02:00'), ('07:30:00Z'),
            ('24:00'), ('10:11:1'), ('10:11:12.'), ('10:11:12x'), ('10:11+0'), (NULL);",
    );
    let config = db.config(json!({}));
    let stream = db.stream(&config, "shifts");
    assert_eq!(
        stream["json_schema"]["properties"]["starts"],
        json!({"type": ["null", "string"], "format": "time", "airbyte_type": "time_without_timezone"})
    );
    let r = db.read(&config, &db.catalog(stream, "full_refresh", None), "shifts", None);
    r.assert_success();
    assert_eq!(
        column(&r, "starts"),
        json!([
            "10:11",
            "23:59:60.5",
            "08:00:00+02:00",
            "07:30:00Z",
            null,
            null,
            null,
            null,
            null,
            null
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    // Each text that is no time is nulled and says so; a stored NULL does not.
    let changed: Vec<i64> = r
        .records()
        .iter()
        .filter(|rec| rec["meta"]["changes"][0]["change"] == "NULLED")
        .map(|rec| {
            assert_eq!(rec["meta"]["changes"][0]["field"], "starts");
            rec["data"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(changed, [5, 6, 7, 8, 9]);
}

#[test]
fn a_virtual_tables_hidden_columns_are_not_streamed() {
    let db = Db::new(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body);
         INSERT INTO docs VALUES ('a', 'first body'), ('b', 'second body');",
    );
    let config = db.config(json!({"tables": ["docs"]}));
    let stream = db.stream(&config, "docs");
    let props: Vec<&String> = stream["json_schema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    // fts5's hidden columns (the table-named one, rank) are left out.
    assert_eq!(props, ["title", "body"]);
    let r = db.read(&config, &db.catalog(stream, "full_refresh", None), "docs", None);
    r.assert_success();
    assert_eq!(
        r.data(),
        [
            &json!({"title": "a", "body": "first body"}),
            &json!({"title": "b", "body": "second body"})
        ]
    );
}

#[test]
fn a_view_longer_than_a_row_chunk_is_read_whole_in_order() {
    // 10,000 rows: more than two chunks of 4,096 rows handed to the writer.
    let db = Db::new(
        "CREATE VIEW numbers AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 10000)
         SELECT n, printf('row %05d', n) AS label FROM c;",
    );
    let config = db.config(json!({"batch_size": 100}));
    let stream = db.stream(&config, "numbers");
    assert_eq!(stream["is_resumable"], false);
    let r = db.read(&config, &db.catalog(stream, "full_refresh", None), "numbers", None);
    r.assert_success();
    let ns: Vec<i64> = r.data().iter().map(|d| d["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, (1..=10_000).collect::<Vec<_>>());
    assert_eq!(r.data()[9_999]["label"], "row 10000");
    // A view cannot be resumed: one STATE, at the end, for every record.
    assert_eq!(r.states().len(), 1);
    assert_eq!(last_state(&r), json!({"sync_mode": "full_refresh", "complete": true}));
    assert_eq!(r.states()[0]["sourceStats"]["recordCount"], 10_000.0);
}

fn events() -> Db {
    Db::new(
        "CREATE TABLE events(id INTEGER PRIMARY KEY, u TEXT, what TEXT);
         INSERT INTO events(u, what) VALUES (NULL, 'a'), (NULL, 'b'), (NULL, 'c'), ('2024-01-01', 'd'), ('2024-01-02', 'e');",
    )
}

#[test]
fn saved_states_that_cannot_be_used_are_config_errors_saying_why() {
    let db = events();
    let config = db.config(json!({}));
    let catalog = db.catalog(db.stream(&config, "events"), "incremental", Some("u"));
    let cases = [
        (
            json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": {"base64": "@@"}}),
            "invalid base64 value",
        ),
        (
            json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": [1]}),
            "unrecognised value [1]",
        ),
        (
            json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": {"real": "nan"}}),
            "unrecognised value {\"real\":\"nan\"}",
        ),
        (
            json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": "x", "key_columns": [1]}),
            "\"key_columns\" must list strings",
        ),
        (
            json!({"sync_mode": "incremental", "cursor_field": 5}),
            "\"cursor_field\" must be a list of strings, found 5",
        ),
        (
            json!(["not", "an", "object"]),
            "expected an object, found [\"not\",\"an\",\"object\"]",
        ),
    ];
    for (state, why) in cases {
        let r = db.read(&config, &catalog, "events", Some(state.clone()));
        assert!(!r.status.success(), "{state}: {}", r.stdout);
        assert!(r.data().is_empty(), "{state}");
        let err = r.errors()[0];
        assert_eq!(err["failure_type"], "config_error", "{state}");
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("The saved state of stream 'events' cannot be used: {why}")),
            "{state}: {msg}"
        );
        assert!(
            msg.contains("drop this stream's state to read it from the start"),
            "{msg}"
        );
    }
}

#[test]
fn a_state_of_another_mode_or_key_restarts_the_stream_and_says_so() {
    let db = events();
    let config = db.config(json!({}));
    let stream = db.stream(&config, "events");

    // A full refresh whose saved key is another column's.
    let full = db.catalog(stream.clone(), "full_refresh", None);
    let r = db.read(
        &config,
        &full,
        "events",
        Some(json!({"sync_mode": "full_refresh", "key_columns": ["id2"], "key": [3]})),
    );
    r.assert_success();
    assert_eq!(column(&r, "id"), json!([1, 2, 3, 4, 5]).as_array().unwrap().clone());
    assert!(
        r.logs().contains(
            &"WARN The saved state of 'events' is keyed by [\"id2\"] but the table is now read by [\"rowid\"]; reading it from the start."
                .to_string()
        ),
        "{:?}",
        r.logs()
    );

    // An incremental read given a full refresh's state.
    let incremental = db.catalog(stream, "incremental", Some("u"));
    let r = db.read(
        &config,
        &incremental,
        "events",
        Some(json!({"sync_mode": "full_refresh", "complete": true})),
    );
    r.assert_success();
    assert_eq!(r.data().len(), 5);
    assert!(
        r.logs().contains(
            &"INFO The saved state of 'events' is from a full refresh; reading it incrementally from the start."
                .to_string()
        ),
        "{:?}",
        r.logs()
    );
    assert_eq!(
        last_state(&r),
        json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": "2024-01-02", "key_columns": ["rowid"], "key": [5]})
    );
}

#[test]
fn a_keyed_resume_inside_null_cursors_reads_the_rest_once() {
    let db = events();
    let config = db.config(json!({}));
    let catalog = db.catalog(db.stream(&config, "events"), "incremental", Some("u"));
    // The last run stopped after row 2, whose cursor is NULL (NULLs sort first).
    let r = db.read(
        &config,
        &catalog,
        "events",
        Some(json!({"sync_mode": "incremental", "cursor_field": ["u"], "cursor": null, "key_columns": ["rowid"], "key": [2]})),
    );
    r.assert_success();
    assert_eq!(column(&r, "what"), json!(["c", "d", "e"]).as_array().unwrap().clone());
    // Without a key to break the tie, a NULL cursor re-reads everything
    // (duplicates rather than losses).
    let r = db.read(
        &config,
        &catalog,
        "events",
        Some(json!({"cursor_field": ["u"], "cursor": null})),
    );
    r.assert_success();
    assert_eq!(r.data().len(), 5);
    // A bare cursor value re-reads the rows equal to it.
    let r = db.read(
        &config,
        &catalog,
        "events",
        Some(json!({"cursor_field": "u", "cursor": "2024-01-01"})),
    );
    r.assert_success();
    assert_eq!(column(&r, "what"), json!(["d", "e"]).as_array().unwrap().clone());
}

#[test]
fn catalog_fields_the_table_lacks_are_left_out_with_a_warning() {
    let db = events();
    let config = db.config(json!({}));
    let mut stream = db.stream(&config, "events");
    stream["json_schema"]["properties"] = json!({"what": {"type": ["null", "string"]}, "ghost": {"type": "string"}});
    let r = db.read(&config, &db.catalog(stream, "full_refresh", None), "events", None);
    r.assert_success();
    assert_eq!(r.data()[0], &json!({"what": "a"}));
    assert!(
        r.logs().contains(
            &"WARN The catalog's schema of 'events' lists fields the table does not have (ghost); they are left out. Run discover again to refresh the catalog."
                .to_string()
        ),
        "{:?}",
        r.logs()
    );
}

#[test]
fn names_in_tables_match_once_and_an_empty_database_lists_none() {
    let db = events();
    // The same table named twice, in two cases: one stream.
    let config = db.config(json!({"tables": ["events", "EVENTS"]}));
    let streams = db.discover(&config)["streams"].as_array().unwrap().clone();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0]["name"], "events");

    let empty = Db::new("PRAGMA user_version = 1;");
    let config = empty.config(json!({"tables": ["events"]}));
    let r = run("source-sqlite", &["check", "--config", &config], None);
    r.assert_success();
    let status = r.connection_status();
    assert_eq!(status["status"], "FAILED");
    assert_eq!(
        status["message"],
        "The database has no table or view named 'events'. Existing tables and views: (none). Fix `tables` in the config or the stream names in the catalog."
    );
    // Without `tables`, an empty database is a valid, empty catalog.
    let config = empty.config(json!({}));
    assert_eq!(empty.discover(&config), json!({"streams": []}));
}
