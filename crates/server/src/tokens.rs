//! The OneDrive account's tokens: single-flight refresh ahead of expiry, rotation, atomic 0600 persistence.
//!
//! Access tokens are refreshed `refresh_margin` before they expire. However many requests
//! find the token stale at once, exactly one refresh request goes out: the others wait on
//! `refresh_lock` and then find the fresh token. Tokens are never logged (the types here
//! have redacting `Debug`), never returned to a browser, and the file holding them is
//! written to a temporary file with mode 0600 and renamed over the old one.
//!
//! A failed write (disk full, directory gone) never loses the account: the new tokens are
//! served from memory, the write is retried with backoff, and [`TokenManager::degraded`]
//! says why meanwhile (`/healthz`). The file is only removed on `invalid_grant` or when the
//! operator disconnects the account.
//!
//! With a shared database ([`TokenManager::shared`]) several processes hold one account: the
//! tokens live sealed in the database's account row, and a refresh locks that row so that one
//! process refreshes while the others wait and then take the new token (see `tokens_shared.rs`).
//! The access token stays cached in memory: no query while it is valid.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::database::Database;
use crate::error::ApiError;
pub use crate::oauth_settings::{AccountStatus, OAuthClient, OAuthSettings};
use crate::token_file::Persister;
pub use crate::token_file::{create_private_dir, write_private, PERSIST_RETRY_FIRST, PERSIST_RETRY_MAX};
use oauth2::basic::{BasicErrorResponseType, BasicTokenResponse};
use oauth2::{AuthorizationCode, PkceCodeVerifier, RefreshToken, RequestTokenError, Scope, TokenResponse};
use serde::{Deserialize, Serialize};

/// The token file's content.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: Option<String>,
    /// Seconds since the Unix epoch.
    expires_at: u64,
    /// When the token was obtained, seconds since the Unix epoch.
    #[serde(default)]
    obtained_at: u64,
}

impl Stored {
    /// The tokens of an identity-platform answer; the previous refresh token when it sent none.
    fn from_answer(answer: &BasicTokenResponse, previous_refresh: Option<String>) -> Stored {
        let lifetime = answer.expires_in().unwrap_or(Duration::from_secs(3600)).as_secs();
        Stored {
            access_token: answer.access_token().secret().clone(),
            refresh_token: answer.refresh_token().map(|r| r.secret().clone()).or(previous_refresh),
            expires_at: now_secs() + lifetime,
            obtained_at: now_secs(),
        }
    }

    /// Still usable without refreshing: before `expires_at - margin`, the margin capped at half the lifetime.
    fn fresh(&self, margin: Duration) -> bool {
        let lifetime = self.expires_at.saturating_sub(self.obtained_at);
        let margin = margin.as_secs().min(lifetime / 2);
        now_secs() + margin < self.expires_at
    }
}

enum State {
    NotConnected,
    Connected(Arc<Stored>),
    Disconnected,
}

/// Holds, refreshes and persists the account's tokens. Share it in an `Arc`.
pub struct TokenManager {
    client: OAuthClient,
    http: reqwest::Client,
    scopes: Vec<Scope>,
    persister: Arc<Persister>,
    margin: Duration,
    state: RwLock<State>,
    refresh_lock: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
    connections: AtomicU64,
    /// The shared database holding the tokens instead of the file, if any.
    database: Option<Arc<Database>>,
    /// The account row's generation last seen (-1: none yet).
    generation: AtomicI64,
    /// Why the database lags behind the tokens in memory, while it does.
    database_failure: Mutex<Option<String>>,
}

