//! Signing in to the emulator's identity platform the way an app does: authorization-code grant
//! with PKCE (auto-consent), then the code redeemed at the token endpoint.

use reqwest::header::LOCATION;
use reqwest::Client;
use serde_json::Value;

/// The PKCE `code_verifier` of RFC 7636's example.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 `code_challenge` of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A loopback redirect URI nothing listens on (the redirect is read, never followed).
pub const REDIRECT: &str = "http://127.0.0.1:9/getAToken";
/// The scopes asked for.
pub const SCOPE: &str = "offline_access Files.ReadWrite.All";

/// Errors of these helpers: a message saying which step answered what.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// An OAuth client: id and secret.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    /// `client_id`.
    pub id: &'a str,
    /// `client_secret`.
    pub secret: &'a str,
}

/// Access and refresh token of a sign-in.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Bearer token for Graph.
    pub access: String,
    /// Token for the refresh grant.
    pub refresh: String,
}

/// A client that does not follow redirects (the authorize redirect is read, not followed).
pub fn http() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a reqwest client")
}

/// `GET {base}/common/oauth2/v2.0/authorize` with PKCE for `client_id` and answers the code of
/// the redirect; an error unless the answer is a 302 to [`REDIRECT`] echoing `state`.
pub async fn authorize(http: &Client, base: &str, client_id: &str, state: &str) -> Result<String, Error> {
    let r = http
        .get(format!("{base}/common/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("response_mode", "query"),
            ("scope", SCOPE),
            ("state", state),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    if r.status() != 302 {
        return Err(format!("authorize answered {}", r.status()).into());
    }
    let location = url::Url::parse(r.headers().get(LOCATION).ok_or("no Location")?.to_str()?)?;
    if !location.as_str().starts_with(REDIRECT) {
        return Err(format!("authorize redirected to {location}").into());
    }
    let query = |key: &str| location.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    if query("state").as_deref() != Some(state) {
        return Err(format!("authorize did not echo the state: {location}").into());
    }
    query("code").ok_or_else(|| format!("no code in {location}").into())
}

/// `POST {base}/common/oauth2/v2.0/token` with `form`; answers status and JSON body.
pub async fn token_request(http: &Client, base: &str, form: &[(&str, &str)]) -> Result<(u16, Value), Error> {
    let r = http.post(format!("{base}/common/oauth2/v2.0/token")).form(form).send().await?;
    Ok((r.status().as_u16(), r.json().await?))
}

/// Redeems `code` with `verifier` (authorization_code grant); answers status and JSON body.
pub async fn redeem(
    http: &Client,
    base: &str,
    client: ClientCredentials<'_>,
    code: &str,
    verifier: &str,
) -> Result<(u16, Value), Error> {
    let form = [
        ("client_id", client.id),
        ("client_secret", client.secret),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("scope", SCOPE),
    ];
    token_request(http, base, &form).await
}

/// The whole sign-in: authorize, then redeem the code; answers the tokens.
pub async fn login(http: &Client, base: &str, client: ClientCredentials<'_>) -> Result<Tokens, Error> {
    let code = authorize(http, base, client.id, "login").await?;
    let (status, body) = redeem(http, base, client, &code, VERIFIER).await?;
    let field = |k: &str| body[k].as_str().map(str::to_owned).ok_or_else(|| format!("token answer {status}: {body}"));
    Ok(Tokens { access: field("access_token")?, refresh: field("refresh_token")? })
}
