//! Browser tests: transient faults injected at the emulator (5xx, 429/503 + Retry-After, dropped connection, stall) end with the file stored.

#[path = "support.rs"]
mod support;

use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn server_errors_back_off_and_resume() {
    for status in [500, 502, 503, 504] {
        let spec = format!(r#"{{"name":"{{name}}","status":{status}}}"#);
        let f = with_faults(&format!("status{status}"), &[&spec], None).await;
        assert_eq!(f.stored().await, vec![4], "HTTP {status}: 3 chunks + the failed PUT");
    }
}

#[wasm_bindgen_test]
async fn throttling_with_retry_after_repeats_the_request() {
    for status in [429, 503] {
        let spec = format!(r#"{{"name":"{{name}}","status":{status},"retryAfter":"1"}}"#);
        let f = with_faults(&format!("throttle{status}"), &[&spec], None).await;
        assert_eq!(f.stored().await, vec![4], "HTTP {status} + Retry-After");
    }
}

#[wasm_bindgen_test]
async fn a_connection_dropped_mid_chunk_resumes_from_the_server_offset() {
    let f = with_faults("dropped", &[r#"{"name":"{name}","dropAfterBytes":100000}"#], None).await;
    assert_eq!(f.stored().await, vec![4]);
}

#[wasm_bindgen_test]
async fn a_stalled_request_is_aborted_and_retried() {
    let f = with_faults(
        "stalled",
        &[r#"{"name":"{name}","delayMs":4000}"#],
        Some(r#"{"chunkSize":327680,"retry":{"baseDelayMs":10,"maxDelayMs":100},"stallTimeoutMs":400}"#),
    )
    .await;
    let puts = f.stored().await;
    assert!(puts[0] >= 4, "the stalled PUT was retried: {puts:?}");
}
