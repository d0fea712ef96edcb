//! The one error type of the emulator: startup failures and every HTTP error answer,
//! shaped as Graph (`{"error":{"code","message","innerError"}}`) or as the identity platform.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use onedrive_upload_core::protocol::{GraphError, GraphErrorDetail, InnerError};
use onedrive_upload_core::CoreError;
use thiserror::Error;

/// A Graph error answer.
#[derive(Debug, Clone)]
pub struct GraphFailure {
    /// HTTP status.
    pub status: StatusCode,
    /// Top-level Graph code (`itemNotFound`, `invalidRange`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Inner code (`fragmentOverlap`, ...), if any.
    pub inner: Option<String>,
    /// `Retry-After` header value, if any.
    pub retry_after: Option<String>,
    /// A whole body to send instead of the generated one (fault injection).
    pub body: Option<serde_json::Value>,
}

/// Everything that can go wrong in the emulator.
#[derive(Debug, Error)]
pub enum EmulatorError {
    /// Disk trouble.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite trouble.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A Graph-shaped error answer.
    #[error("{} {}: {}", .0.status, .0.code, .0.message)]
    Graph(Box<GraphFailure>),
    /// An identity-platform error answer (`{"error","error_description","error_codes"}`).
    #[error("{error}: {description}")]
    OAuth {
        /// HTTP status (400 or 401).
        status: StatusCode,
        /// OAuth error (`invalid_grant`, ...).
        error: &'static str,
        /// AADSTS number.
        aadsts: u32,
        /// Description (prefixed with `AADSTS{n}: ` when sent).
        description: String,
    },
}

impl EmulatorError {
    /// A Graph error with a status, code and message.
    pub fn graph(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        EmulatorError::Graph(Box::new(GraphFailure {
            status,
            code: code.to_owned(),
            message: message.into(),
            inner: None,
            retry_after: None,
            body: None,
        }))
    }

    /// Adds an inner error code (Graph errors only).
    pub fn with_inner(mut self, inner: &str) -> Self {
        if let EmulatorError::Graph(g) = &mut self {
            g.inner = Some(inner.to_owned());
        }
        self
    }

    /// 400 `invalidRequest`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::graph(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }

    /// 404 `itemNotFound`.
    pub fn item_not_found() -> Self {
        Self::graph(StatusCode::NOT_FOUND, "itemNotFound", "The resource could not be found.")
    }

    /// 404 for an expired, cancelled, completed or unknown upload session (inner code
    /// `uploadSessionNotFound`, from Graph's list of detailed error codes).
    pub fn session_not_found() -> Self {
        Self::graph(StatusCode::NOT_FOUND, "itemNotFound", "The upload session was not found")
            .with_inner("uploadSessionNotFound")
    }

    /// 409 `nameAlreadyExists`.
    pub fn name_exists() -> Self {
        Self::graph(StatusCode::CONFLICT, "nameAlreadyExists", "The specified item name already exists.")
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn unauthenticated(message: &str) -> Self {
        Self::graph(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    /// An identity-platform error.
    pub fn oauth(status: StatusCode, error: &'static str, aadsts: u32, description: impl Into<String>) -> Self {
        EmulatorError::OAuth { status, error, aadsts, description: description.into() }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            EmulatorError::Io(_) | EmulatorError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EmulatorError::Graph(g) => g.status,
            EmulatorError::OAuth { status, .. } => *status,
        }
    }
}

/// A name or an item id that breaks OneDrive's rules is a 400 `invalidRequest`, as Graph answers it
/// (names with the inner code `invalidName`); any other core error is a plain 400.
impl From<CoreError> for EmulatorError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Name(rule) => {
                EmulatorError::invalid_request(format!("The name is not valid: it {rule}.")).with_inner("invalidName")
            }
            CoreError::ItemId => EmulatorError::invalid_request("Invalid item id."),
            other => EmulatorError::invalid_request(other.to_string()),
        }
    }
}

/// Builds a Graph error body with `request-id`, `client-request-id` (those of the answer's
/// headers) and `date` in the inner error.
pub fn graph_body(code: &str, message: &str, inner: Option<&str>) -> serde_json::Value {
    let now = crate::util::now_ms();
    let ids = crate::routes::request_id::current();
    let body = GraphError {
        error: GraphErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            inner_error: Some(Box::new(InnerError {
                code: inner.map(str::to_owned),
                request_id: Some(
                    ids.as_ref().map_or_else(crate::routes::request_id::new_guid, |i| i.request_id.clone()),
                ),
                date: Some(onedrive_upload_core::time::format_millis(now - now % 1000).replace(".000Z", "")),
                inner_error: None,
            })),
        },
    };
    let mut value = serde_json::to_value(body).unwrap_or_default();
    if let (Some(ids), Some(inner)) = (ids, value.pointer_mut("/error/innerError").and_then(|v| v.as_object_mut())) {
        inner.insert("client-request-id".to_owned(), serde_json::Value::String(ids.client_request_id));
    }
    value
}

impl IntoResponse for EmulatorError {
    fn into_response(self) -> Response {
        match self {
            EmulatorError::Io(_) | EmulatorError::Db(_) => {
                tracing::error!(error = %self, "internal error");
                let body = graph_body("generalException", "An unspecified error has occurred.", None);
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
            }
            EmulatorError::Graph(g) => {
                let body = g.body.clone().unwrap_or_else(|| graph_body(&g.code, &g.message, g.inner.as_deref()));
                let mut response = (g.status, axum::Json(body)).into_response();
                if let Some(v) = g.retry_after.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                if g.status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(
                            "Bearer realm=\"\", authorization_uri=\"/common/oauth2/v2.0/authorize\"",
                        ),
                    );
                }
                response
            }
            EmulatorError::OAuth { status, error, aadsts, description } => {
                let now = crate::util::now_ms();
                let body = serde_json::json!({
                    "error": error,
                    "error_description": format!("AADSTS{aadsts}: {description}"),
                    "error_codes": [aadsts],
                    "timestamp": format!("{}Z", &onedrive_upload_core::time::format_millis(now)[..19].replace('T', " ")),
                    "trace_id": crate::util::random_token(16),
                    "correlation_id": crate::util::random_token(16),
                    "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
                });
                let mut response = (status, axum::Json(body)).into_response();
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}
