//! The real emulator as the server's Graph and identity platform, served in-process on loopback
//! behind a thin probe that counts token-endpoint requests and can slow them down, or slow down
//! the Graph requests whose path holds a given text (one slow upstream answer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use onedrive_emulator::store::tokens::TokenKind;
use onedrive_emulator::{spawn, ClientRegistration, EmulatorConfig, RunningEmulator};

/// The OAuth client the tests' server options use, registered with the emulator.
pub const CLIENT_ID: &str = "test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-secret";

/// What the probe in front of the emulator counts and does.
#[derive(Debug, Default)]
pub struct Probe {
    /// Requests to the token endpoint (code exchanges and refreshes).
    pub token_requests: AtomicU64,
    /// Delay added to each token request, in milliseconds.
    pub token_delay_ms: AtomicU64,
    /// Graph requests whose path contains this text are held this many milliseconds.
    pub slow_path: Mutex<Option<(String, u64)>>,
    /// Requests held by `slow_path` so far.
    pub slow_started: AtomicU64,
}

/// A running emulator behind the probe; stopped when dropped.
pub struct Graph {
    /// The probe's base URL: give it to the server as Graph and identity platform.
    pub base: String,
    /// The probe's counters and knobs.
    pub probe: Arc<Probe>,
    emulator: RunningEmulator,
    front: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.front.abort();
    }
}

impl Graph {
    /// Starts an emulator (with the test client registered) and the probe in front of it.
    pub async fn start() -> Graph {
        let dir = tempfile::tempdir().unwrap();
        let config = EmulatorConfig {
            data_dir: dir.path().to_path_buf(),
            clients: vec![ClientRegistration {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec!["http://127.0.0.1:9/getAToken".into()],
            }],
            ..Default::default()
        };
        let emulator = spawn(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap();
        let probe = Arc::new(Probe::default());
        let seen = probe.clone();
        let router = onedrive_emulator::app(emulator.state().clone()).layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let seen = seen.clone();
                async move {
                    if request.uri().path().ends_with("/oauth2/v2.0/token") {
                        seen.token_requests.fetch_add(1, Ordering::SeqCst);
                        let delay = seen.token_delay_ms.load(Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    let slow = seen.slow_path.lock().unwrap().clone();
                    if let Some((_, ms)) = slow.filter(|(needle, _)| request.uri().path().contains(needle.as_str())) {
                        seen.slow_started.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    next.run(request).await
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let front = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Graph { base, probe, emulator, front, _dir: dir }
    }

    /// Token-endpoint requests so far.
    pub fn token_requests(&self) -> u64 {
        self.probe.token_requests.load(Ordering::SeqCst)
    }

    /// Revokes every access token the emulator issued (Graph then answers 401).
    pub async fn revoke_access_tokens(&self) {
        self.emulator.state().revoke_tokens(TokenKind::Access).await.unwrap();
    }

    /// Revokes every refresh token (the token endpoint then answers `invalid_grant`).
    pub async fn revoke_refresh_tokens(&self) {
        self.emulator.state().revoke_tokens(TokenKind::Refresh).await.unwrap();
    }
}
