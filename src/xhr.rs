//! XMLHttpRequest as a future: dropping it aborts the request and detaches its handlers; byte-level upload progress; stall timer.

use crate::error::{call, get, message_of, set};
use crate::race::{select, Either};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::Cell;
use js_sys::{Function, Promise};
use onedrive_upload_core::text::cat;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, XmlHttpRequest};

/// The body of a request.
pub enum Body<'a> {
    /// No body.
    None,
    /// A Blob (sent by the browser straight from the file).
    Blob(&'a Blob),
    /// A string.
    Text(&'a str),
}

/// One request to send.
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `DELETE`.
    pub method: &'a str,
    /// Absolute or page-relative URL.
    pub url: &'a str,
    /// Request headers.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: Body<'a>,
    /// Send cookies cross-origin (`credentials: "include"`).
    pub with_credentials: bool,
    /// Abort when nothing moved for this long (ms).
    pub stall_ms: u32,
}

impl<'a> Request<'a> {
    /// A request to a pre-authenticated upload URL: no cookies, no session-endpoint headers.
    pub fn upload_url(
        method: &'a str,
        url: &'a str,
        headers: &'a [(String, String)],
        body: Body<'a>,
        stall_ms: u32,
    ) -> Self {
        Request { method, url, headers, body, with_credentials: false, stall_ms }
    }

    /// A request to the application (session endpoint, `statusUrl`): cookies and the `headers` option.
    pub fn app(method: &'a str, url: &'a str, headers: &'a [(String, String)], body: Body<'a>, stall_ms: u32) -> Self {
        Request { method, url, headers, body, with_credentials: true, stall_ms }
    }
}

/// How a request ended.
pub enum Outcome {
    /// An HTTP answer.
    Answer {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
        /// `Retry-After` header, when readable.
        retry_after: Option<String>,
    },
    /// No answer (connection refused or dropped, CORS).
    NetworkError(String),
    /// No progress for `stall_ms`; the request was aborted.
    Stalled,
}

/// Owns a live XHR: on drop, detaches the handlers and aborts it if it has not finished.
struct Live {
    xhr: JsValue,
    upload: JsValue,
    done: Rc<Cell<bool>>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 2],
}

impl Drop for Live {
    fn drop(&mut self) {
        set(&self.xhr, "onloadend", &JsValue::NULL);
        set(&self.xhr, "onprogress", &JsValue::NULL);
        set(&self.upload, "onprogress", &JsValue::NULL);
        if !self.done.get() {
            let _ = call(&self.xhr, "abort", &JsValue::UNDEFINED, &JsValue::UNDEFINED);
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Sends `req`; `on_upload` gets the body bytes sent so far on every upload progress event.
// wasm-size: the XHR's methods and properties are reached through `Reflect.get`/`Reflect.set` and
// `Function.prototype.call` (imported anyway) instead of one import each (open, setRequestHeader,
// withCredentials, upload, onprogress x2, onloadend, send, abort, status, responseText,
// getResponseHeader, ProgressEvent.loaded): -52 B gzipped wasm, -358 B js (42,398 -> 42,346 B, 6,108 -> 5,750 B).
pub async fn send(req: Request<'_>, on_upload: Option<Rc<dyn Fn(f64)>>) -> Outcome {
    let no = &JsValue::UNDEFINED;
    let xhr: JsValue = match XmlHttpRequest::new() {
        Ok(x) => x.into(),
        Err(e) => return Outcome::NetworkError(message_of(&e)),
    };
    if let Err(e) = call(&xhr, "open", &req.method.into(), &req.url.into()) {
        return Outcome::NetworkError(message_of(&e));
    }
    set(&xhr, "withCredentials", &req.with_credentials.into());
    for (k, v) in req.headers {
        if let Err(e) = call(&xhr, "setRequestHeader", &k.into(), &v.into()) {
            return Outcome::NetworkError(message_of(&e));
        }
    }
    let last_activity = Rc::new(Cell::new(now_ms()));
    let done = Rc::new(Cell::new(false));
    let activity = last_activity.clone();
    let progress = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        activity.set(now_ms());
        if let Some(f) = &on_upload {
            f(get(&e, "loaded").as_f64().unwrap_or(0.0));
        }
    });
    let download = last_activity.clone();
    let download_progress = Closure::<dyn FnMut(JsValue)>::new(move |_e: JsValue| download.set(now_ms()));
    let upload = get(&xhr, "upload");
    set(&upload, "onprogress", progress.as_ref());
    set(&xhr, "onprogress", download_progress.as_ref());
    let finished = Promise::new(&mut |resolve: Function, _reject: Function| set(&xhr, "onloadend", &resolve));
    let _live = Live { xhr: xhr.clone(), upload, done: done.clone(), _handlers: [progress, download_progress] };
    let body = match req.body {
        Body::None => JsValue::NULL,
        Body::Blob(b) => b.into(),
        Body::Text(t) => t.into(),
    };
    if let Err(e) = call(&xhr, "send", &body, no) {
        return Outcome::NetworkError(message_of(&e));
    }
    let answer = JsFuture::from(finished);
    if let Either::Right(_) = select(answer, Box::pin(watchdog(last_activity, req.stall_ms))).await {
        return Outcome::Stalled;
    }
    done.set(true);
    let status = get(&xhr, "status").as_f64().unwrap_or(0.0) as u16;
    if status == 0 {
        return Outcome::NetworkError(cat(&[
            req.method,
            " request failed without an answer (network error or CORS refusal)",
        ]));
    }
    Outcome::Answer {
        status,
        body: get(&xhr, "responseText").as_string().unwrap_or_default(),
        retry_after: call(&xhr, "getResponseHeader", &"Retry-After".into(), no).ok().and_then(|v| v.as_string()),
    }
}

/// Resolves once nothing has moved for `stall` ms.
async fn watchdog(last_activity: Rc<Cell<f64>>, stall: u32) {
    loop {
        let idle = now_ms() - last_activity.get();
        if idle >= f64::from(stall) {
            return;
        }
        // Positive here; rounded up (no `f64::ceil` without std): the loop then sees it idle.
        crate::timer::sleep((f64::from(stall) - idle) as u64 + 1).await;
    }
}

/// Parses `Retry-After` (seconds or an HTTP date) into ms.
pub fn retry_after_ms(value: &str) -> Option<u64> {
    let v = value.trim_ascii();
    if let Some(secs) = onedrive_upload_core::range::parse_u64(v) {
        return Some(secs.saturating_mul(1000));
    }
    let at = js_sys::Date::parse(v);
    if at.is_nan() {
        return None;
    }
    Some((at - now_ms()).max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after_ms("1"), Some(1000));
        assert_eq!(retry_after_ms(" 30 "), Some(30_000));
        assert_eq!(retry_after_ms("soon"), None);
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0), "a past date: no wait");
        let future = js_sys::Date::new(&(now_ms() + 60_000.0).into()).to_utc_string();
        let ms = retry_after_ms(&String::from(future)).unwrap();
        assert!((58_000..=60_000).contains(&ms), "{ms}");
    }
}
