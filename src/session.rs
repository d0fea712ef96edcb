//! Getting an upload session: POST `{"filename","size"}` to the session endpoint, or call the
//! session function; a failure comes back as the engine's event (which decides on retries).

use crate::error::{get, message_of, set, size_of};
use crate::options::{Options, SessionSource};
use crate::reader::millis;
use crate::xhr::{self, retry_after_ms, Body, Outcome, Request};
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Object, Promise, Reflect, JSON};
use onedrive_upload_core::engine::{clip, Event, SessionInfo};
use onedrive_upload_core::text::{cat, dec};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

/// A usable session.
pub struct Session {
    /// The pre-authenticated upload URL.
    pub upload_url: String,
    /// `expirationDateTime` as given.
    pub expiration: Option<String>,
    /// `statusUrl`, resolved against the session endpoint.
    pub status_url: Option<String>,
    /// What the engine needs.
    pub info: SessionInfo,
}

/// What the session source answered.
pub enum Answer {
    /// An upload session.
    Session(Session),
    /// The driveItem itself (a zero-byte file the server created directly).
    Item(JsValue),
}

/// Asks the configured source for a new session for `file`. Errors are the event to feed the
/// engine: `SessionFailed` (an HTTP error, a thrown value, an unusable answer), `NetworkError`
/// or `Stalled`.
pub async fn request(options: &Options, file: &File) -> Result<Answer, Event> {
    match &options.session {
        SessionSource::Function(f) => {
            let returned = f.call2(&JsValue::UNDEFINED, file, &JsValue::UNDEFINED).map_err(|e| thrown(&e))?;
            let value = JsFuture::from(Promise::resolve(&returned)).await.map_err(|e| thrown(&e))?;
            interpret(value, None)
        }
        SessionSource::Url(url) => interpret(post(url, options, file).await?, Some(url)),
    }
}

/// `SessionFailed` with no status and this message.
fn refused(message: &str) -> Event {
    Event::SessionFailed { status: None, message: message.into(), retry_after_ms: None }
}

/// A thrown value: `SessionFailed` with its `status` property when numeric (so a function can
/// ask for a retry with 408, 429, 500, 502, 503 or 504) and its message.
fn thrown(e: &JsValue) -> Event {
    let status = Reflect::get(e, &"status".into()).ok().and_then(|s| s.as_f64()).map(|s| s as u16);
    Event::SessionFailed { status, message: message_of(e), retry_after_ms: None }
}

async fn post(url: &str, options: &Options, file: &File) -> Result<JsValue, Event> {
    let payload = Object::new();
    set(&payload, "filename", &get(file, "name"));
    set(&payload, "size", &size_of(file).into());
    let body = JSON::stringify(&payload).ok().and_then(|s| s.as_string()).unwrap_or_default();
    let mut headers = options.headers.clone();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = Request::app("POST", url, &headers, Body::Text(&body), options.stall_timeout_ms);
    match xhr::send(req, None).await {
        Outcome::Answer { status, body, .. } if (200..300).contains(&status) => {
            JSON::parse(&body).map_err(|_| Event::SessionFailed {
                status: Some(status),
                message: "the session endpoint answered something that is not JSON".into(),
                retry_after_ms: None,
            })
        }
        Outcome::Answer { status, body, retry_after } => Err(Event::SessionFailed {
            status: Some(status),
            message: server_message(status, &body),
            retry_after_ms: retry_after.as_deref().and_then(retry_after_ms),
        }),
        Outcome::NetworkError(m) => Err(Event::NetworkError { message: cat(&["session endpoint unreachable: ", &m]) }),
        Outcome::Stalled => Err(Event::Stalled),
    }
}

/// The server's message: `error.message` of a JSON error body, else the body's text, else the status.
fn server_message(status: u16, body: &str) -> String {
    let from_json = JSON::parse(body).ok().and_then(|v| {
        let error = Reflect::get(&v, &"error".into()).ok()?;
        let message = Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string());
        message.or_else(|| error.as_string())
    });
    match from_json {
        Some(m) => m,
        None if body.trim_ascii().is_empty() => cat(&["the session endpoint answered HTTP ", &dec(status.into())]),
        None => clip(body, 300).into(),
    }
}

