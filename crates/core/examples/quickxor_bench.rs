//! QuickXorHash throughput benchmark: hashes 1 GiB in 10 MiB slices (taken in turn from a
//! 128 MiB buffer, so the data comes from memory rather than cache), several rounds, and
//! prints the median in GB/s (target >= 1 GB/s natively).
//!
//! `cargo run --release -p onedrive-upload-core --example quickxor_bench [rounds]`

use onedrive_upload_core::QuickXorHash;
use std::time::Instant;

const SLICE: usize = 10 * 1024 * 1024;
const TOTAL: usize = 1024 * 1024 * 1024;
const BUFFER: usize = 128 * 1024 * 1024;

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let buffer = onedrive_upload_testkit::pattern(BUFFER, 1);
    let mut rates = Vec::with_capacity(rounds);
    let mut last = String::new();
    for round in 0..rounds {
        let started = Instant::now();
        let mut h = QuickXorHash::new();
        let mut done = 0;
        while done < TOTAL {
            let at = done % BUFFER;
            let n = SLICE.min(TOTAL - done).min(BUFFER - at);
            h.update(std::hint::black_box(&buffer[at..at + n]));
            done += n;
        }
        assert_eq!(h.len(), TOTAL as u64);
        last = h.finalize();
        let secs = started.elapsed().as_secs_f64();
        let gbps = TOTAL as f64 / secs / 1e9;
        println!("round {round}: {gbps:.2} GB/s");
        rates.push(gbps);
    }
    rates.sort_by(f64::total_cmp);
    println!("hash {last}");
    println!("median {:.2} GB/s over {rounds} rounds of 1 GiB in 10 MiB slices", rates[rounds / 2]);
}
