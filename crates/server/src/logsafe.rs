//! Keeping client-controlled text from forging log lines: escaping, and the request-id rule.
//!
//! Every value a client chooses (a callback's `error`, a header) is logged through [`escaped`],
//! which turns newlines, ESC and other control or invisible characters into `\n`, `\u{1b}`...
//! A client's `X-Request-Id` is kept only when it matches `[A-Za-z0-9._-]{1,64}`
//! ([`is_safe_request_id`]); otherwise the server makes its own.

use std::fmt;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Longest client request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// The request-id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Displays a client-controlled string with control, format and separator characters escaped
/// (Rust's `escape_debug`, without quotes), so one value stays on one log line.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.escape_debug(), f)
    }
}

/// `Escaped(s)`, for `tracing` fields: `tracing::warn!(error = %escaped(&e))`.
pub fn escaped(s: &str) -> Escaped<'_> {
    Escaped(s)
}

/// Whether a client's request id may be kept as is: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

/// Request mapping (before the request-id layer, e.g. in a `tower::util::MapRequestLayer`):
/// drops a client `X-Request-Id` that is not safe, so that a fresh one is generated in its place.
pub fn drop_unsafe_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let all_safe = headers.get_all(REQUEST_ID).iter().all(|v| is_safe_request_id(v.as_bytes()));
    if !all_safe || headers.get_all(REQUEST_ID).iter().count() > 1 {
        headers.remove(REQUEST_ID);
    }
    request
}

/// Makes the ids of requests that came without a safe one: random UUIDs (version 4), like
/// tower-http's `MakeRequestUuid`, drawn from the thread's generator instead of one `getrandom`
/// system call per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeRandomRequestId;

impl MakeRequestId for MakeRandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid_v4(rand::random())).ok().map(RequestId::new)
    }
}

/// `bits` as a version-4 (random) UUID, hyphenated lower-case hex (RFC 9562).
pub fn uuid_v4(bits: u128) -> String {
    let v = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        v >> 96,
        (v >> 80) & 0xffff,
        (v >> 64) & 0xffff,
        (v >> 48) & 0xffff,
        v & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_one_line() {
        let hostile = "x\nFAKE-LINE\u{1b}[31m\r\u{2028}\u{202e}\u{200b}ok";
        let shown = escaped(hostile).to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown}");
        assert!(!shown.contains('\u{2028}') && !shown.contains('\u{202e}') && !shown.contains('\u{200b}'));
        assert!(shown.starts_with("x\\nFAKE-LINE\\u{1b}[31m\\r"));
        assert_eq!(escaped("access_denied").to_string(), "access_denied");
    }

    #[test]
    fn request_ids_are_uuid_v4() {
        assert_eq!(uuid_v4(0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4(u128::MAX), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef), "01234567-89ab-4def-8123-456789abcdef");
        let request = axum::http::Request::new(());
        let (a, b) = (MakeRandomRequestId.make_request_id(&request), MakeRandomRequestId.make_request_id(&request));
        let (a, b) = (a.unwrap().into_header_value(), b.unwrap().into_header_value());
        assert_ne!(a, b);
        assert!(is_safe_request_id(a.as_bytes()) && a.len() == 36, "{a:?}");
    }

    #[test]
    fn request_id_rule() {
        for ok in ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "req.1_x-Y", &"a".repeat(64)] {
            assert!(is_safe_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "1 user=bob path=/x", "a\nb", "a\u{1b}", "é", "a/b", "a=b", &"a".repeat(65)] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad}");
        }
    }
}
