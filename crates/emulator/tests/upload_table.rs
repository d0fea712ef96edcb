//! Every row of the upload-URL answers table of docs/protocol.md, over real loopback HTTP.

mod common;

use common::*;
use onedrive_upload_core::QuickXorHash;
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn fragments_202_then_201_with_hash_and_size() {
    let emu = start().await;
    let data = pattern(1_000_000, 1);
    let url = emu.session("special/approot:/temp/alice/a.bin:", json!({})).await;
    assert!(url.starts_with(&format!("{}/upload/", emu.base)));
    assert!(url.rsplit('/').next().unwrap().len() >= 22, "session id too short for 128 bits");
    let r = put(&emu.http, &url, &data[..327_680], 0, 1_000_000).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["nextExpectedRanges"], json!(["327680-"]));
    assert!(onedrive_upload_core::time::parse_millis(v["expirationDateTime"].as_str().unwrap()).is_ok());
    let status: Value = emu.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["327680-"]));
    let r = put(&emu.http, &url, &data[327_680..], 327_680, 1_000_000).await;
    assert_eq!(r.status(), 201);
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["name"], "a.bin");
    assert_eq!(item["size"], 1_000_000);
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    assert_eq!(item["parentReference"]["path"], "/drive/root:/Apps/onedrive-upload/temp/alice");
    let stored = emu
        .http
        .get(format!("{}/_emulator/items/{}/content", emu.base, item["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.bytes().await.unwrap().as_ref(), data.as_slice());
    // Completed: the session is gone.
    assert_eq!(emu.http.get(&url).send().await.unwrap().status(), 404);
    let r = put(&emu.http, &url, &data[..10], 0, 1_000_000).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(&r.json().await.unwrap()).0, "itemNotFound");
    emu.shutdown().await;
}

#[tokio::test]
async fn overlap_gap_total_and_malformed_ranges() {
    let emu = start().await;
    let data = pattern(100, 2);
    let url = emu.session("root:/t/r.bin:", json!({})).await;
    assert_eq!(put(&emu.http, &url, &data[..40], 0, 100).await.status(), 202);
    let overlap = put(&emu.http, &url, &data[30..60], 30, 100).await;
    assert_eq!(overlap.status(), 416);
    assert_eq!(error_code(&overlap.json().await.unwrap()), ("invalidRange", Some("fragmentOverlap")));
    let gap = put(&emu.http, &url, &data[50..60], 50, 100).await;
    assert_eq!(gap.status(), 416);
    assert_eq!(error_code(&gap.json().await.unwrap()), ("invalidRange", Some("fragmentOutOfOrder")));
    let mismatch = put(&emu.http, &url, &data[40..60], 40, 101).await;
    assert_eq!(mismatch.status(), 400);
    assert_eq!(error_code(&mismatch.json().await.unwrap()), ("invalidRequest", Some("fragmentLengthMismatch")));
    for bad in [
        None,
        Some("bytes 40-59"),
        Some("bytes=40-59/100"),
        Some("bytes 40-39/100"),
        Some("bytes 40-100/100"),
        Some("bytes */100"),
        Some("bytes 40-49/100"),
    ] {
        let mut req = emu.http.put(&url).body(data[40..60].to_vec());
        if let Some(h) = bad {
            req = req.header(CONTENT_RANGE, h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
        assert_eq!(error_code(&r.json().await.unwrap()).0, "invalidRequest");
    }
    // Nothing of the refused requests was counted.
    let status: Value = emu.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["40-"]));
    let item = upload_rest(&emu, &url, &data, 40).await;
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    emu.shutdown().await;
}

async fn upload_rest(emu: &Emu, url: &str, data: &[u8], from: usize) -> Value {
    let r = put(&emu.http, url, &data[from..], from as u64, data.len() as u64).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn length_required_too_large_and_authorization_refused() {
    let emu = start().await;
    let url = emu.session("root:/big.bin:", json!({})).await;
    let path = url.trim_start_matches(&emu.base).to_owned();
    let host = emu.base.trim_start_matches("http://");
    let chunked = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Range: bytes 0-9/100\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    assert_eq!(raw_status(&emu.base, chunked).await, 411);
    let huge = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Range: bytes 0-62914560/100000000\r\nContent-Length: 62914561\r\n\r\n");
    assert_eq!(raw_status(&emu.base, huge).await, 413);
    // The 413's codes as Graph documents them.
    let huge = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Range: bytes 0-62914560/100000000\r\nContent-Length: 62914561\r\n\r\n");
    let (status, body) = raw_json(&emu.base, huge).await;
    assert_eq!((status, error_code(&body)), (413, ("invalidRequest", Some("maxFragmentLengthExceeded"))));
    let r = emu
        .http
        .put(&url)
        .header(CONTENT_RANGE, "bytes 0-9/100")
        .header(AUTHORIZATION, "Bearer x")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = emu.http.get(&url).header(AUTHORIZATION, "Bearer x").send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Exactly 60 MiB is allowed.
    let max = vec![7u8; 62_914_560];
    let r = put(&emu.http, &url, &max, 0, 100_000_000).await;
    assert_eq!(r.status(), 202);
    emu.shutdown().await;
}

#[tokio::test]
async fn cancel_and_expiry_give_404_and_leave_no_temp_files() {
    let emu = start_with(|c| c.session_ttl = Duration::from_millis(600)).await;
    let parts = emu.dir.path().join("sessions");
    let count = || std::fs::read_dir(&parts).unwrap().count();
    let cancelled = emu.session("root:/c.bin:", json!({})).await;
    assert_eq!(put(&emu.http, &cancelled, b"abc", 0, 10).await.status(), 202);
    assert_eq!(count(), 1);
    assert_eq!(emu.http.delete(&cancelled).send().await.unwrap().status(), 204);
    assert_eq!(count(), 0);
    assert_eq!(emu.http.delete(&cancelled).send().await.unwrap().status(), 404);
    let r = emu.http.get(&cancelled).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(&r.json().await.unwrap()), ("itemNotFound", Some("uploadSessionNotFound")));
    assert_eq!(put(&emu.http, &cancelled, b"def", 3, 10).await.status(), 404);

    // Sliding expiry: each accepted fragment extends the session.
    let sliding = emu.session("root:/s.bin:", json!({})).await;
    for i in 0..3u64 {
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(put(&emu.http, &sliding, b"x", i, 10).await.status(), 202, "fragment {i}");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(emu.http.get(&sliding).send().await.unwrap().status(), 404);
    assert_eq!(put(&emu.http, &sliding, b"x", 3, 10).await.status(), 404);
    assert_eq!(count(), 0);
    let sessions: Value =
        emu.http.get(format!("{}/_emulator/sessions", emu.base)).send().await.unwrap().json().await.unwrap();
    let states: Vec<&str> = sessions.as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["cancelled", "expired"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn strict_fragment_alignment_is_a_setting() {
    let lax = start().await;
    let url = lax.session("root:/l.bin:", json!({})).await;
    assert_eq!(put(&lax.http, &url, &[1; 1000], 0, 2000).await.status(), 202);
    lax.shutdown().await;
    let strict = start_with(|c| c.strict_fragment_alignment = true).await;
    let url = strict.session("root:/l.bin:", json!({})).await;
    // Documented: "less than 60 MiB", so exactly 62,914,560 bytes is refused in strict mode
    // (before the body is read).
    let path = url.trim_start_matches(&strict.base).to_owned();
    let host = strict.base.trim_start_matches("http://");
    let exact = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Range: bytes 0-62914559/100000000\r\nContent-Length: 62914560\r\n\r\n");
    assert_eq!(raw_status(&strict.base, exact).await, 413);
    assert_eq!(put(&strict.http, &url, &[1; 1000], 0, 700_000).await.status(), 400);
    assert_eq!(put(&strict.http, &url, &vec![1; 327_680], 0, 700_000).await.status(), 202);
    let r = put(&strict.http, &url, &vec![1; 372_320], 327_680, 700_000).await;
    assert_eq!(r.status(), 201, "the last fragment may be any length");
    strict.shutdown().await;
}

#[tokio::test]
async fn interrupted_fragment_is_discarded() {
    let emu = start().await;
    let data = pattern(300_000, 3);
    let url = emu.session("root:/i.bin:", json!({})).await;
    assert_eq!(put(&emu.http, &url, &data[..100_000], 0, 300_000).await.status(), 202);
    // A body that breaks half-way: the connection dies, nothing is counted.
    let half = data[100_000..150_000].to_vec();
    let stream = futures_util::stream::iter(vec![Ok(half), Err(std::io::Error::other("cut"))]);
    let r = emu
        .http
        .put(&url)
        .header(CONTENT_RANGE, "bytes 100000-199999/300000")
        .header(reqwest::header::CONTENT_LENGTH, "100000")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().status() != 202);
    let status: Value = emu.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["100000-"]));
    let item = upload_rest(&emu, &url, &data, 100_000).await;
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    emu.shutdown().await;
}

#[tokio::test]
async fn early_errors_are_readable_while_a_large_body_is_sent() {
    let emu = start().await;
    let url = emu.session("root:/e.bin:", json!({})).await;
    let big = vec![5u8; 8 << 20];
    for _ in 0..3 {
        let r = put(&emu.http, &url, &big, 100, 20 << 20).await;
        assert_eq!(r.status(), 416);
    }
    let r = emu
        .http
        .post(format!("{}/_emulator/faults", emu.base))
        .json(&json!({"name": "e.bin", "status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(put(&emu.http, &url, &big, 0, 20 << 20).await.status(), 503);
    let list: Value =
        emu.http.get(format!("{}/_emulator/sessions", emu.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["bytesReceived"], 4 * (8 << 20));
    assert_eq!(list[0]["bytesAccepted"], 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn defer_commit_waits_for_post() {
    let emu = start().await;
    let url = emu.session("root:/later.bin:", json!({"deferCommit": true})).await;
    let r = put(&emu.http, &url, b"deferred", 0, 8).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["nextExpectedRanges"], json!([]));
    assert_eq!(emu.get("root:/later.bin").await.status(), 404, "not visible before the commit");
    let r = emu.http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(b"deferred"));
    assert_eq!(emu.get("root:/later.bin").await.status(), 200);
    assert_eq!(emu.http.post(&url).send().await.unwrap().status(), 404);
    emu.shutdown().await;
}
