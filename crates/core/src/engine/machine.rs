//! The engine's state machine: the retry table (docs/architecture.md) as event -> action transitions.
//!
//! Rules beyond the table (each also stated on the method that applies it):
//! - **Attempts.** Every PUT, status GET, `statusUrl` GET and repeated session request is counted
//!   when sent; a PUT whose answer shows the server moved past that PUT's start (202 with a later
//!   offset, or a commit) is refunded, so `max_attempts` bounds the requests that did *not* make
//!   progress and a large error-free upload never runs out. Before any counted request,
//!   `attempts() >= max_attempts` fails with `retries-exhausted` (`protocol` when the last problem
//!   was a malformed answer, `session-failed` when it was the session endpoint).
//! - **Backoff.** Network errors, stalls, 408, 429 without `Retry-After`, 500/502/503/504 and
//!   malformed status bodies sleep `backoff_delay_ms(failures - 1, ..)` with the injected jitter,
//!   then GET status. `failures` counts consecutive failures and resets when the server's offset
//!   moves forward (progress). A request that fails when no attempt is left fails at once.
//! - **Retry-After** (429/503 with `retry_after_ms`): sleep exactly that long, capped at
//!   `max_delay_ms` (a longer wait would outlive most sessions; if the server still throttles it
//!   says so again), then send the *same* request again (the throttled request was not
//!   processed). If the server did process it, the repeat gets a 416 and realigns.
//! - **Session requests** follow the same policy: no answer, a stall, 408, 429, 500, 502, 503
//!   and 504 back off (or honour `Retry-After`) and ask again; any other status fails at once
//!   with `session-failed` and the endpoint's message.
//! - **Sessions.** 404 and 401 to a PUT or GET, and a known expiry that has passed before a
//!   request, ask for a new session and start over from byte 0, at most
//!   `max_session_restarts` times; past that the upload fails with `expired` when the session
//!   was known to be expired, else `retries-exhausted`. A 404/401 to the first GET after
//!   `start(Some(..))` (stored session gone) starts a new session without using a restart.
//! - **Lost commit answers.** Before a session with a `statusUrl` is replaced, `GetCommitted`
//!   asks it: a 200 driveItem ends the upload with `Done` (it was committed and the answer was
//!   lost), a 404 goes on with the new session, transient answers back off and ask again, any
//!   other answer goes on with the new session (as without a `statusUrl`).
//! - **Unexpected events** (an event that does not answer the pending action, e.g.
//!   `TimerFired` while a PUT is pending) fail with `protocol`; `Abort` and `Resume` are honoured
//!   in every state; after `Done`/`Fail` every event returns that same final action again.

use crate::text::cat;
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;

mod answers;
mod requests;

use super::answer::parse_ranges;
use super::json::{NativeReader, Reader};
use super::phase::{Lost, Next, Phase};
use super::{Action, EngineConfig, Event, Failure, FailureCode, Jitter, SessionInfo};
use crate::chunk::ChunkPlan;
use crate::error::CoreError;

/// The upload state machine. Feed it events with [`Engine::handle`]; it never panics on any
/// event or body, and never does I/O itself.
pub struct Engine {
    config: EngineConfig,
    plan: ChunkPlan,
    jitter: Box<dyn Jitter>,
    reader: Box<dyn Reader>,
    phase: Phase,
    has_session: bool,
    has_status_url: bool,
    expires_at_ms: Option<i64>,
    position: u64,
    acknowledged: u64,
    attempts: u32,
    failures: u32,
    client_errors: u32,
    session_restarts: u32,
    resume_probe: bool,
    last_problem: Option<Failure>,
    lost_message: String,
    terminal: Option<Action>,
}

impl Engine {
    /// A new engine for one upload. Errors with [`CoreError::EmptyFile`] for a zero-byte file.
    pub fn new(config: EngineConfig, jitter: Box<dyn Jitter>) -> Result<Self, CoreError> {
        Engine::with_reader(config, jitter, Box::new(NativeReader))
    }

