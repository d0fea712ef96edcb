//! Shared helpers of the loopback tests: start an emulator on 127.0.0.1:0, sign in through
//! the real OAuth flow, create sessions and send fragments with reqwest.
#![allow(dead_code, unused_imports)]

use onedrive_emulator::{spawn, EmulatorConfig, RunningEmulator, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use onedrive_upload_testkit::oauth::{self, ClientCredentials};
use reqwest::header::CONTENT_RANGE;
use reqwest::{Client, Response};
use serde_json::{json, Value};
use std::path::Path;

pub use onedrive_upload_testkit::oauth::{CHALLENGE, REDIRECT, VERIFIER};
pub use onedrive_upload_testkit::pattern;

/// The built-in dev client of the emulator.
pub const DEV: ClientCredentials<'static> = ClientCredentials { id: DEV_CLIENT_ID, secret: DEV_CLIENT_SECRET };

pub struct Emu {
    pub running: RunningEmulator,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: Client,
    pub token: String,
}

pub fn http() -> Client {
    oauth::http()
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

/// Authorize (auto-consent) as the dev client and return the code from the redirect.
pub async fn authorize(http: &Client, base: &str, state: &str) -> String {
    oauth::authorize(http, base, DEV_CLIENT_ID, state).await.unwrap()
}

pub async fn token_request(http: &Client, base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    oauth::token_request(http, base, form).await.unwrap()
}

pub async fn redeem(http: &Client, base: &str, code: &str, verifier: &str) -> (u16, Value) {
    oauth::redeem(http, base, DEV, code, verifier).await.unwrap()
}

/// Full sign-in as the dev client: (access token, refresh token).
pub async fn login(http: &Client, base: &str) -> (String, String) {
    let tokens = oauth::login(http, base, DEV).await.unwrap();
    (tokens.access, tokens.refresh)
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
