//! Secrets masking through the public API: which keys are secret, how values
//! are found, and where they are (and are not) replaced.

use lakeport_protocol::secrets::{Secrets, MASK};
use serde_json::json;

#[test]
fn spec_secret_keys_include_the_well_known_names_and_the_spec_ones() {
    let spec = json!({"properties": {
        "bucket": {"type": "string"},
        "credentials": {"oneOf": [
            {"properties": {"role_secret": {"type": "string", "airbyte_secret": true}}},
            {"properties": {"plain": {"type": "string", "airbyte_secret": false}}}
        ]}
    }});
    let keys = Secrets::secret_keys_of_spec(&spec);
    assert!(keys.contains("role_secret"), "{keys:?}");
    for well_known in ["aws_secret_access_key", "password", "client_secret", "session_token"] {
        assert!(keys.contains(well_known), "{well_known} missing from {keys:?}");
    }
    assert!(!keys.contains("plain"));
    assert!(!keys.contains("bucket"));
}

#[test]
fn secrets_inside_lists_of_objects_are_found() {
    let config = json!({"streams": [{"name": "a", "password": "pw-one-xyz"}, {"name": "b", "password": "pw-two-xyz"}],
        "flag": true, "token": null});
    let s = Secrets::from_spec_and_config(&json!({}), &config);
    assert_eq!(s.mask("pw-one-xyz pw-two-xyz a b"), format!("{MASK} {MASK} a b"));
    assert!(s.appear_in("...pw-two-xyz..."));
    assert!(!s.appear_in("nothing here"));
}

#[test]
fn no_secrets_leave_text_borrowed_and_unchanged() {
    let s = Secrets::from_spec_and_config(&json!({}), &json!({"bucket": "b", "password": ""}));
    assert!(s.is_empty(), "an empty secret is no secret");
    let text = "bucket b";
    assert!(matches!(s.mask(text), std::borrow::Cow::Borrowed("bucket b")));
}

#[test]
fn extend_merges_without_duplicates_longest_first() {
    let mut a = Secrets::none();
    a.add("abcd");
    let mut b = Secrets::none();
    b.add("abcd");
    b.add("abcdefgh");
    a.extend(&b);
    // The longer secret is replaced whole, not as "abcd" + "efgh".
    assert_eq!(a.mask("x abcdefgh y abcd"), format!("x {MASK} y {MASK}"));
}

#[test]
fn quotes_and_backslashes_are_masked_in_their_json_escaped_form_too() {
    let mut s = Secrets::none();
    s.add("p\"w\\d");
    let line = serde_json::to_string(&json!({"message": "bad p\"w\\d here"})).unwrap();
    assert!(line.contains("p\\\"w\\\\d"), "{line}");
    assert_eq!(s.mask(&line), format!("{{\"message\":\"bad {MASK} here\"}}"));
}

#[test]
fn a_short_secret_repeated_is_masked_only_where_it_stands_alone() {
    let mut s = Secrets::none();
    s.add("ab");
    assert_eq!(s.mask("ab ab"), format!("{MASK} {MASK}"));
    // The second "ab" follows the first directly: part of the word "abab".
    assert_eq!(s.mask("abab"), "abab");
    assert_eq!(s.mask("(ab)-ab_"), format!("({MASK})-{MASK}_"));
    assert_eq!(s.mask("é ab é"), format!("é {MASK} é"));
    assert_eq!(s.mask("éab"), "éab");
}

#[test]
fn mask_value_masks_numbers_given_as_secret_text() {
    let s = Secrets::from_spec_and_config(&json!({}), &json!({"api_key": 12345678}));
    let mut v = json!({"message": "key 12345678 refused", "nested": [{"k": "12345678"}], "n": 12345678});
    s.mask_value(&mut v);
    // Strings are masked; a JSON number is data, left as it is.
    assert_eq!(
        v,
        json!({"message": format!("key {MASK} refused"), "nested": [{"k": MASK}], "n": 12345678})
    );
}
