//! The one error type of the core crate: every malformed input is a typed error, never a panic.

use alloc::string::String;
use thiserror::Error;

use crate::names::NameRule;

/// What went wrong while parsing or validating protocol input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// A `Content-Range` header that is not `bytes a-b/total` or `bytes */total`,
    /// or whose numbers are inconsistent (end before start, end past total).
    #[error("malformed Content-Range {0:?}")]
    ContentRange(String),
    /// A `nextExpectedRanges` entry that is not `a-` or `a-b` with `a <= b`.
    #[error("malformed nextExpectedRanges entry {0:?}")]
    ExpectedRange(String),
    /// A chunk size that Graph would refuse.
    #[error(
        "chunkSize must be a positive multiple of {align} bytes and at most {max}, got {0}",
        align = crate::chunk::FRAGMENT_ALIGN,
        max = crate::chunk::MAX_FRAGMENT
    )]
    ChunkSize(u64),
    /// A zero-byte file cannot be sent through an upload session.
    #[error("a zero-byte file cannot use an upload session; use the simple upload")]
    EmptyFile,
    /// A timestamp that is not RFC 3339 as Graph writes it.
    #[error("malformed timestamp {0:?}")]
    Timestamp(String),
    /// An item name OneDrive refuses, and the rule it breaks.
    #[error("the name {0}")]
    Name(NameRule),
    /// A string that is not an item id as a drive issues them.
    #[error("not a OneDrive item id")]
    ItemId,
    /// A JSON body that does not have the expected shape.
    #[error("malformed JSON body: {0}")]
    Json(String),
}