/// Reads a session answer: `uploadUrl` makes a session; an `id` without `uploadUrl` is a driveItem.
/// A relative `statusUrl` is resolved against `endpoint` (the session endpoint's URL, if any).
pub fn interpret(value: JsValue, endpoint: Option<&str>) -> Result<Answer, Event> {
    let field = |k: &str| Reflect::get(&value, &k.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
    if !value.is_object() {
        return Err(refused("the session answer is not an object"));
    }
    if let Some(upload_url) = field("uploadUrl").and_then(|u| u.as_string()) {
        let expiration = field("expirationDateTime").and_then(|e| e.as_string());
        // An array of strings; anything else counts as absent (the engine then starts at 0).
        // wasm-size: read by hand, not through serde-wasm-bindgen: -659 B gzipped wasm, -145 B js.
        let next_expected_ranges = field("nextExpectedRanges").map_or_else(Vec::new, |r| strings(&r));
        let expires_at_ms = expiration.as_deref().and_then(millis);
        let status_url = field("statusUrl").and_then(|u| u.as_string()).filter(|u| !u.is_empty());
        let status_url = status_url.map(|u| resolve(&u, endpoint.unwrap_or_default()));
        let has_status_url = status_url.is_some();
        return Ok(Answer::Session(Session {
            upload_url,
            expiration,
            status_url,
            info: SessionInfo { expires_at_ms, next_expected_ranges, has_status_url },
        }));
    }
    if field("id").is_some() {
        return Ok(Answer::Item(value));
    }
    Err(refused("the session answer has neither an uploadUrl nor an id"))
}

/// An array of strings as a `Vec`; anything else (or any other item) gives an empty one.
// wasm-size: a loop (see reader.rs's `json_of`).
fn strings(v: &JsValue) -> Vec<String> {
    let mut out = Vec::new();
    if js_sys::Array::is_array(v) {
        for x in v.unchecked_ref::<js_sys::Array>().iter() {
            match x.as_string() {
                Some(s) => out.push(s),
                None => return Vec::new(),
            }
        }
    }
    out
}

/// `url` as the browser would resolve it in a document at `base`, for the two forms a server
/// answers: absolute (kept) and origin-relative `/path` (given `base`'s scheme and host when
/// `base` is absolute). Anything else is kept: the page resolves it, as it does a relative `base`.
// wasm-size: byte scanning instead of `split_once`/`split([..])`/`format!` saves ~1.3 KB gzipped.
fn resolve(url: &str, base: &str) -> String {
    let origin_relative = url.starts_with('/') && !url.starts_with("//");
    let scheme_end = base.as_bytes().windows(3).position(|w| w == b"://");
    match scheme_end {
        Some(i) if origin_relative => {
            let host_end =
                base.as_bytes().get(i + 3..).unwrap_or_default().iter().position(|&b| matches!(b, b'/' | b'?' | b'#'));
            // wasm-size: `get`, not indexing: the only panicking str slice left linked
            // `str::slice_error_fail` with `<char as Debug>` and `<Range as Debug>`: -3,784 B gzipped wasm (51,315 -> 47,531 B).
            let mut out = String::from(base.get(..host_end.map_or(base.len(), |j| i + 3 + j)).unwrap_or(base));
            out.push_str(url);
            out
        }
        _ => url.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn status_urls_resolve_against_the_endpoint() {
        let rows = [
            ("/api/cloud/file/u1/status", "http://h:8080/api/cloud/file", "http://h:8080/api/cloud/file/u1/status"),
            ("/s", "https://h/a?b=/c", "https://h/s"),
            ("/s", "/api/cloud/file", "/s"),
            ("https://o/s", "http://h/x", "https://o/s"),
            ("//o/s", "http://h/x", "//o/s"),
            ("s", "http://h/x", "s"),
        ];
        for (url, base, want) in rows {
            assert_eq!(resolve(url, base), want, "{url} against {base}");
        }
    }
}
