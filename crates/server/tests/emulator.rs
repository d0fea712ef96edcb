//! Over loopback against the real embedded emulator: the OAuth flow, every route's happy path and refusals.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use clap::Parser;
use onedrive_emulator::{spawn, EmulatorConfig, RunningEmulator};
use onedrive_upload_core::QuickXorHash;
use onedrive_upload_server::config::Config;
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::{app, AccountStatus, AppState, JwtIssuer, UserId};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Running {
    emulator: Option<RunningEmulator>,
    server: tokio::task::JoinHandle<()>,
    base: String,
    state: AppState,
    issuer: JwtIssuer,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Running {
    async fn start(connect: bool) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emulator = spawn(
            EmulatorConfig {
                data_dir: dir.path().join("emulator"),
                graph_latency: Duration::ZERO,
                ..Default::default()
            },
            listener,
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let data = dir.path().to_string_lossy().into_owned();
        let config = Config::parse_from([
            "t",
            "--dev",
            "--listen",
            &local.to_string(),
            "--data-dir",
            &data,
            "--max-file-size",
            "1000000",
        ]);
        let (options, auth) = config.build(Some(&emulator.base_url), local).unwrap();
        let issuer = options.dev_issuer.clone().unwrap();
        let state = AppState::new(options, auth).unwrap();
        if connect {
            connect_account(&state).await.unwrap();
        }
        let router = app(state.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Running { emulator: Some(emulator), server, base: format!("http://{local}"), state, issuer, http, dir }
    }

    fn token(&self, user: &str) -> String {
        self.issuer.issue(&UserId::parse(user).unwrap(), 600)
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(u) = user {
            request = request.bearer_auth(self.token(u));
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.bytes().await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Creates a session as `user` and uploads `bytes` in one PUT; answers the driveItem.
    async fn upload(&self, user: &str, name: &str, bytes: &[u8]) -> Value {
        let (status, _, session) = self
            .api(
                reqwest::Method::POST,
                "/api/cloud/file",
                Some(user),
                Some(json!({"filename": name, "size": bytes.len()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let url = session["uploadUrl"].as_str().unwrap();
        let response = reqwest::Client::new()
            .put(url)
            .header("content-range", format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(response.status() == 201 || response.status() == 200, "{}", response.status());
        response.json().await.unwrap()
    }

    async fn stop(mut self) {
        self.server.abort();
        if let Some(e) = self.emulator.take() {
            e.shutdown().await;
        }
    }
}

#[tokio::test]
async fn every_route_and_refusal_against_the_emulator() {
    use reqwest::Method;
    let r = Running::start(true).await;
    assert_eq!(r.state.tokens().status(), AccountStatus::Connected);
    let file = r.dir.path().join("tokens-embedded.json");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read_to_string(&file).unwrap();

    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let item = r.upload("alice", "photo 1.jpg", &bytes).await;
    let id = item["id"].as_str().unwrap().to_owned();
    let mut hash = QuickXorHash::new();
    hash.update(&bytes);
    assert_eq!(item["file"]["hashes"]["quickXorHash"].as_str(), Some(hash.finalize().as_str()));

    let (status, _, got) = r.api(Method::GET, &format!("/api/cloud/file/{id}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["size"], 100_000);
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::POST, "/move", Some(json!({"folder": "documents"}))),
        (Method::GET, "/download", None),
        (Method::POST, "/link", None),
        (Method::DELETE, "", None),
    ] {
        let (status, _, b) = r.api(method, &format!("/api/cloud/file/{id}{suffix}"), Some("bob"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "bob {suffix}: {b}");
    }
    let (status, _, b) = r
        .api(Method::POST, &format!("/api/cloud/file/{id}/move"), Some("alice"), Some(json!({"folder": "secret"})))
        .await;
    assert_eq!((status, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("folder_not_allowed")));
    let (status, _, moved) = r
        .api(
            Method::POST,
            &format!("/api/cloud/file/{id}/move"),
            Some("alice"),
            Some(json!({"folder": "salon-photos"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert!(moved["parentReference"]["path"].as_str().unwrap().ends_with("/salon-photos"), "{moved}");

    // Readable by everyone once in a feature folder.
    let (status, headers, _) = r.api(Method::GET, &format!("/api/cloud/file/{id}/download"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = headers["location"].to_str().unwrap();
    let downloaded = reqwest::get(location).await.unwrap().bytes().await.unwrap();
    assert_eq!(downloaded.as_ref(), bytes.as_slice());
    let (status, _, link) = r.api(Method::POST, &format!("/api/cloud/file/{id}/link"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    assert!(link["webUrl"].as_str().unwrap().contains("download=1"));
    let (status, _, _) = r.api(Method::DELETE, &format!("/api/cloud/file/{id}"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Zero-byte file: the server creates it; the owner deletes a temp file; unknown ids are 404.
    let (status, _, empty) =
        r.api(Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "empty.txt", "size": 0}))).await;
    assert_eq!(status, StatusCode::CREATED, "{empty}");
    assert_eq!(empty["size"], 0);
    assert!(empty.get("uploadUrl").is_none());
    let eid = empty["id"].as_str().unwrap();
    let (status, _, _) = r.api(Method::DELETE, &format!("/api/cloud/file/{eid}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = r.api(Method::GET, &format!("/api/cloud/file/{eid}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Refusals.
    let (status, _, _) =
        r.api(Method::POST, "/api/cloud/file", None, Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let expired = r.issuer.issue(&UserId::parse("alice").unwrap(), -3600);
    let response = r
        .http
        .post(format!("{}/api/cloud/file", r.base))
        .bearer_auth(expired)
        .json(&json!({"filename": "a", "size": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    for name in ["../evil", "a|b", "CON.txt", "trailing."] {
        let (status, _, _) =
            r.api(Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": name, "size": 1}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
    }
    let (status, _, _) = r
        .api(Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "big.bin", "size": 1_000_001})))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // A refresh against the emulator rotates the stored tokens.
    r.state.tokens().expire_access_token();
    let (status, _, _) =
        r.api(Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "after.bin", "size": 5}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r.state.tokens().refresh_count(), 1);
    assert_ne!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    r.stop().await;
}

#[tokio::test]
async fn browser_login_flow_against_the_emulator() {
    let r = Running::start(false).await;
    let (status, _, health) = r.api(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((status, health["account"].as_str()), (StatusCode::OK, Some("not_connected")));
    let (status, _, body) =
        r.api(reqwest::Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a", "size": 1}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("account_disconnected"))
    );
    let anonymous = r.http.get(format!("{}/auth/login", r.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "only the operator connects");
    let code = r.state.oauth().issue_connect_code();
    let login = r.http.get(format!("{}/auth/login?connect={code}", r.base)).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let authorize = login.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.starts_with(&r.emulator.as_ref().unwrap().base_url));
    let consent = r.http.get(&authorize).send().await.unwrap();
    assert!(consent.status().is_redirection(), "{}", consent.status());
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&format!("{}/getAToken?", r.base)), "{callback}");
    let no_cookie = r.http.get(&callback).send().await.unwrap();
    assert_eq!(no_cookie.status(), StatusCode::BAD_REQUEST);
    let done = r.http.get(&callback).header("cookie", cookie).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let (status, _, session) = r
        .api(reqwest::Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 10})))
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    r.stop().await;
}
