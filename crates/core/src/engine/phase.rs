//! What the engine is waiting for ([`Phase`]), the request a sleep leads to ([`Next`]) and why a
//! session is being replaced ([`Lost`]).

/// What the engine waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// `start` not called yet.
    Idle,
    /// `RequestSession` is pending.
    AwaitSession,
    /// A PUT of `start..end` is pending.
    AwaitPut {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u64,
    },
    /// A status GET is pending; `fetch_item` when it follows a commit answer without an `id`.
    AwaitStatus {
        /// The GET asks for the driveItem, not for ranges.
        fetch_item: bool,
    },
    /// `GetCommitted` is pending; then, unless the upload was committed, a new session.
    AwaitCommitted(Lost),
    /// A `Sleep` is pending; then send `Next`.
    Sleeping(Next),
    /// `DeleteSession` after an abort is pending.
    Deleting,
    /// `Done` or `Fail` was returned.
    Finished,
}

impl Phase {
    /// The phase's name, for messages (no `Debug` formatting in the WebAssembly build).
    // wasm-size: `{phase:?}` in the message instead costs 567 B more gzipped wasm.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "Idle",
            Phase::AwaitSession => "AwaitSession",
            Phase::AwaitPut { .. } => "AwaitPut",
            Phase::AwaitStatus { .. } => "AwaitStatus",
            Phase::AwaitCommitted(_) => "AwaitCommitted",
            Phase::Sleeping(_) => "Sleeping",
            Phase::Deleting => "Deleting",
            Phase::Finished => "Finished",
        }
    }
}

/// The request to send when a sleep ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// GET status.
    Status,
    /// PUT this range again.
    Put {
        /// First byte.
        start: u64,
        /// Exclusive end.
        end: u64,
    },
    /// Ask the session endpoint again.
    Session,
    /// GET `statusUrl` again.
    Committed(Lost),
}

/// Why the session is being replaced, kept while `statusUrl` is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lost {
    /// The stored session probed after `start` is gone: a new one, not counted as a restart.
    Stored,
    /// The session answered 404/401 (`status`) or is known to be expired: a counted restart.
    Restart {
        /// The session was known to be expired.
        expired: bool,
        /// The status that said so, if any.
        status: Option<u16>,
    },
}
