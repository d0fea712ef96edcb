//! Deterministic pseudo-random test bytes: xorshift32 seeded from `seed`, the same sequence as
//! `makeBytes(size, seed)` in `tests/e2e/lib/harness.mjs`, so Rust and JS tests agree on content.

/// Fills `buf` with the sequence of `seed` (the first `buf.len()` bytes of [`pattern`]).
pub fn fill(buf: &mut [u8], seed: u32) {
    let mut x = seed.wrapping_mul(2_654_435_761);
    if x == 0 {
        x = 1;
    }
    for b in buf {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
}

/// `n` pseudo-random bytes of the sequence of `seed`: incompressible enough for hashes and
/// transfers, and the same on every run.
pub fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut v = vec![0; n];
    fill(&mut v, seed);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_js_generator_and_differs_by_seed() {
        // makeBytes(8, 1) in tests/e2e/lib/harness.mjs.
        assert_eq!(pattern(8, 1), [0x11, 0x36, 0x13, 0xcf, 0x93, 0x3b, 0x2c, 0x68]);
        assert_ne!(pattern(64, 1), pattern(64, 2));
        assert_eq!(pattern(64, 0)[..8], pattern(8, 0)[..]);
        let mut half = [0u8; 32];
        fill(&mut half, 7);
        assert_eq!(half[..], pattern(64, 7)[..32]);
    }
}
