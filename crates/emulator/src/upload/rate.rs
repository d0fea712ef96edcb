//! `--ingest-rate-mbps`: one token bucket shared by every upload body, so that uploads run at a
//! real network's rate instead of loopback speed (benchmarks only; off by default).
//!
//! The bucket is a virtual clock (GCRA): each frame read from a body books `len / rate` seconds
//! after the previous booking; a frame whose booking lies more than [`BURST`] ahead of now waits
//! for it. While a body waits its socket is not read, so TCP flow control slows the sender.

use axum::body::Body;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How far ahead of its rate a body may run (the bucket's depth, as time).
const BURST: Duration = Duration::from_millis(10);

/// The shared upload-body rate limit.
#[derive(Debug)]
pub struct IngestRate {
    bytes_per_sec: f64,
    /// When the bytes booked so far will have "arrived" at the configured rate.
    booked_until: Mutex<Instant>,
}

impl IngestRate {
    /// A limit of `bytes_per_sec` (more than 0) over all upload bodies together.
    pub fn new(bytes_per_sec: u64) -> Arc<IngestRate> {
        Arc::new(IngestRate { bytes_per_sec: bytes_per_sec.max(1) as f64, booked_until: Mutex::new(Instant::now()) })
    }

    /// Books `len` bytes at `now`; returns how long to wait before reading them.
    fn book(&self, len: usize, now: Instant) -> Duration {
        let mut until = self.booked_until.lock().unwrap_or_else(|e| e.into_inner());
        *until = (*until).max(now) + Duration::from_secs_f64(len as f64 / self.bytes_per_sec);
        until.saturating_duration_since(now).saturating_sub(BURST)
    }

    /// `body`, read no faster than the limit allows (shared with every other limited body).
    pub fn limit(self: &Arc<Self>, body: Body) -> Body {
        let rate = self.clone();
        Body::from_stream(body.into_data_stream().then(move |frame| {
            let wait = frame.as_ref().map_or(Duration::ZERO, |f| rate.book(f.len(), Instant::now()));
            async move {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                frame
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn bookings_follow_the_rate_after_the_burst() {
        let rate = IngestRate::new(1_000_000);
        let t0 = *rate.booked_until.lock().unwrap();
        assert_eq!(rate.book(5_000, t0), Duration::ZERO, "5 ms of bytes fit in the burst");
        assert_eq!(rate.book(10_000, t0), Duration::from_millis(5), "15 ms booked: 5 ms past the burst");
        let later = t0 + Duration::from_secs(1);
        assert_eq!(rate.book(1_000, later), Duration::ZERO, "an idle bucket does not save up more than the burst");
    }

    #[tokio::test]
    async fn a_limited_body_takes_its_time_and_keeps_its_bytes() {
        let rate = IngestRate::new(1_000_000);
        let frames: Vec<Result<Vec<u8>, std::io::Error>> = (0..10).map(|i| Ok(vec![i as u8; 20_000])).collect();
        let body = rate.limit(Body::from_stream(futures_util::stream::iter(frames)));
        let start = Instant::now();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 200_000);
        assert_eq!(bytes[199_999], 9);
        // 200 ms of bytes at 1 MB/s, less the 10 ms burst (a loaded machine may take longer).
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
    }
}
