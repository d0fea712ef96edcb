//! Shared helpers of the loopback tests: start an emulator on 127.0.0.1:0, sign in through
//! the real OAuth flow, create sessions and send fragments with reqwest.
#![allow(dead_code)]

use onedrive_emulator::{spawn, EmulatorConfig, RunningEmulator, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use reqwest::header::{CONTENT_RANGE, LOCATION};
use reqwest::{redirect, Client, Response};
use serde_json::{json, Value};
use std::path::Path;

/// The PKCE example of RFC 7636.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://127.0.0.1:9/getAToken";

pub struct Emu {
    pub running: RunningEmulator,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: Client,
    pub token: String,
}

pub fn http() -> Client {
    Client::builder().redirect(redirect::Policy::none()).build().unwrap()
}

pub async fn spawn_in(dir: &Path, tweak: impl FnOnce(&mut EmulatorConfig)) -> RunningEmulator {
    let mut config = EmulatorConfig { data_dir: dir.to_path_buf(), fault_injection: true, ..Default::default() };
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn(config, listener).await.unwrap()
}

pub async fn start_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let running = spawn_in(dir.path(), tweak).await;
    let base = running.base_url.clone();
    let http = http();
    let (token, _) = login(&http, &base).await;
    Emu { running, base, dir, http, token }
}

pub async fn start() -> Emu {
    start_with(|_| {}).await
}

/// Authorize (auto-consent) and return the code from the redirect.
pub async fn authorize(http: &Client, base: &str, state: &str) -> String {
    let r = http
        .get(format!("{base}/common/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", DEV_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("response_mode", "query"),
            ("scope", "offline_access Files.ReadWrite.All"),
            ("state", state),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = url::Url::parse(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some(state));
    q["code"].clone()
}

pub async fn token_request(http: &Client, base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http.post(format!("{base}/common/oauth2/v2.0/token")).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

pub async fn redeem(http: &Client, base: &str, code: &str, verifier: &str) -> (u16, Value) {
    token_request(
        http,
        base,
        &[
            ("client_id", DEV_CLIENT_ID),
            ("client_secret", DEV_CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("scope", "offline_access Files.ReadWrite.All"),
        ],
    )
    .await
}

/// Full sign-in: (access token, refresh token).
pub async fn login(http: &Client, base: &str) -> (String, String) {
    let code = authorize(http, base, "xyz").await;
    let (status, body) = redeem(http, base, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

impl Emu {
    pub fn graph(&self, path: &str) -> String {
        format!("{}/v1.0/me/drive/{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.graph(path)).bearer_auth(&self.token).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.http.post(self.graph(path)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }

    /// createUploadSession at `path` (e.g. `special/approot:/temp/u/a.bin:`) -> uploadUrl.
    pub async fn session(&self, target: &str, body: Value) -> String {
        let r = self.post_json(&format!("{target}/createUploadSession"), body).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["nextExpectedRanges"], json!(["0-"]));
        v["uploadUrl"].as_str().unwrap().to_owned()
    }

    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// PUT `data` as bytes `first..first+len` of a `total`-byte file.
pub async fn put(http: &Client, url: &str, data: &[u8], first: u64, total: u64) -> Response {
    let last = first + data.len() as u64 - 1;
    http.put(url)
        .header(CONTENT_RANGE, format!("bytes {first}-{last}/{total}"))
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
}

/// Uploads `data` in fragments of `chunk` bytes; returns the final answer's JSON.
pub async fn upload_all(http: &Client, url: &str, data: &[u8], chunk: usize) -> Value {
    let total = data.len() as u64;
    let mut offset = 0;
    loop {
        let end = (offset + chunk).min(data.len());
        let r = put(http, url, &data[offset..end], offset as u64, total).await;
        if end == data.len() {
            assert_eq!(r.status(), 201);
            return r.json().await.unwrap();
        }
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["nextExpectedRanges"], json!([format!("{end}-")]));
        offset = end;
    }
}

pub fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends raw bytes on a fresh connection and returns the response status code.
pub async fn raw_status(base: &str, request: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let mut got = 0;
    while got < 12 {
        let n = s.read(&mut buf[got..]).await.unwrap();
        assert!(n > 0, "connection closed without an answer");
        got += n;
    }
    std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap()
}

pub fn error_code(v: &Value) -> (&str, Option<&str>) {
    (v["error"]["code"].as_str().unwrap_or(""), v["error"]["innerError"]["code"].as_str())
}

/// Sends raw bytes (with `Connection: close` added) and returns the status and the JSON body
/// of the answer, read until the server closes the connection.
pub async fn raw_json(base: &str, request: String) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = request.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
