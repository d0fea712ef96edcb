//! Reading upload-URL answers: which row of the retry table a status falls in, and the
//! `nextExpectedRanges` / driveItem bodies, all without panicking on malformed input.

use super::HttpAnswer;
use crate::protocol::{DriveItem, GraphError, UploadSession};
use crate::range::ExpectedRange;
use crate::time::parse_millis;

/// The row of DESIGN.md's retry table an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row {
    /// 202 to a PUT, 200 (or 202) to a GET: a body with `nextExpectedRanges`.
    Accepted,
    /// 200/201 to a PUT: the driveItem.
    Committed,
    /// 408, 429 without `Retry-After`, 500, 502, 503, 504: backoff, then GET status.
    Transient,
    /// 429 or 503 with a readable `Retry-After` (ms): wait that long, then the same request.
    Throttled(u64),
    /// 416: GET status and realign.
    Realign,
    /// 404, 401: the session is gone; new session, start over.
    SessionGone,
    /// 409: name conflict, no retry.
    Conflict,
    /// Anything else (other 4xx, other 5xx, 1xx/3xx): retry without backoff, bounded.
    Other,
}

/// Classifies an answer to a PUT (`is_put`) or a GET of the upload URL.
pub(super) fn classify(answer: &HttpAnswer, is_put: bool) -> Row {
    match (answer.status, answer.retry_after_ms) {
        (202, _) => Row::Accepted,
        (200, _) if !is_put => Row::Accepted,
        (200 | 201, _) if is_put => Row::Committed,
        (429 | 503, Some(ms)) => Row::Throttled(ms),
        (408 | 429 | 500 | 502 | 503 | 504, _) => Row::Transient,
        (416, _) => Row::Realign,
        (401 | 404, _) => Row::SessionGone,
        (409, _) => Row::Conflict,
        _ => Row::Other,
    }
}

/// What a status body says: the first gap the server still needs and, when given, the new expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Status {
    /// The first `nextExpectedRanges` entry (Microsoft: there is never more than one today).
    pub next: ExpectedRange,
    /// `expirationDateTime` as Unix ms, if present and parseable (an unparseable one is ignored).
    pub expires_at_ms: Option<i64>,
}

/// Parses a 202/GET body. Errors (as a message) when it is not JSON, has no ranges, a
/// malformed first range, or one that starts at or past the end of the file.
pub(super) fn parse_status(body: &str, total: u64) -> Result<Status, String> {
    let session: UploadSession = serde_json::from_str(body).map_err(|e| format!("unreadable status body: {e}"))?;
    let expires_at_ms = session.expiration_date_time.as_deref().and_then(|s| parse_millis(s).ok());
    let first = session.next_expected_ranges.first().ok_or("status body has no nextExpectedRanges")?;
    let next = ExpectedRange::parse(first).map_err(|e| e.to_string())?;
    if next.start >= total {
        return Err(format!("nextExpectedRanges {first:?} starts past the end of a {total}-byte file"));
    }
    Ok(Status { next, expires_at_ms })
}

/// Parses the ranges of a session handed to the engine; an empty list means a fresh session (`0-`).
pub(super) fn parse_ranges(ranges: &[String], total: u64) -> Result<ExpectedRange, String> {
    let Some(first) = ranges.first() else {
        return Ok(ExpectedRange { start: 0, end: None });
    };
    let next = ExpectedRange::parse(first).map_err(|e| e.to_string())?;
    if next.start >= total {
        return Err(format!("nextExpectedRanges {first:?} starts past the end of a {total}-byte file"));
    }
    Ok(next)
}

/// The driveItem of a commit answer, if the body is one with an `id`.
pub(super) fn committed_item(body: &str) -> Option<DriveItem> {
    serde_json::from_str::<DriveItem>(body).ok().filter(|item| item.id.is_some())
}

/// A short human-readable description of an error answer: Graph's code and message when
/// the body is a Graph error, else the start of the body.
pub(super) fn describe(answer: &HttpAnswer) -> String {
    match GraphError::parse(&answer.body) {
        Some(e) => format!("HTTP {}: {}: {}", answer.status, e.codes().join("/"), e.error.message),
        None => {
            let body: String = answer.body.chars().take(200).collect();
            if body.is_empty() { format!("HTTP {}", answer.status) } else { format!("HTTP {}: {body}", answer.status) }
        }
    }
}
