//! Why an upload failed ([`UploadFailure`], typed until `lib.rs` makes the JS `UploadError` of it),
//! the `UploadError` TypeScript declaration, and small JS value helpers.

use alloc::string::String;
use js_sys::{Error, Reflect};
use onedrive_upload_core::engine::{Failure, FailureCode};
use onedrive_upload_core::text::cat;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** The error every failed upload rejects with (a real `Error`, `name === "UploadError"`). */
export interface UploadError extends Error {
  name: "UploadError";
  /** Stable code: what went wrong. */
  code: UploadErrorCode;
  /** The HTTP status of the answer that ended the upload, when there was one. */
  status?: number;
  /** `integrity` only: the QuickXorHash computed from the local file. */
  localHash?: string;
  /** `integrity` only: the QuickXorHash the server reported. */
  serverHash?: string;
}

/** The stable codes of {@link UploadError}. */
export type UploadErrorCode =
  | "aborted" | "invalid-option" | "session-failed" | "client-error" | "retries-exhausted"
  | "conflict" | "integrity" | "expired" | "protocol";
"#;

/// Why an upload failed, typed until `lib.rs` turns it into the JS `UploadError` (once, in `into_error`).
pub enum UploadFailure {
    /// A failure with one of the engine's stable codes (the driver's own failures use them too).
    Failed(Failure),
    /// `integrity` with the hashes: `local` as computed (empty when it could not be), `server` as reported.
    Integrity {
        /// What went wrong.
        message: String,
        /// The local QuickXorHash.
        local: String,
        /// The server's QuickXorHash, when it reported one.
        server: Option<String>,
    },
}

impl UploadFailure {
    /// A failure with this code, optional HTTP status and message.
    pub fn new(code: FailureCode, status: Option<u16>, message: impl Into<String>) -> Self {
        UploadFailure::Failed(Failure { code, status, message: message.into() })
    }

    /// `aborted`.
    pub fn aborted() -> Self {
        Self::new(FailureCode::Aborted, None, "upload aborted")
    }

    /// `protocol`: the server (or session source) broke the protocol.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Protocol, None, message)
    }

    /// `invalid-option` naming the option.
    pub fn invalid_option(option: &str, why: &str) -> Self {
        Self::new(FailureCode::InvalidOption, None, cat(&["invalid option `", option, "`: ", why]))
    }
}

impl From<Failure> for UploadFailure {
    fn from(f: Failure) -> Self {
        UploadFailure::Failed(f)
    }
}

/// Sets a property on a fresh object; cannot fail for plain objects, so the result is ignored.
pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &key.into(), value);
}

/// `target[key]`, `undefined` when reading it throws.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `target[method](a, b)`: a method called by name (an error when it is not a function or throws).
// wasm-size: `get`, `call` and `set` reach the XHR (xhr.rs), the AbortSignal (control.rs), the file and
// its stream reader (hasher.rs, storage.rs, session.rs), `localStorage.removeItem`, `Error.message` and
// `Function.name` through `Reflect` and `Function.prototype.call`, which are imported anyway, instead of
// one import (a JS function and its name, twice) each; the second batch (all but the XHR's):
// -4 B gzipped wasm, -339 B js (42,346 -> 42,342 B, 5,750 -> 5,411 B).
pub fn call(target: &JsValue, method: &str, a: &JsValue, b: &JsValue) -> Result<JsValue, JsValue> {
    Reflect::get(target, &method.into())?.unchecked_into::<js_sys::Function>().call2(target, a, b)
}

/// A blob's `size` in bytes (0 if unreadable).
// wasm-size: with `slice` through `call`, `call2` for the user's functions (no `call1`) and the BYOB
// read's `value` taken unchecked (no `instanceof Uint8Array`): four imports fewer, -133 B gzipped
// (47,753 -> 47,620 B).
pub fn size_of(blob: &JsValue) -> f64 {
    get(blob, "size").as_f64().unwrap_or(0.0).max(0.0)
}

/// The message of a thrown JS value (`Error.message`, else `String(value)`).
pub fn message_of(value: &JsValue) -> String {
    if value.is_instance_of::<Error>() {
        return get(value, "message").as_string().unwrap_or_default();
    }
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}
