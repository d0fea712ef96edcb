//! onedrive-upload-server: holds a OneDrive account's tokens, issues upload sessions to authenticated users
//! and organises their files. Mount [`app`] in any axum application, with your own [`Authenticator`].

pub mod config;
pub mod config_database;
pub mod database;
pub mod embedded;
pub mod error;
pub mod graph;
pub mod lease;
pub mod limits;
pub mod limits_pg;
pub mod logsafe;
pub mod names;
pub mod oauth;
pub mod oauth_settings;
pub mod pending_logins;
pub mod routes;
pub mod sealing;
pub mod sweep;
pub mod token_file;
pub mod tokens;
pub mod users;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method, Request};
use axum::routing::{get, post};
use axum::Router;
use tower::util::MapRequestLayer;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::ApiError;
pub use graph::GraphClient;
pub use limits::{LimitStore, MemoryLimitStore, SessionLimits};
pub use names::UserId;
pub use oauth::{AdminToken, OAuthFlow};
pub use tokens::{AccountStatus, OAuthSettings, TokenManager};
pub use users::{AuthFuture, Authenticator, JwtAuthenticator, JwtIssuer, User};

/// Where the server gets its drive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The in-process emulator.
    Embedded,
    /// Microsoft Graph and the Microsoft identity platform.
    Microsoft,
}

impl Mode {
    /// `embedded` or `microsoft`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Microsoft => "microsoft",
        }
    }
}

/// Everything [`AppState::new`] needs (see `config.rs` for the flags that fill it).
#[derive(Debug, Clone)]
pub struct Options {
    /// Embedded emulator or Microsoft.
    pub mode: Mode,
    /// Graph base URL, e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_url: String,
    /// The emulator's base URL in embedded mode (shown by `/dev/info`).
    pub emulator_url: Option<String>,
    /// Whether the embedded emulator's fault-injection API is on (shown by `/dev/info`).
    pub fault_injection: bool,
    /// OAuth client settings.
    pub oauth: OAuthSettings,
    /// Token file (written 0600, atomically).
    pub token_file: PathBuf,
    /// Refresh the access token this long before it expires.
    pub refresh_margin: Duration,
    /// Path of the OAuth callback route, e.g. `/getAToken`.
    pub callback_path: String,
    /// Feature folders files may be moved to (validated names).
    pub folders: Vec<String>,
    /// Largest file a session may be created for, in bytes.
    pub max_file_size: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Origins allowed by CORS (exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Directory served at `/`.
    pub www: Option<PathBuf>,
    /// Directory served at `/pkg/`.
    pub pkg: Option<PathBuf>,
    /// `Some(issuer)` enables `/dev/token` and `/dev/info` and loopback CORS origins.
    pub dev_issuer: Option<JwtIssuer>,
    /// The operator's bearer secret for `/auth/login` and `/auth/disconnect` (none: connect URLs only).
    pub admin_token: Option<oauth::AdminToken>,
    /// Per-user limits on upload-session creation.
    pub session_limits: SessionLimits,
    /// Uploads never moved out of `temp/` are deleted once older than this ([`sweep`]); zero disables.
    pub temp_retention: Duration,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtIssuer(<redacted>)")
    }
}

struct Inner {
    options: Options,
    graph: GraphClient,
    oauth: OAuthFlow,
    authenticator: Arc<dyn Authenticator>,
    limits: Arc<dyn LimitStore>,
    lease: Arc<dyn lease::Lease>,
    http: reqwest::Client,
    /// (connection, app folder id, app folder path) once known; the mutex makes the lookup single-flight.
    approot: std::sync::RwLock<Option<(u64, Arc<AppRoot>)>>,
    approot_lookup: tokio::sync::Mutex<()>,
    folder_ids: HashMap<String, FolderSlot>,
}

/// The app folder (`special/approot`) of the connected drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoot {
    /// Its item id.
    pub id: String,
    /// Its full path as Graph writes `parentReference.path`, e.g. `/drive/root:/Apps/onedrive-upload`.
    pub path: String,
}

/// A feature folder: its configured name and its drive id once known (the lock makes lookup single-flight).
pub(crate) struct FolderSlot {
    pub(crate) name: String,
    pub(crate) id: tokio::sync::Mutex<Option<(u64, String)>>,
}

