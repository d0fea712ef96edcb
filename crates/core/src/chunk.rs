//! Chunk sizes Graph accepts and the plan of byte ranges that covers a file.

use crate::error::CoreError;

/// Every fragment but the last must be a multiple of 320 KiB.
pub const FRAGMENT_ALIGN: u64 = 327_680;
/// The largest fragment Graph accepts in one request (60 MiB).
pub const MAX_FRAGMENT: u64 = 62_914_560;
/// The default chunk size: 10 MiB rounded down to 320 KiB (32 x 320 KiB = 10,485,760).
pub const DEFAULT_CHUNK: u64 = 10_485_760;

/// A validated chunk size: a positive multiple of [`FRAGMENT_ALIGN`], at most [`MAX_FRAGMENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSize(u64);

impl ChunkSize {
    /// Validates `bytes`.
    pub fn new(bytes: u64) -> Result<Self, CoreError> {
        if bytes == 0 || bytes % FRAGMENT_ALIGN != 0 || bytes > MAX_FRAGMENT {
            return Err(CoreError::ChunkSize(bytes));
        }
        Ok(ChunkSize(bytes))
    }

    /// The size in bytes.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        ChunkSize(DEFAULT_CHUNK)
    }
}

/// The ranges that upload a file of `total` bytes in chunks of `chunk` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    total: u64,
    chunk: ChunkSize,
}

impl ChunkPlan {
    /// A plan for a non-empty file; a zero-byte file must take the simple-upload path.
    pub fn new(total: u64, chunk: ChunkSize) -> Result<Self, CoreError> {
        if total == 0 {
            return Err(CoreError::EmptyFile);
        }
        Ok(ChunkPlan { total, chunk })
    }

    /// File size.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The half-open range to send next when the server expects bytes from `start`
    /// (up to `limit`, the exclusive end of the server's expected gap, if it gave one).
    ///
    /// Every fragment is one chunk long (so a multiple of 320 KiB) except the file's last,
    /// or one the server's bounded gap cuts short. Returns `None` when `start >= total`.
    pub fn range_from(&self, start: u64, limit: Option<u64>) -> Option<(u64, u64)> {
        if start >= self.total {
            return None;
        }
        let mut end = start.saturating_add(self.chunk.get()).min(self.total);
        if let Some(limit) = limit {
            if limit > start {
                end = end.min(limit);
            }
        }
        Some((start, end))
    }

    /// All ranges of an upload that meets no error, in order.
    #[cfg(test)]
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut next = 0;
        core::iter::from_fn(move || {
            let r = self.range_from(next, None)?;
            next = r.1;
            Some(r)
        })
    }

    /// Number of requests an upload without errors makes.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.total.div_ceil(self.chunk.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chunk_size_table() {
        for ok in [327_680, 655_360, DEFAULT_CHUNK, MAX_FRAGMENT] {
            assert_eq!(ChunkSize::new(ok).unwrap().get(), ok);
        }
        for bad in [0, 1, 327_679, 327_681, 1_000_000, MAX_FRAGMENT + FRAGMENT_ALIGN, u64::MAX] {
            assert_eq!(ChunkSize::new(bad), Err(CoreError::ChunkSize(bad)));
        }
        assert_eq!(ChunkSize::default().get(), 10 * 1024 * 1024);
        assert_eq!(
            CoreError::ChunkSize(5).to_string(),
            "chunkSize must be a positive multiple of 327680 bytes and at most 62914560, got 5"
        );
    }

    #[test]
    fn plan_table() {
        let c = ChunkSize::new(FRAGMENT_ALIGN).unwrap();
        let cases: &[(u64, &[(u64, u64)])] = &[
            (1, &[(0, 1)]),
            (327_679, &[(0, 327_679)]),
            (327_680, &[(0, 327_680)]),
            (327_681, &[(0, 327_680), (327_680, 327_681)]),
            (655_360, &[(0, 327_680), (327_680, 655_360)]),
        ];
        for (total, want) in cases {
            let plan = ChunkPlan::new(*total, c).unwrap();
            assert_eq!(plan.ranges().collect::<Vec<_>>(), *want, "total {total}");
            assert_eq!(plan.count(), want.len() as u64);
        }
        assert_eq!(ChunkPlan::new(0, c), Err(CoreError::EmptyFile));
    }

    #[test]
    fn range_from_resyncs_and_respects_limits() {
        let plan = ChunkPlan::new(10_000_000, ChunkSize::new(3 * FRAGMENT_ALIGN).unwrap()).unwrap();
        assert_eq!(plan.range_from(0, None), Some((0, 983_040)));
        assert_eq!(plan.range_from(983_040, None), Some((983_040, 1_966_080)));
        // Resync to an offset the server chose: a full chunk from there.
        assert_eq!(plan.range_from(400_000, None), Some((400_000, 1_383_040)));
        // A bounded gap from the server limits the fragment; a limit behind start is ignored.
        assert_eq!(plan.range_from(0, Some(500_000)), Some((0, 500_000)));
        assert_eq!(plan.range_from(600_000, Some(500_000)), Some((600_000, 1_583_040)));
        assert_eq!(plan.range_from(9_999_999, None), Some((9_999_999, 10_000_000)));
        assert_eq!(plan.range_from(10_000_000, None), None);
    }

    proptest! {
        #[test]
        fn plan_covers_file_exactly(total in 1u64..200_000_000, k in 1u64..=192) {
            let plan = ChunkPlan::new(total, ChunkSize::new(k * FRAGMENT_ALIGN).unwrap()).unwrap();
            let mut next = 0;
            let ranges: Vec<_> = plan.ranges().collect();
            for (i, &(s, e)) in ranges.iter().enumerate() {
                prop_assert_eq!(s, next);
                prop_assert!(e > s && e - s <= MAX_FRAGMENT);
                if i + 1 < ranges.len() {
                    prop_assert_eq!((e - s) % FRAGMENT_ALIGN, 0);
                }
                next = e;
            }
            prop_assert_eq!(next, total);
            prop_assert_eq!(ranges.len() as u64, plan.count());
        }

        #[test]
        fn range_from_any_offset_is_valid(total in 1u64..100_000_000, k in 1u64..=32, at in 0u64..100_000_000) {
            let plan = ChunkPlan::new(total, ChunkSize::new(k * FRAGMENT_ALIGN).unwrap()).unwrap();
            match plan.range_from(at, None) {
                None => prop_assert!(at >= total),
                Some((s, e)) => {
                    prop_assert_eq!(s, at);
                    prop_assert!(e > s && e <= total && e - s <= k * FRAGMENT_ALIGN);
                    // A whole chunk unless it is the file's last fragment.
                    prop_assert!(e == total || (e - s) == k * FRAGMENT_ALIGN);
                }
            }
        }
    }
}
