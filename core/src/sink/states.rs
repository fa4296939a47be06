//! STATE messages held back until every record before them is committed.

use std::collections::VecDeque;

use lakeport_protocol::{ConnectorError, StateMessage, StateStats, StateType, StreamDescriptor};
use serde_json::value::RawValue;

/// Which streams a state covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// One stream's state.
    Stream(StreamDescriptor),
    /// A global or legacy state: every stream.
    All,
}

/// A state waiting to be echoed.
#[derive(Debug)]
pub struct Pending {
    /// Records seen before it (global sequence number of the last one).
    pub seq: u64,
    /// The streams it covers.
    pub scope: Scope,
    /// The state, with `destinationStats` set.
    pub state: StateMessage,
}

/// The queue of states, in arrival order.
#[derive(Debug, Default)]
pub struct PendingStates {
    queue: VecDeque<Pending>,
}

impl PendingStates {
    /// Parses a state and queues it; `count_for` gives the records of its
    /// scope since the previous state (and resets that count).
    pub fn push(
        &mut self,
        raw: &RawValue,
        seq: u64,
        count_for: impl FnOnce(&Scope) -> u64,
    ) -> Result<(), ConnectorError> {
        let mut state: StateMessage = serde_json::from_str(raw.get()).map_err(|e| {
            ConnectorError::config(format!(
                "A STATE message on the input does not follow the Airbyte protocol: {e}. The source must emit valid states."
            ))
        })?;
        let scope = match (&state.state_type, &state.stream) {
            (Some(StateType::Stream) | None, Some(s)) => Scope::Stream(s.stream_descriptor.clone()),
            _ => Scope::All,
        };
        let count = count_for(&scope);
        state.destination_stats = Some(StateStats {
            record_count: Some(count as f64),
        });
        self.queue.push_back(Pending { seq, scope, state });
        Ok(())
    }

    /// Removes and returns, in order, the states at the front of the queue
    /// that `covered` says are durable.
    pub fn release(&mut self, mut covered: impl FnMut(&Pending) -> bool) -> Vec<StateMessage> {
        let mut out = vec![];
        while let Some(front) = self.queue.front() {
            if !covered(front) {
                break;
            }
            if let Some(p) = self.queue.pop_front() {
                out.push(p.state);
            }
        }
        out
    }

    /// How many states wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when none wait.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