    /// [`Engine::new`] reading bodies and timestamps with `reader` instead of the core's own.
    pub fn with_reader(
        config: EngineConfig,
        jitter: Box<dyn Jitter>,
        reader: Box<dyn Reader>,
    ) -> Result<Self, CoreError> {
        let plan = ChunkPlan::new(config.total, config.chunk)?;
        Ok(Engine {
            config,
            plan,
            jitter,
            reader,
            phase: Phase::Idle,
            has_session: false,
            has_status_url: false,
            expires_at_ms: None,
            position: 0,
            acknowledged: 0,
            attempts: 0,
            failures: 0,
            client_errors: 0,
            session_restarts: 0,
            resume_probe: false,
            last_problem: None,
            lost_message: String::new(),
            terminal: None,
        })
    }

    /// First action: `RequestSession` for a new upload, or, for a `stored` session being resumed
    /// (its ranges are ignored: the server is asked), a status GET. A 404/401 to that GET (or an
    /// expiry already past) replaces it without using one of `max_session_restarts`, after asking
    /// its `statusUrl` when it has one. Calling `start` twice fails with `protocol`.
    pub fn start(&mut self, stored: Option<SessionInfo>, now_ms: i64) -> Action {
        if self.phase != Phase::Idle {
            let action = self.protocol("start called twice");
            return self.finish(action);
        }
        let Some(stored) = stored else {
            self.phase = Phase::AwaitSession;
            return Action::RequestSession;
        };
        self.has_session = true;
        self.has_status_url = stored.has_status_url;
        self.expires_at_ms = stored.expires_at_ms;
        let action = if self.expired(now_ms) {
            self.lose(Lost::Stored, "the stored upload session expired".into())
        } else {
            self.resume_probe = true;
            self.send_status(now_ms, false, true)
        };
        self.finish(action)
    }

    /// Feeds one event; returns the next action. See the module docs for the rules.
    pub fn handle(&mut self, event: Event, now_ms: i64) -> Action {
        if let Some(done) = &self.terminal {
            return done.clone();
        }
        let action = match (self.phase, event) {
            (Phase::Deleting, _) => self.fail(FailureCode::Aborted, None, "upload aborted".into()),
            (Phase::Idle, e) => self.protocol(&cat(&[e.name(), " before start"])),
            (_, Event::Abort) => self.abort(),
            (_, Event::Resume) => self.resume(now_ms),
            (Phase::AwaitSession, Event::SessionReady(info)) => self.session_ready(info, now_ms),
            (Phase::AwaitSession, Event::SessionFailed { status, message, retry_after_ms }) => {
                self.session_failed(status, message, retry_after_ms)
            }
            (Phase::AwaitSession, Event::NetworkError { message }) => {
                self.backoff_as(FailureCode::SessionFailed, None, message, Next::Session)
            }
            (Phase::AwaitSession, Event::Stalled) => {
                self.backoff_as(FailureCode::SessionFailed, None, "session request stalled".into(), Next::Session)
            }
            (Phase::AwaitPut { start, end }, Event::PutAnswered(a)) => self.put_answered(start, end, a, now_ms),
            (Phase::AwaitStatus { fetch_item: false }, Event::StatusAnswered(a)) => self.status_answered(a, now_ms),
            (Phase::AwaitStatus { fetch_item: true }, Event::StatusAnswered(a)) => self.item_answered(a),
            (Phase::AwaitStatus { fetch_item: true }, e @ (Event::NetworkError { .. } | Event::Stalled)) => {
                self.protocol(&cat(&["commit answer had no id and the follow-up GET failed: ", e.name()]))
            }
            (Phase::AwaitCommitted(lost), Event::CommittedAnswered(a)) => self.committed_answered(lost, a),
            (Phase::AwaitPut { .. } | Phase::AwaitStatus { .. }, Event::NetworkError { message }) => {
                self.backoff(None, message, Next::Status)
            }
            (Phase::AwaitPut { .. } | Phase::AwaitStatus { .. }, Event::Stalled) => {
                self.backoff(None, "request stalled".into(), Next::Status)
            }
            (Phase::AwaitCommitted(lost), Event::NetworkError { message }) => {
                self.backoff(None, message, Next::Committed(lost))
            }
            (Phase::AwaitCommitted(lost), Event::Stalled) => {
                self.backoff(None, "statusUrl request stalled".into(), Next::Committed(lost))
            }
            (Phase::Sleeping(next), Event::TimerFired) => self.send(next, now_ms),
            (phase, e) => self.protocol(&cat(&["unexpected ", e.name(), " while ", phase.name()])),
        };
        self.finish(action)
    }

