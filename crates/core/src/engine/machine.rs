//! The engine's state machine: the retry table (docs/architecture.md) as event -> action transitions.
//!
//! Rules beyond the table (each also stated on the method that applies it):
//! - **Attempts.** Every PUT and status GET is counted when sent; a PUT whose answer shows the
//!   server moved past that PUT's start (202 with a later offset, or a commit) is refunded, so
//!   `max_attempts` bounds the requests that did *not* make progress and a large error-free
//!   upload never runs out. Before any counted request, `attempts() >= max_attempts` fails with
//!   `retries-exhausted` (or `protocol` when the last problem was a malformed answer).
//! - **Backoff.** Network errors, stalls, 408, 429 without `Retry-After`, 500/502/503/504 and
//!   malformed status bodies sleep `backoff_delay_ms(failures - 1, ..)` with the injected jitter,
//!   then GET status. `failures` counts consecutive failures and resets when the server's offset
//!   moves forward (progress). A request that fails when no attempt is left fails at once.
//! - **Retry-After** (429/503 with `retry_after_ms`): sleep exactly that long, capped at
//!   `max_delay_ms` (a longer wait would outlive most sessions; if the server still throttles it
//!   says so again), then send the *same* request again (the throttled request was not
//!   processed). If the server did process it, the repeat gets a 416 and realigns.
//! - **Sessions.** 404 and 401 to a PUT or GET, and a known expiry that has passed before a
//!   request, ask for a new session and start over from byte 0, at most
//!   `max_session_restarts` times; past that the upload fails with `expired` when the session
//!   was known to be expired, else `retries-exhausted`. A 404/401 to the first GET after
//!   `start(true)` (stored session gone) starts a new session without using a restart.
//! - **Unexpected events** (an event that does not answer the pending action, e.g.
//!   `TimerFired` while a PUT is pending) fail with `protocol`; `Abort` and `Resume` are honoured
//!   in every state; after `Done`/`Fail` every event returns that same final action again.

use super::answer::{classify, committed_item, describe, parse_ranges, parse_status, Row, Status};
use super::report::{name, phase_name};
use super::{backoff_delay_ms, Action, EngineConfig, Event, Failure, FailureCode, HttpAnswer, Jitter, SessionInfo};
use crate::chunk::ChunkPlan;
use crate::error::CoreError;
use crate::range::{ContentRange, ExpectedRange};

/// What the engine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// `start` not called yet.
    Idle,
    /// `RequestSession` is pending.
    AwaitSession,
    /// A PUT of `start..end` is pending.
    AwaitPut {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u64,
    },
    /// A status GET is pending; `fetch_item` when it follows a commit answer without an `id`.
    AwaitStatus { fetch_item: bool },
    /// A `Sleep` is pending; then send `Next`.
    Sleeping(Next),
    /// `DeleteSession` after an abort is pending.
    Deleting,
    /// `Done` or `Fail` was returned.
    Finished,
}

/// The request to send when a sleep ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// GET status.
    Status,
    /// PUT this range again.
    Put { start: u64, end: u64 },
}

/// The upload state machine. Feed it events with [`Engine::handle`]; it never panics on any
/// event or body, and never does I/O itself.
pub struct Engine {
    pub(super) config: EngineConfig,
    pub(super) plan: ChunkPlan,
    pub(super) jitter: Box<dyn Jitter>,
    pub(super) phase: Phase,
    pub(super) has_session: bool,
    pub(super) expires_at_ms: Option<i64>,
    pub(super) position: u64,
    pub(super) acknowledged: u64,
    pub(super) attempts: u32,
    pub(super) failures: u32,
    pub(super) client_errors: u32,
    pub(super) session_restarts: u32,
    pub(super) resume_probe: bool,
    pub(super) last_problem: Option<Failure>,
    pub(super) terminal: Option<Action>,
}

impl Engine {
    /// A new engine for one upload. Errors with [`CoreError::EmptyFile`] for a zero-byte file.
    pub fn new(config: EngineConfig, jitter: Box<dyn Jitter>) -> Result<Self, CoreError> {
        let plan = ChunkPlan::new(config.total, config.chunk)?;
        Ok(Engine {
            config,
            plan,
            jitter,
            phase: Phase::Idle,
            has_session: false,
            expires_at_ms: None,
            position: 0,
            acknowledged: 0,
            attempts: 0,
            failures: 0,
            client_errors: 0,
            session_restarts: 0,
            resume_probe: false,
            last_problem: None,
            terminal: None,
        })
    }

