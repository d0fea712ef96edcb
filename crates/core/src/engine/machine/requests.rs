//! How the engine sends its next request: backoff and `Retry-After`, attempt counting, session
//! loss and replacement, and realignment on the server's offset.

use super::super::answer::Status;
use super::super::phase::{Lost, Next, Phase};
use super::super::{backoff_delay_ms, Action, CommittedItem, Failure, FailureCode};
use super::Engine;
use crate::range::{ContentRange, ExpectedRange};
use crate::text::{cat, dec};
use alloc::string::String;

impl Engine {
    pub(super) fn note_failure(&mut self, code: FailureCode, status: Option<u16>, message: String) {
        self.failures = self.failures.saturating_add(1);
        self.last_problem = Some(Failure { code, status, message });
    }

    /// Exponential backoff with full jitter, then `next`.
    pub(super) fn backoff(&mut self, status: Option<u16>, message: String, next: Next) -> Action {
        self.backoff_as(FailureCode::RetriesExhausted, status, message, next)
    }

    pub(super) fn backoff_as(&mut self, code: FailureCode, status: Option<u16>, message: String, next: Next) -> Action {
        self.note_failure(code, status, message);
        if self.attempts >= self.config.retry.max_attempts {
            return self.exhausted();
        }
        let r = self.config.retry;
        let ms = backoff_delay_ms(self.failures - 1, r.base_delay_ms, r.max_delay_ms, self.jitter.next_unit());
        self.phase = Phase::Sleeping(next);
        Action::Sleep { ms }
    }

    /// `Retry-After`: sleep that long (capped at `max_delay_ms`), then `next` (the same request).
    pub(super) fn throttled(
        &mut self,
        code: FailureCode,
        status: Option<u16>,
        message: String,
        ms: u64,
        next: Next,
    ) -> Action {
        self.note_failure(code, status, message);
        if self.attempts >= self.config.retry.max_attempts {
            return self.exhausted();
        }
        self.phase = Phase::Sleeping(next);
        Action::Sleep { ms: ms.min(self.config.retry.max_delay_ms) }
    }

    pub(super) fn exhausted(&mut self) -> Action {
        let n = self.attempts;
        match self.last_problem.take() {
            Some(Failure { code: FailureCode::Protocol, status, message }) => {
                self.fail(FailureCode::Protocol, status, message)
            }
            Some(Failure { code: FailureCode::SessionFailed, status, message }) => self.fail(
                FailureCode::SessionFailed,
                status,
                cat(&["gave up after ", &dec(n.into()), " attempts; last: ", &message]),
            ),
            Some(f) => self.fail(
                FailureCode::RetriesExhausted,
                f.status,
                cat(&["gave up after ", &dec(n.into()), " attempts; last: ", &f.message]),
            ),
            None => {
                self.fail(FailureCode::RetriesExhausted, None, cat(&["gave up after ", &dec(n.into()), " attempts"]))
            }
        }
    }

    /// The session is gone: ask its `statusUrl` first when it has one, else replace it.
    pub(super) fn lose(&mut self, lost: Lost, message: String) -> Action {
        self.has_session = false;
        self.expires_at_ms = None;
        if core::mem::take(&mut self.has_status_url) {
            self.lost_message = message;
            return self.send_committed(lost, true);
        }
        self.new_session(lost, message)
    }

    /// New session from byte 0; a `Restart` is bounded by `max_session_restarts`.
    pub(super) fn new_session(&mut self, lost: Lost, message: String) -> Action {
        if let Lost::Restart { expired, status } = lost {
            if self.session_restarts >= self.config.retry.max_session_restarts {
                let code = if expired { FailureCode::Expired } else { FailureCode::RetriesExhausted };
                let n = self.session_restarts;
                return self.fail(
                    code,
                    status,
                    cat(&["session lost after ", &dec(n.into()), " new sessions: ", &message]),
                );
            }
            self.session_restarts += 1;
        }
        self.position = 0;
        self.phase = Phase::AwaitSession;
        Action::RequestSession
    }

    pub(super) fn expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|e| now_ms >= e)
    }

    /// Takes in a status: refreshes the expiry, resets the failure counters on forward
    /// progress, raises the high-water mark, and PUTs from the server's offset.
    pub(super) fn realign(&mut self, status: Status, now_ms: i64) -> Action {
        if let Some(e) = status.expires_at_ms {
            self.expires_at_ms = Some(e);
        }
        if status.next.start > self.position {
            self.failures = 0;
            self.client_errors = 0;
        }
        self.advance(status.next, now_ms)
    }

    pub(super) fn advance(&mut self, next: ExpectedRange, now_ms: i64) -> Action {
        self.position = next.start;
        self.acknowledged = self.acknowledged.max(next.start);
        match self.plan.range_from(next.start, Some(next.end_exclusive(self.config.total))) {
            Some((start, end)) => self.send(Next::Put { start, end }, now_ms),
            None => self.protocol("the server expects bytes past the end of the file"),
        }
    }

    pub(super) fn done(&mut self, item: CommittedItem, body: String) -> Action {
        if item.size != 0 && item.size != self.config.total {
            let msg = cat(&["committed item has ", &dec(item.size), " bytes, expected ", &dec(self.config.total)]);
            return self.fail(FailureCode::Integrity, None, msg);
        }
        self.acknowledged = self.config.total;
        self.position = self.config.total;
        Action::Done { item, body }
    }

    pub(super) fn send(&mut self, next: Next, now_ms: i64) -> Action {
        let (start, end) = match next {
            Next::Put { start, end } => (start, end),
            Next::Status => return self.send_status(now_ms, false, true),
            Next::Committed(lost) => return self.send_committed(lost, true),
            Next::Session => {
                if let Some(action) = self.precheck(now_ms, true) {
                    return action;
                }
                self.phase = Phase::AwaitSession;
                return Action::RequestSession;
            }
        };
        if let Some(action) = self.precheck(now_ms, true) {
            return action;
        }
        self.phase = Phase::AwaitPut { start, end };
        let content_range = ContentRange::Bytes { first: start, last: end - 1, total: self.config.total }.header();
        Action::Put { start, end, content_range }
    }

    pub(super) fn send_status(&mut self, now_ms: i64, fetch_item: bool, counted: bool) -> Action {
        if let Some(action) = self.precheck(now_ms, counted) {
            return action;
        }
        self.phase = Phase::AwaitStatus { fetch_item };
        Action::GetStatus
    }

    /// `GetCommitted`, counted unless it repeats one a pause cut; never expires (no session).
    pub(super) fn send_committed(&mut self, lost: Lost, counted: bool) -> Action {
        if counted {
            if self.attempts >= self.config.retry.max_attempts {
                return self.exhausted();
            }
            self.attempts += 1;
        }
        self.phase = Phase::AwaitCommitted(lost);
        Action::GetCommitted
    }

    /// Before a request: a known expired session is replaced (the request is not sent); a
    /// counted request with no attempt left fails; else it is counted.
    pub(super) fn precheck(&mut self, now_ms: i64, counted: bool) -> Option<Action> {
        if self.expired(now_ms) {
            let lost = Lost::Restart { expired: true, status: None };
            return Some(self.lose(lost, "the upload session expired".into()));
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