#[path = "tokens_shared.rs"]
mod shared;

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TokenManager {
    /// Creates the manager and loads the token file if there is one (a corrupt file counts as none).
    pub fn new(
        settings: &OAuthSettings,
        http: reqwest::Client,
        file: PathBuf,
        margin: Duration,
    ) -> Result<Self, String> {
        let state = match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<Stored>(&bytes) {
                Ok(stored) => State::Connected(Arc::new(stored)),
                Err(_) => {
                    tracing::warn!(file = %file.display(), "token file unreadable; account not connected");
                    State::NotConnected
                }
            },
            Err(_) => State::NotConnected,
        };
        Ok(TokenManager {
            client: settings.client()?,
            http,
            scopes: settings.scopes.iter().map(|s| Scope::new(s.clone())).collect(),
            persister: Arc::new(Persister::new(file)),
            margin,
            state: RwLock::new(state),
            refresh_lock: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            database: None,
            generation: AtomicI64::new(-1),
            database_failure: Mutex::new(None),
        })
    }

    /// A manager whose tokens live in `database`, shared with other server processes (nothing is
    /// loaded yet: call [`TokenManager::sync`]). `file` is only reported, never written.
    pub fn shared(
        settings: &OAuthSettings,
        http: reqwest::Client,
        database: Arc<Database>,
        file: PathBuf,
        margin: Duration,
    ) -> Result<Self, String> {
        let mut manager = Self::new(settings, http, file, margin)?;
        manager.state = RwLock::new(State::NotConnected);
        manager.database = Some(database);
        Ok(manager)
    }

    /// The shared database, if the tokens live there.
    pub fn database(&self) -> Option<&Arc<Database>> {
        self.database.as_ref()
    }

    /// The oauth2 client (for building authorize URLs).
    pub fn client(&self) -> &OAuthClient {
        &self.client
    }

    /// The configured scopes.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The path of the token file.
    pub fn file(&self) -> &Path {
        self.persister.file()
    }

    /// Why the server is degraded (the token file lags behind the tokens in memory), if it is.
    pub fn degraded(&self) -> Option<String> {
        if self.database.is_some() {
            return self.database_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
        }
        self.persister.failure()
    }

    /// The operator disconnects the account: tokens forgotten, token file removed.
    pub async fn disconnect(&self) {
        let _guard = self.refresh_lock.lock().await;
        if let Some(db) = &self.database {
            if let Err(e) = self.disconnect_shared(db).await {
                tracing::error!(error = %e, "could not record the disconnection in the database");
            }
        }
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::NotConnected;
        if self.database.is_none() {
            self.persister.save(None).await;
        }
        tracing::info!("OneDrive account disconnected by the operator");
    }

    /// Whether the account is connected.
    pub fn status(&self) -> AccountStatus {
        match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::NotConnected => AccountStatus::NotConnected,
            State::Connected(_) => AccountStatus::Connected,
            State::Disconnected => AccountStatus::Disconnected,
        }
    }

    /// How many refresh-token requests were sent since start.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    fn fresh(&self) -> Result<Option<String>, ApiError> {
        match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Connected(t) if t.fresh(self.margin) => Ok(Some(t.access_token.clone())),
            State::Connected(_) => Ok(None),
            // Another process may have connected the account since.
            State::NotConnected | State::Disconnected if self.database.is_some() => Ok(None),
            State::NotConnected | State::Disconnected => Err(ApiError::AccountDisconnected),
        }
    }

    /// A valid access token, refreshing it first (once, for all waiters) when it is about to expire.
    pub async fn access_token(&self) -> Result<String, ApiError> {
        if let Some(token) = self.fresh()? {
            return Ok(token);
        }
        let _guard = self.refresh_lock.lock().await;
        if let Some(token) = self.fresh()? {
            return Ok(token);
        }
        if let Some(db) = &self.database {
            return self.refresh_shared(db).await;
        }
        let current = match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Connected(t) => Some(t.clone()),
            _ => None,
        };
        let refresh = current.as_ref().and_then(|t| t.refresh_token.clone());
        let Some(refresh) = refresh else {
            self.set_disconnected().await;
            return Err(ApiError::AccountDisconnected);
        };
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let token = RefreshToken::new(refresh);
        let answer = self
            .client
            .exchange_refresh_token(&token)
            .add_scopes(self.scopes.iter().cloned())
            .request_async(&self.http)
            .await;
        let answer = match self.check(answer).await {
            Ok(answer) => answer,
            // A refresh ahead of expiry that fails for a passing reason: the old token still works.
            Err(e @ (ApiError::Unavailable { .. } | ApiError::BadGateway)) => match current {
                Some(t) if t.expires_at > now_secs() + 5 => return Ok(t.access_token.clone()),
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        tracing::info!("access token refreshed");
        self.store(&answer).await
    }

    /// Increases each time an account is (re)connected: what was learnt about the drive
    /// (app folder, feature folder ids) belongs to one connection.
    pub fn connection(&self) -> u64 {
        self.connections.load(Ordering::Acquire)
    }

    /// Marks `token` as expired if it is still the current one (Graph answered 401 to it).
    pub fn invalidate(&self, token: &str) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let State::Connected(t) = &*state {
            if t.access_token == token {
                *state = State::Connected(Arc::new(Stored { expires_at: 0, ..(**t).clone() }));
            }
        }
    }

    /// Marks the current access token as expired so that the next call refreshes it.
    pub fn expire_access_token(&self) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let State::Connected(t) = &*state {
            *state = State::Connected(Arc::new(Stored { expires_at: 0, ..(**t).clone() }));
        }
    }

    /// Redeems an authorization code (with its PKCE verifier) and stores the tokens.
    pub async fn exchange_code(&self, code: String, verifier: PkceCodeVerifier) -> Result<(), ApiError> {
        let _guard = self.refresh_lock.lock().await;
        if let Some(db) = &self.database {
            return self.exchange_code_shared(db, code, verifier).await;
        }
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await;
        let answer = self.check(answer).await?;
        self.store(&answer).await?;
        self.connections.fetch_add(1, Ordering::AcqRel);
        tracing::info!("OneDrive account connected");
        Ok(())
    }

    async fn check<E: std::error::Error + 'static>(
        &self,
        answer: Result<BasicTokenResponse, RequestTokenError<E, oauth2::basic::BasicErrorResponse>>,
    ) -> Result<BasicTokenResponse, ApiError> {
        match answer {
            Ok(a) => Ok(a),
            Err(RequestTokenError::ServerResponse(r)) if *r.error() == BasicErrorResponseType::InvalidGrant => {
                tracing::warn!(
                    "identity platform answered invalid_grant: the account must be reconnected at /auth/login"
                );
                self.set_disconnected().await;
                Err(ApiError::AccountDisconnected)
            }
            Err(RequestTokenError::ServerResponse(r)) => {
                tracing::error!(error = r.error().as_ref(), "identity platform refused the token request");
                Err(ApiError::BadGateway)
            }
            Err(RequestTokenError::Request(_)) => {
                tracing::warn!("token endpoint unreachable");
                Err(ApiError::Unavailable { retry_after: None })
            }
            Err(_) => {
                tracing::error!("token endpoint answered something unreadable");
                Err(ApiError::BadGateway)
            }
        }
    }

    /// `invalid_grant`: the refresh token is dead, and so is the token file.
    async fn set_disconnected(&self) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Disconnected;
        // With a database, the caller records it in the row it holds locked.
        if self.database.is_none() {
            self.persister.save(None).await;
        }
    }

    async fn store(&self, answer: &BasicTokenResponse) -> Result<String, ApiError> {
        let previous_refresh = match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Connected(t) => t.refresh_token.clone(),
            _ => None,
        };
        let stored = Stored::from_answer(answer, previous_refresh);
        let json = serde_json::to_vec(&stored).map_err(|e| ApiError::Internal(format!("serialize tokens: {e}")))?;
        let token = stored.access_token.clone();
        // Memory first: the rotated refresh token is the only valid one, whatever the disk says.
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Connected(Arc::new(stored));
        self.persister.save(Some(json)).await;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_margin_is_capped_at_half_the_lifetime() {
        let now = now_secs();
        let t =
            |obtained_at, expires_at| Stored { access_token: "a".into(), refresh_token: None, expires_at, obtained_at };
        assert!(t(now, now + 3600).fresh(Duration::from_secs(300)));
        assert!(!t(now - 3400, now + 200).fresh(Duration::from_secs(300)), "inside the margin");
        assert!(t(now, now + 60).fresh(Duration::from_secs(300)), "short-lived token: margin 30 s");
        assert!(!t(now - 50, now + 10).fresh(Duration::from_secs(300)));
        assert!(!t(now, 0).fresh(Duration::ZERO), "invalidated");
    }

    #[test]
    fn settings_debug_hides_the_secret() {
        let s = OAuthSettings {
            client_id: "id".into(),
            client_secret: Some("s3cr3t".into()),
            authorize_url: "http://127.0.0.1:1/common/oauth2/v2.0/authorize".into(),
            token_url: "http://127.0.0.1:1/common/oauth2/v2.0/token".into(),
            redirect_uri: "http://127.0.0.1:2/getAToken".into(),
            scopes: vec!["offline_access".into()],
        };
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let m = TokenManager::new(
            &s,
            reqwest::Client::new(),
            std::env::temp_dir().join("odu-none/tokens.json"),
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(m.status(), AccountStatus::NotConnected);
    }
}
