//! The real `onedrive-upload-server` binary over loopback, in Microsoft mode with the real emulator
//! standing in for Graph and the identity platform; its log read back; the operator's connect flow.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use onedrive_emulator::{spawn, ClientRegistration, EmulatorConfig, RunningEmulator};
use onedrive_upload_testkit::ListeningChild;
use serde_json::{json, Value};

/// The server binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_onedrive-upload-server");
/// HS256 secret of the users' JWTs.
pub const JWT_SECRET: &str = "refusal-matrix-secret-0123456789abcdef";
/// The operator's admin token.
pub const ADMIN: &str = "operator-admin-token-0123456789abcdef";
/// The app registered at the emulator.
pub const CLIENT_ID: &str = "odu-app";
/// Its secret.
pub const CLIENT_SECRET: &str = "odu-app-secret";
/// The redirect URI registered for it: the public URL of a reverse proxy in front of the server
/// (the tests send the browser's callback to the server's real address themselves).
pub const REDIRECT_URI: &str = "http://127.0.0.1:1/getAToken";
/// `--max-file-size`.
pub const MAX_FILE_SIZE: u64 = 1_000_000;

/// The emulator as identity platform and Graph, knowing [`CLIENT_ID`].
pub async fn emulator(dir: &std::path::Path) -> RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = EmulatorConfig {
        data_dir: dir.join("emulator"),
        clients: vec![ClientRegistration {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
        }],
        ..EmulatorConfig::default()
    };
    spawn(config, listener).await.unwrap()
}

/// A running server binary, its stderr log collected.
pub struct Server {
    child: ListeningChild,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
}

/// The flags of a Microsoft-mode server whose identity platform and Graph are `emulator`.
pub fn microsoft_args(emulator: &str, data: &std::path::Path) -> Vec<String> {
    let data = data.to_string_lossy().into_owned();
    [
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        REDIRECT_URI,
        "--login-url",
        emulator,
        "--graph-url",
        &format!("{emulator}/v1.0"),
        "--jwt-secret",
        JWT_SECRET,
        "--folder",
        "salon-photos",
        "--folder",
        "documents",
        "--max-file-size",
        &MAX_FILE_SIZE.to_string(),
        "--max-body-bytes",
        "4096",
        "--allow-origin",
        "https://site.example",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Server {
    /// Starts `BIN args...` (through `sh` with `umask 000` when `open_umask`) and waits for its ready line.
    pub fn start(args: &[String], open_umask: bool) -> Server {
        Self::start_with_env(args, open_umask, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_with_env(args: &[String], open_umask: bool, env: &[(&str, &str)]) -> Server {
        let mut command = if open_umask {
            let mut c = Command::new("sh");
            c.args(["-c", "umask 000 && exec \"$0\" \"$@\"", BIN]);
            c
        } else {
            Command::new(BIN)
        };
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let child = ListeningChild::spawn_with(
            command.args(args).envs(env.iter().copied()).env("RUST_LOG", "info").stderr(Stdio::piped()),
            |c| {
                let stderr = c.stderr.take().unwrap();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stderr);
                    let mut line = Vec::new();
                    while reader.read_until(b'\n', &mut line).map(|n| n > 0).unwrap_or(false) {
                        sink.lock().unwrap().push_str(&String::from_utf8_lossy(&line));
                        line.clear();
                    }
                });
            },
        );
        let base = child.url.clone();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Server { child, base, log, http }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (10 s at most) for a log line containing `needle` after byte `from`; answers the line.
    pub async fn wait_log(&self, needle: &str, from: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if let Some(line) = log.get(from..).unwrap_or("").lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "no log line with {needle:?} in:\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The code of the newest connect URL logged after byte `from`.
    pub async fn connect_code(&self, from: usize) -> String {
        let line = self.wait_log("connect_url=", from).await;
        let url = line.split("connect_url=").nth(1).unwrap().split_whitespace().next().unwrap();
        assert!(url.starts_with("http://127.0.0.1:1/auth/login?connect="), "public origin of the redirect URI: {url}");
        url.rsplit('=').next().unwrap().to_owned()
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Value {
        self.http.get(format!("{}/healthz", self.base)).send().await.unwrap().json().await.unwrap()
    }

    /// Follows an operator's login that `/auth/login` answered with `login` (302 + cookie) through
    /// the identity platform and back to the callback; answers the callback's status.
    pub async fn finish_login(&self, login: reqwest::Response) -> u16 {
        assert_eq!(login.status(), 302, "login: {:?}", login.text().await);
        let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let authorize = login.headers()["location"].to_str().unwrap().to_owned();
        let back = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(back.status(), 302, "authorize");
        let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(back.path(), "/getAToken");
        let callback = format!("{}/getAToken?{}", self.base, back.query().unwrap());
        self.http.get(callback).header("cookie", cookie).send().await.unwrap().status().as_u16()
    }

    /// Connects the account the way the operator does: the connect URL from the log, in a browser.
    pub async fn connect(&self) {
        let code = self.connect_code(0).await;
        let login = self.http.get(format!("{}/auth/login?connect={code}", self.base)).send().await.unwrap();
        assert_eq!(self.finish_login(login).await, 200);
        assert_eq!(self.health().await["account"], "connected");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// An HS256 JWT over `claims` with `secret`.
pub fn jwt_with(secret: &str, alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid token for `user`.
pub fn token(user: &str) -> String {
    jwt_with(JWT_SECRET, jsonwebtoken::Algorithm::HS256, &json!({"sub": user, "exp": now() + 600}))
}

/// Creates a session as `user` and uploads `bytes` in one PUT; answers the driveItem.
pub async fn upload(server: &Server, user: &str, name: &str, bytes: &[u8]) -> Value {
    let session: Value = server
        .http
        .post(format!("{}/api/cloud/file", server.base))
        .bearer_auth(token(user))
        .json(&json!({"filename": name, "size": bytes.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = session["uploadUrl"].as_str().unwrap_or_else(|| panic!("no session: {session}"));
    let response = reqwest::Client::new()
        .put(url)
        .header("content-range", format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}
