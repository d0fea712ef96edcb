//! Connecting the OneDrive account: operator only; authorization-code flow with `state` (CSRF) and PKCE S256.
//!
//! Only the operator may start a login: with the one-time connect URL the server logs while the
//! account is not connected (`/auth/login?connect=CODE`, single use, [`CONNECT_TTL`]), or with
//! `Authorization: Bearer <admin token>` (`--admin-token`). Anyone else gets a 401 before
//! anything reaches the identity platform. `GET /auth/login` then stores a fresh `state` with its
//! PKCE verifier (10-minute expiry, single use), sets the same `state` in an HttpOnly cookie and
//! redirects to the authorize URL. The callback checks the cookie and the stored `state` (so it
//! completes only logins the operator started), then redeems the code. `POST /auth/disconnect`
//! (admin token) forgets the account so that another can be connected. Embedded mode runs
//! [`OAuthFlow::begin`] and [`OAuthFlow::complete`] itself, without a browser.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use oauth2::{CsrfToken, PkceCodeChallenge};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::logsafe::escaped;
use crate::tokens::{AccountStatus, TokenManager};
use crate::AppState;

/// How long a logged connect URL stays usable.
pub const CONNECT_TTL: Duration = Duration::from_secs(15 * 60);

/// The operator's secret for automation (`--admin-token`): redacted in `Debug`, compared by digest.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// Wraps the configured secret.
    pub fn new(secret: &str) -> Self {
        AdminToken(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether `presented` is the secret (digests compared, so timing says nothing about it).
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.iter().zip(self.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

pub use crate::pending_logins::STATE_TTL;
use crate::pending_logins::{connect_codes, PendingLogins};
/// Name of the cookie binding the login to the browser that started it.
pub const STATE_COOKIE: &str = "odu_oauth_state";

/// Pending logins, the live connect code, and the token manager they end in.
pub struct OAuthFlow {
    tokens: Arc<TokenManager>,
    pending: PendingLogins,
    /// Digest of the one live connect code, and when it was issued.
    connect: Mutex<Option<([u8; 32], Instant)>>,
}

impl OAuthFlow {
    /// A flow storing its tokens in `tokens`, its pending logins in memory or in the tokens' database.
    pub fn new(tokens: Arc<TokenManager>) -> Self {
        let pending = match tokens.database() {
            Some(db) => PendingLogins::Database(db.clone()),
            None => PendingLogins::memory(),
        };
        OAuthFlow { tokens, pending, connect: Mutex::new(None) }
    }

    /// Issues a fresh connect code (the previous one stops working): give it to the operator only.
    /// With a shared database only [`announce_connect_url`]'s codes count: it records them there.
    pub fn issue_connect_code(&self) -> String {
        self.issue().0
    }

    /// [`OAuthFlow::issue_connect_code`], with the new code's digest and the one it replaced.
    fn issue(&self) -> (String, [u8; 32], Option<[u8; 32]>) {
        let code = hex::encode(rand::random::<[u8; 24]>());
        let digest: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        let previous = self.connect.lock().unwrap_or_else(|e| e.into_inner()).replace((digest, Instant::now()));
        (code, digest, previous.map(|(d, _)| d))
    }

    /// Whether a connect code is issued and not yet used nor expired.
    pub fn has_live_connect_code(&self) -> bool {
        matches!(&*self.connect.lock().unwrap_or_else(|e| e.into_inner()), Some((_, at)) if at.elapsed() < CONNECT_TTL)
    }

    /// Consumes the connect code if `presented` is it and it is fresh (this process's, or with a
    /// shared database any process's).
    async fn take_connect_code(&self, presented: &str) -> Result<bool, ApiError> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let local = {
            let mut connect = self.connect.lock().unwrap_or_else(|e| e.into_inner());
            let ok = matches!(&*connect, Some((d, at)) if at.elapsed() < CONNECT_TTL
                && d.iter().zip(digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0);
            if ok {
                *connect = None;
            }
            ok
        };
        match self.tokens.database() {
            // The database decides: a code is valid on every process, once.
            Some(db) => connect_codes::take(db, &digest).await,
            None => Ok(local),
        }
    }

    /// Starts a login: returns the authorize URL and the `state` it carries.
    pub async fn begin(&self) -> Result<(url::Url, String), ApiError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .tokens
            .client()
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.tokens.scopes().iter().cloned())
            .add_extra_param("response_mode", "query")
            .set_pkce_challenge(challenge)
            .url();
        self.pending.put(state.secret(), verifier).await?;
        Ok((url, state.secret().clone()))
    }

    /// Finishes a login: the `state` must be pending (it is consumed) and fresh; then the code is redeemed.
    pub async fn complete(&self, code: &str, state: &str) -> Result<(), ApiError> {
        let Some(verifier) = self.pending.take(state).await? else {
            return Err(ApiError::bad_request(
                "invalid_state",
                "unknown or expired login state; start again at /auth/login",
            ));
        };
        self.tokens.exchange_code(code.to_owned(), verifier).await?;
        *self.connect.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(db) = self.tokens.database() {
            if let Err(e) = connect_codes::clear(db).await {
                tracing::warn!(error = %e, "could not clear the shared connect codes");
            }
        }
        Ok(())
    }
}

/// The connect URL for `code`: the public origin of the redirect URI (where the operator's browser
/// reaches this server) + `/auth/login?connect=CODE`.
pub fn connect_url(redirect_uri: &str, code: &str) -> String {
    let origin = url::Url::parse(redirect_uri).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    format!("{origin}/auth/login?connect={code}")
}

/// Logs a fresh connect URL when the account is not connected and no live one was logged; `true` if it did.
/// With a shared database the code is recorded there first, so that every process accepts it.
pub async fn announce_connect_url(state: &AppState) -> bool {
    if state.tokens().status() == AccountStatus::Connected || state.oauth().has_live_connect_code() {
        return false;
    }
    let (code, digest, previous) = state.oauth().issue();
    if let Some(db) = state.tokens().database() {
        if let Err(e) = connect_codes::replace(db, previous, digest).await {
            tracing::warn!(error = %e, "could not record a connect code in the database; trying again");
            *state.oauth().connect.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return false;
        }
    }
    let url = connect_url(&state.options().oauth.redirect_uri, &code);
    tracing::warn!(
        connect_url = %url,
        valid_for_secs = CONNECT_TTL.as_secs(),
        "the OneDrive account is not connected: the operator connects it by opening this one-time URL"
    );
    true
}

/// Runs [`announce_connect_url`] now and then every second, for as long as the returned task lives.
pub fn spawn_connect_announcer(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            announce_connect_url(&state).await;
        }
    })
}