    /// First action: `RequestSession`, or `GetStatus` when `resuming` a stored session (its
    /// expiry unknown; see [`Engine::start_resumed`]). A 404/401 to that GET starts a new
    /// session from byte 0 without using one of `max_session_restarts`. Calling `start`
    /// twice fails with `protocol`.
    pub fn start(&mut self, resuming: bool, now_ms: i64) -> Action {
        if self.phase != Phase::Idle {
            let action = self.protocol("start called twice");
            return self.finish(action);
        }
        if resuming {
            self.has_session = true;
            self.resume_probe = true;
            self.send_status(now_ms, false, true)
        } else {
            self.phase = Phase::AwaitSession;
            Action::RequestSession
        }
    }

    /// Like `start(true)` for a stored session whose expiry is known: an already expired one is
    /// not probed, a new session is requested at once (not counted as a restart).
    pub fn start_resumed(&mut self, stored: SessionInfo, now_ms: i64) -> Action {
        if self.phase == Phase::Idle && stored.expires_at_ms.is_some_and(|e| now_ms >= e) {
            self.phase = Phase::AwaitSession;
            return Action::RequestSession;
        }
        let action = self.start(true, now_ms);
        if self.has_session {
            self.expires_at_ms = stored.expires_at_ms;
        }
        action
    }

    /// Feeds one event; returns the next action. See the module docs for the rules.
    pub fn handle(&mut self, event: Event, now_ms: i64) -> Action {
        if let Some(done) = &self.terminal {
            return done.clone();
        }
        let action = match (self.phase, event) {
            (Phase::Deleting, _) => self.fail(FailureCode::Aborted, None, "upload aborted".into()),
            (Phase::Idle, e) => self.protocol(&format!("{} before start", name(&e))),
            (_, Event::Abort) => self.abort(),
            (_, Event::Resume) => self.resume(now_ms),
            (Phase::AwaitSession, Event::SessionReady(info)) => self.session_ready(info, now_ms),
            (Phase::AwaitSession, Event::SessionFailed { status, message }) => {
                self.fail(FailureCode::SessionFailed, status, message)
            }
            (Phase::AwaitSession, Event::NetworkError { message }) => {
                self.fail(FailureCode::SessionFailed, None, message)
            }
            (Phase::AwaitSession, Event::Stalled) => {
                self.fail(FailureCode::SessionFailed, None, "session request stalled".into())
            }
            (Phase::AwaitPut { start, end }, Event::PutAnswered(a)) => self.put_answered(start, end, a, now_ms),
            (Phase::AwaitStatus { fetch_item: false }, Event::StatusAnswered(a)) => self.status_answered(a, now_ms),
            (Phase::AwaitStatus { fetch_item: true }, Event::StatusAnswered(a)) => self.item_answered(a),
            (Phase::AwaitStatus { fetch_item: true }, e @ (Event::NetworkError { .. } | Event::Stalled)) => {
                self.protocol(&format!("commit answer had no id and the follow-up GET failed: {}", name(&e)))
            }
            (Phase::AwaitPut { .. } | Phase::AwaitStatus { .. }, Event::NetworkError { message }) => {
                self.backoff(None, message)
            }
            (Phase::AwaitPut { .. } | Phase::AwaitStatus { .. }, Event::Stalled) => {
                self.backoff(None, "request stalled".into())
            }
            (Phase::Sleeping(next), Event::TimerFired) => self.send(next, now_ms),
            (phase, e) => self.protocol(&format!("unexpected {} while {}", name(&e), phase_name(&phase))),
        };
        self.finish(action)
    }

