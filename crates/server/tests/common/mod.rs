//! Shared test helpers: building a server state against a Graph base URL (the real emulator, see
//! [`graph`]) and calling it in-process.
#![allow(dead_code)]

pub mod graph;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use onedrive_upload_server::{app, AppState, JwtAuthenticator, JwtIssuer, Mode, OAuthSettings, Options, UserId};
use serde_json::Value;
use tower::ServiceExt;

/// The HS256 secret of test JWTs.
pub const SECRET: &[u8] = b"test-secret-of-at-least-32-bytes!!";

/// Options for a server whose Graph and identity platform live at `base`.
pub fn options(base: &str, dir: &Path, client_id: &str, client_secret: &str) -> Options {
    Options {
        mode: Mode::Embedded,
        graph_url: format!("{base}/v1.0"),
        emulator_url: Some(base.to_owned()),
        fault_injection: false,
        oauth: OAuthSettings {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            authorize_url: format!("{base}/common/oauth2/v2.0/authorize"),
            token_url: format!("{base}/common/oauth2/v2.0/token"),
            redirect_uri: "http://127.0.0.1:9/getAToken".into(),
            scopes: vec!["offline_access".into(), "Files.ReadWrite.All".into()],
        },
        token_file: dir.join("tokens.json"),
        refresh_margin: Duration::from_secs(300),
        callback_path: "/getAToken".into(),
        folders: vec!["salon-photos".into(), "documents".into()],
        max_file_size: 1 << 30,
        max_body_bytes: 4096,
        allowed_origins: vec!["https://site.example".into()],
        www: None,
        pkg: None,
        dev_issuer: Some(JwtIssuer::hs256(SECRET)),
        admin_token: None,
        // No per-user session limits: some tests create 100 sessions for one user at once.
        session_limits: onedrive_upload_server::SessionLimits { per_minute: 0, max_live: 0 },
        temp_retention: Duration::ZERO,
    }
}

/// A server state built from `options`, with the test JWT secret.
pub fn state(options: Options) -> AppState {
    AppState::new(options, Arc::new(JwtAuthenticator::hs256(SECRET))).unwrap()
}

/// A valid token for `user`.
pub fn token(user: &str) -> String {
    JwtIssuer::hs256(SECRET).issue(&UserId::parse(user).unwrap(), 600)
}

/// One in-process request; answers status, headers and the JSON body (Null if not JSON).
pub async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(u) = user {
        request = request.header("authorization", format!("Bearer {}", token(u)));
    }
    let request = match body {
        Some(b) => request.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// `app(state)`.
pub fn router(state: &AppState) -> Router {
    app(state.clone())
}

/// A server state connected (code exchange done) to a fresh emulator, its router, and the
/// emulator and data directory they live on.
pub async fn connected() -> (graph::Graph, tempfile::TempDir, AppState, Router) {
    let graph = graph::Graph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = state(options(&graph.base, dir.path(), graph::CLIENT_ID, graph::CLIENT_SECRET));
    onedrive_upload_server::embedded::connect_account(&state).await.unwrap();
    let router = router(&state);
    (graph, dir, state, router)
}
