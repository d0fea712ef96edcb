//! The server's one error type and its JSON answer `{"error":{"code","message"}}`.
//!
//! Messages are written for the browser and the operator; they never contain a token,
//! an upload URL or an upstream error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::protocol::ServerError;
use thiserror::Error;

/// Everything a request can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    /// 401: no, malformed, expired or badly signed bearer token.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: authenticated, but the item belongs to someone else or the action is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such item (or route).
    #[error("no such file")]
    NotFound,
    /// 404: the upload a `statusUrl` names has not committed a file (or is not the caller's).
    #[error("this upload has not committed a file")]
    NotCommitted,
    /// 405: the route exists, the method does not.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 400 with a stable code (e.g. `invalid_filename`, `folder_not_allowed`, `invalid_json`).
    #[error("{message}")]
    BadRequest {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// 413: the announced file (or the request body) is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// 429: this user started too many uploads; retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after: u64,
        /// Which limit was hit.
        message: String,
    },
    /// 409: a name clash in the drive, or a state that forbids the action.
    #[error("{0}")]
    Conflict(String),
    /// 503: the OneDrive account is not connected (never connected, or its refresh token was refused).
    #[error("the OneDrive account is not connected: an operator must visit /auth/login to connect it")]
    AccountDisconnected,
    /// 503: Graph or the identity platform is unreachable or throttling us.
    #[error("OneDrive is unavailable right now, try again later")]
    Unavailable {
        /// The upstream `Retry-After` value in seconds, when it gave one.
        retry_after: Option<u64>,
    },
    /// 507: the drive is full.
    #[error("the OneDrive account has no space left")]
    InsufficientStorage,
    /// 502: Graph answered something we cannot use (the detail goes to the log only).
    #[error("OneDrive answered unexpectedly")]
    BadGateway,
    /// 500: a bug or a local I/O failure (the detail goes to the log only).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NotCommitted => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::AccountDisconnected | ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::BadGateway => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code sent in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::NotCommitted => "not_committed",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BadRequest { code, .. } => code,
            ApiError::TooLarge(_) => "too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::AccountDisconnected => "account_disconnected",
            ApiError::Unavailable { .. } => "upstream_unavailable",
            ApiError::InsufficientStorage => "insufficient_storage",
            ApiError::BadGateway => "upstream_error",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::BadGateway | ApiError::Unavailable { .. } => {
                tracing::warn!(code = self.code(), "upstream failure")
            }
            _ => tracing::debug!(code = self.code(), status = status.as_u16(), "request refused"),
        }
        let body = ServerError::new(self.code(), self.to_string());
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let ApiError::Unauthenticated(_) = self {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Unavailable { retry_after: Some(secs) } | ApiError::TooManyRequests { retry_after: secs, .. } =
            self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_json_body_and_status() {
        let cases = [
            (ApiError::Unauthenticated("x".into()), 401, "unauthenticated"),
            (ApiError::Forbidden("x".into()), 403, "forbidden"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::bad_request("invalid_filename", "x"), 400, "invalid_filename"),
            (ApiError::TooLarge("x".into()), 413, "too_large"),
            (ApiError::AccountDisconnected, 503, "account_disconnected"),
            (ApiError::TooManyRequests { retry_after: 3, message: "x".into() }, 429, "too_many_requests"),
            (ApiError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.code(), code);
            let response = err.into_response();
            assert_eq!(response.status().as_u16(), status);
        }
        assert_eq!(ApiError::Internal("secret detail".into()).to_string(), "internal error");
        assert!(ApiError::AccountDisconnected.to_string().contains("/auth/login"));
    }
}
