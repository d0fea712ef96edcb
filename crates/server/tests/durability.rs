//! Library over loopback, Microsoft mode against the real emulator: a refresh-token rotation whose
//! file write fails keeps the account (served from memory, retried, `/healthz` degraded), and
//! per-user limits on session creation; Graph's own throttling reaches clients as 503 + Retry-After.

mod live;

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use clap::Parser;
use onedrive_upload_server::config::Config;
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::{app, AppState};
use serde_json::{json, Value};

/// A server (library) bound on loopback with the Microsoft-mode flags plus `extra`.
async fn serve(emulator: &str, data: &std::path::Path, extra: &[&str]) -> (AppState, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let mut args = vec!["t".to_owned()];
    args.extend(live::microsoft_args(emulator, data));
    args.extend(extra.iter().map(|s| s.to_string()));
    let config = Config::parse_from(args);
    config.validate().unwrap();
    let (options, auth) = config.build(None, local).unwrap();
    let state = AppState::new(options, auth).unwrap();
    let router = app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (state, format!("http://{local}"))
}

async fn create(base: &str, user: &str, name: &str, size: u64) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/cloud/file"))
        .bearer_auth(live::token(user))
        .json(&json!({"filename": name, "size": size}))
        .send()
        .await
        .unwrap()
}

async fn health(base: &str) -> Value {
    reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_failed_token_write_keeps_the_account_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let data = dir.path().join("data");
    let (state, base) = serve(&emulator.base_url, &data, &[]).await;
    connect_account(&state).await.unwrap();
    let file = data.join("tokens.json");
    let stored = |p: &std::path::Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let first = stored(&file);

    // The token file's directory becomes unwritable (replaced by a file: this holds even for root).
    let away = dir.path().join("data.away");
    std::fs::rename(&data, &away).unwrap();
    std::fs::write(&data, b"not a directory").unwrap();
    for round in 0..2 {
        state.tokens().expire_access_token();
        let response = create(&base, "alice", &format!("r{round}.bin"), 10).await;
        assert_eq!(response.status(), 200, "served with the rotated token from memory: {:?}", response.text().await);
        let h = health(&base).await;
        assert_eq!(h["status"], "degraded", "{h}");
        assert_eq!(h["account"], "connected");
        assert!(h["reason"].as_str().unwrap().contains("token file"), "{h}");
    }
    assert_eq!(stored(&away.join("tokens.json")), first, "the old file is kept, never deleted");

    // The directory comes back: the retry writes the newest tokens and the server is healthy again.
    std::fs::remove_file(&data).unwrap();
    std::fs::rename(&away, &data).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while health(&base).await["status"] != "ok" {
        assert!(std::time::Instant::now() < deadline, "still degraded: {}", health(&base).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = stored(&file);
    assert_ne!(now["refresh_token"], first["refresh_token"]);
    // A restarted server (a new state from the file) refreshes with what was written: the newest token.
    let (again, base2) = serve(&emulator.base_url, &data, &[]).await;
    again.tokens().expire_access_token();
    assert_eq!(create(&base2, "bob", "after.bin", 10).await.status(), 200);
    assert_eq!(again.tokens().refresh_count(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn per_user_session_limits_answer_429_with_retry_after() {
    let defaults = Config::parse_from(["t"]);
    assert_eq!((defaults.sessions_per_minute, defaults.max_live_sessions), (60, 20));
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let extra = ["--sessions-per-minute", "4", "--max-live-sessions", "2"];
    let (state, base) = serve(&emulator.base_url, &dir.path().join("data"), &extra).await;
    connect_account(&state).await.unwrap();
    let mut urls = Vec::new();
    for i in 0..2 {
        let response = create(&base, "alice", &format!("{i}.bin"), 10).await;
        assert_eq!(response.status(), 200);
        urls.push(response.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned());
    }
    let live = create(&base, "alice", "2.bin", 10).await;
    assert_eq!(live.status(), 429, "two uploads in progress");
    let wait: u64 = live.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    let body: Value = live.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    assert_eq!(create(&base, "bob", "b.bin", 10).await.status(), 200, "limits are per user");
    // One upload completes: its slot is free again (the server asks Graph when at the limit).
    let put = reqwest::Client::new().put(&urls[0]).header("content-range", "bytes 0-9/10").body(vec![1u8; 10]);
    assert_eq!(put.send().await.unwrap().status(), 201);
    assert_eq!(create(&base, "alice", "2.bin", 10).await.status(), 200);
    // Empty files are no live sessions, but count towards the rate (refusals do not).
    assert_eq!(create(&base, "alice", "e1.bin", 0).await.status(), 201);
    let rate = create(&base, "alice", "e2.bin", 0).await;
    assert_eq!(rate.status(), 429, "rate: 4 per minute (3 sessions, 1 empty file)");
    let wait: u64 = rate.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn graph_throttling_reaches_clients_as_503_with_retry_after() {
    // A Graph that throttles every request: 429 then 503, each with its Retry-After.
    let answers = std::sync::Arc::new(std::sync::Mutex::new(vec![(503u16, "3"), (429u16, "7")]));
    let stub = axum::Router::new().fallback(move || {
        let answers = answers.clone();
        async move {
            let (status, retry) = answers.lock().unwrap().pop().unwrap_or((503, "1"));
            let body = json!({"error": {"code": "activityLimitReached", "message": "throttled"}});
            (StatusCode::from_u16(status).unwrap(), [(header::RETRY_AFTER, retry)], axum::Json(body)).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let now = live::now();
    let tokens = json!({"access_token": "AT", "refresh_token": "RT", "expires_at": now + 3600, "obtained_at": now});
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("tokens.json"), tokens.to_string()).unwrap();
    let (_state, base) = serve(&graph, &data, &[]).await;
    for want in ["7", "3"] {
        let response = create(&base, "alice", "t.bin", 10).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], want);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upstream_unavailable");
    }
}
