//! Concurrent uploads to different sessions, and an emulator killed mid-upload that
//! resumes the same sessions after a restart on the same data directory.

mod common;

use common::*;
use onedrive_upload_core::QuickXorHash;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn concurrent_sessions_do_not_mix() {
    let emu = start().await;
    let mut tasks = Vec::new();
    for i in 0..4u32 {
        let url = emu.session(&format!("special/approot:/temp/u/c{i}.bin:"), json!({})).await;
        let data = pattern(3_000_000 + i as usize * 1000, i + 10);
        let http = emu.http.clone();
        tasks.push(tokio::spawn(async move {
            let item = upload_all(&http, &url, &data, 327_680 * 2).await;
            (item, data)
        }));
    }
    for task in tasks {
        let (item, data) = task.await.unwrap();
        assert_eq!(item["size"], data.len());
        assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
        let stored = emu
            .http
            .get(format!("{}/_emulator/items/{}/content", emu.base, item["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(stored.bytes().await.unwrap().as_ref(), data.as_slice());
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn killed_mid_upload_then_restarted_resumes_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(2_000_000, 77);
    let first = spawn_in(dir.path(), |_| {}).await;
    let http = http();
    let (token, _) = login(&http, &first.base_url).await;
    let create = http
        .post(format!("{}/v1.0/me/drive/special/approot:/temp/u/r.bin:/createUploadSession", first.base_url))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let url: String = create.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned();
    assert_eq!(put(&http, &url, &data[..655_360], 0, 2_000_000).await.status(), 202);
    // A fragment whose body stalls half-way when the emulator dies.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tx.send(Ok(data[655_360..900_000].to_vec())).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let stalled = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.put(&url)
                .header("content-range", "bytes 655360-1310719/2000000")
                .header("content-length", "655360")
                .body(body)
                .send()
                .await
        }
    });
    wait_for_received(&http, &first.base_url, 655_360 + 1).await;
    first.shutdown().await;
    drop(tx);
    let _ = stalled.await;

    let second = spawn_in(dir.path(), |_| {}).await;
    let url = url.replace(&base_of(&url), &second.base_url);
    let status: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["655360-"]));
    let part = dir.path().join("sessions").join(format!("{}.part", url.rsplit('/').next().unwrap()));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 655_360, "interrupted bytes cut back");
    let r = put(&http, &url, &data[655_360..], 655_360, 2_000_000).await;
    assert_eq!(r.status(), 201);
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    // Tokens survive the restart too.
    let me = http
        .get(format!("{}/v1.0/me/drive/items/{}", second.base_url, item["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    second.shutdown().await;
}

#[tokio::test]
async fn a_session_without_bytes_survives_a_restart_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn_in(dir.path(), |_| {}).await;
    let http = http();
    let (token, _) = login(&http, &first.base_url).await;
    let mut urls = Vec::new();
    for name in ["idle.bin", "gone.bin"] {
        let create = http
            .post(format!("{}/v1.0/me/drive/special/approot:/temp/u/{name}:/createUploadSession", first.base_url))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        urls.push(create.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned());
    }
    let parts = || std::fs::read_dir(dir.path().join("sessions")).unwrap().count();
    assert_eq!(parts(), 0, "creating a session writes no file");
    assert_eq!(http.delete(&urls[1]).send().await.unwrap().status(), 204);
    first.shutdown().await;

    let second = spawn_in(dir.path(), |_| {}).await;
    let idle = urls[0].replace(&base_of(&urls[0]), &second.base_url);
    let gone = urls[1].replace(&base_of(&urls[1]), &second.base_url);
    let status: Value = http.get(&idle).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["0-"]));
    assert_eq!(http.get(&gone).send().await.unwrap().status(), 404);
    let data = pattern(700_000, 5);
    assert_eq!(put(&http, &idle, &data[..327_680], 0, 700_000).await.status(), 202);
    assert_eq!(parts(), 1);
    let item: Value = put(&http, &idle, &data[327_680..], 327_680, 700_000).await.json().await.unwrap();
    assert_eq!(item["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    assert_eq!(parts(), 0);
    second.shutdown().await;
}

fn base_of(url: &str) -> String {
    url.split("/upload/").next().unwrap().to_owned()
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn wait_for_received(http: &reqwest::Client, base: &str, at_least: u64) {
    for _ in 0..200 {
        let list: Value = http.get(format!("{base}/_emulator/sessions")).send().await.unwrap().json().await.unwrap();
        if list[0]["bytesReceived"].as_u64().unwrap_or(0) >= at_least
            || list[0]["putRequests"].as_u64().unwrap_or(0) >= 2
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the stalled fragment never arrived");
}
