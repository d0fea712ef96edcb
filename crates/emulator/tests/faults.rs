//! The fault-injection control API: status faults with Retry-After, dropped connections,
//! delays, forced expiry, corrupt hashes, the session listing; and that it is off by default.

mod common;

use common::*;
use onedrive_upload_core::QuickXorHash;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn fault(emu: &Emu, spec: Value) {
    let r = emu.http.post(format!("{}/_emulator/faults", emu.base)).json(&spec).send().await.unwrap();
    assert_eq!(r.status(), 201, "{spec}");
    assert!(r.json::<Value>().await.unwrap()["id"].is_string());
}

async fn sessions(emu: &Emu, name: &str) -> Vec<Value> {
    let r = emu.http.get(format!("{}/_emulator/sessions?name={name}", emu.base)).send().await.unwrap();
    r.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

#[tokio::test]
async fn status_faults_fifo_with_retry_after_and_body() {
    let emu = start().await;
    let url = emu.session("root:/f.bin:", json!({})).await;
    fault(&emu, json!({"name": "f.bin", "status": 503, "retryAfter": "2", "count": 2})).await;
    fault(&emu, json!({"name": "f.bin", "status": 429, "body": {"error": {"code": "custom", "message": "m"}}})).await;
    fault(&emu, json!({"name": "other.bin", "status": 500, "method": "ANY"})).await;
    for _ in 0..2 {
        let r = put(&emu.http, &url, b"abcd", 0, 8).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(error_code(&r.json().await.unwrap()).0, "serviceNotAvailable");
    }
    let r = put(&emu.http, &url, b"abcd", 0, 8).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "custom");
    assert_eq!(put(&emu.http, &url, b"abcd", 0, 8).await.status(), 202);
    let s = &sessions(&emu, "f.bin").await[0];
    assert_eq!(
        (s["putRequests"].as_u64(), s["bytesAccepted"].as_u64(), s["state"].as_str()),
        (Some(4), Some(4), Some("active"))
    );
    assert_eq!(s["nextExpectedRanges"], json!(["4-"]));
    assert_eq!(s["uploadUrl"].as_str(), Some(url.as_str()));
    assert_eq!(s["path"], "/f.bin");
    // GET faults only hit GETs.
    fault(&emu, json!({"name": "f.bin", "status": 500, "method": "GET"})).await;
    assert_eq!(emu.http.get(&url).send().await.unwrap().status(), 500);
    assert_eq!(emu.http.get(&url).send().await.unwrap().status(), 200);
    let clear = emu.http.delete(format!("{}/_emulator/faults", emu.base)).send().await.unwrap();
    assert_eq!(clear.status(), 204);
    let bad =
        emu.http.post(format!("{}/_emulator/faults", emu.base)).json(&json!({"name": "f.bin"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn dropped_connection_delay_expiry_and_corrupt_hash() {
    let emu = start().await;
    let data = pattern(400_000, 5);
    let url = emu.session("root:/g.bin:", json!({})).await;
    fault(&emu, json!({"name": "g.bin", "dropAfterBytes": 100_000})).await;
    let dropped =
        emu.http.put(&url).header("content-range", "bytes 0-199999/400000").body(data[..200_000].to_vec()).send().await;
    assert!(dropped.is_err(), "expected a dropped connection, got {dropped:?}");
    let s = &sessions(&emu, "g.bin").await[0];
    assert!(s["bytesReceived"].as_u64().unwrap() >= 100_000);
    assert_eq!(s["bytesAccepted"], 0);

    fault(&emu, json!({"name": "g.bin", "delayMs": 300})).await;
    let started = Instant::now();
    assert_eq!(put(&emu.http, &url, &data[..200_000], 0, 400_000).await.status(), 202);
    assert!(started.elapsed() >= Duration::from_millis(300));

    fault(&emu, json!({"name": "g.bin", "corruptHash": true})).await;
    let item: Value = put(&emu.http, &url, &data[200_000..], 200_000, 400_000).await.json().await.unwrap();
    let reported = item["file"]["hashes"]["quickXorHash"].as_str().unwrap().to_owned();
    assert_ne!(reported, QuickXorHash::hash(&data));
    assert_eq!(reported.len(), 28);
    let stored: Value = emu.get(&format!("items/{}", item["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(stored["file"]["hashes"]["quickXorHash"], reported.as_str());
    let s = &sessions(&emu, "g.bin").await[0];
    assert_eq!((s["state"].as_str(), s["itemId"].as_str()), (Some("completed"), item["id"].as_str()));

    let url = emu.session("root:/h.bin:", json!({})).await;
    fault(&emu, json!({"name": "h.bin", "expireSession": true})).await;
    assert_eq!(put(&emu.http, &url, b"abc", 0, 3).await.status(), 404);
    assert_eq!(sessions(&emu, "h.bin").await[0]["state"], "expired");
    let content = emu
        .http
        .get(format!("{}/_emulator/items/{}/content", emu.base, item["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(content.bytes().await.unwrap().as_ref(), data.as_slice());
    assert_eq!(emu.http.get(format!("{}/_emulator/items/nope/content", emu.base)).send().await.unwrap().status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn control_api_is_off_by_default() {
    let emu = start_with(|c| c.fault_injection = false).await;
    let r = emu
        .http
        .post(format!("{}/_emulator/faults", emu.base))
        .json(&json!({"name": "a", "status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(emu.http.get(format!("{}/_emulator/sessions", emu.base)).send().await.unwrap().status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn control_api_answers_cors_preflights_and_still_refuses_other_methods() {
    let emu = start().await;
    let url = format!("{}/_emulator/faults", emu.base);
    let r = emu
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://page.example:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "preflight answered {}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let put = emu.http.put(&url).header("origin", "http://page.example:3000").send().await.unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["access-control-allow-origin"], "*");
    assert_eq!(error_code(&put.json().await.unwrap()).0, "invalidRequest");
    emu.shutdown().await;
}

#[tokio::test]
async fn drop_answer_processes_the_request_then_closes_the_connection() {
    let emu = start().await;
    let data = pattern(10, 7);
    // The last fragment commits, and its answer is lost.
    let url = emu.session("root:/lost.bin:", json!({})).await;
    fault(&emu, json!({"name": "lost.bin", "dropAnswer": true})).await;
    let lost = emu.http.put(&url).header("content-range", "bytes 0-9/10").body(data.clone()).send().await;
    assert!(lost.is_err(), "expected no answer, got {lost:?}");
    let s = &sessions(&emu, "lost.bin").await[0];
    assert_eq!((s["state"].as_str(), s["bytesAccepted"].as_u64()), (Some("completed"), Some(10)));
    let item: Value = emu.get("root:/lost.bin").await.json().await.unwrap();
    assert_eq!(item["size"], 10);
    assert_eq!(emu.http.get(&url).send().await.unwrap().status(), 404, "a committed session is gone");
    // A GET is answered for the server's state, then dropped; the next GET answers.
    let url = emu.session("root:/get.bin:", json!({})).await;
    assert_eq!(put(&emu.http, &url, &data[..4], 0, 10).await.status(), 202);
    fault(&emu, json!({"name": "get.bin", "dropAnswer": true, "method": "GET"})).await;
    assert!(emu.http.get(&url).send().await.is_err());
    assert_eq!(
        emu.http.get(&url).send().await.unwrap().json::<Value>().await.unwrap()["nextExpectedRanges"],
        json!(["4-"])
    );
    // A deferred commit POST commits, and its answer is lost.
    let url = emu.session("root:/deferred.bin:", json!({"deferCommit": true})).await;
    assert_eq!(put(&emu.http, &url, &data, 0, 10).await.status(), 202);
    fault(&emu, json!({"name": "deferred.bin", "dropAnswer": true, "method": "POST"})).await;
    assert!(emu.http.post(&url).header("content-length", "0").send().await.is_err());
    assert_eq!(sessions(&emu, "deferred.bin").await[0]["state"], "completed");
    assert_eq!(emu.get("root:/deferred.bin").await.json::<Value>().await.unwrap()["size"], 10);
    emu.shutdown().await;
}
