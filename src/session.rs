//! Getting an upload session: POST `{"filename","size"}` to the session endpoint, or call the session function.

use crate::error::{message_of, set};
use crate::options::{Options, SessionSource};
use crate::xhr::{self, Body, Outcome, Request};
use js_sys::{Object, Promise, Reflect, JSON};
use onedrive_upload_core::engine::SessionInfo;
use onedrive_upload_core::time::parse_millis;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

/// A usable session.
pub struct Session {
    /// The pre-authenticated upload URL.
    pub upload_url: String,
    /// `expirationDateTime` as given.
    pub expiration: Option<String>,
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

/// Why no session was obtained: HTTP status when there was one, and the message.
pub type SessionError = (Option<u16>, String);

/// Asks the configured source for a new session for `file`.
pub async fn request(options: &Options, file: &File) -> Result<Answer, SessionError> {
    let value = match &options.session {
        SessionSource::Function(f) => {
            let returned = f.call1(&JsValue::UNDEFINED, file).map_err(|e| error_of(&e))?;
            JsFuture::from(Promise::resolve(&returned)).await.map_err(|e| error_of(&e))?
        }
        SessionSource::Url(url) => post(url, options, file).await?,
    };
    interpret(value)
}

/// The status and message of a thrown value (its `status` property is used when numeric).
fn error_of(e: &JsValue) -> SessionError {
    let status = Reflect::get(e, &"status".into()).ok().and_then(|s| s.as_f64()).map(|s| s as u16);
    (status, message_of(e))
}

async fn post(url: &str, options: &Options, file: &File) -> Result<JsValue, SessionError> {
    let payload = Object::new();
    set(&payload, "filename", &file.name().into());
    set(&payload, "size", &file.size().into());
    let body = JSON::stringify(&payload).ok().and_then(|s| s.as_string()).unwrap_or_default();
    let mut headers = options.headers.clone();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = Request {
        method: "POST",
        url,
        headers: &headers,
        body: Body::Text(&body),
        with_credentials: true,
        stall_ms: Some(options.stall_timeout_ms),
    };
    match xhr::send(req, None).await {
        Outcome::Answer { status, body, .. } if (200..300).contains(&status) => JSON::parse(&body)
            .map_err(|_| (Some(status), "the session endpoint answered something that is not JSON".into())),
        Outcome::Answer { status, body, .. } => Err((Some(status), server_message(status, &body))),
        Outcome::NetworkError(m) => Err((None, format!("session endpoint unreachable: {m}"))),
        Outcome::Stalled => Err((None, "session endpoint stalled".into())),
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
        None if body.trim().is_empty() => format!("the session endpoint answered HTTP {status}"),
        None => body.chars().take(300).collect(),
    }
}

/// Reads a session answer: `uploadUrl` makes a session; an `id` without `uploadUrl` is a driveItem.
pub fn interpret(value: JsValue) -> Result<Answer, SessionError> {
    let field = |k: &str| Reflect::get(&value, &k.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
    if !value.is_object() {
        return Err((None, "the session answer is not an object".into()));
    }
    if let Some(upload_url) = field("uploadUrl").and_then(|u| u.as_string()) {
        let expiration = field("expirationDateTime").and_then(|e| e.as_string());
        // An array of strings; anything else counts as absent (the engine then starts at 0).
        // wasm-size: read by hand, not through serde-wasm-bindgen: -659 B gzipped wasm, -145 B js.
        let next_expected_ranges = field("nextExpectedRanges")
            .and_then(|r| r.dyn_into::<js_sys::Array>().ok())
            .and_then(|a| a.iter().map(|x| x.as_string()).collect::<Option<Vec<String>>>())
            .unwrap_or_default();
        let expires_at_ms = expiration.as_deref().and_then(|e| parse_millis(e).ok());
        return Ok(Answer::Session(Session {
            upload_url,
            expiration,
            info: SessionInfo { expires_at_ms, next_expected_ranges },
        }));
    }
    if field("id").is_some() {
        return Ok(Answer::Item(value));
    }
    Err((None, "the session answer has neither an uploadUrl nor an id".into()))
}
