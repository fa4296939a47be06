//! Small helpers for tasks spawned on the Tokio runtime. Bottom layer: imports nothing of
//! the crate, so any module (formats, the source engine, connectors) may use it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::{JoinError, JoinHandle};

/// A spawned task aborted when this handle is dropped (the reader stopped early, the
/// caller went away), so no fetch or driver outlives the one that wanted it.
/// Awaiting it awaits the task, as a [`JoinHandle`] does.
#[derive(Debug)]
pub struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Takes charge of `handle`: the task is aborted when the result is dropped.
    pub fn new(handle: JoinHandle<T>) -> Self {
        AbortOnDrop(handle)
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::AbortOnDrop;

    #[tokio::test]
    async fn awaiting_yields_the_tasks_output() {
        let task = AbortOnDrop::new(tokio::spawn(async { 7 }));
        assert_eq!(task.await.ok(), Some(7));
    }

    #[tokio::test]
    async fn dropping_aborts_the_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let task = AbortOnDrop::new(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            flag.store(true, Ordering::SeqCst);
        }));
        drop(task);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            !finished.load(Ordering::SeqCst),
            "the task ran on after its handle was dropped"
        );
    }
}
