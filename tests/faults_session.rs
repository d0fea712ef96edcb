//! Browser tests: 416, lost sessions (404, 401, expiry), 409, repeated 400 and a corrupted hash, injected at the emulator.

#[path = "support.rs"]
mod support;

use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_416_realigns_and_continues() {
    let f = with_faults("range416", &[r#"{"name":"{name}","status":416}"#], None).await;
    assert_eq!(f.stored().await, vec![4]);
}

#[wasm_bindgen_test]
async fn a_lost_session_starts_over_with_a_new_one() {
    for (prefix, spec) in [
        ("gone404", r#"{"name":"{name}","status":404}"#),
        ("token401", r#"{"name":"{name}","status":401}"#),
        ("expired", r#"{"name":"{name}","expireSession":true}"#),
    ] {
        let f = with_faults(prefix, &[spec], None).await;
        let puts = f.stored().await;
        assert_eq!(f.sessions.len(), 2, "{prefix}: a second session was requested ({puts:?})");
    }
}

#[wasm_bindgen_test]
async fn a_409_is_a_conflict_without_retry() {
    let f = with_faults("conflict", &[r#"{"name":"{name}","status":409}"#], None).await;
    let err = f.result.unwrap_err();
    assert_eq!(code_of(&err), "conflict");
    assert_eq!(prop(&err, "status").as_f64(), Some(409.0));
    assert_eq!(f.sessions[0].put_requests, 1);
}

#[wasm_bindgen_test]
async fn repeated_400s_fail_with_client_error_after_exactly_client_error_retries() {
    let f = with_faults(
        "client400",
        &[r#"{"name":"{name}","status":400,"count":50}"#],
        Some(r#"{"chunkSize":327680,"retry":{"baseDelayMs":10,"clientErrorRetries":3}}"#),
    )
    .await;
    let err = f.result.unwrap_err();
    assert_eq!(code_of(&err), "client-error");
    assert_eq!(prop(&err, "status").as_f64(), Some(400.0));
    assert_eq!(f.sessions[0].put_requests, 4, "the first PUT and 3 retries");
}

#[wasm_bindgen_test]
async fn a_corrupted_hash_is_an_integrity_error_with_both_hashes() {
    let f = with_faults("corrupt", &[r#"{"name":"{name}","corruptHash":true}"#], None).await;
    let err = f.result.unwrap_err();
    assert_eq!(code_of(&err), "integrity");
    let local = prop(&err, "localHash").as_string().unwrap();
    let server = prop(&err, "serverHash").as_string().unwrap();
    assert_eq!(local, f.file.hash());
    assert_ne!(server, local);
    let message = prop(&err, "message").as_string().unwrap();
    assert!(message.contains(&local) && message.contains(&server), "{message}");
}

#[wasm_bindgen_test]
async fn verify_false_skips_the_hash_comparison() {
    let f = with_faults(
        "noverify",
        &[r#"{"name":"{name}","corruptHash":true}"#],
        Some(r#"{"chunkSize":327680,"verify":false}"#),
    )
    .await;
    let item = f.result.expect("not verified, so not rejected");
    assert_ne!(item_hash(&item), f.file.hash(), "the server did report a wrong hash");
    assert!(f.file.same_as(&content(&f.emulator, &prop(&item, "id").as_string().unwrap()).await));
}
