//! Exponential backoff with full jitter ("AWS full jitter"): `random(0, min(cap, base * 2^n))`.

/// The delay before retry number `attempt` (0 for the first retry), given a uniform random
/// `unit` in `[0, 1)`. Never exceeds `max_ms`; never overflows however large `attempt` is.
pub fn backoff_delay_ms(attempt: u32, base_ms: u64, max_ms: u64, unit: f64) -> u64 {
    let ceiling = base_ms.saturating_mul(1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX)).min(max_ms);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
    // Non-negative, so `as` (truncation) is the floor; `f64::floor` is std-only.
    ((ceiling as f64) * unit).min(ceiling as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (attempt, base, max, unit) -> delay
        let cases = [
            (0, 1000, 60_000, 0.0, 0),
            (0, 1000, 60_000, 0.5, 500),
            (0, 1000, 60_000, 0.999_999, 999),
            (1, 1000, 60_000, 0.5, 1000),
            (3, 1000, 60_000, 0.5, 4000),
            (6, 1000, 60_000, 0.5, 30_000),
            (7, 1000, 60_000, 0.5, 30_000),
            (7, 1000, 60_000, 1.0, 60_000),
            (200, 1000, 60_000, 0.25, 15_000),
            (u32::MAX, u64::MAX, u64::MAX, 0.5, (u64::MAX as f64 * 0.5) as u64),
            (2, 10, 1000, f64::NAN, 0),
            (2, 10, 1000, -3.0, 0),
            (2, 0, 1000, 0.9, 0),
        ];
        for (attempt, base, max, unit, want) in cases {
            assert_eq!(backoff_delay_ms(attempt, base, max, unit), want, "{attempt} {base} {max} {unit}");
        }
    }
}
