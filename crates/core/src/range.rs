//! `Content-Range` headers and `nextExpectedRanges` entries: formatting and strict parsing.

use crate::error::CoreError;
use crate::text::{cat, dec};
use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;

/// A `Content-Range` as sent to an upload URL.
///
/// `Bytes` covers the inclusive byte range `first..=last` of a file of `total` bytes;
/// `Unsatisfied` is the `bytes */total` form (no bytes, only the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/total`, `first <= last < total`.
    Bytes {
        /// First byte offset (inclusive).
        first: u64,
        /// Last byte offset (inclusive).
        last: u64,
        /// Size of the whole file.
        total: u64,
    },
    /// `bytes */total`.
    Unsatisfied {
        /// Size of the whole file.
        total: u64,
    },
}

impl ContentRange {
    /// The range for the half-open byte span `start..end` of a file of `total` bytes (tests build
    /// ranges with it; the engine formats `Bytes` directly).
    #[cfg(test)]
    pub fn for_span(start: u64, end: u64, total: u64) -> Result<Self, CoreError> {
        if start >= end || end > total {
            return Err(CoreError::ContentRange(format!("span {start}..{end} of {total}")));
        }
        Ok(ContentRange::Bytes { first: start, last: end - 1, total })
    }

    /// Parses a header value strictly (`bytes a-b/total` or `bytes */total`, decimal, no signs).
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let err = || CoreError::ContentRange(s.to_owned());
        let rest = s.trim_ascii().strip_prefix("bytes ").ok_or_else(err)?;
        let (span, total) = rest.split_once('/').ok_or_else(err)?;
        let total = parse_u64(total).ok_or_else(err)?;
        if span == "*" {
            return Ok(ContentRange::Unsatisfied { total });
        }
        let (a, b) = span.split_once('-').ok_or_else(err)?;
        let (first, last) = (parse_u64(a).ok_or_else(err)?, parse_u64(b).ok_or_else(err)?);
        if first > last || last >= total {
            return Err(err());
        }
        Ok(ContentRange::Bytes { first, last, total })
    }

    /// The total file size the header declares.
    pub fn total(&self) -> u64 {
        match *self {
            ContentRange::Bytes { total, .. } | ContentRange::Unsatisfied { total } => total,
        }
    }

    /// Number of bytes the range covers (0 for `Unsatisfied`).
    pub fn len(&self) -> u64 {
        match *self {
            ContentRange::Bytes { first, last, .. } => last - first + 1,
            ContentRange::Unsatisfied { .. } => 0,
        }
    }

    /// True for `bytes */total`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The header value: `bytes first-last/total` or `bytes */total` (built without `core::fmt`,
    /// see [`crate::text`]; `Display` writes the same).
    pub fn header(&self) -> String {
        match *self {
            ContentRange::Bytes { first, last, total } => {
                cat(&["bytes ", &dec(first), "-", &dec(last), "/", &dec(total)])
            }
            ContentRange::Unsatisfied { total } => cat(&["bytes */", &dec(total)]),
        }
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

/// One `nextExpectedRanges` entry: `start-` (to the end of the file) or `start-end` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedRange {
    /// First byte the server still needs.
    pub start: u64,
    /// Last byte of this gap (inclusive), or `None` for "to the end of the file".
    pub end: Option<u64>,
}

impl ExpectedRange {
    /// Parses `"a-"` or `"a-b"` (`a <= b`).
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let err = || CoreError::ExpectedRange(s.to_owned());
        // wasm-size: ASCII trims (here, in ContentRange::parse, and the wasm crate's two) link no
        // Unicode whitespace table: -324 B gzipped wasm (43,960 -> 43,636 B).
        let (a, b) = s.trim_ascii().split_once('-').ok_or_else(err)?;
        let start = parse_u64(a).ok_or_else(err)?;
        let end = if b.is_empty() { None } else { Some(parse_u64(b).ok_or_else(err)?) };
        if matches!(end, Some(e) if e < start) {
            return Err(err());
        }
        Ok(ExpectedRange { start, end })
    }

    /// The exclusive end of this gap in a file of `total` bytes.
    pub fn end_exclusive(&self, total: u64) -> u64 {
        self.end.map_or(total, |e| (e + 1).min(total))
    }
}

