//! onedrive-emulator: a faithful local Microsoft Graph (drive items, upload sessions,
//! downloads, sharing links) and Microsoft identity platform (authorization code + PKCE,
//! refresh-token rotation), storing real files on disk and metadata in SQLite.
//!
//! Embed it with [`spawn`] (tests, the server's embedded mode) or mount [`app`] yourself.
//! See `README.md` in this crate for the routes, the dev client and the flags.

pub mod config;
pub mod error;
pub mod faults;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;
pub mod upload;
pub mod util;

pub use config::{ClientRegistration, EmulatorConfig, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
pub use error::EmulatorError;
pub use state::AppState;

use std::net::SocketAddr;
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
    /// `http://127.0.0.1:PORT`: prefix of every URL (`{base_url}/v1.0/me/drive/...`).
    pub base_url: String,
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

/// Opens the data directory (resuming its upload sessions) and serves on `listener`.
pub async fn spawn(
    config: EmulatorConfig,
    listener: tokio::net::TcpListener,
) -> Result<RunningEmulator, EmulatorError> {
    let addr = listener.local_addr()?;
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await
        .map_err(|e| EmulatorError::Io(std::io::Error::other(e)))??;
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(serve::serve(listener, app(state.clone()), stopped));
    let sweeper_state = state.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper_state.sweep().await {
                tracing::warn!(error = %e, "session sweep failed");
            }
        }
    });
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    let base_url = match addr {
        SocketAddr::V6(_) if !addr.ip().is_unspecified() => format!("http://[{host}]:{}", addr.port()),
        _ => format!("http://{host}:{}", addr.port()),
    };
    Ok(RunningEmulator { base_url, addr, state, stop, tasks: vec![server, sweeper] })
}
