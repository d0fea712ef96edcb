//! The upload engine: a sans-IO state machine that implements the retry table of docs/architecture.md.
//!
//! The caller performs I/O and feeds what happened as an [`Event`]; the engine answers with
//! the next [`Action`]. Time comes in with each event (`now_ms`), randomness through the
//! injected [`Jitter`] source, so every decision is deterministic under test.
//!
//! ```text
//! let mut e = Engine::new(config, jitter)?;
//! let mut action = e.start(stored, now);  // RequestSession, or GetStatus when resuming
//! loop {
//!     action = match action {
//!         Action::Put { start, end, content_range } => e.handle(put(...), now),
//!         Action::Done { item, body } => break Ok(body),
//!         Action::Fail(f) => break Err(f),
//!         ...
//!     }
//! }
//! ```

use crate::text::cat;
use alloc::string::String;
use alloc::vec::Vec;

mod answer;
mod backoff;
mod json;
mod machine;
mod phase;
#[cfg(test)]
mod tests;

pub use answer::{clip, committed_item, committed_item_of};
pub use backoff::backoff_delay_ms;
pub use json::{Json, NativeReader, Reader};
pub use machine::Engine;

use crate::chunk::ChunkSize;

/// Retry settings (the JS `retry` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a 4xx outside the table is retried (without backoff) before `client-error`.
    pub client_error_retries: u32,
    /// Base of the exponential backoff, in ms.
    pub base_delay_ms: u64,
    /// Cap of one backoff delay, in ms.
    pub max_delay_ms: u64,
    /// Most requests that made no progress before `retries-exhausted`: PUTs, status GETs, `statusUrl`
    /// GETs and repeated session requests count; PUTs that moved the server's offset do not (see the
    /// machine's module docs).
    pub max_attempts: u32,
    /// Most times an upload starts over with a new session (404, 401, expiry).
    pub max_session_restarts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            client_error_retries: 5,
            base_delay_ms: 1000,
            max_delay_ms: 60_000,
            max_attempts: 50,
            max_session_restarts: 3,
        }
    }
}

/// What the engine needs to know about the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// File size in bytes (> 0; zero-byte files never reach the engine).
    pub total: u64,
    /// Fragment size.
    pub chunk: ChunkSize,
    /// Retry settings.
    pub retry: RetryPolicy,
}

/// Source of uniform random numbers in `[0, 1)` for full jitter.
pub trait Jitter {
    /// Next number in `[0, 1)`.
    fn next_unit(&mut self) -> f64;
}

impl<F: FnMut() -> f64> Jitter for F {
    fn next_unit(&mut self) -> f64 {
        self()
    }
}

/// An HTTP answer from the upload URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// Body text (may be empty).
    pub body: String,
    /// `Retry-After` in ms, when the header was readable and valid.
    pub retry_after_ms: Option<u64>,
}

/// A session, fresh from the session endpoint or a stored one being resumed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionInfo {
    /// Expiry as Unix ms, when known.
    pub expires_at_ms: Option<i64>,
    /// The session's `nextExpectedRanges` as given (a fresh session says `["0-"]`).
    pub next_expected_ranges: Vec<String>,
    /// True when the session came with a `statusUrl` that answers the committed driveItem of
    /// this upload (or 404): asked with [`Action::GetCommitted`] before the session is replaced.
    pub has_status_url: bool,
}

/// Something that happened, fed to [`Engine::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Answer to [`Action::RequestSession`]: a session is ready.
    SessionReady(SessionInfo),
    /// Answer to [`Action::RequestSession`]: the session endpoint answered an error (or the
    /// session function threw). 408, 429, 500, 502, 503 and 504 are retried; anything else fails at once.
    /// A request that got no answer is a `NetworkError` or `Stalled` instead.
    SessionFailed {
        /// HTTP status, if there was one.
        status: Option<u16>,
        /// The endpoint's message.
        message: String,
        /// `Retry-After` in ms, when the header was readable and valid.
        retry_after_ms: Option<u64>,
    },
    /// Answer to [`Action::Put`].
    PutAnswered(HttpAnswer),
    /// Answer to [`Action::GetStatus`].
    StatusAnswered(HttpAnswer),
    /// Answer to [`Action::GetCommitted`].
    CommittedAnswered(HttpAnswer),
    /// A request (session, PUT or GET) failed without an HTTP answer (connection dropped, DNS, CORS).
    NetworkError {
        /// What the transport said.
        message: String,
    },
    /// The in-flight request made no progress for `stallTimeoutMs` and was aborted.
    Stalled,
    /// Answer to [`Action::Sleep`].
    TimerFired,
    /// Answer to [`Action::DeleteSession`] (whatever its outcome).
    DeleteAnswered,
    /// The user cancelled; any in-flight request or sleep has already been stopped.
    Abort,
    /// The upload resumes after a pause (the in-flight request was aborted by the pause).
    Resume,
}