/// The shared state of every route. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Builds the state: loads the token file, prepares the Graph client and the OAuth flow; the
    /// per-user session counters are kept in memory.
    pub fn new(options: Options, authenticator: Arc<dyn Authenticator>) -> Result<AppState, String> {
        Self::with_limit_store(options, authenticator, Arc::new(MemoryLimitStore::default()))
    }

    /// [`AppState::new`] with the per-user session counters kept in `limits` (e.g. a database
    /// shared by several servers).
    pub fn with_limit_store(
        options: Options,
        authenticator: Arc<dyn Authenticator>,
        limits: Arc<dyn LimitStore>,
    ) -> Result<AppState, String> {
        Self::build(options, authenticator, limits, None)
    }

    /// [`AppState::new`] for one of several processes sharing `database`: the tokens, pending
    /// logins and per-user session counters live there (call [`TokenManager::sync`] and
    /// [`TokenManager::spawn_sync`] once the state is built).
    pub fn with_database(
        options: Options,
        authenticator: Arc<dyn Authenticator>,
        database: Arc<database::Database>,
    ) -> Result<AppState, String> {
        let limits = Arc::new(limits_pg::PgLimitStore::new(database.clone()));
        Self::build(options, authenticator, limits, Some(database))
    }

    fn build(
        options: Options,
        authenticator: Arc<dyn Authenticator>,
        limits: Arc<dyn LimitStore>,
        database: Option<Arc<database::Database>>,
    ) -> Result<AppState, String> {
        for folder in &options.folders {
            names::validate_folder(folder)?;
        }
        if !options.callback_path.starts_with('/') {
            return Err("the callback path must start with '/'".into());
        }
        let http = graph::http_client();
        let lease: Arc<dyn lease::Lease> = match &database {
            Some(db) => Arc::new(lease::PgLease::new(db.clone())),
            None => Arc::new(lease::SingleProcess),
        };
        let tokens = Arc::new(match database {
            Some(db) => TokenManager::shared(
                &options.oauth,
                http.clone(),
                db,
                options.token_file.clone(),
                options.refresh_margin,
            )?,
            None => {
                TokenManager::new(&options.oauth, http.clone(), options.token_file.clone(), options.refresh_margin)?
            }
        });
        let graph = GraphClient::new(http.clone(), &options.graph_url, tokens.clone());
        let folder_ids = options
            .folders
            .iter()
            .map(|f| (f.to_ascii_lowercase(), FolderSlot { name: f.clone(), id: tokio::sync::Mutex::new(None) }))
            .collect();
        Ok(AppState(Arc::new(Inner {
            oauth: OAuthFlow::new(tokens),
            graph,
            authenticator,
            limits,
            lease,
            http: http.clone(),
            approot: std::sync::RwLock::new(None),
            approot_lookup: tokio::sync::Mutex::new(()),
            folder_ids,
            options,
        })))
    }

    /// Who runs background jobs that must run on one process at a time (always this one without a
    /// shared database).
    pub fn lease(&self) -> &dyn lease::Lease {
        &*self.0.lease
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.0.options
    }

    /// The Graph client.
    pub fn graph(&self) -> &GraphClient {
        &self.0.graph
    }

    /// The token manager.
    pub fn tokens(&self) -> &Arc<TokenManager> {
        self.0.graph.tokens()
    }

    /// The OAuth flow.
    pub fn oauth(&self) -> &OAuthFlow {
        &self.0.oauth
    }

    /// The user authenticator.
    pub fn authenticator(&self) -> &dyn Authenticator {
        &*self.0.authenticator
    }

    /// The HTTP client (shared with the Graph client).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    /// Where the per-user session counters live.
    pub fn limits(&self) -> &Arc<dyn LimitStore> {
        &self.0.limits
    }

    /// The app folder's id and its full path as Graph writes `parentReference.path`
    /// (e.g. `/drive/root:/Apps/onedrive-upload`), fetched once per account connection.
    pub async fn approot(&self) -> Result<Arc<AppRoot>, ApiError> {
        let cached = |connection| match &*self.0.approot.read().unwrap_or_else(|e| e.into_inner()) {
            Some((c, v)) if *c == connection => Some(v.clone()),
            _ => None,
        };
        let connection = self.tokens().connection();
        if let Some(v) = cached(connection) {
            return Ok(v);
        }
        let _lookup = self.0.approot_lookup.lock().await;
        if let Some(v) = cached(connection) {
            return Ok(v);
        }
        let item = self.graph().approot().await?;
        let id = item.id.clone().ok_or(ApiError::BadGateway)?;
        let parent =
            item.parent_reference.as_ref().and_then(|p| p.path.clone()).unwrap_or_else(|| "/drive/root:".into());
        let value = Arc::new(AppRoot { id, path: format!("{}/{}", parent.trim_end_matches('/'), item.name) });
        *self.0.approot.write().unwrap_or_else(|e| e.into_inner()) = Some((connection, value.clone()));
        Ok(value)
    }

    /// The slot of an allowed feature folder (case-insensitive), `None` if `folder` is not allowed.
    pub(crate) fn folder_slot(&self, folder: &str) -> Option<&FolderSlot> {
        self.0.folder_ids.get(&folder.to_ascii_lowercase())
    }
}

