//! Who is calling: the [`Authenticator`] trait (pluggable by embedding apps) and the JWT one.

use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::names::UserId;
use crate::AppState;

/// The future an [`Authenticator`] answers with.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<UserId, ApiError>> + Send + 'a>>;

/// Decides who sent a request. Implement it to plug the site's own sessions in;
/// answer [`ApiError::Unauthenticated`] to refuse.
pub trait Authenticator: Send + Sync + 'static {
    /// Identifies the caller from the request headers.
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a>;
}

/// The JWT claims the server reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch (required).
    pub exp: u64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before, seconds since the Unix epoch (checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Clock skew tolerated on `exp` and `nbf` unless [`JwtAuthenticator::with_leeway`] says otherwise.
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// Verifies `Authorization: Bearer <JWT>` (HS256 secret, or RS256/ES256 public key): `exp` required,
/// `nbf` checked when present, both with a few seconds of leeway.
pub struct JwtAuthenticator {
    key: DecodingKey,
    validation: Validation,
}

impl JwtAuthenticator {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::with_key(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// RS256 or ES256 with a PEM public key.
    pub fn from_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, String> {
        let key = match algorithm {
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            other => return Err(format!("{other:?} needs a shared secret, not a PEM key")),
        }
        .map_err(|e| format!("unreadable PEM public key: {e}"))?;
        Ok(Self::with_key(key, algorithm))
    }

    fn with_key(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = DEFAULT_LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtAuthenticator { key, validation }
    }

    /// Tolerates this much clock skew on `exp` and `nbf`, in seconds.
    pub fn with_leeway(mut self, secs: u64) -> Self {
        self.validation.leeway = secs;
        self
    }

    /// Also requires this `iss`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self
    }

    /// Also requires this `aud`.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.validate_aud = true;
        self
    }

    /// Verifies a token and returns its validated user id.
    pub fn verify(&self, token: &str) -> Result<UserId, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            ApiError::Unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => "the bearer token has expired".into(),
                ErrorKind::ImmatureSignature => "the bearer token is not valid yet".into(),
                ErrorKind::InvalidSignature => "the bearer token's signature is invalid".into(),
                _ => "the bearer token is invalid".into(),
            })
        })?;
        UserId::parse(&data.claims.sub).map_err(ApiError::Unauthenticated)
    }
}

impl Authenticator for JwtAuthenticator {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move { self.verify(bearer(headers)?) })
    }
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("an Authorization: Bearer token is required".into()))?;
    let value = value.to_str().map_err(|_| ApiError::Unauthenticated("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::Unauthenticated("the Authorization header must be \"Bearer <token>\"".into())),
    }
}

/// Issues HS256 tokens (dev mode's `/dev/token`, tests).
#[derive(Clone)]
pub struct JwtIssuer {
    key: EncodingKey,
}

impl JwtIssuer {
    /// An issuer for a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        JwtIssuer { key: EncodingKey::from_secret(secret) }
    }

    /// A token for `user` valid for `ttl_secs` from now (negative = already expired).
    pub fn issue(&self, user: &UserId, ttl_secs: i64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = Claims {
            sub: user.as_str().to_owned(),
            exp: now.saturating_add_signed(ttl_secs),
            iat: Some(now),
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key).expect("HS256 encoding cannot fail")
    }
}

/// Extractor: the authenticated caller, or a 401.
pub struct User(pub UserId);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.authenticator().authenticate(&parts.headers).await.map(User)
    }
}

/// The README (its Rust blocks: the backend guide's token snippet), compiled as doctests so that the
/// guide keeps building against the pinned `jsonwebtoken`; `readme_snippet_token_is_accepted` runs it.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeRustSnippets;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[tokio::test]
    async fn hs256_round_trip_and_refusals() {
        let issuer = JwtIssuer::hs256(b"secret");
        let auth = JwtAuthenticator::hs256(b"secret");
        let alice = UserId::parse("alice").unwrap();
        let good = issuer.issue(&alice, 60);
        assert_eq!(auth.authenticate(&headers(&format!("Bearer {good}"))).await.unwrap(), alice);
        assert_eq!(auth.authenticate(&headers(&format!("bearer {good}"))).await.unwrap(), alice);
        let expired = issuer.issue(&alice, -3600);
        let err = auth.authenticate(&headers(&format!("Bearer {expired}"))).await.unwrap_err();
        assert!(err.to_string().contains("expired"));
        let forged = JwtIssuer::hs256(b"other").issue(&alice, 60);
        assert!(auth.authenticate(&headers(&format!("Bearer {forged}"))).await.is_err());
        assert!(auth.authenticate(&headers("Basic abc")).await.is_err());
        assert!(auth.authenticate(&headers("Bearer ")).await.is_err());
        assert!(auth.authenticate(&HeaderMap::new()).await.is_err());
        let hostile = JwtIssuer { key: EncodingKey::from_secret(b"secret") };
        let claims = Claims { sub: "../bob".into(), exp: u64::MAX / 2, iat: None, nbf: None };
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &hostile.key).unwrap();
        assert_eq!(auth.authenticate(&headers(&format!("Bearer {t}"))).await.unwrap_err().code(), "unauthenticated");
    }

    /// The README's "Integrating with the site's main backend" Rust snippet, as written there.
    fn onedrive_upload_token(user_id: &str, secret: &[u8]) -> jsonwebtoken::errors::Result<String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            sub: &'a str,
            iss: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims =
            Claims { sub: user_id, iss: "https://YOUR-SITE", aud: "onedrive-upload", iat: now, exp: now + 3600 };
        jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret))
    }

    #[tokio::test]
    async fn readme_snippet_token_is_accepted() {
        let secret = b"a-shared-secret-of-at-least-32-bytes";
        let token = onedrive_upload_token("42", secret).unwrap();
        let auth = JwtAuthenticator::hs256(secret).with_issuer("https://YOUR-SITE").with_audience("onedrive-upload");
        let user = auth.authenticate(&headers(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(user, UserId::parse("42").unwrap());
        let readme = include_str!("../../../README.md");
        for line in [
            "encode(&Header::default(), &claims, &EncodingKey::from_secret(secret))",
            "struct Claims<'a> { sub: &'a str, iss: &'a str, aud: &'a str, iat: u64, exp: u64 }",
        ] {
            assert!(readme.contains(line), "the README's snippet no longer has `{line}`: update this test with it");
        }
    }

    #[test]
    fn nbf_and_exp_leeway_is_a_few_seconds() {
        let key = EncodingKey::from_secret(b"secret");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let token = |exp: u64, nbf: Option<u64>| {
            let claims = Claims { sub: "alice".into(), exp, iat: None, nbf };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
        };
        let auth = JwtAuthenticator::hs256(b"secret");
        assert!(auth.verify(&token(now + 60, Some(now))).is_ok());
        assert!(auth.verify(&token(now + 60, Some(now + 60))).unwrap_err().to_string().contains("not valid yet"));
        assert!(auth.verify(&token(now - 10, None)).is_err(), "10 s past exp");
        assert!(auth.verify(&token(now - 2, None)).is_ok(), "within the default leeway");
        let lax = JwtAuthenticator::hs256(b"secret").with_leeway(60);
        assert!(lax.verify(&token(now - 30, None)).is_ok());
    }

    #[test]
    fn pem_keys_need_an_asymmetric_algorithm() {
        assert!(JwtAuthenticator::from_pem(Algorithm::HS256, b"x").is_err());
        assert!(JwtAuthenticator::from_pem(Algorithm::RS256, b"not a pem").is_err());
    }
}
