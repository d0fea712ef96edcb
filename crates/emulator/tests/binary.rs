//! The `onedrive-emulator` binary: prints `listening on http://ADDR`, and after a SIGKILL
//! in the middle of an upload, a restart on the same data directory resumes the session.

mod common;

use common::*;
use onedrive_upload_core::QuickXorHash;
use onedrive_upload_testkit::ListeningChild;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn launch(data: &std::path::Path, extra: &[&str]) -> ListeningChild {
    ListeningChild::spawn(
        Command::new(env!("CARGO_BIN_EXE_onedrive-emulator"))
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .stderr(Stdio::null()),
    )
}

#[tokio::test]
async fn sigkill_mid_upload_then_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let first = launch(dir.path(), &["--graph-latency-ms", "150"]);
    let base = first.url.clone();
    let http = http();
    let (token, _) = login(&http, &base).await;
    let started = Instant::now();
    let r = http
        .post(format!("{base}/v1.0/me/drive/special/approot:/temp/u/k.bin:/createUploadSession"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150), "--graph-latency-ms not applied");
    let url = r.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned();
    let data = pattern(1_500_000, 42);
    assert_eq!(put(&http, &url, &data[..655_360], 0, 1_500_000).await.status(), 202);
    first.kill();

    let second = launch(dir.path(), &[]);
    let base2 = second.url.clone();
    let url = url.replace(url.split("/upload/").next().unwrap(), &base2);
    let status: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!(["655360-"]));
    let r = put(&http, &url, &data[655_360..], 655_360, 1_500_000).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(&data));
    // Fault injection is off unless asked for.
    assert_eq!(http.get(format!("{base2}/_emulator/sessions")).send().await.unwrap().status(), 404);
    second.kill();
}