/// Is `origin` an http(s) origin on 127.0.0.1, [::1] or localhost?
pub fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else { return false };
    matches!(url.scheme(), "http" | "https")
        && match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn cors(options: &Options) -> CorsLayer {
    let allowed: Vec<HeaderValue> =
        options.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect();
    let dev = options.dev_issuer.is_some();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            allowed.contains(origin) || (dev && origin.to_str().is_ok_and(is_loopback_origin))
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // The library's session request uses `credentials: "include"` (cookie-authenticated
        // sites); the origin is always echoed from the allow-list, never `*`.
        .allow_credentials(true)
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// The router: API, OAuth, health, dev routes (with `dev_issuer`), static files, and the layers
/// (CORS, body limit, request ids, tracing).
pub fn app(state: AppState) -> Router {
    let options = state.options().clone();
    let mut router = Router::new()
        .route("/api/cloud/file", post(routes::files::create))
        .route("/api/cloud/file/{id}", get(routes::files::get).delete(routes::files::delete))
        .route("/api/cloud/file/{id}/move", post(routes::files::move_to))
        .route("/api/cloud/file/{id}/download", get(routes::files::download))
        .route("/api/cloud/file/{id}/link", post(routes::files::link))
        .route("/api/cloud/upload/{upload_id}", get(routes::uploads::status).delete(routes::uploads::cancel))
        .route("/healthz", get(routes::health::healthz))
        .route("/auth/login", get(oauth::login))
        .route("/auth/disconnect", post(oauth::disconnect))
        .route(&options.callback_path, get(oauth::callback));
    if options.dev_issuer.is_some() {
        router = router.route("/dev/token", get(routes::dev::token)).route("/dev/info", get(routes::dev::info));
    }
    if let Some(pkg) = &options.pkg {
        router = router.nest_service("/pkg", ServeDir::new(pkg));
    }
    router = match &options.www {
        Some(www) => router.fallback_service(ServeDir::new(www)),
        None => router.fallback(|| async { ApiError::NotFound }),
    };
    // One stack, applied in one `layer` call: each `Router::layer` call boxes every route again,
    // and every request clones and polls each box (BENCHMARKS.md, "Server CPU").
    let layers = ServiceBuilder::new()
        // Outermost: a client request id that could forge log fields is dropped (and regenerated).
        .layer(MapRequestLayer::new(logsafe::drop_unsafe_request_id))
        .layer(SetRequestIdLayer::x_request_id(logsafe::MakeRandomRequestId))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request.headers().get(logsafe::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: a callback's query carries the authorization code.
                    let path = logsafe::escaped(request.uri().path());
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %path)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(cors(&options))
        .layer(DefaultBodyLimit::max(options.max_body_bytes));
    router.method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed }).with_state(state).layer(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins() {
        for o in ["http://127.0.0.1:8000", "http://localhost:3000", "http://[::1]:1", "https://localhost"] {
            assert!(is_loopback_origin(o), "{o}");
        }
        for o in ["http://example.com", "http://127.0.0.1.evil.com", "null", "file://", "http://localhost.evil.com"] {
            assert!(!is_loopback_origin(o), "{o}");
        }
    }
}
