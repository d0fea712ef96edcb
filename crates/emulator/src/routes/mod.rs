//! The HTTP surface: Graph v1.0 (bearer token required), upload URLs (pre-authenticated, CORS
//! for any origin), download and share URLs (pre-authenticated, simple CORS requests only), the
//! identity platform, and the optional
//! fault-injection control API. Every error is Graph- or OAuth-shaped.

pub mod auth;
pub mod conditions;
pub mod control;
pub mod download;
pub mod drive;
pub mod graph_path;
pub mod items;
pub mod render;
pub mod request_id;
pub mod sessions;
pub mod source_commit;
pub mod upload;

use crate::error::EmulatorError;
use crate::state::AppState;
use crate::util::{digest, now_ms};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// Largest JSON body a Graph or control route reads.
const MAX_JSON_BODY: usize = 1 << 20;

/// The router of the content host (the second listener of [`crate::spawn_with`]): upload,
/// download and sharing URLs only, as OneDrive serves them apart from Graph.
pub fn content_router(state: AppState) -> Router {
    pre_authenticated()
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

fn pre_authenticated() -> Router<AppState> {
    let uploads = Router::new().route("/upload/{id}", any(upload::handle)).layer(cors_any_origin());
    let downloads = Router::new()
        .route("/download/{token}", get(download::by_token))
        .route("/share/{token}", get(download::shared))
        .layer(middleware::from_fn(simple_cors_only));
    uploads.merge(downloads)
}

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let graph = Router::new()
        .route("/v1.0/{*rest}", any(drive::dispatch))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .route_layer(middleware::from_fn_with_state(state.clone(), graph_latency))
        .layer(cors_any_origin());
    let identity = Router::new()
        .route("/{tenant}/oauth2/v2.0/authorize", get(auth::authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token));
    let mut router = Router::new().merge(graph).merge(pre_authenticated()).merge(identity);
    if state.config().fault_injection {
        // Its own 405 fallback before the CORS layer, so that a preflight (OPTIONS) is answered
        // by the layer instead of the outer router's 405.
        router =
            router.merge(control::router().method_not_allowed_fallback(method_not_allowed).layer(cors_any_origin()));
    }
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// CORS for browsers on any origin: any method used here, any request header (so that a
/// wrongly sent `Authorization` reaches us and gets its 401), and the headers a client reads.
pub fn cors_any_origin() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH, Method::HEAD])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::RETRY_AFTER,
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::ACCEPT_RANGES,
            header::LOCATION,
            request_id::REQUEST_ID,
            request_id::CLIENT_REQUEST_ID,
        ])
        .max_age(std::time::Duration::from_secs(3600))
}

/// CORS of the download and share URLs, as Microsoft documents SharePoint's download hosts: a
/// simple GET (no custom headers; `Range` is safelisted) from any origin may read the answer, but
/// a preflight gets no permission (405, no `Access-Control-*` headers), so a page that sends
/// `Authorization` or custom headers there fails in every browser, as it would against OneDrive.
async fn simple_cors_only(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return axum::response::IntoResponse::into_response(method_not_allowed(Method::OPTIONS).await);
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static("content-length, content-range, accept-ranges, content-disposition"),
    );
    response
}

/// The base of the upload, download and sharing URLs the emulator hands out: the configured
/// public URL, else `http://{Host}` (`https://` with TLS) as the client reached it.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.config().public_url {
        return public.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '@']));
    let scheme = if state.config().tls.is_some() { "https" } else { "http" };
    format!("{scheme}://{}", host.unwrap_or("127.0.0.1"))
}

/// Reads a small JSON body; malformed or oversized bodies are Graph-shaped 400/413.
/// An empty body is `None`.
pub async fn read_json<T: serde::de::DeserializeOwned>(body: Body) -> Result<Option<T>, EmulatorError> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_JSON_BODY).await.map_err(|_| {
        EmulatorError::graph(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            "The request body is too large.",
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        EmulatorError::invalid_request(format!("Unable to read JSON request payload: {e}")).with_inner("invalidJson")
    })
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check_token(&state, request.headers()).await {
        Ok(()) => next.run(request).await,
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

async fn check_token(state: &AppState, headers: &HeaderMap) -> Result<(), EmulatorError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or("");
    if token.is_empty() {
        return Err(EmulatorError::unauthenticated("Access token is empty."));
    }
    let d = digest(token);
    let expires = match state.cached_access_token(&d) {
        Some(e) => Some(e),
        None => {
            let d2 = d.clone();
            let row = state
                .db()
                .call(move |c| crate::store::tokens::get_token(c, &d2, crate::store::tokens::TokenKind::Access))
                .await?;
            let row = row.filter(|r| !r.revoked);
            if let Some(row) = &row {
                state.cache_access_token(&d, row.expires_ms);
            }
            row.map(|r| r.expires_ms)
        }
    };
    match expires {
        None => Err(EmulatorError::unauthenticated("Access token validation failure. Invalid audience.")),
        Some(e) if e <= now_ms() => {
            Err(EmulatorError::unauthenticated("Lifetime validation failed, the token is expired."))
        }
        Some(_) => Ok(()),
    }
}

async fn graph_latency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let latency = state.config().graph_latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> EmulatorError {
    EmulatorError::graph(
        axum::http::StatusCode::NOT_FOUND,
        "itemNotFound",
        format!("No route for {method} {}.", uri.path().chars().take(200).collect::<String>()),
    )
}

async fn method_not_allowed(method: Method) -> EmulatorError {
    EmulatorError::graph(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "invalidRequest",
        format!("The method {method} is not allowed here."),
    )
}
