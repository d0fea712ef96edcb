//! Token manager behaviour through the API: single-flight refresh, rotation persisted, invalid_grant, login flow.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::graph::{Graph, CLIENT_ID, CLIENT_SECRET};
use common::{call, connected, options, router, state};
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::AccountStatus;
use serde_json::{json, Value};
use tower::ServiceExt;

fn stored(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("tokens.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_requests_at_expiry_cause_one_refresh_and_rotation_is_persisted() {
    let (graph, dir, state, app) = connected().await;
    let before = stored(dir.path());
    graph.probe.token_delay_ms.store(50, std::sync::atomic::Ordering::SeqCst);
    state.tokens().expire_access_token();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let app = app.clone();
        tasks.spawn(async move {
            call(
                &app,
                Method::POST,
                "/api/cloud/file",
                Some("alice"),
                Some(json!({"filename": format!("f{i}.bin"), "size": 10})),
            )
            .await
            .0
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(graph.token_requests(), 2, "the code exchange and a single-flight refresh");
    assert_eq!(state.tokens().refresh_count(), 1);
    let after = stored(dir.path());
    assert_ne!(before["refresh_token"], after["refresh_token"], "rotated refresh token stored");
    assert_ne!(before["access_token"], after["access_token"]);
    let text = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
    assert!(!text.contains(before["refresh_token"].as_str().unwrap()));
    // A new process (state) starts from the file, and can refresh with the rotated token.
    drop(app);
    let again = common::state(options(&graph.base, dir.path(), CLIENT_ID, CLIENT_SECRET));
    assert_eq!(again.tokens().status(), AccountStatus::Connected);
    again.tokens().expire_access_token();
    let app = router(&again);
    let (status, _, body) =
        call(&app, Method::POST, "/api/cloud/file", Some("bob"), Some(json!({"filename": "x.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(graph.token_requests(), 3, "one more refresh");
}

#[tokio::test]
async fn invalid_grant_disconnects_and_login_reconnects() {
    let (graph, dir, state, app) = connected().await;
    let tokens = stored(dir.path());
    graph.revoke_refresh_tokens().await;
    state.tokens().expire_access_token();
    let (status, _, body) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "account_disconnected");
    assert!(body["error"]["message"].as_str().unwrap().contains("/auth/login"));
    let text = body.to_string();
    for token in [&tokens["access_token"], &tokens["refresh_token"]] {
        assert!(!text.contains(token.as_str().unwrap()), "no token in answers");
    }
    let (status, _, health) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["account"], "disconnected");
    assert!(health["action"].as_str().unwrap().contains("/auth/login"));
    assert!(!dir.path().join("tokens.json").exists(), "dead refresh token removed (on invalid_grant only)");
    // Still disconnected: no further token requests are made.
    let count = graph.token_requests();
    let (status, _, _) = call(&app, Method::GET, "/api/cloud/file/ITEM1", Some("alice"), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(graph.token_requests(), count);

    // The operator reconnects through /auth/login like a browser would.
    let anonymous = app.clone().oneshot(Request::get("/auth/login").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "only the operator reconnects");
    let code = state.oauth().issue_connect_code();
    let login = app
        .clone()
        .oneshot(Request::get(format!("/auth/login?connect={code}")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("odu_oauth_state="));
    let authorize = url::Url::parse(login.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], "test-client");
    assert!(q["scope"].contains("offline_access") && q["scope"].contains("Files.ReadWrite.All"));
    assert_eq!(format!("odu_oauth_state={}", q["state"]), cookie);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = http.get(authorize.as_str()).send().await.unwrap();
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let callback = format!("/getAToken?{}", back.query().unwrap());
    // Without the cookie (CSRF: another browser) the callback is refused and the state survives.
    let refused = app.clone().oneshot(Request::get(&callback).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let ok = app
        .clone()
        .oneshot(Request::get(&callback).header("cookie", &cookie).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(state.tokens().status(), AccountStatus::Connected);
    assert_eq!(state.tokens().connection(), 2, "a new connection: drive caches are refetched");
    // The state is single-use.
    let replay = app
        .clone()
        .oneshot(Request::get(&callback).header("cookie", &cookie).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let (status, _, _) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn forged_state_and_identity_errors_are_refused() {
    let graph = Graph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(options(&graph.base, dir.path(), CLIENT_ID, CLIENT_SECRET));
    let app = router(&state);
    let (status, _, body) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "never connected: {body}");
    let forged = app
        .clone()
        .oneshot(
            Request::get("/getAToken?code=abc&state=forged")
                .header("cookie", "odu_oauth_state=forged")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let denied = app
        .clone()
        .oneshot(Request::get("/getAToken?error=access_denied&error_description=no").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    assert_eq!(state.tokens().status(), AccountStatus::NotConnected);
    // A wrong client secret: the exchange fails cleanly (502), nothing stored.
    let bad = common::state(options(&graph.base, dir.path(), CLIENT_ID, "wrong"));
    let err = connect_account(&bad).await.unwrap_err();
    assert_eq!(err.code(), "upstream_error");
    assert!(!dir.path().join("tokens.json").exists());
}

#[tokio::test]
async fn a_graph_401_refreshes_once_and_retries() {
    let (graph, _dir, state, app) = connected().await;
    graph.revoke_access_tokens().await;
    let (status, _, body) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(state.tokens().refresh_count(), 1);
    assert_eq!(graph.token_requests(), 2, "the code exchange and one refresh");
}

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_the_logs() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (graph, dir, state, app) = connected().await;
    let first = stored(dir.path());
    state.tokens().expire_access_token();
    let (status, _, _) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::OK);
    let second = stored(dir.path());
    let _ = app
        .clone()
        .oneshot(Request::get("/getAToken?code=SECRETCODE&state=x").body(Body::empty()).unwrap())
        .await
        .unwrap();
    graph.revoke_refresh_tokens().await;
    state.tokens().expire_access_token();
    let (status, _, _) =
        call(&app, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": "a.bin", "size": 1}))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("OneDrive account connected") && text.contains("invalid_grant"), "logs were captured");
    for secret in [&first["access_token"], &first["refresh_token"], &second["access_token"], &second["refresh_token"]] {
        assert!(!text.contains(secret.as_str().unwrap()), "a token reached the logs");
    }
    assert!(!text.contains("test-secret"), "the client secret reached the logs");
    assert!(!text.contains("SECRETCODE"), "an authorization code reached the logs");
    assert!(!text.contains(&common::token("alice")[..40]), "a user JWT reached the logs");
}