    /// Bytes the server has acknowledged: a high-water mark that never decreases, even when
    /// the server goes back or a new session starts over; exactly `total` after `Done`.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }

    /// Counted requests so far (see the module docs); never more than `max_attempts`.
    pub fn attempts(&self) -> u32 {
        self.attempts
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

    /// The server's next expected offset as last known (goes back to 0 on a new session).
    #[cfg(test)]
    pub(super) fn position(&self) -> u64 {
        self.position
    }

    /// The half-open range of the pending PUT, if a PUT is pending.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> Option<(u64, u64)> {
        match self.phase {
            Phase::AwaitPut { start, end } => Some((start, end)),
            _ => None,
        }
    }

    /// Consecutive failures (the backoff exponent + 1); 0 after progress.
    #[cfg(test)]
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// True once `Done` or `Fail` was returned.
    #[cfg(test)]
    pub(super) fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }

    fn finish(&mut self, action: Action) -> Action {
        if matches!(action, Action::Done { .. } | Action::Fail(_)) {
            self.phase = Phase::Finished;
            self.has_session = false;
            self.terminal = Some(action.clone());
        }
        action
    }

    fn fail(&mut self, code: FailureCode, status: Option<u16>, message: String) -> Action {
        Action::Fail(Failure { code, status, message })
    }

    fn protocol(&mut self, message: &str) -> Action {
        self.fail(FailureCode::Protocol, None, message.to_owned())
    }

    /// Abort: DELETE the session if one exists (then `Fail(aborted)` on `DeleteAnswered`, or on
    /// any other event while the DELETE is pending), else `Fail(aborted)` at once.
    fn abort(&mut self) -> Action {
        if self.has_session {
            self.phase = Phase::Deleting;
            Action::DeleteSession
        } else {
            self.fail(FailureCode::Aborted, None, "upload aborted".into())
        }
    }

    /// Resume after a pause: the request the pause cut is refunded (it did not fail), then the
    /// request that was due is sent uncounted: the `statusUrl` GET while a lost session is being
    /// checked, else a status GET, or `RequestSession` without a session.
    fn resume(&mut self, now_ms: i64) -> Action {
        let fetch_item = matches!(self.phase, Phase::AwaitStatus { fetch_item: true });
        if matches!(self.phase, Phase::AwaitPut { .. } | Phase::AwaitStatus { .. } | Phase::AwaitCommitted(_)) {
            self.attempts = self.attempts.saturating_sub(1);
        }
        match self.phase {
            Phase::AwaitCommitted(lost) | Phase::Sleeping(Next::Committed(lost)) => self.send_committed(lost, false),
            _ if self.has_session => self.send_status(now_ms, fetch_item, false),
            _ => {
                self.phase = Phase::AwaitSession;
                Action::RequestSession
            }
        }
    }

    /// A session is ready: PUT from its first expected range (an empty list = fresh, `0-`).
    /// Malformed ranges: GET status (a protocol problem, counted).
    fn session_ready(&mut self, info: SessionInfo, now_ms: i64) -> Action {
        self.has_session = true;
        self.has_status_url = info.has_status_url;
        self.expires_at_ms = info.expires_at_ms;
        match parse_ranges(&info.next_expected_ranges, self.config.total) {
            Ok(next) => self.advance(next, now_ms),
            Err(msg) => {
                self.last_problem = Some(Failure { code: FailureCode::Protocol, status: None, message: msg });
                self.send_status(now_ms, false, true)
            }
        }
    }

    /// The session endpoint answered an error: the table's transient statuses (408, 429, 500,
    /// 502, 503, 504) are retried like a failed PUT (`Retry-After` honoured on 429/503); anything
    /// else (other 4xx, 501, 507...) fails at once with `session-failed`.
    fn session_failed(&mut self, status: Option<u16>, message: String, retry_after_ms: Option<u64>) -> Action {
        match (status, retry_after_ms) {
            (Some(429 | 503), Some(ms)) => {
                self.throttled(FailureCode::SessionFailed, status, message, ms, Next::Session)
            }
            (Some(408 | 429 | 500 | 502 | 503 | 504), _) => {
                self.backoff_as(FailureCode::SessionFailed, status, message, Next::Session)
            }
            _ => self.fail(FailureCode::SessionFailed, status, message),
        }
    }
}
