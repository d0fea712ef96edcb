//! The `uploadFile` options: read field by field, validated once into [`Options`], with their TypeScript types.

use crate::error::UploadFailure;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Function, Number, Object, Reflect};
use onedrive_upload_core::chunk::ChunkSize;
use onedrive_upload_core::engine::RetryPolicy;
use onedrive_upload_core::text::cat;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

#[wasm_bindgen(typescript_custom_section)]
const TS_OPTIONS: &'static str = r#"
/** What a session function resolves with: an upload session, or (zero-byte files) the driveItem itself. */
export interface UploadSessionInfo {
  uploadUrl: string;
  expirationDateTime?: string;
  nextExpectedRanges?: string[];
  /**
   * A URL (same authentication as the session endpoint: cookies and `headers`) that answers the
   * committed driveItem of this upload, or 404 while it is not committed. Asked before a lost
   * session is replaced, so an upload whose last answer was lost is not uploaded twice.
   * Without it, a lost last answer starts the upload over in a new session.
   */
  statusUrl?: string;
}

/** How failed requests are retried (uploads and session requests). */
export interface RetryOptions {
  /** Retries of a 4xx outside the retry table before `client-error` (default 5). */
  clientErrorRetries?: number;
  /** Base of the exponential backoff in ms (default 1000). */
  baseDelayMs?: number;
  /** Cap of one backoff delay in ms (default 60000). */
  maxDelayMs?: number;
  /** Most requests that make no progress (failed session requests included) before `retries-exhausted` (default 50). */
  maxAttempts?: number;
}

/** Progress of one upload, reported through `onProgress`. */
export interface UploadProgress {
  /** Bytes sent so far (including the in-flight request). */
  bytesSent: number;
  /** Bytes the server has confirmed; never decreases. */
  bytesAcknowledged: number;
  /** The file's size. */
  totalBytes: number;
  /** Recent upload speed. */
  bytesPerSecond: number;
  /** Estimated seconds left, `null` while unknown. */
  etaSeconds: number | null;
}

/** Options of {@link uploadFile} and {@link startUpload}; every one is optional. */
export interface UploadOptions {
  /** Session endpoint URL (POSTed `{"filename","size"}`), or a function returning a session. Default "/api/cloud/file". */
  session?: string | ((file: File) => Promise<UploadSessionInfo | DriveItem> | UploadSessionInfo | DriveItem);
  /** Headers sent to the session endpoint only (never to the upload URL). */
  headers?: Record<string, string>;
  /** Bytes per request: a multiple of 327680, at most 62914560 (default 10485760). */
  chunkSize?: number;
  /** Retry settings. */
  retry?: RetryOptions;
  /** Called as the upload progresses, last with 100%. */
  onProgress?: (progress: UploadProgress) => void;
  /** Aborting it cancels the upload (request aborted, session deleted, rejects with `aborted`). */
  signal?: AbortSignal;
  /** Remember the session in localStorage and continue it after a reload (default true). */
  resume?: boolean;
  /** Compare the QuickXorHash of the file with the server's (default true). */
  verify?: boolean;
  /** A request without progress for this long is aborted and retried (default 30000). */
  stallTimeoutMs?: number;
}
"#;

/// Where sessions come from.
pub enum SessionSource {
    /// An endpoint URL, POSTed `{"filename","size"}`.
    Url(String),
    /// A JS function `(file) => session | Promise<session>`.
    Function(Function),
}

/// Validated options.
pub struct Options {
    /// Session source.
    pub session: SessionSource,
    /// Headers for the session endpoint.
    pub headers: Vec<(String, String)>,
    /// Fragment size.
    pub chunk: ChunkSize,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// Progress callback.
    pub on_progress: Option<Function>,
    /// Cancel signal.
    pub signal: Option<AbortSignal>,
    /// Persist sessions for resume.
    pub resume: bool,
    /// Verify the QuickXorHash.
    pub verify: bool,
    /// Stall timeout (ms).
    pub stall_timeout_ms: u32,
}

const KNOWN: [&str; 9] =
    ["session", "headers", "chunkSize", "retry", "onProgress", "signal", "resume", "verify", "stallTimeoutMs"];

/// The `retry` fields, in the order [`Options::parse`] reads them.
const RETRY_KNOWN: [&str; 4] = ["clientErrorRetries", "baseDelayMs", "maxDelayMs", "maxAttempts"];

/// Refuses keys of `object` outside `known` (serde-wasm-bindgen reads only the declared fields).
fn known_keys(object: &JsValue, known: &[&str], prefix: &str) -> Result<(), UploadFailure> {
    for key in Object::keys(object.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(UploadFailure::invalid_option(&cat(&[prefix, &key]), "unknown option"));
        }
    }
    Ok(())
}

/// Default session endpoint.
pub const DEFAULT_SESSION: &str = "/api/cloud/file";

