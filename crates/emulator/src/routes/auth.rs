//! The identity platform (v2.0): `authorize` auto-consents and redirects with a single-use
//! code (PKCE S256/plain honoured); `token` redeems codes and rotates refresh tokens, with
//! errors in Microsoft's shape (`invalid_grant` + AADSTS codes).

use crate::config::ClientRegistration;
use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::tokens::{self, CodeGrant, TokenKind, TokenRow};
use crate::util::{digest, now_ms, pkce_s256, random_token};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use std::collections::HashMap;

/// Lifetime of an authorization code.
const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Refresh tokens expire after this long unused.
const REFRESH_TTL_MS: i64 = 90 * 24 * 3600 * 1000;

fn bad(error: &'static str, aadsts: u32, description: impl Into<String>) -> EmulatorError {
    EmulatorError::oauth(StatusCode::BAD_REQUEST, error, aadsts, description)
}

fn client<'a>(state: &'a AppState, id: Option<&str>) -> Result<&'a ClientRegistration, EmulatorError> {
    let id = id.filter(|i| !i.is_empty()).ok_or_else(|| {
        bad("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
    })?;
    state.config().clients.iter().find(|c| c.client_id == id).ok_or_else(|| {
        bad(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory.",
                id.chars().take(100).collect::<String>()
            ),
        )
    })
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: 302 to `redirect_uri?code=...&state=...`.
pub async fn authorize(
    State(state): State<AppState>,
    Path(_tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, EmulatorError> {
    let client = client(&state, q.get("client_id").map(String::as_str))?;
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    if !client.accepts_redirect(&redirect_uri) {
        return Err(bad("invalid_request", 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application."));
    }
    let mut target = url::Url::parse(&redirect_uri)
        .map_err(|_| bad("invalid_request", 50011, "The redirect URI is not a valid URL."))?;
    let redirect_error = |mut target: url::Url, error: &str, description: &str| -> Response {
        target.query_pairs_mut().append_pair("error", error).append_pair("error_description", description);
        if let Some(s) = q.get("state") {
            target.query_pairs_mut().append_pair("state", s);
        }
        (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Ok(redirect_error(target, "unsupported_response_type", "AADSTS700054: response_type must be 'code'."));
    }
    let scope = q.get("scope").cloned().unwrap_or_default();
    if scope.trim().is_empty() {
        return Ok(redirect_error(
            target,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
        ));
    }
    let challenge = q.get("code_challenge").filter(|c| !c.is_empty()).cloned();
    let method = match (&challenge, q.get("code_challenge_method").map(String::as_str)) {
        (None, _) => None,
        (Some(_), None | Some("plain")) => Some("plain".to_owned()),
        (Some(_), Some("S256")) => Some("S256".to_owned()),
        (Some(_), Some(_)) => {
            return Ok(redirect_error(target, "invalid_request", "AADSTS501491: Invalid code_challenge_method."))
        }
    };
    let code = random_token(48);
    let grant = CodeGrant {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope,
        challenge,
        challenge_method: method,
        expires_ms: now_ms() + CODE_TTL_MS,
        used: false,
    };
    let d = digest(&code);
    state.db().call(move |c| tokens::insert_code(c, &d, &grant)).await?;
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = q.get("state") {
        target.query_pairs_mut().append_pair("state", s);
    }
    target.query_pairs_mut().append_pair("session_state", &random_token(16));
    Ok((StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response())
}

/// `POST /{tenant}/oauth2/v2.0/token` (form-encoded): `authorization_code`, `refresh_token` and
/// (confidential clients, for tests: one request gives a token for the drive) `client_credentials`.
pub async fn token(
    State(state): State<AppState>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let basic = basic_credentials(&headers);
    let client_id = form.get("client_id").cloned().or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let client = client(&state, client_id.as_deref())?.clone();
    if !client.client_secret.is_empty() {
        let secret = form.get("client_secret").cloned().or_else(|| basic.map(|b| b.1));
        match secret {
            None => {
                return Err(EmulatorError::oauth(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ))
            }
            Some(s) if s != client.client_secret => {
                return Err(EmulatorError::oauth(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided.",
                ))
            }
            Some(_) => {}
        }
    }
    let scope = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let scope = redeem_code(&state, &client, &form).await?;
            state.count_grant(false);
            scope
        }
        Some("refresh_token") => {
            let scope = redeem_refresh(&state, &client, &form).await?;
            state.count_grant(true);
            scope
        }
        Some("client_credentials") => client_credentials(&client, &form)?,
        Some(other) => {
            return Err(bad(
                "unsupported_grant_type",
                70003,
                format!(
                    "The app requested an unsupported grant type '{}'.",
                    other.chars().take(50).collect::<String>()
                ),
            ))
        }
        None => {
            return Err(bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ))
        }
    };
    issue(&state, &client, &scope).await
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

async fn redeem_code(
    state: &AppState,
    client: &ClientRegistration,
    form: &HashMap<String, String>,
) -> Result<String, EmulatorError> {
    let code = form.get("code").filter(|c| !c.is_empty()).ok_or_else(|| {
        bad("invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
    })?;
    let d = digest(code);
    let grant = state.db().call(move |c| tokens::take_code(c, &d)).await?;
    let invalid = |n: u32, m: &str| bad("invalid_grant", n, m.to_owned());
    let grant = grant
        .ok_or_else(|| invalid(9002313, "Invalid request. Request is malformed or invalid: the code is not valid."))?;
    if grant.used {
        return Err(invalid(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."));
    }
    if grant.expires_ms <= now_ms() {
        return Err(invalid(70008, "The provided authorization code or refresh token has expired due to inactivity."));
    }
    if grant.client_id != client.client_id {
        return Err(invalid(
            70000,
            "The provided value for the 'code' parameter is not valid: it was issued to another client.",
        ));
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err(invalid(
            70000,
            "The provided value for the 'redirect_uri' is not valid: it must match the authorization request.",
        ));
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let computed = match grant.challenge_method.as_deref() {
            Some("S256") => pkce_s256(verifier),
            _ => verifier.to_owned(),
        };
        if !well_formed || computed != *challenge {
            return Err(invalid(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
    }
    Ok(grant.scope)
}

/// The client-credentials grant: a confidential client's secret (checked above) and a
/// `{resource}/.default` scope give an access token (no refresh token). The emulator has one
/// drive, so such a token reaches `me/drive` too (Graph would want `users/{id}/drive`).
fn client_credentials(client: &ClientRegistration, form: &HashMap<String, String>) -> Result<String, EmulatorError> {
    if client.client_secret.is_empty() {
        return Err(EmulatorError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let scope = form.get("scope").map(String::as_str).unwrap_or("");
    if !scope.ends_with("/.default") || scope.contains(char::is_whitespace) {
        return Err(bad(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                scope.chars().take(100).collect::<String>()
            ),
        ));
    }
    Ok(scope.to_owned())
}

async fn redeem_refresh(
    state: &AppState,
    client: &ClientRegistration,
    form: &HashMap<String, String>,
) -> Result<String, EmulatorError> {
    let token = form.get("refresh_token").filter(|t| !t.is_empty()).ok_or_else(|| {
        bad("invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
    })?;
    let d = digest(token);
    let d2 = d.clone();
    let row = state.db().call(move |c| tokens::get_token(c, &d2, TokenKind::Refresh)).await?;
    let invalid = |n: u32, m: &str| bad("invalid_grant", n, m.to_owned());
    let row = row.ok_or_else(|| {
        invalid(9002313, "Invalid request. Request is malformed or invalid: the refresh token is not valid.")
    })?;
    if row.revoked {
        return Err(invalid(
            70008,
            "The refresh token has expired or was revoked: it was already used to get a new one.",
        ));
    }
    if row.expires_ms <= now_ms() {
        return Err(invalid(700082, "The refresh token has expired due to inactivity."));
    }
    if row.client_id != client.client_id {
        return Err(invalid(70000, "The refresh token was issued to another client."));
    }
    state.db().call(move |c| tokens::revoke_token(c, &d)).await?;
    Ok(row.scope)
}

async fn issue(state: &AppState, client: &ClientRegistration, scope: &str) -> Result<Response, EmulatorError> {
    let now = now_ms();
    let ttl = state.config().access_token_ttl;
    let access = format!("EwB{}", random_token(48));
    let offline = scope.split_whitespace().any(|s| s == "offline_access");
    let refresh = offline.then(|| format!("M.C{}", random_token(48)));
    let access_row = TokenRow {
        client_id: client.client_id.clone(),
        scope: scope.to_owned(),
        expires_ms: now + ttl.as_millis() as i64,
        revoked: false,
    };
    let (ad, rd) = (digest(&access), refresh.as_deref().map(digest));
    let (ad2, row2) = (ad.clone(), access_row.clone());
    state
        .db()
        .call(move |c| {
            tokens::insert_token(c, &ad2, TokenKind::Access, &row2)?;
            if let Some(rd) = rd {
                tokens::insert_token(
                    c,
                    &rd,
                    TokenKind::Refresh,
                    &TokenRow { expires_ms: now + REFRESH_TTL_MS, ..row2.clone() },
                )?;
            }
            Ok(())
        })
        .await?;
    state.cache_access_token(&ad, access_row.expires_ms);
    let granted: Vec<&str> =
        scope.split_whitespace().filter(|s| !["offline_access", "openid", "profile", "email"].contains(s)).collect();
    let mut body = json!({
        "token_type": "Bearer",
        "scope": granted.join(" "),
        "expires_in": ttl.as_secs(),
        "ext_expires_in": ttl.as_secs(),
        "access_token": access,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Ok(([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response())
}
