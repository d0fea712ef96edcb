//! onedrive-emulator: a faithful local Microsoft Graph (drive items, upload sessions,
//! downloads, sharing links) and Microsoft identity platform (authorization code + PKCE,
//! refresh-token rotation), storing real files on disk and metadata in SQLite.
//!
//! Embed it with [`spawn`] (tests, the server's embedded mode) or [`spawn_with`] (HTTPS, upload
//! and download URLs on their own host), or mount [`app`] yourself.
//! See `README.md` in this crate for the routes, the dev client and the flags.

pub mod config;
pub mod error;
pub mod faults;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;
pub mod tls;
pub mod upload;
pub mod util;

pub use config::{ClientRegistration, EmulatorConfig, TlsSource, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
pub use error::EmulatorError;
pub use state::AppState;

use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The router over `state`: Graph under `/v1.0`, the identity platform under
/// `/{tenant}/oauth2/v2.0`, upload URLs under `/upload`, downloads under `/download` and
/// `/share`, and `/_emulator` when fault injection is on.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// A running emulator; stop it with [`RunningEmulator::shutdown`] (dropping it stops it too).
#[derive(Debug)]
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT` (`https://` with TLS): prefix of the Graph and identity-platform
    /// URLs (`{base_url}/v1.0/me/drive/...`).
    pub base_url: String,
    /// Prefix of the upload, download and sharing URLs the emulator hands out: the configured
    /// public URL, else the content listener's address, else `base_url`.
    pub content_url: String,
    /// The generated CA certificate clients must trust (with [`TlsSource::Generated`]).
    pub ca_cert: Option<PathBuf>,
    addr: SocketAddr,
    state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its shared state (for in-process inspection).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, closes every connection (in-flight uploads are cut as by a crash)
    /// and waits until the server task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Opens the data directory (resuming its upload sessions) and serves on `listener`, plain HTTP
/// (or as `config.tls` says), every route on the one address.
pub async fn spawn(
    config: EmulatorConfig,
    listener: tokio::net::TcpListener,
) -> Result<RunningEmulator, EmulatorError> {
    spawn_with(config, listener, None).await
}

/// `http://host:port` or `https://...` for an address (loopback for an unspecified one).
fn url_of(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    match addr {
        SocketAddr::V6(_) if !addr.ip().is_unspecified() => format!("{scheme}://[{host}]:{}", addr.port()),
        _ => format!("{scheme}://{host}:{}", addr.port()),
    }
}

/// Like [`spawn`], with a second listener for the upload, download and sharing URLs (as OneDrive
/// hands them out on other hosts than `graph.microsoft.com`): with `content` on `127.0.0.2` and
/// the API on `127.0.0.1`, a client that attaches its token by host name (the Graph SDKs'
/// `customHosts`) does not send it to upload URLs. The API listener keeps serving them too.
pub async fn spawn_with(
    mut config: EmulatorConfig,
    listener: tokio::net::TcpListener,
    content: Option<tokio::net::TcpListener>,
) -> Result<RunningEmulator, EmulatorError> {
    let addr = listener.local_addr()?;
    let content_addr = content.as_ref().map(|c| c.local_addr()).transpose()?;
    let tls_on = config.tls.is_some();
    let base_url = url_of(addr, tls_on);
    if let Some(public) = &mut config.public_url {
        public.truncate(public.trim_end_matches('/').len());
    }
    if config.public_url.is_none() {
        config.public_url = content_addr.map(|a| url_of(a, tls_on));
    }
    let content_url = config.public_url.clone().unwrap_or_else(|| base_url.clone());
    let acceptor = match &config.tls {
        None => None,
        Some(source) => {
            let mut hosts: Vec<String> =
                [Some(addr), content_addr].into_iter().flatten().map(|a| a.ip().to_string()).collect();
            hosts.extend(
                config.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()?.host_str().map(str::to_owned)),
            );
            let (source, dir) = (source.clone(), config.data_dir.clone());
            let made = tokio::task::spawn_blocking(move || tls::acceptor(&source, &dir, &hosts));
            Some(made.await.map_err(|e| EmulatorError::Io(std::io::Error::other(e)))??)
        }
    };
    let ca_cert = matches!(config.tls, Some(TlsSource::Generated)).then(|| tls::ca_cert_path(&config.data_dir));
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await
        .map_err(|e| EmulatorError::Io(std::io::Error::other(e)))??;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(serve::serve(listener, app(state.clone()), acceptor.clone(), stopped.clone()))];
    if let Some(content) = content {
        tasks.push(tokio::spawn(serve::serve(content, routes::content_router(state.clone()), acceptor, stopped)));
    }
    let sweeper_state = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper_state.sweep().await {
                tracing::warn!(error = %e, "session sweep failed");
            }
        }
    }));
    Ok(RunningEmulator { base_url, content_url, ca_cert, addr, state, stop, tasks })
}