/// Field `key` of `object`; `None` when it is absent, `undefined` or `null`.
fn get(object: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(object, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// `invalid-option` naming `option`, with the static reason `why`.
fn bad(option: &str, why: &str) -> UploadFailure {
    UploadFailure::invalid_option(option, why)
}

// wasm-size: one `get`, one `whole`, the retry fields and the flags read in loops (instead of a
// closure and a message per field): -217 B gzipped wasm (42,615 -> 42,398 B).
impl Options {
    /// Parses and validates `options` (undefined/null = all defaults); errors are `invalid-option` failures.
    pub fn parse(options: &JsValue) -> Result<Options, UploadFailure> {
        if options.is_undefined() || options.is_null() {
            return Options::parse(&Object::new());
        }
        if !options.is_object() || options.is_function() {
            return Err(bad("options", "must be an object"));
        }
        let o = options;
        known_keys(o, &KNOWN, "")?;
        let session = match get(o, "session") {
            None => SessionSource::Url(DEFAULT_SESSION.into()),
            Some(v) => match (v.as_string(), v.dyn_into::<Function>()) {
                (Some(url), _) if !url.is_empty() => SessionSource::Url(url),
                (None, Ok(f)) => SessionSource::Function(f),
                _ => return Err(bad("session", "must be a non-empty URL string or a function")),
            },
        };
        let headers = match get(o, "headers") {
            None => Vec::new(),
            Some(v) => headers(&v)?,
        };
        let chunk = match get(o, "chunkSize") {
            None => ChunkSize::default(),
            Some(v) => whole(&v, u64::MAX)
                .and_then(|n| ChunkSize::new(n).ok())
                .ok_or_else(|| bad("chunkSize", "must be a positive multiple of 327680 and at most 62914560"))?,
        };
        let mut retry = RetryPolicy::default();
        if let Some(r) = get(o, "retry") {
            if !r.is_object() {
                return Err(bad("retry", "must be an object"));
            }
            known_keys(&r, &RETRY_KNOWN, "retry.")?;
            let mut fields =
                [retry.client_error_retries.into(), retry.base_delay_ms, retry.max_delay_ms, retry.max_attempts.into()];
            for (i, (field, key)) in fields.iter_mut().zip(RETRY_KNOWN).enumerate() {
                if let Some(v) = get(&r, key) {
                    // The two counts are u32, the two delays u64.
                    let max = if i % 3 == 0 { u32::MAX.into() } else { u64::MAX };
                    *field =
                        whole(&v, max).ok_or_else(|| bad("retry", "its fields must be whole numbers of at least 0"))?;
                }
            }
            let [client_errors, base, max, attempts] = fields;
            retry.client_error_retries = client_errors as u32;
            retry.base_delay_ms = base;
            retry.max_delay_ms = max;
            retry.max_attempts = attempts as u32;
        }
        if retry.max_attempts == 0 {
            return Err(bad("retry.maxAttempts", "must be at least 1"));
        }
        if retry.max_delay_ms < retry.base_delay_ms {
            return Err(bad("retry.maxDelayMs", "must not be below retry.baseDelayMs"));
        }
        let on_progress = match get(o, "onProgress") {
            None => None,
            Some(v) => Some(v.dyn_into::<Function>().map_err(|_| bad("onProgress", "must be a function"))?),
        };
        let signal = match get(o, "signal") {
            None => None,
            Some(v) => Some(v.dyn_into::<AbortSignal>().map_err(|_| bad("signal", "must be an AbortSignal"))?),
        };
        let mut flags = [true; 2];
        for (flag, key) in flags.iter_mut().zip(["resume", "verify"]) {
            if let Some(v) = get(o, key) {
                *flag = v.as_bool().ok_or_else(|| bad(key, "must be true or false"))?;
            }
        }
        let stall_timeout_ms = match get(o, "stallTimeoutMs") {
            None => 30_000,
            Some(v) => match whole(&v, u32::MAX.into()) {
                Some(n) if n > 0 => n.min(i32::MAX as u64) as u32,
                _ => return Err(bad("stallTimeoutMs", "must be a positive whole number of milliseconds")),
            },
        };
        let [resume, verify] = flags;
        Ok(Options { session, headers, chunk, retry, on_progress, signal, resume, verify, stall_timeout_ms })
    }
}

/// A whole-number option of at most `max`: a non-negative safe integer (`Number.isSafeInteger`,
/// what serde-wasm-bindgen accepted as `u64` for a number).
// wasm-size: read through js-sys, not serde-wasm-bindgen: serde's type-error message formats the
// rejected value, which links `<f64 as Display>` (13.9 KB of code): -14,916 B gzipped wasm, -880 B js
// (59,362 -> 44,446 and 7,096 -> 6,216 B).
fn whole(v: &JsValue, max: u64) -> Option<u64> {
    let n = v.as_f64()?;
    (n >= 0.0 && Number::is_safe_integer(v) && n as u64 <= max).then_some(n as u64)
}

/// The `headers` option: a plain object whose values are all strings.
// wasm-size: read by hand; as a map through serde-wasm-bindgen it costs 3,514 B more gzipped wasm (+165 B js).
fn headers(v: &JsValue) -> Result<Vec<(String, String)>, UploadFailure> {
    let why = "must be an object of string values";
    if !v.is_object() || v.is_function() || js_sys::Array::is_array(v) || v.is_instance_of::<js_sys::Map>() {
        return Err(bad("headers", why));
    }
    let mut out = Vec::new();
    for key in Object::keys(v.unchecked_ref::<Object>()).iter() {
        let value = Reflect::get(v, &key).ok().and_then(|x| x.as_string());
        match (key.as_string(), value) {
            (Some(k), Some(x)) => out.push((k, x)),
            _ => return Err(bad("headers", why)),
        }
    }
    Ok(out)
}
