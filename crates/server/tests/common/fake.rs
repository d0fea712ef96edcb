//! A tiny in-memory Graph + identity server for tests that must count or break token requests.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// An item of the fake drive.
#[derive(Clone)]
pub struct Item {
    pub name: String,
    pub parent: Option<String>,
    pub folder: bool,
}

/// Shared state of the fake.
#[derive(Default)]
pub struct FakeState {
    pub base: Mutex<String>,
    pub token_requests: AtomicU64,
    pub refresh_requests: AtomicU64,
    pub revoked: AtomicBool,
    pub token_delay_ms: AtomicU64,
    pub graph_delay_ms: AtomicU64,
    /// Graph requests whose path contains this text are held this many ms (one slow upstream answer).
    pub slow_path: Mutex<Option<(String, u64)>>,
    /// Requests held by `slow_path` so far.
    pub slow_started: AtomicU64,
    codes: Mutex<HashMap<String, String>>,
    access: Mutex<HashSet<String>>,
    refresh: Mutex<HashSet<String>>,
    pub items: Mutex<HashMap<String, Item>>,
    next: AtomicU64,
}

/// A running fake.
pub struct Fake {
    pub base: String,
    pub state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn rnd() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

impl FakeState {
    /// Forgets every access token (Graph then answers 401 to them).
    pub fn revoke_access_tokens(&self) {
        self.access.lock().unwrap().clear();
    }

    fn path_of(&self, items: &HashMap<String, Item>, id: &str) -> String {
        match items.get(id) {
            Some(Item { parent: None, .. }) | None => "/drive/root:".into(),
            Some(item) => format!("{}/{}", self.path_of(items, item.parent.as_deref().unwrap()), item.name),
        }
    }

    fn json(&self, items: &HashMap<String, Item>, id: &str) -> Value {
        let item = &items[id];
        let parent = item.parent.clone().unwrap_or_default();
        let mut v = json!({"id": id, "name": item.name, "size": 0,
            "parentReference": {"id": parent, "path": self.path_of(items, &parent)}});
        if item.folder {
            v["folder"] = json!({"childCount": 0})
        } else {
            v["file"] = json!({"hashes": {"quickXorHash": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}})
        }
        v
    }

    fn child(&self, items: &HashMap<String, Item>, parent: &str, name: &str) -> Option<String> {
        items
            .iter()
            .find(|(_, i)| i.parent.as_deref() == Some(parent) && i.name.eq_ignore_ascii_case(name))
            .map(|(k, _)| k.clone())
    }

    fn add(&self, items: &mut HashMap<String, Item>, parent: &str, name: &str, folder: bool) -> String {
        let id = format!("ITEM{}", self.next.fetch_add(1, Ordering::SeqCst));
        items.insert(id.clone(), Item { name: name.into(), parent: Some(parent.into()), folder });
        id
    }
}

fn err(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": code}}))).into_response()
}

async fn token(state: &FakeState, body: &[u8]) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let delay = state.token_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let bad = |e: &str| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": e, "error_description": "AADSTS70008: fake"}))).into_response()
    };
    if form.get("client_id").map(String::as_str) != Some("test-client")
        || form.get("client_secret").map(String::as_str) != Some("test-secret")
    {
        return bad("invalid_client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let challenge = state.codes.lock().unwrap().remove(form.get("code").map(String::as_str).unwrap_or(""));
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if challenge != Some(computed) {
                return bad("invalid_grant");
            }
        }
        Some("refresh_token") => {
            state.refresh_requests.fetch_add(1, Ordering::SeqCst);
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            if state.revoked.load(Ordering::SeqCst) || !state.refresh.lock().unwrap().remove(&rt) {
                return bad("invalid_grant");
            }
        }
        _ => return bad("unsupported_grant_type"),
    }
    let (access, refresh) = (format!("AT-{}", rnd()), format!("RT-{}", rnd()));
    state.access.lock().unwrap().insert(access.clone());
    state.refresh.lock().unwrap().insert(refresh.clone());
    Json(json!({"token_type": "Bearer", "scope": "Files.ReadWrite.All", "expires_in": 3600, "access_token": access, "refresh_token": refresh})).into_response()
}

