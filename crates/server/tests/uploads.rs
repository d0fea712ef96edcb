//! Per-upload folders against the real embedded emulator: the `statusUrl` route (owner, another
//! user, not committed, committed), folders removed on move, delete and cancel, and the temp
//! retention sweep with a clock the test moves.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::Router;
use clap::Parser;
use onedrive_emulator::{spawn, EmulatorConfig, RunningEmulator};
use onedrive_upload_server::config::Config;
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::sweep::sweep_temp;
use onedrive_upload_server::{app, AppState};
use serde_json::{json, Value};

struct Running {
    emulator: RunningEmulator,
    state: AppState,
    router: Router,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config =
        EmulatorConfig { data_dir: dir.path().join("emulator"), graph_latency: Duration::ZERO, ..Default::default() };
    let emulator = spawn(config, listener).await.unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let config = Config::parse_from(["t", "--dev", "--data-dir", &data]);
    let (options, _) = config.build(Some(&emulator.base_url), "127.0.0.1:1".parse().unwrap()).unwrap();
    let state = common::state(options);
    connect_account(&state).await.unwrap();
    let router = app(state.clone());
    Running { emulator, state, router, _dir: dir }
}

impl Running {
    async fn call(&self, method: Method, uri: &str, user: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, body) = common::call(&self.router, method, uri, Some(user), body).await;
        (status, body)
    }

    /// A session for `name` as `user`: (uploadUrl, statusUrl).
    async fn session(&self, user: &str, name: &str, size: usize) -> (String, String) {
        let body = json!({"filename": name, "size": size});
        let (status, s) = self.call(Method::POST, "/api/cloud/file", user, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        (s["uploadUrl"].as_str().unwrap().to_owned(), s["statusUrl"].as_str().unwrap().to_owned())
    }

    /// Paths of the files and folders below `temp/{user}` (one level).
    async fn temp_entries(&self, user: &str) -> Vec<String> {
        match self.state.graph().children_by_path(&["temp", user]).await {
            Ok(items) => items.into_iter().map(|i| i.name).collect(),
            Err(_) => Vec::new(),
        }
    }
}

async fn put_all(url: &str, bytes: &[u8]) -> Value {
    let range = format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len());
    let r = reqwest::Client::new().put(url).header("content-range", range).body(bytes.to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn status_url_answers_the_owner_the_committed_item_only() {
    let r = start().await;
    let (upload_url, status_url) = r.session("alice", "report.pdf", 10).await;
    assert!(status_url.starts_with("/api/cloud/upload/") && status_url.len() == 18 + 32, "{status_url}");
    // Not committed yet.
    let (status, b) = r.call(Method::GET, &status_url, "alice", None).await;
    assert_eq!((status, b["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_committed")));
    let item = put_all(&upload_url, b"0123456789").await;
    // Committed: the same item, under the name the user chose, in a folder of its own.
    let (status, got) = r.call(Method::GET, &status_url, "alice", None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!((&got["id"], &got["name"], &got["size"]), (&item["id"], &json!("report.pdf"), &json!(10)));
    assert!(got.get("@microsoft.graph.downloadUrl").is_none());
    let parent = got["parentReference"]["path"].as_str().unwrap();
    assert!(parent.ends_with(&format!("/temp/alice/{}", &status_url[18..])), "{parent}");
    // Another user's statusUrl: 404 like an unknown one; malformed ids too.
    let (status, b) = r.call(Method::GET, &status_url, "bob", None).await;
    assert_eq!((status, b["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_committed")));
    for bad in ["/api/cloud/upload/..", "/api/cloud/upload/ABC", "/api/cloud/upload/0123"] {
        assert_eq!(r.call(Method::GET, bad, "alice", None).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
    let (status, _, _) = common::call(&r.router, Method::GET, &status_url, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The owner can read and move it; the move removes the upload's folder.
    let id = item["id"].as_str().unwrap();
    let (status, _) = r.call(Method::GET, &format!("/api/cloud/file/{id}"), "alice", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r.temp_entries("alice").await.len(), 1);
    let (status, moved) = r
        .call(Method::POST, &format!("/api/cloud/file/{id}/move"), "alice", Some(json!({"folder": "documents"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(r.temp_entries("alice").await, Vec::<String>::new(), "the upload's folder went with the move");
    let (status, _) = r.call(Method::GET, &status_url, "alice", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    r.emulator.shutdown().await;
}

#[tokio::test]
async fn delete_and_cancel_remove_the_upload_folder() {
    let r = start().await;
    let (upload_url, _) = r.session("carol", "a.bin", 3).await;
    let item = put_all(&upload_url, b"abc").await;
    let (_, cancelled) = r.session("carol", "b.bin", 3).await;
    assert_eq!(r.temp_entries("carol").await.len(), 2);
    // Cancel: the folder of the session goes; another user's cancel touches nothing.
    assert_eq!(r.call(Method::DELETE, &cancelled, "dave", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(r.temp_entries("carol").await.len(), 2);
    assert_eq!(r.call(Method::DELETE, &cancelled, "carol", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(r.temp_entries("carol").await.len(), 1);
    assert_eq!(r.call(Method::DELETE, &cancelled, "carol", None).await.0, StatusCode::NO_CONTENT, "idempotent");
    // Deleting the file removes its folder too.
    let id = item["id"].as_str().unwrap();
    assert_eq!(r.call(Method::DELETE, &format!("/api/cloud/file/{id}"), "carol", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(r.temp_entries("carol").await, Vec::<String>::new());
    r.emulator.shutdown().await;
}

#[tokio::test]
async fn retention_sweep_removes_only_what_is_older_than_the_retention() {
    let r = start().await;
    let (upload_url, _) = r.session("erin", "old.bin", 3).await;
    put_all(&upload_url, b"old").await;
    r.session("frank", "pending.bin", 3).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let day = Duration::from_secs(86_400);
    // Nothing is a day old yet.
    assert_eq!(sweep_temp(&r.state, now, day).await.unwrap(), Vec::<String>::new());
    assert_eq!((r.temp_entries("erin").await.len(), r.temp_entries("frank").await.len()), (1, 1));
    // A day and a minute later, both go (the folders with what is in them); a second sweep finds nothing.
    let later = now + 86_460_000;
    let mut removed = sweep_temp(&r.state, later, day).await.unwrap();
    removed.sort();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(removed[0].starts_with("temp/erin/") && removed[1].starts_with("temp/frank/"), "{removed:?}");
    assert_eq!((r.temp_entries("erin").await.len(), r.temp_entries("frank").await.len()), (0, 0));
    assert_eq!(sweep_temp(&r.state, later, day).await.unwrap(), Vec::<String>::new());
    // Files moved out of temp are never touched.
    let (upload_url, _) = r.session("erin", "kept.bin", 4).await;
    let item = put_all(&upload_url, b"kept").await;
    let id = item["id"].as_str().unwrap();
    let body = Some(json!({"folder": "documents"}));
    assert_eq!(r.call(Method::POST, &format!("/api/cloud/file/{id}/move"), "erin", body).await.0, StatusCode::OK);
    assert_eq!(sweep_temp(&r.state, later + 10 * 86_400_000, day).await.unwrap(), Vec::<String>::new());
    assert_eq!(r.call(Method::GET, &format!("/api/cloud/file/{id}"), "erin", None).await.0, StatusCode::OK);
    r.emulator.shutdown().await;
}
