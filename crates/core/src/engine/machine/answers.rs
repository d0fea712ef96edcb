//! How the engine reads each answer: PUT, status GET, the GET after a commit without `id`, and
//! `statusUrl`, and the error rows they share.

use super::super::answer::{classify, committed_item_of, describe, parse_status, Row};
use super::super::phase::{Lost, Next};
use super::super::{Action, Failure, FailureCode, HttpAnswer};
use super::Engine;
use crate::text::cat;
use alloc::string::String;

impl Engine {
    /// The driveItem a body holds, as [`committed_item_of`] reads it.
    fn item(&self, body: &str) -> Option<super::super::CommittedItem> {
        committed_item_of(&self.reader.json(body)?)
    }

    pub(super) fn put_answered(&mut self, start: u64, end: u64, a: HttpAnswer, now_ms: i64) -> Action {
        match classify(&a, true) {
            Row::Accepted => match parse_status(&*self.reader, &a.body, self.config.total) {
                Ok(status) => {
                    if status.next.start > start {
                        self.attempts = self.attempts.saturating_sub(1);
                    }
                    self.realign(status, now_ms)
                }
                Err(msg) => self.malformed(a.status, msg),
            },
            Row::Committed => match self.item(&a.body) {
                Some(item) => {
                    self.attempts = self.attempts.saturating_sub(1);
                    self.done(item, a.body)
                }
                None => self.send_status(now_ms, true, true),
            },
            row => self.error_row(row, a, Next::Put { start, end }, now_ms),
        }
    }

    pub(super) fn status_answered(&mut self, a: HttpAnswer, now_ms: i64) -> Action {
        let probe = core::mem::take(&mut self.resume_probe);
        match classify(&a, false) {
            Row::SessionGone if probe => self.lose(Lost::Stored, describe(&*self.reader, &a)),
            Row::Accepted => match parse_status(&*self.reader, &a.body, self.config.total) {
                Ok(status) => self.realign(status, now_ms),
                Err(msg) => match self.item(&a.body) {
                    // A 200 that is the committed driveItem (the commit answer was lost).
                    Some(item) if a.status == 200 => self.done(item, a.body),
                    _ => self.malformed(a.status, msg),
                },
            },
            row => self.error_row(row, a, Next::Status, now_ms),
        }
    }

    /// The GET after a commit answer without `id`: a 200 driveItem with an `id` is `Done`,
    /// anything else `Fail(protocol)` (asked once, not retried).
    pub(super) fn item_answered(&mut self, a: HttpAnswer) -> Action {
        match self.item(&a.body) {
            Some(item) if a.status == 200 => self.done(item, a.body),
            _ => self.protocol(&cat(&[
                "the commit answer had no driveItem id, and GET gave none (",
                &describe(&*self.reader, &a),
                ")",
            ])),
        }
    }

    /// The `statusUrl` answer: 200 with a driveItem is `Done`; a 200 without one is malformed
    /// (retried); 408/429/5xx are retried; 404 (`not_committed`) and anything else go on with
    /// the new session.
    pub(super) fn committed_answered(&mut self, lost: Lost, a: HttpAnswer) -> Action {
        if a.status == 200 {
            return match self.item(&a.body) {
                Some(item) => self.done(item, a.body),
                None => {
                    let message = "statusUrl answered 200 without a driveItem".into();
                    self.backoff_as(FailureCode::Protocol, Some(200), message, Next::Committed(lost))
                }
            };
        }
        match classify(&a, false) {
            Row::Transient => self.backoff(Some(a.status), describe(&*self.reader, &a), Next::Committed(lost)),
            Row::Throttled(ms) => self.throttled(
                FailureCode::RetriesExhausted,
                Some(a.status),
                describe(&*self.reader, &a),
                ms,
                Next::Committed(lost),
            ),
            _ => {
                let message = core::mem::take(&mut self.lost_message);
                self.new_session(lost, message)
            }
        }
    }

    /// The error rows of the table, shared by PUT (`next` = the same PUT) and GET.
    pub(super) fn error_row(&mut self, row: Row, a: HttpAnswer, next: Next, now_ms: i64) -> Action {
        let message = describe(&*self.reader, &a);
        match row {
            Row::Transient | Row::Accepted | Row::Committed => self.backoff(Some(a.status), message, Next::Status),
            Row::Throttled(ms) => self.throttled(FailureCode::RetriesExhausted, Some(a.status), message, ms, next),
            // 416: realign from the server's view; never a failure by itself.
            Row::Realign => self.send_status(now_ms, false, true),
            Row::SessionGone => {
                let expired = self.expired(now_ms);
                self.lose(Lost::Restart { expired, status: Some(a.status) }, message)
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
    pub(super) fn malformed(&mut self, status: u16, msg: String) -> Action {
        self.backoff_as(FailureCode::Protocol, Some(status), msg, Next::Status)
    }
}
