//! Cross-cutting HTTP behaviour in-process: CORS, dev routes, static files, request ids.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::graph::{Graph, CLIENT_ID, CLIENT_SECRET};
use common::{call, options, router, state};
use onedrive_upload_server::embedded::connect_account;
use serde_json::json;
use tower::ServiceExt;

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/cloud/file")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_only_for_configured_and_dev_loopback_origins() {
    let dir = tempfile::tempdir().unwrap();
    let dev = router(&state(options("http://127.0.0.1:9", dir.path(), "c", "s")));
    let mut prod_options = options("http://127.0.0.1:9", dir.path(), "c", "s");
    prod_options.dev_issuer = None;
    let prod = router(&state(prod_options));
    for (app, origin, allowed) in [
        (&dev, "https://site.example", true),
        (&dev, "http://localhost:5173", true),
        (&dev, "http://127.0.0.1:8080", true),
        (&dev, "https://evil.example", false),
        (&prod, "https://site.example", true),
        (&prod, "http://localhost:5173", false),
    ] {
        let response = app.clone().oneshot(preflight(origin)).await.unwrap();
        let header = response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header.as_deref() == Some(origin), allowed, "{origin}");
        if allowed {
            // The library sends the session request with credentials: include.
            assert_eq!(response.headers().get("access-control-allow-credentials").unwrap(), "true", "{origin}");
        }
    }
}

#[tokio::test]
async fn cors_exposes_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(&state(options("http://127.0.0.1:9", dir.path(), "c", "s")));
    let request = Request::get("/healthz").header("origin", "http://127.0.0.1:8080").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    let exposed =
        response.headers().get("access-control-expose-headers").map(|v| v.to_str().unwrap().to_ascii_lowercase());
    assert_eq!(exposed.as_deref(), Some("retry-after"));
}

#[tokio::test]
async fn dev_routes_only_in_dev() {
    let graph = Graph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let st = state(options(&graph.base, dir.path(), CLIENT_ID, CLIENT_SECRET));
    connect_account(&st).await.unwrap();
    let app = router(&st);
    let (status, _, body) = call(&app, Method::GET, "/dev/token?user=carol", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"], "carol");
    let token = body["token"].as_str().unwrap();
    let request = Request::post("/api/cloud/file")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"filename": "a.bin", "size": 3}).to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let (status, _, body) = call(&app, Method::PUT, "/api/cloud/file", Some("carol"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    let (status, _, body) = call(&app, Method::GET, "/dev/token?user=..%2Fx", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_user");
    let (status, _, info) = call(&app, Method::GET, "/dev/info", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info,
        json!({"mode": "embedded", "emulator": graph.base, "faultInjection": false, "folders": ["salon-photos", "documents"]})
    );
    let mut prod = options(&graph.base, dir.path(), CLIENT_ID, CLIENT_SECRET);
    prod.dev_issuer = None;
    let prod = router(&state(prod));
    let (status, _, body) = call(&prod, Method::GET, "/dev/token?user=carol", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn static_files_with_wasm_type() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><p>demo").unwrap();
    std::fs::write(pkg.join("onedrive_upload_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(pkg.join("onedrive_upload.js"), "export default 1;").unwrap();
    let mut o = options("http://127.0.0.1:9", dir.path(), "c", "s");
    o.www = Some(www);
    o.pkg = Some(pkg);
    let app = router(&state(o));
    for (uri, ty) in [
        ("/", "text/html"),
        ("/pkg/onedrive_upload_bg.wasm", "application/wasm"),
        ("/pkg/onedrive_upload.js", "javascript"),
    ] {
        let response = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert!(response.headers()["content-type"].to_str().unwrap().contains(ty), "{uri}");
    }
    let response =
        app.clone().oneshot(Request::get("/pkg/../../etc/passwd").body(Body::empty()).unwrap()).await.unwrap();
    assert_ne!(response.status(), StatusCode::OK);
    let (status, _, health) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["account"], "not_connected");
}

/// An embedding app's own authenticator: trusts a header set by its session middleware.
struct HeaderAuth;

impl onedrive_upload_server::Authenticator for HeaderAuth {
    fn authenticate<'a>(&'a self, headers: &'a axum::http::HeaderMap) -> onedrive_upload_server::AuthFuture<'a> {
        Box::pin(async move {
            let user = headers.get("x-site-user").and_then(|v| v.to_str().ok()).unwrap_or("");
            onedrive_upload_server::UserId::parse(user).map_err(onedrive_upload_server::ApiError::Unauthenticated)
        })
    }
}

#[tokio::test]
async fn an_embedding_app_plugs_its_own_authenticator() {
    let graph = Graph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let st = onedrive_upload_server::AppState::new(
        options(&graph.base, dir.path(), CLIENT_ID, CLIENT_SECRET),
        std::sync::Arc::new(HeaderAuth),
    )
    .unwrap();
    connect_account(&st).await.unwrap();
    let site = axum::Router::new()
        .route("/", axum::routing::get(|| async { "main site" }))
        .merge(onedrive_upload_server::app(st));
    let ok = Request::post("/api/cloud/file")
        .header("x-site-user", "dave")
        .header("content-type", "application/json")
        .body(Body::from(json!({"filename": "a.bin", "size": 3}).to_string()))
        .unwrap();
    assert_eq!(site.clone().oneshot(ok).await.unwrap().status(), StatusCode::OK);
    let refused = Request::post("/api/cloud/file")
        .header("content-type", "application/json")
        .body(Body::from(json!({"filename": "a.bin", "size": 3}).to_string()))
        .unwrap();
    assert_eq!(site.clone().oneshot(refused).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
