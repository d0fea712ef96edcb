//! Zero blocking: no session request waits on another's Graph call. One user's request whose
//! Graph answer is slow is in flight while many fast ones (same user and others) come and go.

mod common;

use common::{connected, token};
use onedrive_upload_server::app;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long Graph holds the slow request.
const SLOW_MS: u64 = 4_000;
/// Fast requests sent while it is held.
const FAST: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_graph_answer_does_not_hold_up_other_requests() {
    let (graph, _dir, st, _) = connected().await;
    *graph.probe.slow_path.lock().unwrap() = Some(("slow.bin".into(), SLOW_MS));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app(st)).await });
    let client = reqwest::Client::new();
    let post = |user: &str, name: String| {
        let request = client
            .post(format!("{base}/api/cloud/file"))
            .bearer_auth(token(user))
            .json(&json!({"filename": name, "size": 1_048_576}));
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body, started.elapsed())
        }
    };

    let slow = tokio::spawn(post("carol", "slow.bin".into()));
    let held = Instant::now();
    while graph.probe.slow_started.load(Ordering::SeqCst) == 0 {
        assert!(held.elapsed() < Duration::from_secs(10), "the slow request never reached Graph");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let start = Instant::now();
    let fast: Vec<_> = (0..FAST)
        .map(|i| tokio::spawn(post(if i % 2 == 0 { "carol" } else { "dave" }, format!("fast-{i}.bin"))))
        .collect();
    for task in fast {
        let (status, body, took) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["uploadUrl"].is_string(), "{body}");
        assert!(took < Duration::from_millis(SLOW_MS / 2), "a fast request took {took:?}");
    }
    let all_fast = start.elapsed();
    assert!(!slow.is_finished(), "the slow request should still be held by Graph");
    assert!(all_fast < Duration::from_millis(SLOW_MS / 2), "the fast requests took {all_fast:?} together");
    let (status, body, took) = slow.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(took >= Duration::from_millis(SLOW_MS), "{took:?}");
    server.abort();
}
