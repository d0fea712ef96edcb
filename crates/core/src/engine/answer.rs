//! Reading upload-URL answers: which row of the retry table a status falls in, and the
//! `nextExpectedRanges` / driveItem bodies, all without panicking on malformed input.

use super::json::{Json, NativeReader, Reader};
use super::{CommittedItem, HttpAnswer};
use crate::range::ExpectedRange;
use crate::text::{cat, dec};
use alloc::borrow::ToOwned;
use alloc::string::String;

/// The row of the retry table (docs/architecture.md) an answer belongs to.
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
pub(super) fn parse_status(r: &dyn Reader, body: &str, total: u64) -> Result<Status, String> {
    const UNREADABLE: &str = "unreadable status body: not an upload session";
    let doc = r.json(body).filter(|d| matches!(d, Json::Obj(_))).ok_or(UNREADABLE)?;
    doc.opt_str("uploadUrl").map_err(|()| UNREADABLE)?;
    let expiry = doc.opt_str("expirationDateTime").map_err(|()| UNREADABLE)?;
    // Every entry must be a string; the first is the one that counts.
    // wasm-size: a loop, not `collect::<Result<Vec<_>, _>>()`: -267 B gzipped wasm (42,936 -> 42,669 B).
    let items = match doc.get("nextExpectedRanges") {
        None => &[][..],
        Some(Json::Arr(items)) => items.as_slice(),
        Some(_) => return Err(UNREADABLE.into()),
    };
    let mut first = None;
    for item in items.iter().rev() {
        let Json::Str(s) = item else { return Err(UNREADABLE.into()) };
        first = Some(s.as_str());
    }
    let expires_at_ms = expiry.and_then(|s| r.millis(s));
    let first = first.ok_or("status body has no nextExpectedRanges")?;
    let next = checked_range(first, total)?;
    Ok(Status { next, expires_at_ms })
}

/// Parses the ranges of a session handed to the engine; an empty list means a fresh session (`0-`).
pub(super) fn parse_ranges(ranges: &[String], total: u64) -> Result<ExpectedRange, String> {
    let Some(first) = ranges.first() else {
        return Ok(ExpectedRange { start: 0, end: None });
    };
    checked_range(first, total)
}

/// One `nextExpectedRanges` entry that starts inside a file of `total` bytes.
fn checked_range(first: &str, total: u64) -> Result<ExpectedRange, String> {
    let next = ExpectedRange::parse(first).map_err(|_| cat(&["malformed nextExpectedRanges entry `", first, "`"]))?;
    if next.start >= total {
        return Err(cat(&["nextExpectedRanges `", first, "` starts past the end of a ", &dec(total), "-byte file"]));
    }
    Ok(next)
}

/// The driveItem of a commit answer, if the body is a JSON object with a string `id`, an
/// integer `size` (0 when absent) and, when present, `file.hashes.quickXorHash` as a string.
pub fn committed_item(body: &str) -> Option<CommittedItem> {
    committed_item_of(&NativeReader.json(body)?)
}

/// [`committed_item`] of a document already read.
pub fn committed_item_of(doc: &Json) -> Option<CommittedItem> {
    let id = doc.opt_str("id").ok()??.to_owned();
    let size = match doc.get("size") {
        None => 0,
        Some(n) => n.as_u64()?,
    };
    let hashes = match doc.get("file") {
        None | Some(Json::Null) => None,
        Some(file @ Json::Obj(_)) => file.get("hashes"),
        Some(_) => return None,
    };
    let quick_xor_hash = match hashes {
        None => None,
        Some(h @ Json::Obj(_)) => h.opt_str("quickXorHash").ok()?.map(str::to_owned),
        Some(_) => return None,
    };
    Some(CommittedItem { id, size, quick_xor_hash })
}

/// Graph's error codes (outermost first, `innerError`/`innererror` nested, joined by `/`) and
/// message, if `body` is a Graph error `{"error":{"code","message",...}}`.
// wasm-size: the codes pushed into one string, not a `Vec<String>` joined: -373 B gzipped wasm (42,130 -> 41,757 B).
fn graph_error(r: &dyn Reader, body: &str) -> Option<(String, String)> {
    let doc = r.json(body)?;
    let error = doc.get("error").filter(|e| matches!(e, Json::Obj(_)))?;
    let message = error.opt_str("message").ok()?.unwrap_or_default().to_owned();
    let mut codes = error.opt_str("code").ok()?.unwrap_or_default().to_owned();
    let mut inner = error.get("innerError").or_else(|| error.get("innererror"));
    for _ in 0..16 {
        let Some(i @ Json::Obj(_)) = inner else { break };
        if let Some(c) = i.opt_str("code").ok()? {
            codes.push('/');
            codes.push_str(c);
        }
        inner = i.get("innerError").or_else(|| i.get("innererror"));
    }
    Some((codes, message))
}