impl Event {
    /// The variant's name, for messages (bodies are never echoed).
    pub fn name(&self) -> &'static str {
        match self {
            Event::SessionReady(_) => "SessionReady",
            Event::SessionFailed { .. } => "SessionFailed",
            Event::PutAnswered(_) => "PutAnswered",
            Event::StatusAnswered(_) => "StatusAnswered",
            Event::CommittedAnswered(_) => "CommittedAnswered",
            Event::NetworkError { .. } => "NetworkError",
            Event::Stalled => "Stalled",
            Event::TimerFired => "TimerFired",
            Event::DeleteAnswered => "DeleteAnswered",
            Event::Abort => "Abort",
            Event::Resume => "Resume",
        }
    }
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Obtain a (new) session; answer with `SessionReady`, `SessionFailed`, `NetworkError` or `Stalled`.
    RequestSession,
    /// PUT bytes `start..end` with this `Content-Range`; answer with `PutAnswered`,
    /// `NetworkError` or `Stalled`.
    Put {
        /// First byte (inclusive).
        start: u64,
        /// End (exclusive).
        end: u64,
        /// The header value, e.g. `bytes 0-327679/1000000`.
        content_range: String,
    },
    /// GET the upload URL for `nextExpectedRanges`; answer with `StatusAnswered`, `NetworkError` or `Stalled`.
    GetStatus,
    /// The session is gone (404/401, expiry): GET its `statusUrl` to learn whether the upload was
    /// committed after all (its answer was lost); answer with `CommittedAnswered`, `NetworkError`
    /// or `Stalled`. Only for sessions whose [`SessionInfo::has_status_url`] was set.
    GetCommitted,
    /// Wait, then answer with `TimerFired`.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// DELETE the upload URL (best effort), then answer with `DeleteAnswered`.
    DeleteSession,
    /// The upload is committed.
    Done {
        /// What the engine read of the driveItem.
        item: CommittedItem,
        /// The driveItem as the server sent it (the body of the answer that showed the commit).
        body: String,
    },
    /// The upload failed for good.
    Fail(Failure),
}

/// Why an upload failed: the stable `code` of the JS `UploadError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    /// Cancelled by the caller.
    Aborted,
    /// The session endpoint failed.
    SessionFailed,
    /// A 4xx outside the table, after `clientErrorRetries` retries.
    ClientError,
    /// `maxAttempts` requests made, or session restarts used up.
    RetriesExhausted,
    /// 409: name conflict on commit.
    Conflict,
    /// The session expired and could not be replaced.
    Expired,
    /// The server's QuickXorHash differs from the local one.
    Integrity,
    /// An option was invalid.
    InvalidOption,
    /// The server answered something that breaks the protocol.
    Protocol,
}

impl FailureCode {
    /// The stable string (`aborted`, `client-error`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Aborted => "aborted",
            FailureCode::SessionFailed => "session-failed",
            FailureCode::ClientError => "client-error",
            FailureCode::RetriesExhausted => "retries-exhausted",
            FailureCode::Conflict => "conflict",
            FailureCode::Expired => "expired",
            FailureCode::Integrity => "integrity",
            FailureCode::InvalidOption => "invalid-option",
            FailureCode::Protocol => "protocol",
        }
    }
}

/// A final failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Stable code.
    pub code: FailureCode,
    /// HTTP status when there was one.
    pub status: Option<u16>,
    /// Human-readable message.
    pub message: String,
}

/// The fields of a committed driveItem the upload needs (read by [`committed_item`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedItem {
    /// The item id.
    pub id: String,
    /// Size in bytes (0 when the body had none).
    pub size: u64,
    /// `file.hashes.quickXorHash`, when reported.
    pub quick_xor_hash: Option<String>,
}

/// Compares the driveItem's QuickXorHash with the locally computed one.
pub fn verify_hash(item: &CommittedItem, local: &str) -> Result<(), Failure> {
    match item.quick_xor_hash.as_deref() {
        Some(remote) if remote == local => Ok(()),
        Some(remote) => Err(Failure {
            code: FailureCode::Integrity,
            status: None,
            message: cat(&["QuickXorHash mismatch: local ", local, ", server ", remote]),
        }),
        None => Err(Failure {
            code: FailureCode::Integrity,
            status: None,
            message: "the server reported no quickXorHash".into(),
        }),
    }
}
