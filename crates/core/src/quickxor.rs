//! QuickXorHash, the hash OneDrive reports for every file (`file.hashes.quickXorHash`).
//!
//! Byte `i` of the stream is XORed into a 160-bit state shifted left by `(11 * i) mod 160`
//! (rotating). Bytes 160 apart land on the same shift, so `update` only folds the input
//! into 160 byte-buckets (a vectorisable XOR of 160-byte blocks); `finalize` spreads the
//! buckets over the state once.

use alloc::string::String;

const WIDTH_BITS: usize = 160;
const SHIFT: usize = 11;
const BLOCK: usize = WIDTH_BITS; // bytes 160 apart share a shift

/// Streaming QuickXorHash: feed slices of any size with [`update`](Self::update).
#[derive(Clone)]
pub struct QuickXorHash {
    buckets: [u8; BLOCK],
    /// Total bytes fed so far.
    len: u64,
}

impl Default for QuickXorHash {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for QuickXorHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("QuickXorHash").field("len", &self.len).finish_non_exhaustive()
    }
}

impl QuickXorHash {
    /// An empty hash state.
    pub fn new() -> Self {
        QuickXorHash { buckets: [0; BLOCK], len: 0 }
    }

    /// Number of bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before any byte was hashed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hashes the next `data` bytes of the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        let mut pos = (self.len % BLOCK as u64) as usize;
        self.len += data.len() as u64;
        // Head: fill up to the next bucket boundary.
        if pos != 0 {
            let n = (BLOCK - pos).min(data.len());
            // wasm-size: iterators and `get`, no slice indexing or `copy_from_slice` (whose panics
            // link `core::fmt`'s integer printing; see `crate::text`).
            for (b, &x) in self.buckets.iter_mut().skip(pos).zip(data.iter().take(n)) {
                *b ^= x;
            }
            data = data.get(n..).unwrap_or_default();
            pos = (pos + n) % BLOCK;
            if pos != 0 {
                return;
            }
        }
        // Body: whole 160-byte blocks, folded as 20 u64 lanes (auto-vectorised).
        // wasm-size: `first_chunk` (always 8 bytes here), not `try_into().expect(..)`: the expect linked
        // `<TryFromSliceError as Debug>` and the Debug builders: -579 B gzipped wasm (47,531 -> 46,952 B).
        let mut acc = [0u64; BLOCK / 8];
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            for (a, w) in acc.iter_mut().zip(block.chunks_exact(8)) {
                *a ^= w.first_chunk().map_or(0, |l| u64::from_le_bytes(*l));
            }
        }
        for (bucket, a) in self.buckets.chunks_exact_mut(8).zip(acc) {
            let merged = bucket.first_chunk().map_or(0, |l| u64::from_le_bytes(*l)) ^ a;
            if let Some(b) = bucket.first_chunk_mut() {
                *b = merged.to_le_bytes();
            }
        }
        // Tail.
        let tail = blocks.remainder();
        for (b, &x) in self.buckets.iter_mut().zip(tail) {
            *b ^= x;
        }
    }

    /// The 20-byte digest.
    pub fn digest(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (k, &byte) in self.buckets.iter().enumerate() {
            if byte == 0 {
                continue;
            }
            let shift = (SHIFT * k) % WIDTH_BITS;
            for bit in 0..8 {
                if byte >> bit & 1 == 1 {
                    let p = (shift + bit) % WIDTH_BITS;
                    out[p / 8] ^= 1 << (p % 8);
                }
            }
        }
        for (o, l) in out[12..].iter_mut().zip(self.len.to_le_bytes()) {
            *o ^= l;
        }
        out
    }

    /// The digest as Graph reports it: standard Base64 with padding (28 characters).
    pub fn finalize(&self) -> String {
        base64(&self.digest())
    }

    /// One-shot convenience.
    pub fn hash(data: &[u8]) -> String {
        let mut h = Self::new();
        h.update(data);
        h.finalize()
    }
}

/// Standard Base64 with padding. Written out (a dozen lines) rather than taken from the `base64`
/// crate: no panicking `expect` in the path, which keeps the wasm bundle small.
// wasm-size: the `base64` crate's encoder here costs 1,332 B more gzipped wasm.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = byte(0) << 16 | byte(1) << 8 | byte(2);
        for i in 0..4 {
            out.push(if i <= group.len() { char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]) } else { '=' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    #[test]
    fn base64_matches_the_base64_crate() {
        for n in 0..=23u32 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 200) as u8).collect();
            assert_eq!(base64(&data), base64::engine::general_purpose::STANDARD.encode(&data), "{n} bytes");
        }
    }

    /// The definition, bit by bit, with no folding: the reference the fast path is checked against.
    fn reference(data: &[u8]) -> String {
        let mut state = [0u8; 20];
        for (i, &byte) in data.iter().enumerate() {
            let shift = (SHIFT * i) % WIDTH_BITS;
            for bit in 0..8 {
                if byte >> bit & 1 == 1 {
                    let p = (shift + bit) % WIDTH_BITS;
                    state[p / 8] ^= 1 << (p % 8);
                }
            }
        }
        for (o, l) in state[12..].iter_mut().zip((data.len() as u64).to_le_bytes()) {
            *o ^= l;
        }
        base64::engine::general_purpose::STANDARD.encode(state)
    }

    #[test]
    fn published_vectors() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        let cases: &[(Vec<u8>, &str)] = &[
            (vec![], "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            (b"J".to_vec(), "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
            (b"hello world".to_vec(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA="),
            (b64("2fuxhBJXtpWFe8dOfdGeHw=="), "O9tHLAghgSvYohKFyMMxnNCHaHg="),
        ];
        for (input, want) in cases {
            assert_eq!(QuickXorHash::hash(input), *want, "{input:?}");
            assert_eq!(reference(input), *want, "reference {input:?}");
        }
    }

    #[test]
    fn long_inputs_match_reference() {
        for n in [159, 160, 161, 319, 320, 321, 1000, 4096, 65_537] {
            let data: Vec<u8> = (0..n).map(|i| (i * 131 + i / 7) as u8).collect();
            assert_eq!(QuickXorHash::hash(&data), reference(&data), "n = {n}");
        }
    }

    proptest! {
        #[test]
        fn random_splits_equal_one_shot(data in proptest::collection::vec(any::<u8>(), 0..3000),
                                        cuts in proptest::collection::vec(0usize..3000, 0..12)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut h = QuickXorHash::new();
            let mut last = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                h.update(&data[last..c]);
                last = c;
            }
            prop_assert_eq!(h.len(), data.len() as u64);
            prop_assert_eq!(h.finalize(), reference(&data));
        }
    }
}