    fn finish(&mut self, action: Action) -> Action {
        if matches!(action, Action::Done(_) | Action::Fail(_)) {
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

    /// Resume after a pause: the request the pause cut is refunded (it did not fail), then a
    /// status GET that is neither counted nor a failure; without a session, `RequestSession`.
    fn resume(&mut self, now_ms: i64) -> Action {
        let fetch_item = matches!(self.phase, Phase::AwaitStatus { fetch_item: true });
        if matches!(self.phase, Phase::AwaitPut { .. } | Phase::AwaitStatus { .. }) {
            self.attempts = self.attempts.saturating_sub(1);
        }
        if self.has_session {
            self.send_status(now_ms, fetch_item, false)
        } else {
            self.phase = Phase::AwaitSession;
            Action::RequestSession
        }
    }

    /// A session is ready: PUT from its first expected range (an empty list = fresh, `0-`).
    /// Malformed ranges: GET status (a protocol problem, counted).
    fn session_ready(&mut self, info: SessionInfo, now_ms: i64) -> Action {
        self.has_session = true;
        self.expires_at_ms = info.expires_at_ms;
        match parse_ranges(&info.next_expected_ranges, self.config.total) {
            Ok(next) => self.advance(next, now_ms),
            Err(msg) => {
                self.last_problem = Some(Failure { code: FailureCode::Protocol, status: None, message: msg });
                self.send_status(now_ms, false, true)
            }
        }
    }

    fn put_answered(&mut self, start: u64, end: u64, a: HttpAnswer, now_ms: i64) -> Action {
        match classify(&a, true) {
            Row::Accepted => match parse_status(&a.body, self.config.total) {
                Ok(status) => {
                    if status.next.start > start {
                        self.attempts = self.attempts.saturating_sub(1);
                    }
                    self.realign(status, now_ms)
                }
                Err(msg) => self.malformed(a.status, msg),
            },
            Row::Committed => match committed_item(&a.body) {
                Some(item) => {
                    self.attempts = self.attempts.saturating_sub(1);
                    self.done(item)
                }
                None => self.send_status(now_ms, true, true),
            },
            row => self.error_row(row, &a, Next::Put { start, end }, now_ms),
        }
    }

    fn status_answered(&mut self, a: HttpAnswer, now_ms: i64) -> Action {
        let probe = std::mem::take(&mut self.resume_probe);
        match classify(&a, false) {
            Row::SessionGone if probe => {
                self.has_session = false;
                self.expires_at_ms = None;
                self.position = 0;
                self.phase = Phase::AwaitSession;
                Action::RequestSession
            }
            Row::Accepted => match parse_status(&a.body, self.config.total) {
                Ok(status) => self.realign(status, now_ms),
                Err(msg) => match committed_item(&a.body) {
                    // A 200 that is the committed driveItem (the commit answer was lost).
                    Some(item) if a.status == 200 => self.done(item),
                    _ => self.malformed(a.status, msg),
                },
            },
            row => self.error_row(row, &a, Next::Status, now_ms),
        }
    }

    /// The GET after a commit answer without `id`: a 200 driveItem with an `id` is `Done`,
    /// anything else `Fail(protocol)` (asked once, not retried).
    fn item_answered(&mut self, a: HttpAnswer) -> Action {
        match committed_item(&a.body) {
            Some(item) if a.status == 200 => self.done(item),
            _ => self.protocol(&format!("the commit answer had no driveItem id, and GET gave none ({})", describe(&a))),
        }
    }

    /// The error rows of the table, shared by PUT (`next` = the same PUT) and GET.
    fn error_row(&mut self, row: Row, a: &HttpAnswer, next: Next, now_ms: i64) -> Action {
        let message = describe(a);
        match row {
            Row::Transient | Row::Accepted | Row::Committed => self.backoff(Some(a.status), message),
            Row::Throttled(ms) => {
                self.note_failure(FailureCode::RetriesExhausted, Some(a.status), message);
                if self.attempts >= self.config.retry.max_attempts {
                    return self.exhausted();
                }
                self.phase = Phase::Sleeping(next);
                Action::Sleep { ms: ms.min(self.config.retry.max_delay_ms) }
            }
            // 416: realign from the server's view; never a failure by itself.
            Row::Realign => self.send_status(now_ms, false, true),
            Row::SessionGone => {
                let expired = self.expired(now_ms);
                self.restart(expired, Some(a.status), message)
            }
            Row::Conflict => self.fail(FailureCode::Conflict, Some(a.status), message),
            Row::Other => {
                if self.client_errors >= self.config.retry.client_error_retries {
                    return self.fail(FailureCode::ClientError, Some(a.status), message);
                }
                self.client_errors += 1;
                self.last_problem = Some(Failure { code: FailureCode::ClientError, status: Some(a.status), message });
                self.send(next, now_ms)
            }
        }
    }

    /// A 202/200 body without usable ranges: a protocol problem, retried like a 5xx; when the
    /// attempts run out on it the upload fails with `protocol`.
    fn malformed(&mut self, status: u16, msg: String) -> Action {
        self.backoff_as(FailureCode::Protocol, Some(status), msg)
    }

    fn note_failure(&mut self, code: FailureCode, status: Option<u16>, message: String) {
        self.failures = self.failures.saturating_add(1);
        self.last_problem = Some(Failure { code, status, message });
    }

    /// Exponential backoff with full jitter, then a status GET.
    fn backoff(&mut self, status: Option<u16>, message: String) -> Action {
        self.backoff_as(FailureCode::RetriesExhausted, status, message)
    }

    fn backoff_as(&mut self, code: FailureCode, status: Option<u16>, message: String) -> Action {
        self.note_failure(code, status, message);
        if self.attempts >= self.config.retry.max_attempts {
            return self.exhausted();
        }
        let r = self.config.retry;
        let ms = backoff_delay_ms(self.failures - 1, r.base_delay_ms, r.max_delay_ms, self.jitter.next_unit());
        self.phase = Phase::Sleeping(Next::Status);
        Action::Sleep { ms }
    }

    fn exhausted(&mut self) -> Action {
        let n = self.attempts;
        match self.last_problem.take() {
            Some(Failure { code: FailureCode::Protocol, status, message }) => {
                self.fail(FailureCode::Protocol, status, message)
            }
            Some(f) => self.fail(
                FailureCode::RetriesExhausted,
                f.status,
                format!("gave up after {n} attempts; last: {}", f.message),
            ),
            None => self.fail(FailureCode::RetriesExhausted, None, format!("gave up after {n} attempts")),
        }
    }

    /// New session from byte 0, bounded by `max_session_restarts`.
    fn restart(&mut self, expired: bool, status: Option<u16>, message: String) -> Action {
        if self.session_restarts >= self.config.retry.max_session_restarts {
            let code = if expired { FailureCode::Expired } else { FailureCode::RetriesExhausted };
            let n = self.session_restarts;
            return self.fail(code, status, format!("session lost after {n} new sessions: {message}"));
        }
        self.session_restarts += 1;
        self.has_session = false;
        self.expires_at_ms = None;
        self.position = 0;
        self.phase = Phase::AwaitSession;
        Action::RequestSession
    }

    fn expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|e| now_ms >= e)
    }

