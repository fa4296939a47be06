//! Undo work registered for a stop, run by `undo_all` (what a SIGTERM or
//! SIGINT runs before the process dies by it). Its own test binary: running
//! the undo work marks the whole process as stopping.

use lakeport_protocol::stop::{in_flight, is_stopping, remove_on_stop, undo_all};

#[test]
fn a_temporary_file_is_removed_on_stop_unless_committed() {
    let dir = tempfile::tempdir().unwrap();
    let abandoned = dir.path().join(".part-1.tmp");
    let committed = dir.path().join(".part-2.tmp");
    std::fs::write(&abandoned, b"half").unwrap();
    std::fs::write(&committed, b"whole").unwrap();
    assert!(!in_flight());
    let guard_abandoned = remove_on_stop(abandoned.clone());
    let guard_committed = remove_on_stop(committed.clone());
    assert!(in_flight());
    // Committed: renamed into place, its undo forgotten.
    let final_path = dir.path().join("part-2.jsonl");
    std::fs::rename(&committed, &final_path).unwrap();
    drop(guard_committed);
    assert!(!is_stopping());
    undo_all();
    assert!(is_stopping());
    assert!(!abandoned.exists(), "the abandoned temporary file is removed");
    assert_eq!(std::fs::read(&final_path).unwrap(), b"whole");
    assert!(!in_flight());
    drop(guard_abandoned);
}