/// The query of `/auth/login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    connect: Option<String>,
}

/// Whether the request carries the admin token.
fn has_admin_token(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(admin) = &state.options().admin_token else { return false };
    crate::users::bearer(headers).is_ok_and(|token| admin.matches(token))
}

/// `GET /auth/login?connect=CODE` (or with the admin token): redirect the operator to the identity
/// platform. Refused to anyone else, and while the account is connected.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let operator = has_admin_token(&state, &headers)
        || match query.connect.as_deref() {
            Some(code) => state.oauth().take_connect_code(code).await?,
            None => false,
        };
    if !operator {
        return Err(ApiError::Unauthenticated(
            "only the operator connects the OneDrive account: open the one-time connect URL from the server log, \
             or send the admin token"
                .into(),
        ));
    }
    if state.tokens().status() == AccountStatus::Connected {
        return Err(ApiError::Conflict(
            "the OneDrive account is already connected; to switch accounts, POST /auth/disconnect first".into(),
        ));
    }
    let (url, csrf) = state.oauth().begin().await?;
    let cookie = format!("{STATE_COOKIE}={csrf}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax", STATE_TTL.as_secs());
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, url.to_string()), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".into())],
    )
        .into_response())
}

/// `POST /auth/disconnect` (admin token): forgets the account and removes the token file; the server
/// then logs a connect URL for the next one.
pub async fn disconnect(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if state.options().admin_token.is_none() {
        return Err(ApiError::Forbidden(
            "disconnecting needs the server started with --admin-token; otherwise stop it, delete its token file \
             and start it again"
                .into(),
        ));
    }
    if !has_admin_token(&state, &headers) {
        return Err(ApiError::Unauthenticated(
            "only the operator disconnects the account: send the admin token".into(),
        ));
    }
    state.tokens().disconnect().await;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(json!({"account": AccountStatus::NotConnected.as_str()})))
        .into_response())
}

