//! Ids and names that OneDrive refuses never become a 502: the server refuses them itself with
//! core's rules (404 / 400 with a clear JSON error), and a Graph 400 on an item route is the
//! client's 400. Against the real emulator over loopback, behind a layer that can make Graph
//! refuse one well-formed id.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use clap::Parser;
use http_body_util::BodyExt;
use onedrive_emulator::{spawn, EmulatorConfig, RunningEmulator};
use onedrive_upload_server::config::Config;
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::{app, AppState, JwtIssuer, UserId};
use serde_json::{json, Value};
use tower::ServiceExt;

/// A well-formed id that the layer in front of the emulator answers with Graph's 400.
const REFUSED_ID: &str = "01REFUSEDBYGRAPH";

struct Setup {
    router: axum::Router,
    issuer: JwtIssuer,
    emulator: RunningEmulator,
    front: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let emulator = spawn(
        EmulatorConfig { data_dir: dir.path().join("emulator"), ..Default::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let refusing = onedrive_emulator::app(emulator.state().clone()).layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            if request.uri().path().contains(&format!("/items/{REFUSED_ID}")) {
                let body = json!({"error": {"code": "invalidRequest", "message": "Invalid request"}});
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
            next.run(request).await
        },
    ));
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_url = format!("http://{}", front.local_addr().unwrap());
    let front = tokio::spawn(async move { axum::serve(front, refusing).await.unwrap() });
    let local = "127.0.0.1:9".parse().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let config = Config::parse_from(["t", "--dev", "--data-dir", &data]);
    let (options, auth) = config.build(Some(&front_url), local).unwrap();
    let issuer = options.dev_issuer.clone().unwrap();
    let state = AppState::new(options, auth).unwrap();
    connect_account(&state).await.unwrap();
    Setup { router: app(state), issuer, emulator, front, _dir: dir }
}

impl Setup {
    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.issuer.issue(&UserId::parse("alice").unwrap(), 600);
        let request = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
        let request = match body {
            Some(b) => request.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.front.abort();
        self.emulator.shutdown().await;
    }
}

/// Every item route with `id`: (method, path, body).
fn item_routes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/api/cloud/file/{id}"), None),
        (Method::GET, format!("/api/cloud/file/{id}/download"), None),
        (Method::POST, format!("/api/cloud/file/{id}/link"), None),
        (Method::POST, format!("/api/cloud/file/{id}/move"), Some(json!({"folder": "documents"}))),
        (Method::DELETE, format!("/api/cloud/file/{id}"), None),
    ]
}

#[tokio::test]
async fn malformed_ids_are_404_before_graph_is_asked() {
    let s = setup().await;
    let long = "A".repeat(201);
    for id in ["a~b", "a%7Eb", "~", ".x", "-x", "a%21%2Fb", &long] {
        for (method, uri, body) in item_routes(id) {
            let (status, b) = s.call(method, &uri, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {b}");
            assert_eq!(b["error"]["code"], "not_found", "{uri}");
        }
    }
    // A well-formed id that does not exist is 404 too (Graph's own 404).
    let (status, _) = s.call(Method::GET, &format!("/api/cloud/file/{}", "A".repeat(200)), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn a_graph_400_on_an_item_route_is_the_clients_400() {
    let s = setup().await;
    for (method, uri, body) in item_routes(REFUSED_ID) {
        let (status, b) = s.call(method, &uri, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {b}");
        assert_eq!(b["error"]["code"], "invalid_request", "{uri}");
        assert!(!b["error"]["message"].as_str().unwrap().contains("Invalid request"), "Graph's body stays in the log");
    }
    s.stop().await;
}

#[tokio::test]
async fn invisible_and_direction_changing_names_are_a_clear_400() {
    let s = setup().await;
    for (name, says) in [
        ("evil\u{202E}txt.exe", "U+202E"),
        ("a\u{200E}b", "U+200E"),
        ("a\u{2066}b", "U+2066"),
        ("zero\u{200B}width.txt", "U+200B"),
        ("join\u{200D}ed", "U+200D"),
        ("\u{FEFF}bom.txt", "U+FEFF"),
        ("line\u{2028}sep.txt", "U+2028"),
        ("para\u{2029}sep.txt", "U+2029"),
        ("con .txt", "device name"),
    ] {
        let (status, b) = s.call(Method::POST, "/api/cloud/file", Some(json!({"filename": name, "size": 5}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {b}");
        assert_eq!(b["error"]["code"], "invalid_filename", "{name:?}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("the file name ") && message.contains(says), "{name:?}: {message}");
    }
    let (status, b) = s.call(Method::POST, "/api/cloud/file", Some(json!({"filename": "fine.txt", "size": 5}))).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    s.stop().await;
}
