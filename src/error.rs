//! `UploadError`: the real JS `Error` every rejected upload promise carries (`name`, `code`, `status`).

use js_sys::{Error, Reflect};
use onedrive_upload_core::engine::{Failure, FailureCode};
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

/// Builds an `UploadError` from an engine failure.
pub fn from_failure(f: &Failure) -> JsValue {
    upload_error(f.code, f.status, &f.message)
}

/// Builds an `UploadError` with this code, optional HTTP status and message.
pub fn upload_error(code: FailureCode, status: Option<u16>, message: &str) -> JsValue {
    let e = Error::new(message);
    e.set_name("UploadError");
    let v: JsValue = e.into();
    set(&v, "code", &code.as_str().into());
    if let Some(s) = status {
        set(&v, "status", &s.into());
    }
    v
}

/// `invalid-option` naming the option.
pub fn invalid_option(option: &str, why: &str) -> JsValue {
    upload_error(FailureCode::InvalidOption, None, &format!("invalid option `{option}`: {why}"))
}

/// `integrity` with both hashes as properties (and in the message).
pub fn integrity(local: &str, server: Option<&str>, message: &str) -> JsValue {
    let v = upload_error(FailureCode::Integrity, None, message);
    set(&v, "localHash", &local.into());
    if let Some(s) = server {
        set(&v, "serverHash", &s.into());
    }
    v
}

/// Sets a property on a fresh object; cannot fail for plain objects, so the result is ignored.
pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &key.into(), value);
}

/// The message of a thrown JS value (`Error.message`, else `String(value)`).
pub fn message_of(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<Error>() {
        return String::from(e.message());
    }
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}
