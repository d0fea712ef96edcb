//! Connecting the OneDrive account: authorization-code flow with `state` (CSRF) and PKCE S256.
//!
//! `GET /auth/login` stores a fresh `state` with its PKCE verifier (10-minute expiry, single
//! use), sets the same `state` in an HttpOnly cookie and redirects to the authorize URL.
//! The callback checks the cookie and the stored `state`, then redeems the code. Embedded
//! mode runs [`OAuthFlow::begin`] and [`OAuthFlow::complete`] itself, without a browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use serde::Deserialize;

use crate::error::ApiError;
use crate::tokens::{AccountStatus, TokenManager};
use crate::AppState;

/// How long a login may take between `/auth/login` and the callback.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// At most this many logins may be pending at once (older ones are dropped).
const MAX_PENDING: usize = 256;
/// Name of the cookie binding the login to the browser that started it.
pub const STATE_COOKIE: &str = "odu_oauth_state";

struct Pending {
    verifier: PkceCodeVerifier,
    created: Instant,
}

/// Pending logins and the token manager they end in.
pub struct OAuthFlow {
    tokens: Arc<TokenManager>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl OAuthFlow {
    /// A flow storing its tokens in `tokens`.
    pub fn new(tokens: Arc<TokenManager>) -> Self {
        OAuthFlow { tokens, pending: Mutex::new(HashMap::new()) }
    }

    /// Starts a login: returns the authorize URL and the `state` it carries.
    pub fn begin(&self) -> (url::Url, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .tokens
            .client()
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.tokens.scopes().iter().cloned())
            .add_extra_param("response_mode", "query")
            .set_pkce_challenge(challenge)
            .url();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.created.elapsed() < STATE_TTL);
        if pending.len() >= MAX_PENDING {
            if let Some(oldest) = pending.iter().min_by_key(|(_, p)| p.created).map(|(k, _)| k.clone()) {
                pending.remove(&oldest);
            }
        }
        pending.insert(state.secret().clone(), Pending { verifier, created: Instant::now() });
        (url, state.secret().clone())
    }

    /// Finishes a login: the `state` must be pending (it is consumed) and fresh; then the code is redeemed.
    pub async fn complete(&self, code: &str, state: &str) -> Result<(), ApiError> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(state);
        let pending = match pending {
            Some(p) if p.created.elapsed() < STATE_TTL => p,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_state",
                    "unknown or expired login state; start again at /auth/login",
                ))
            }
        };
        self.tokens.exchange_code(code.to_owned(), pending.verifier).await
    }
}

/// `GET /auth/login`: redirect to the identity platform (refused while the account is connected).
pub async fn login(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.tokens().status() == AccountStatus::Connected {
        return Err(ApiError::Conflict(
            "the OneDrive account is already connected; to switch accounts stop the server and delete its token file"
                .into(),
        ));
    }
    let (url, csrf) = state.oauth().begin();
    let cookie = format!("{STATE_COOKIE}={csrf}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax", STATE_TTL.as_secs());
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, url.to_string()), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".into())],
    )
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
        tracing::warn!(%error, description = query.error_description.as_deref().unwrap_or(""), "login refused by the identity platform");
        return Err(ApiError::bad_request("login_failed", format!("the identity platform answered {error}")));
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

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; odu_oauth_state=xyz; b=2"));
        assert_eq!(state_cookie(&h), Some("xyz"));
        assert_eq!(state_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn pkce_matches_rfc7636_example() {
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(challenge.method().as_str(), "S256");
    }
}
