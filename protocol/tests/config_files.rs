//! Reading config, catalog and state files: each way a file can be wrong has
//! its own message naming the file and what to do.

use std::path::Path;

use lakeport_protocol::config::{read_json_file, read_text_file, validate_config};
use lakeport_protocol::message::FailureType;
use serde_json::json;

#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.json");
    std::fs::write(&p, "\u{feff}{\"a\": [1, 2]}").unwrap();
    assert_eq!(read_json_file(&p, "config").unwrap(), json!({"a": [1, 2]}));
}

#[test]
fn invalid_json_names_the_file_the_problem_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("catalog.json");
    std::fs::write(&p, "{\"streams\": [1, 2,]}").unwrap();
    let e = read_json_file(&p, "catalog").unwrap_err();
    assert_eq!(e.failure_type, FailureType::ConfigError);
    let expected_start = format!("The catalog file '{}' is not valid JSON: ", p.display());
    assert!(e.message.starts_with(&expected_start), "{}", e.message);
    assert!(
        e.message.contains(": trailing comma at line 1, column 19. "),
        "{}",
        e.message
    );
    // serde_json's own " at line L column C" suffix is not repeated.
    assert_eq!(e.message.matches(" at line ").count(), 1, "{}", e.message);
    assert!(e.message.ends_with("Fix the file and run again."), "{}", e.message);
}

#[test]
fn an_empty_file_is_not_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.json");
    std::fs::write(&p, "").unwrap();
    let e = read_json_file(&p, "config").unwrap_err();
    assert!(
        e.message.contains("is not valid JSON: EOF while parsing"),
        "{}",
        e.message
    );
}

#[test]
fn a_file_that_is_not_utf8_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.json");
    std::fs::write(&p, b"{\"name\": \"caf\xe9\"}").unwrap();
    let e = read_text_file(&p, "state").unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "The state file '{}' is not UTF-8 text; save it as UTF-8 JSON.",
            p.display()
        )
    );
}

#[test]
fn a_directory_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_text_file(dir.path(), "config").unwrap_err();
    let start = format!("The config file '{}' cannot be read: ", dir.path().display());
    assert!(e.message.starts_with(&start), "{}", e.message);
    assert_eq!(e.failure_type, FailureType::ConfigError);
}

#[test]
fn a_missing_file_says_to_check_the_path() {
    let e = read_text_file(Path::new("/nonexistent/lakeport/x.json"), "catalog").unwrap_err();
    assert_eq!(
        e.message,
        "The catalog file '/nonexistent/lakeport/x.json' does not exist; check the path passed to the command."
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_says_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("secret.json");
    std::fs::write(&p, "{}").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test.
        eprintln!("SKIP: this user reads files without read permission (root)");
        return;
    }
    let e = read_text_file(&p, "config").unwrap_err();
    assert!(
        e.message.contains("cannot be read (permission denied)"),
        "{}",
        e.message
    );
}

#[test]
fn an_invalid_schema_is_the_connectors_fault() {
    let e = validate_config(&json!({"type": 12}), &json!({})).unwrap_err();
    assert_eq!(e.failure_type, FailureType::SystemError);
    assert!(
        e.message
            .starts_with("The connector's own spec is not a valid JSON Schema: "),
        "{}",
        e.message
    );
}

#[test]
fn every_problem_is_listed_and_escaped_keys_are_readable() {
    let schema = json!({"type": "object", "additionalProperties": false,
        "properties": {"a/b": {"type": "integer"}, "t~x": {"type": "string"}}});
    let e = validate_config(&schema, &json!({"a/b": "x", "t~x": 1, "extra": true})).unwrap_err();
    let m = &e.message;
    assert!(m.starts_with("The config is invalid: "), "{m}");
    assert!(m.contains("field 'a/b': \"x\" is not of type \"integer\""), "{m}");
    assert!(m.contains("field 't~x': 1 is not of type \"string\""), "{m}");
    // A problem of the root object has no field name.
    assert!(
        m.contains("Additional properties are not allowed ('extra' was unexpected)"),
        "{m}"
    );
    assert_eq!(m.matches("; ").count(), 2, "{m}");
    assert!(
        m.ends_with("Fix these fields (run `spec` to see every field and its rules)."),
        "{m}"
    );
}