impl fmt::Display for ExpectedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}-{}", self.start, end),
            None => write!(f, "{}-", self.start),
        }
    }
}

/// Strict unsigned decimal: ASCII digits only, at least one, no overflow.
// wasm-size: digits folded by hand, not `str::parse` (shared with the engine's JSON sizes):
// -263 B gzipped wasm with `Retry-After` seconds in xhr.rs
// (41,757 -> 41,494 B).
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_range_table() {
        let ok: &[(&str, ContentRange)] = &[
            ("bytes 0-0/1", ContentRange::Bytes { first: 0, last: 0, total: 1 }),
            ("bytes 0-327679/1000000", ContentRange::Bytes { first: 0, last: 327_679, total: 1_000_000 }),
            ("bytes 5-9/10", ContentRange::Bytes { first: 5, last: 9, total: 10 }),
            ("bytes */10", ContentRange::Unsatisfied { total: 10 }),
            ("bytes */0", ContentRange::Unsatisfied { total: 0 }),
            (" bytes 1-2/3 ", ContentRange::Bytes { first: 1, last: 2, total: 3 }),
        ];
        for (s, want) in ok {
            assert_eq!(ContentRange::parse(s).as_ref(), Ok(want), "{s}");
        }
        let bad = [
            "",
            "bytes",
            "bytes ",
            "bytes 0-1",
            "bytes 0-1/",
            "bytes -1/2",
            "bytes 1-/2",
            "bytes 2-1/5",
            "bytes 0-5/5",
            "bytes 0-1/x",
            "bytes a-b/c",
            "bytes +0-1/2",
            "bytes 0--1/2",
            "items 0-1/2",
            "bytes 0-1/2/3",
            "bytes 0-99999999999999999999/5",
            "bytes  0-1/2",
            "Bytes 0-1/2",
            "bytes */",
            "bytes */-1",
            "bytes 0 - 1/2",
        ];
        for s in bad {
            assert!(matches!(ContentRange::parse(s), Err(CoreError::ContentRange(_))), "{s:?} accepted");
        }
    }

    #[test]
    fn content_range_format() {
        assert_eq!(ContentRange::for_span(0, 327_680, 327_681).unwrap().to_string(), "bytes 0-327679/327681");
        assert_eq!(ContentRange::Unsatisfied { total: 7 }.to_string(), "bytes */7");
        assert!(ContentRange::for_span(3, 3, 10).is_err());
        assert!(ContentRange::for_span(3, 11, 10).is_err());
    }

    #[test]
    fn expected_range_table() {
        let ok: &[(&str, ExpectedRange)] = &[
            ("0-", ExpectedRange { start: 0, end: None }),
            ("26-", ExpectedRange { start: 26, end: None }),
            ("26-127", ExpectedRange { start: 26, end: Some(127) }),
            ("5-5", ExpectedRange { start: 5, end: Some(5) }),
        ];
        for (s, want) in ok {
            assert_eq!(ExpectedRange::parse(s).as_ref(), Ok(want), "{s}");
        }
        for s in ["", "-", "-5", "a-", "5-4", "1-2-3", "1", "x-y", "18446744073709551616-"] {
            assert!(ExpectedRange::parse(s).is_err(), "{s:?} accepted");
        }
        assert_eq!(ExpectedRange { start: 3, end: Some(100) }.end_exclusive(50), 50);
        assert_eq!(ExpectedRange { start: 3, end: None }.end_exclusive(50), 50);
    }

    proptest! {
        #[test]
        fn content_range_round_trips(first in 0u64..1 << 50, len in 1u64..1 << 30, extra in 0u64..1 << 30) {
            let total = first + len + extra;
            let r = ContentRange::for_span(first, first + len, total).unwrap();
            prop_assert_eq!(r.len(), len);
            prop_assert_eq!(ContentRange::parse(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn content_range_parse_never_panics(s in "\\PC{0,40}") {
            let _ = ContentRange::parse(&s);
            let _ = ExpectedRange::parse(&s);
        }

        #[test]
        fn expected_range_round_trips(start in 0u64..u64::MAX / 2, len in proptest::option::of(0u64..1 << 40)) {
            let r = ExpectedRange { start, end: len.map(|l| start + l) };
            prop_assert_eq!(ExpectedRange::parse(&r.to_string()).unwrap(), r);
        }
    }
}