    /// Takes in a status: refreshes the expiry, resets the failure counters on forward
    /// progress, raises the high-water mark, and PUTs from the server's offset.
    fn realign(&mut self, status: Status, now_ms: i64) -> Action {
        if let Some(e) = status.expires_at_ms {
            self.expires_at_ms = Some(e);
        }
        if status.next.start > self.position {
            self.failures = 0;
            self.client_errors = 0;
        }
        self.advance(status.next, now_ms)
    }

    fn advance(&mut self, next: ExpectedRange, now_ms: i64) -> Action {
        self.position = next.start;
        self.acknowledged = self.acknowledged.max(next.start);
        match self.plan.range_from(next.start, Some(next.end_exclusive(self.config.total))) {
            Some((start, end)) => self.send(Next::Put { start, end }, now_ms),
            None => self.protocol("the server expects bytes past the end of the file"),
        }
    }

    fn done(&mut self, item: super::CommittedItem) -> Action {
        if item.size != 0 && item.size != self.config.total {
            let msg = format!("committed item has {} bytes, expected {}", item.size, self.config.total);
            return self.fail(FailureCode::Integrity, None, msg);
        }
        self.acknowledged = self.config.total;
        self.position = self.config.total;
        Action::Done(item)
    }

    fn send(&mut self, next: Next, now_ms: i64) -> Action {
        let Next::Put { start, end } = next else {
            return self.send_status(now_ms, false, true);
        };
        if let Some(action) = self.precheck(now_ms, true) {
            return action;
        }
        self.phase = Phase::AwaitPut { start, end };
        let content_range = ContentRange::Bytes { first: start, last: end - 1, total: self.config.total }.to_string();
        Action::Put { start, end, content_range }
    }

    fn send_status(&mut self, now_ms: i64, fetch_item: bool, counted: bool) -> Action {
        if let Some(action) = self.precheck(now_ms, counted) {
            return action;
        }
        self.phase = Phase::AwaitStatus { fetch_item };
        Action::GetStatus
    }

    /// Before a request: a known expired session is replaced (the request is not sent); a
    /// counted request with no attempt left fails; else it is counted.
    fn precheck(&mut self, now_ms: i64, counted: bool) -> Option<Action> {
        if self.expired(now_ms) {
            return Some(self.restart(true, None, "the upload session expired".into()));
        }
        if counted {
            if self.attempts >= self.config.retry.max_attempts {
                return Some(self.exhausted());
            }
            self.attempts += 1;
        }
        None
    }
}