async fn handle(State(state): State<Arc<FakeState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy().into_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let base = state.base.lock().unwrap().clone();
    if path == "/common/oauth2/v2.0/authorize" {
        let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        let code = rnd();
        state.codes.lock().unwrap().insert(code.clone(), q["code_challenge"].clone());
        let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
        to.query_pairs_mut().append_pair("code", &code).append_pair("state", &q["state"]);
        return (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response();
    }
    if path == "/common/oauth2/v2.0/token" {
        return token(&state, &body).await;
    }
    let auth = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !state.access.lock().unwrap().contains(auth.trim_start_matches("Bearer ")) {
        return err(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let delay = state.graph_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let slow = state.slow_path.lock().unwrap().clone();
    if let Some((_, ms)) = slow.filter(|(needle, _)| path.contains(needle.as_str())) {
        state.slow_started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut items = state.items.lock().unwrap();
    let method = parts.method.clone();
    if path == "/v1.0/me/drive/special/approot" {
        return Json(state.json(&items, "approot")).into_response();
    }
    if let Some(rest) = path.strip_prefix("/v1.0/me/drive/special/approot:/") {
        let (rel, action) = match rest.split_once(":/") {
            Some((r, a)) => (r, a),
            None => (rest, ""),
        };
        let segments: Vec<&str> = rel.split('/').collect();
        let mut parent = "approot".to_owned();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match state.child(&items, &parent, seg) {
                Some(id) if !last => parent = id,
                Some(id) if action.is_empty() => return Json(state.json(&items, &id)).into_response(),
                None if action.is_empty() => return err(StatusCode::NOT_FOUND, "itemNotFound"),
                None if !last => parent = state.add(&mut items, &parent, seg, true),
                _ => {}
            }
        }
        let name = segments[segments.len() - 1];
        return match (method, action) {
            (Method::POST, "createUploadSession") => {
                Json(json!({"uploadUrl": format!("{base}/upload/{}", rnd()), "expirationDateTime": "2030-01-01T00:00:00Z", "nextExpectedRanges": ["0-"]})).into_response()
            }
            (Method::PUT, "content") => {
                let mut final_name = name.to_owned();
                let mut n = 1;
                while state.child(&items, &parent, &final_name).is_some() {
                    final_name = format!("{name} {n}");
                    n += 1;
                }
                let id = state.add(&mut items, &parent, &final_name, false);
                (StatusCode::CREATED, Json(state.json(&items, &id))).into_response()
            }
            _ => err(StatusCode::BAD_REQUEST, "invalidRequest"),
        };
    }
    if let Some(rest) = path.strip_prefix("/v1.0/me/drive/items/") {
        let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
        if !items.contains_key(id) {
            return err(StatusCode::NOT_FOUND, "itemNotFound");
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return match (method, action) {
            (Method::GET, "") => Json(state.json(&items, id)).into_response(),
            (Method::PATCH, "") => {
                let to = v["parentReference"]["id"].as_str().unwrap_or("").to_owned();
                if !items.contains_key(&to) {
                    return err(StatusCode::NOT_FOUND, "itemNotFound");
                }
                let name = v["name"].as_str().map(str::to_owned).unwrap_or_else(|| items[id].name.clone());
                if state.child(&items, &to, &name).is_some_and(|other| other != id) {
                    return err(StatusCode::CONFLICT, "nameAlreadyExists");
                }
                let item = items.get_mut(id).unwrap();
                item.parent = Some(to);
                item.name = name;
                Json(state.json(&items, id)).into_response()
            }
            (Method::DELETE, "") => {
                items.remove(id);
                StatusCode::NO_CONTENT.into_response()
            }
            (Method::GET, "content") => (StatusCode::FOUND, [(header::LOCATION, format!("{base}/download/{}", rnd()))]).into_response(),
            (Method::POST, "createLink") => Json(json!({"id": "p", "roles": ["read"], "link": {"type": "view", "scope": "anonymous", "webUrl": format!("{base}/s/{id}")}})).into_response(),
            (Method::POST, "children") => {
                let name = v["name"].as_str().unwrap_or("x").to_owned();
                if state.child(&items, id, &name).is_some() {
                    return err(StatusCode::CONFLICT, "nameAlreadyExists");
                }
                let new = state.add(&mut items, id, &name, true);
                (StatusCode::CREATED, Json(state.json(&items, &new))).into_response()
            }
            _ => err(StatusCode::BAD_REQUEST, "invalidRequest"),
        };
    }
    err(StatusCode::NOT_FOUND, "itemNotFound")
}

/// Starts the fake on a loopback port.
pub async fn spawn() -> Fake {
    let state = Arc::new(FakeState::default());
    {
        let mut items = state.items.lock().unwrap();
        items.insert("root".into(), Item { name: "root".into(), parent: None, folder: true });
        items.insert("apps".into(), Item { name: "Apps".into(), parent: Some("root".into()), folder: true });
        items.insert(
            "approot".into(),
            Item { name: "onedrive-upload".into(), parent: Some("apps".into()), folder: true },
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    *state.base.lock().unwrap() = base.clone();
    let router = axum::Router::new().fallback(handle).with_state(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Fake { base, state, task }
}
