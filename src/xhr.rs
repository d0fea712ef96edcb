//! XMLHttpRequest as a future: dropping it aborts the request and detaches its handlers; byte-level upload progress; stall timer.

use futures_util::future::{select, Either};
use js_sys::{Function, Promise};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

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

// wasm-size: one binding for every body; web-sys's three `send*` methods cost 72 B more gzipped
// wasm and 36 B more js.
#[wasm_bindgen]
extern "C" {
    /// An XMLHttpRequest seen through the one method bound here.
    type Sender;
    /// `xhr.send(body)` for any body (`null`, a Blob, a string): one import instead of three.
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_body(this: &Sender, body: &JsValue) -> Result<(), JsValue>;
}

/// Owns a live XHR: on drop, detaches the handlers and aborts it if it has not finished.
struct Live {
    xhr: XmlHttpRequest,
    done: Rc<Cell<bool>>,
    _handlers: [Closure<dyn FnMut(ProgressEvent)>; 2],
}

impl Drop for Live {
    fn drop(&mut self) {
        self.xhr.set_onloadend(None);
        self.xhr.set_onprogress(None);
        if let Ok(upload) = self.xhr.upload() {
            upload.set_onprogress(None);
        }
        if !self.done.get() {
            let _ = self.xhr.abort();
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Sends `req`; `on_upload` gets the body bytes sent so far on every upload progress event.
pub async fn send(req: Request<'_>, on_upload: Option<Rc<dyn Fn(f64)>>) -> Outcome {
    let xhr = match XmlHttpRequest::new() {
        Ok(x) => x,
        Err(e) => return Outcome::NetworkError(crate::error::message_of(&e)),
    };
    if let Err(e) = xhr.open(req.method, req.url) {
        return Outcome::NetworkError(crate::error::message_of(&e));
    }
    xhr.set_with_credentials(req.with_credentials);
    for (k, v) in req.headers {
        if let Err(e) = xhr.set_request_header(k, v) {
            return Outcome::NetworkError(crate::error::message_of(&e));
        }
    }
    let last_activity = Rc::new(Cell::new(now_ms()));
    let done = Rc::new(Cell::new(false));
    let activity = last_activity.clone();
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        activity.set(now_ms());
        if let Some(f) = &on_upload {
            f(e.loaded());
        }
    });
    let download = last_activity.clone();
    let download_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |_e: ProgressEvent| download.set(now_ms()));
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    xhr.set_onprogress(Some(download_progress.as_ref().unchecked_ref()));
    let finished = Promise::new(&mut |resolve: Function, _reject: Function| xhr.set_onloadend(Some(&resolve)));
    let _live = Live { xhr: xhr.clone(), done: done.clone(), _handlers: [progress, download_progress] };
    let sender: &Sender = xhr.unchecked_ref();
    let sent = match req.body {
        Body::None => sender.send_body(&JsValue::NULL),
        Body::Blob(b) => sender.send_body(b),
        Body::Text(t) => sender.send_body(&JsValue::from_str(t)),
    };
    if let Err(e) = sent {
        return Outcome::NetworkError(crate::error::message_of(&e));
    }
    let answer = JsFuture::from(finished);
    if let Either::Right(_) = select(answer, Box::pin(watchdog(last_activity, req.stall_ms))).await {
        return Outcome::Stalled;
    }
    done.set(true);
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Outcome::NetworkError(format!(
            "{} request failed without an answer (network error or CORS refusal)",
            req.method
        ));
    }
    Outcome::Answer {
        status,
        body: xhr.response_text().ok().flatten().unwrap_or_default(),
        retry_after: xhr.get_response_header("Retry-After").ok().flatten(),
    }
}

/// Resolves once nothing has moved for `stall` ms.
async fn watchdog(last_activity: Rc<Cell<f64>>, stall: u32) {
    loop {
        let idle = now_ms() - last_activity.get();
        if idle >= f64::from(stall) {
            return;
        }
        crate::timer::sleep((f64::from(stall) - idle).ceil() as u64).await;
    }
}

/// Parses `Retry-After` (seconds or an HTTP date) into ms.
pub fn retry_after_ms(value: &str) -> Option<u64> {
    let v = value.trim_ascii();
    if let Ok(secs) = v.parse::<u64>() {
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
