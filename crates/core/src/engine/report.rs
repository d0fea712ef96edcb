//! What the engine reports to its driver: progress (high-water mark, in-flight range, bytes
//! sent), counters, and whether a session exists that an abort must DELETE.

use super::machine::{Engine, Phase};
use super::Event;

impl Engine {
    /// Bytes the server has acknowledged: a high-water mark that never decreases, even when
    /// the server goes back or a new session starts over; exactly `total` after `Done`.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }

    /// The server's next expected offset as last known (goes back to 0 on a new session).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The half-open range of the pending PUT, if a PUT is pending.
    pub fn in_flight(&self) -> Option<(u64, u64)> {
        match self.phase {
            Phase::AwaitPut { start, end } => Some((start, end)),
            _ => None,
        }
    }

    /// Bytes sent for progress reports, given the bytes the transport has sent of the pending
    /// PUT: `start + loaded` (capped at the PUT's length), never below `acknowledged()`.
    pub fn bytes_sent(&self, loaded_in_current_put: u64) -> u64 {
        match self.in_flight() {
            Some((start, end)) => (start + loaded_in_current_put.min(end - start)).max(self.acknowledged),
            None => self.acknowledged,
        }
    }

    /// Counted requests so far (see the module docs); never more than `max_attempts`.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Consecutive failures (the backoff exponent + 1); 0 after progress.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// New sessions requested after the first (404, 401, expiry).
    pub fn session_restarts(&self) -> u32 {
        self.session_restarts
    }

    /// True when an upload session exists that an abort must DELETE.
    pub fn has_session(&self) -> bool {
        self.has_session
    }

    /// The session's expiry as Unix ms, when known.
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.expires_at_ms
    }

    /// True once `Done` or `Fail` was returned.
    pub fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }
}

/// The event's variant name, for messages (bodies are never echoed).
pub(super) fn name(e: &Event) -> &'static str {
    match e {
        Event::SessionReady(_) => "SessionReady",
        Event::SessionFailed { .. } => "SessionFailed",
        Event::PutAnswered(_) => "PutAnswered",
        Event::StatusAnswered(_) => "StatusAnswered",
        Event::NetworkError { .. } => "NetworkError",
        Event::Stalled => "Stalled",
        Event::TimerFired => "TimerFired",
        Event::DeleteAnswered => "DeleteAnswered",
        Event::Abort => "Abort",
        Event::Resume => "Resume",
    }
}

/// The phase's name, for messages (no `Debug` formatting in the WebAssembly build).
// wasm-size: `{phase:?}` in the message instead costs 567 B more gzipped wasm.
pub(super) fn phase_name(p: &super::machine::Phase) -> &'static str {
    use super::machine::Phase;
    match p {
        Phase::Idle => "Idle",
        Phase::AwaitSession => "AwaitSession",
        Phase::AwaitPut { .. } => "AwaitPut",
        Phase::AwaitStatus { .. } => "AwaitStatus",
        Phase::Sleeping(_) => "Sleeping",
        Phase::Deleting => "Deleting",
        Phase::Finished => "Finished",
    }
}