/// `s` cut to at most `max` bytes, at a character boundary (for messages that quote a body).
// wasm-size: a byte cut, not `chars().take(n).collect::<String>()` (which links
// `String: FromIterator<char>`): -153 B gzipped wasm (42,283 -> 42,130 B).
pub fn clip(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// A short human-readable description of an error answer: Graph's code and message when
/// the body is a Graph error, else the start of the body.
pub(super) fn describe(r: &dyn Reader, answer: &HttpAnswer) -> String {
    match graph_error(r, &answer.body) {
        Some((codes, message)) => cat(&["HTTP ", &dec(answer.status.into()), ": ", &codes, ": ", &message]),
        None => {
            let body = clip(&answer.body, 200);
            if body.is_empty() {
                cat(&["HTTP ", &dec(answer.status.into())])
            } else {
                cat(&["HTTP ", &dec(answer.status.into()), ": ", body])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies() {
        let s = parse_status(
            &NativeReader,
            r#"{"expirationDateTime":"2015-01-29T09:21:55Z","nextExpectedRanges":["26-127","200-"]}"#,
            1000,
        )
        .unwrap();
        assert_eq!((s.next, s.expires_at_ms), (ExpectedRange { start: 26, end: Some(127) }, Some(1_422_523_315_000)));
        let s = parse_status(
            &NativeReader,
            r#"{"uploadUrl":null,"expirationDateTime":"bogus","nextExpectedRanges":["5-"]}"#,
            10,
        )
        .unwrap();
        assert_eq!((s.next, s.expires_at_ms), (ExpectedRange { start: 5, end: None }, None));
        for bad in [
            "not json",
            "[]",
            "{}",
            r#"{"nextExpectedRanges":[]}"#,
            r#"{"nextExpectedRanges":[1]}"#,
            r#"{"nextExpectedRanges":"0-"}"#,
            r#"{"nextExpectedRanges":["0-"],"expirationDateTime":5}"#,
            r#"{"nextExpectedRanges":["x"]}"#,
            r#"{"nextExpectedRanges":["10-"]}"#,
        ] {
            assert!(parse_status(&NativeReader, bad, 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn committed_items() {
        let item = committed_item(
            r#"{"id":"a","name":"f","size":3,"file":{"mimeType":"x","hashes":{"quickXorHash":"h","sha1Hash":"s"}},"extra":[1]}"#,
        );
        assert_eq!(item, Some(CommittedItem { id: "a".into(), size: 3, quick_xor_hash: Some("h".into()) }));
        assert_eq!(
            committed_item(r#"{"id":"a"}"#),
            Some(CommittedItem { id: "a".into(), size: 0, quick_xor_hash: None })
        );
        for bad in [
            "{}",
            r#"{"id":null}"#,
            r#"{"id":1}"#,
            r#"{"id":"a","size":-1}"#,
            r#"{"id":"a","size":1.5}"#,
            r#"{"id":"a","file":1}"#,
            r#"{"id":"a","file":{"hashes":{"quickXorHash":1}}}"#,
            r#"{"id":"a""#,
        ] {
            assert_eq!(committed_item(bad), None, "{bad}");
        }
    }

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("abc", 2), "ab");
        assert_eq!(clip("abc", 9), "abc");
        assert_eq!(clip("aé", 2), "a", "é is two bytes: not cut in half");
        assert_eq!(clip("aé", 3), "aé");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn descriptions() {
        let a = |status, body: &str| {
            describe(&NativeReader, &HttpAnswer { status, body: body.into(), retry_after_ms: None })
        };
        assert_eq!(
            a(
                416,
                r#"{"error":{"code":"invalidRange","message":"m","innererror":{"code":"fragmentOverlap","innerError":{"code":"deep"}}}}"#
            ),
            "HTTP 416: invalidRange/fragmentOverlap/deep: m"
        );
        assert_eq!(a(500, ""), "HTTP 500");
        assert_eq!(a(500, "oops"), "HTTP 500: oops");
        assert_eq!(a(400, r#"{"error":"x"}"#), r#"HTTP 400: {"error":"x"}"#);
    }
}