/// The query of the redirect back from the identity platform.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The `state` cookie of a request, if any.
fn state_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == STATE_COOKIE)
        .map(|(_, v)| v)
}

/// `GET /getAToken` (configurable): checks `state` against the cookie and the store, redeems the code.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    if let Some(error) = query.error {
        let description = query.error_description.as_deref().unwrap_or("");
        tracing::warn!(
            error = %escaped(&error),
            description = %escaped(description),
            "login refused by the identity platform"
        );
        return Err(ApiError::bad_request(
            "login_failed",
            format!("the identity platform answered {}", escaped(&error)),
        ));
    }
    let (Some(code), Some(csrf)) = (query.code, query.state) else {
        return Err(ApiError::bad_request("invalid_callback", "the callback needs code and state"));
    };
    if state_cookie(&headers) != Some(csrf.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_state",
            "this login was not started from this browser; start again at /auth/login",
        ));
    }
    state.oauth().complete(&code, &csrf).await?;
    let clear = format!("{STATE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    Ok((
        [(header::SET_COOKIE, clear)],
        Html(
            "<!doctype html><title>Connected</title><p>The OneDrive account is connected. You can close this page.</p>",
        ),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use oauth2::PkceCodeVerifier;

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; odu_oauth_state=xyz; b=2"));
        assert_eq!(state_cookie(&h), Some("xyz"));
        assert_eq!(state_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn admin_token_and_connect_urls() {
        let admin = AdminToken::new("a-long-operator-secret-0123456789");
        assert!(admin.matches("a-long-operator-secret-0123456789"));
        assert!(!admin.matches("a-long-operator-secret-012345678"));
        assert!(!format!("{admin:?}").contains("operator"));
        assert_eq!(connect_url("https://site.example/auth/cb", "c0de"), "https://site.example/auth/login?connect=c0de");
        assert_eq!(connect_url("http://127.0.0.1:8000/getAToken", "x"), "http://127.0.0.1:8000/auth/login?connect=x");
    }

    #[tokio::test]
    async fn connect_codes_are_single_use_and_short_lived() {
        let settings = crate::OAuthSettings {
            client_id: "id".into(),
            client_secret: None,
            authorize_url: "http://127.0.0.1:1/common/oauth2/v2.0/authorize".into(),
            token_url: "http://127.0.0.1:1/common/oauth2/v2.0/token".into(),
            redirect_uri: "http://127.0.0.1:2/getAToken".into(),
            scopes: vec!["offline_access".into()],
        };
        let dir = std::env::temp_dir().join("odu-connect-codes-none/tokens.json");
        let tokens = TokenManager::new(&settings, reqwest::Client::new(), dir, Duration::ZERO).unwrap();
        let flow = OAuthFlow::new(Arc::new(tokens));
        assert!(!flow.has_live_connect_code());
        let old = flow.issue_connect_code();
        let code = flow.issue_connect_code();
        assert!(!flow.take_connect_code(&old).await.unwrap(), "a new code replaces the old one");
        assert!(flow.take_connect_code(&code).await.unwrap());
        assert!(!flow.take_connect_code(&code).await.unwrap(), "single use");
        let code = flow.issue_connect_code();
        let issued = Instant::now().checked_sub(CONNECT_TTL + Duration::from_secs(1));
        if let Some(issued) = issued {
            flow.connect.lock().unwrap().as_mut().unwrap().1 = issued;
            assert!(!flow.has_live_connect_code());
            assert!(!flow.take_connect_code(&code).await.unwrap(), "expired");
        }
    }

    #[test]
    fn pkce_matches_rfc7636_example() {
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(challenge.method().as_str(), "S256");
    }
}
