//! In-process (`oneshot`) tests of every route, with the real emulator as Graph and identity platform.

mod common;

use std::os::unix::fs::PermissionsExt;

use axum::http::{Method, StatusCode};
use common::{call, connected};
use onedrive_upload_server::AccountStatus;
use serde_json::{json, Value};

async fn upload_empty(router: &axum::Router, user: &str, name: &str) -> Value {
    let (status, _, item) =
        call(router, Method::POST, "/api/cloud/file", Some(user), Some(json!({"filename": name, "size": 0}))).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    item
}

#[tokio::test]
async fn connect_stores_tokens_0600_and_health_reports_it() {
    let (graph, dir, state, router) = connected().await;
    assert_eq!(state.tokens().status(), AccountStatus::Connected);
    let meta = std::fs::metadata(dir.path().join("tokens.json")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let (status, _, health) = call(&router, Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["account"], "connected");
    assert_eq!(graph.token_requests(), 1);
    let (status, _, body) = call(&router, Method::GET, "/auth/login", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "only the operator logs in: {body}");
    let code = state.oauth().issue_connect_code();
    let (status, _, body) = call(&router, Method::GET, &format!("/auth/login?connect={code}"), None, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "login refused while connected: {body}");
}

#[tokio::test]
async fn create_session_and_empty_file() {
    let (_graph, _dir, _state, router) = connected().await;
    let (status, headers, session) = call(
        &router,
        Method::POST,
        "/api/cloud/file",
        Some("alice"),
        Some(json!({"filename": "big file.bin", "size": 12345})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert!(session["uploadUrl"].as_str().unwrap().contains("/upload/"));
    assert_eq!(session["nextExpectedRanges"], json!(["0-"]));
    assert!(session["expirationDateTime"].is_string());
    assert_eq!(headers["cache-control"], "no-store");
    let status_url = session["statusUrl"].as_str().unwrap();
    assert!(status_url.starts_with("/api/cloud/upload/") && status_url.len() == 18 + 32, "{status_url}");
    let item = upload_empty(&router, "alice", "empty.txt").await;
    assert!(item["id"].is_string());
    assert!(item.get("uploadUrl").is_none());
    // Every upload has a folder of its own: the same name twice is two files under that name.
    let parent = |i: &serde_json::Value| i["parentReference"]["path"].as_str().unwrap().to_owned();
    let (folder, id) = parent(&item).rsplit_once('/').map(|(f, id)| (f.to_owned(), id.to_owned())).unwrap();
    assert!(folder.ends_with("/temp/alice") && id.len() == 32, "{}", parent(&item));
    let again = upload_empty(&router, "alice", "empty.txt").await;
    assert_eq!(again["name"], item["name"]);
    assert_ne!(parent(&again), parent(&item));
}

#[tokio::test]
async fn refusals_of_create() {
    let (_graph, _dir, _state, router) = connected().await;
    let (status, headers, body) =
        call(&router, Method::POST, "/api/cloud/file", None, Some(json!({"filename": "a", "size": 1}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(headers["www-authenticate"], "Bearer");
    for name in ["../x", "a/b", "a\\b", "CON", "x.", "~$x", "a:b", "a\u{1}b", "..", &"n".repeat(256)] {
        let (status, _, body) =
            call(&router, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": name, "size": 5})))
                .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(body["error"]["code"], "invalid_filename");
    }
    let (status, _, body) = call(
        &router,
        Method::POST,
        "/api/cloud/file",
        Some("alice"),
        Some(json!({"filename": "a.bin", "size": (1u64 << 30) + 1})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "too_large");
    let (status, _, body) =
        call(&router, Method::POST, "/api/cloud/file", Some("alice"), Some(json!({"filename": 5}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_json");
    let huge = json!({"filename": "a".repeat(5000), "size": 1});
    let (status, _, body) = call(&router, Method::POST, "/api/cloud/file", Some("alice"), Some(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn expired_and_forged_jwts_are_401() {
    let (_graph, _dir, _state, router) = connected().await;
    let alice = onedrive_upload_server::UserId::parse("alice").unwrap();
    let expired = onedrive_upload_server::JwtIssuer::hs256(common::SECRET).issue(&alice, -3600);
    let forged = onedrive_upload_server::JwtIssuer::hs256(b"another-secret-of-32-bytes-or-more").issue(&alice, 600);
    for token in [expired, forged, "not.a.jwt".into()] {
        let request = axum::http::Request::post("/api/cloud/file")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"filename":"a","size":1}"#))
            .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn owner_routes_and_foreign_users() {
    let (_graph, _dir, _state, router) = connected().await;
    let item = upload_empty(&router, "alice", "photo.jpg").await;
    let id = item["id"].as_str().unwrap();
    let (status, _, got) = call(&router, Method::GET, &format!("/api/cloud/file/{id}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["name"], "photo.jpg");
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::POST, "/move", Some(json!({"folder": "documents"}))),
        (Method::GET, "/download", None),
        (Method::POST, "/link", None),
        (Method::DELETE, "", None),
    ] {
        let (status, _, b) = call(&router, method, &format!("/api/cloud/file/{id}{suffix}"), Some("bob"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "bob on {suffix}: {b}");
        assert_eq!(b["error"]["code"], "forbidden");
    }
    let (status, headers, _) =
        call(&router, Method::GET, &format!("/api/cloud/file/{id}/download"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(headers["location"].to_str().unwrap().contains("/download/"));
    let (status, _, link) =
        call(&router, Method::POST, &format!("/api/cloud/file/{id}/link"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(link["webUrl"].as_str().unwrap().ends_with("?download=1"));
    let (status, _, b) = call(
        &router,
        Method::POST,
        &format!("/api/cloud/file/{id}/move"),
        Some("alice"),
        Some(json!({"folder": "secret"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "folder_not_allowed");
    let (status, _, b) = call(
        &router,
        Method::POST,
        &format!("/api/cloud/file/{id}/move"),
        Some("alice"),
        Some(json!({"folder": "../temp"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    let (status, _, moved) = call(
        &router,
        Method::POST,
        &format!("/api/cloud/file/{id}/move"),
        Some("alice"),
        Some(json!({"folder": "salon-photos"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert!(moved["parentReference"]["path"].as_str().unwrap().ends_with("/onedrive-upload/salon-photos"));
    // In a feature folder: readable by everyone, changeable by no one.
    let (status, _, got) = call(&router, Method::GET, &format!("/api/cloud/file/{id}"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let (status, _, _) = call(&router, Method::GET, &format!("/api/cloud/file/{id}/download"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::FOUND);
    let (status, _, _) = call(&router, Method::POST, &format!("/api/cloud/file/{id}/link"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&router, Method::DELETE, &format!("/api/cloud/file/{id}"), Some("bob"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A second file goes to the same, already created folder; then the owner deletes a temp file.
    let second = upload_empty(&router, "alice", "two.jpg").await;
    let sid = second["id"].as_str().unwrap();
    let (status, _, moved) = call(
        &router,
        Method::POST,
        &format!("/api/cloud/file/{sid}/move"),
        Some("alice"),
        Some(json!({"folder": "salon-photos"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let third = upload_empty(&router, "alice", "three.jpg").await;
    let tid = third["id"].as_str().unwrap();
    let (status, _, _) = call(&router, Method::DELETE, &format!("/api/cloud/file/{tid}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, b) = call(&router, Method::GET, &format!("/api/cloud/file/{tid}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(b["error"]["code"], "not_found");
    let (status, _, _) = call(&router, Method::GET, "/api/cloud/file/..", Some("alice"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn case_variants_of_a_user_do_not_share_a_folder() {
    let (_graph, _dir, _state, router) = connected().await;
    let item = upload_empty(&router, "alice", "mine.txt").await;
    let id = item["id"].as_str().unwrap();
    let (status, _, _) = call(&router, Method::DELETE, &format!("/api/cloud/file/{id}"), Some("Alice"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn moving_same_named_files_of_two_users_renames_the_second() {
    let (_graph, _dir, _state, router) = connected().await;
    let mut names = Vec::new();
    for user in ["alice", "bob", "carol"] {
        let item = upload_empty(&router, user, "photo.jpg").await;
        let id = item["id"].as_str().unwrap();
        let (status, _, moved) = call(
            &router,
            Method::POST,
            &format!("/api/cloud/file/{id}/move"),
            Some(user),
            Some(json!({"folder": "documents"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        names.push(moved["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(names, ["photo.jpg", "photo 1.jpg", "photo 2.jpg"]);
}

#[tokio::test]
async fn download_answers_json_when_asked_and_a_redirect_otherwise() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (_graph, _dir, _state, router) = connected().await;
    let item = upload_empty(&router, "alice", "report.pdf").await;
    let uri = format!("/api/cloud/file/{}/download", item["id"].as_str().unwrap());
    let get = |accept: Option<&str>| {
        let mut request = Request::get(&uri).header("authorization", format!("Bearer {}", common::token("alice")));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    // A browser's fetch asking for JSON: the URL in the body, no redirect to follow.
    let response = get(Some("application/json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let url = body["url"].as_str().unwrap();
    assert!(url.contains("/download/"), "{body}");
    let expires = onedrive_upload_core::time::parse_millis(body["expirationDateTime"].as_str().unwrap()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(expires > now && expires <= now + 5 * 60_000, "{body}");
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200, "the URL downloads");
    // curl and server-to-server callers: the 302 as before.
    for accept in [None, Some("*/*"), Some("text/html")] {
        let response = get(accept).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{accept:?}");
        assert!(response.headers()["location"].to_str().unwrap().contains("/download/"));
    }
}
