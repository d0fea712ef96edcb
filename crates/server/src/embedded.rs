//! Embedded mode: the in-process emulator, and connecting the account through the same OAuth flow without a browser.
//!
//! The emulator listens on its own loopback port, so browsers upload cross-origin as they do
//! to OneDrive.
//! The authorize URL is requested from the identity server without following the
//! redirect; `code` and `state` are taken from the `Location` header and handed to the
//! same callback logic as `GET /getAToken` ([`OAuthFlow::complete`]).

use std::time::Duration;

use onedrive_emulator::{ClientRegistration, EmulatorConfig, RunningEmulator};

use crate::config::Config;
use crate::error::ApiError;
use crate::AppState;

/// The client id the server registers with its embedded emulator.
pub const EMBEDDED_CLIENT_ID: &str = "onedrive-upload-server";

/// A client registration for this server: fresh random secret, exactly one redirect URI.
pub fn own_client(redirect_uri: &str) -> ClientRegistration {
    ClientRegistration {
        client_id: EMBEDDED_CLIENT_ID.into(),
        client_secret: hex::encode(rand::random::<[u8; 32]>()),
        redirect_uris: vec![redirect_uri.to_owned()],
    }
}

/// Starts the emulator on `127.0.0.1:0` with its storage in `{data_dir}/emulator`, knowing only
/// `client` (and, with `--dev` only, the emulator's well-known dev client as well).
pub async fn spawn_emulator(config: &Config, client: ClientRegistration) -> Result<RunningEmulator, String> {
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("emulator: cannot listen: {e}"))?;
    let emulator = EmulatorConfig {
        data_dir: config.data_dir.join("emulator"),
        fault_injection: config.emulator_fault_injection,
        graph_latency: Duration::from_millis(config.emulator_latency_ms),
        ingest_rate: (config.emulator_ingest_rate_mbps > 0)
            .then(|| config.emulator_ingest_rate_mbps.saturating_mul(1_000_000)),
        clients: if config.dev { vec![ClientRegistration::dev(), client] } else { vec![client] },
        ..EmulatorConfig::default()
    };
    onedrive_emulator::spawn(emulator, listener).await.map_err(|e| format!("emulator: {e}"))
}

/// Connects the account: authorize URL -> 302 Location (code, state) -> code exchange.
pub async fn connect_account(state: &AppState) -> Result<(), ApiError> {
    let (url, _) = state.oauth().begin().await?;
    let http = crate::graph::http_client();
    let response = http.get(url).send().await.map_err(|e| {
        tracing::error!(error = %e.without_url(), "identity server unreachable");
        ApiError::Unavailable { retry_after: None }
    })?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|_| response.status().is_redirection())
        .ok_or_else(|| {
            tracing::error!(status = response.status().as_u16(), "authorize answered without a redirect");
            ApiError::BadGateway
        })?;
    let location = url::Url::parse(location).map_err(|_| ApiError::BadGateway)?;
    let param = |name: &str| location.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if let Some(error) = param("error") {
        tracing::error!(error = %crate::logsafe::escaped(&error), "authorize refused the server's client");
        return Err(ApiError::BadGateway);
    }
    let (Some(code), Some(csrf)) = (param("code"), param("state")) else {
        return Err(ApiError::BadGateway);
    };
    state.oauth().complete(&code, &csrf).await
}
