//! Panics of third-party readers on malformed input, turned into errors.
//!
//! Some decoders (Parquet, Avro) assert on malformed files instead of
//! returning an error. A reader of untrusted bytes calls them through
//! [`catch_panic`]: the panic becomes an `Err` with its message, and the
//! runtime's panic hook stays silent (no TRACE for a panic that is handled).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread runs inside [`catch_panic`] (the panic hook
/// then reports nothing).
pub fn is_catching() -> bool {
    CATCHING.with(|c| c.get() > 0)
}

/// Runs `f`; a panic in it (on this thread) is returned as `Err` with the
/// panic's message. Only for code whose state is dropped or unused after a
/// panic: callers treat the error as the end of what they were reading.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CATCHING.with(|c| c.set(c.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get().saturating_sub(1)));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_error_and_the_flag_is_reset() {
        assert_eq!(catch_panic(|| 5), Ok(5));
        let e = catch_panic(|| -> u8 { panic!("bad footer {}", 3) }).unwrap_err();
        assert_eq!(e, "bad footer 3");
        assert!(!is_catching());
    }
}
