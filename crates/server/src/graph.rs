//! A small async Microsoft Graph client (drive items in the app folder) over reqwest; the base URL is configuration.
//!
//! Every call takes the account's access token from the [`TokenManager`]; a 401 invalidates
//! that token and the call is retried once with a fresh one. Graph errors become [`ApiError`]s
//! without carrying Graph's body (which may quote URLs) to the browser.

use std::sync::Arc;

use onedrive_upload_core::protocol::{
    CreateLinkRequest, CreateUploadSessionRequest, DriveItem, GraphError, Permission, UploadSession,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{header, Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::error::ApiError;
use crate::tokens::TokenManager;

/// Everything but RFC 3986 unreserved characters is percent-encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path segment (a file name, an item id).
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Builds a reqwest client fit for Graph: no redirects followed, unlimited idle connections, timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()
        .expect("a reqwest client with rustls builds")
}

/// The Graph client. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: Arc<str>,
    /// `base` parsed once: request URLs are made from it without parsing the host again.
    base_url: Option<Arc<Url>>,
    tokens: Arc<TokenManager>,
}

impl GraphClient {
    /// `base` is e.g. `https://graph.microsoft.com/v1.0` (no trailing slash needed).
    pub fn new(http: reqwest::Client, base: &str, tokens: Arc<TokenManager>) -> Self {
        let base = base.trim_end_matches('/');
        let base_url = Url::parse(base).ok().filter(|u| !u.cannot_be_a_base() && u.query().is_none()).map(Arc::new);
        GraphClient { http, base: base.into(), base_url, tokens }
    }

    /// The URL `{base}{rest}`, where `rest` (a path below the base, already percent-encoded, with
    /// an optional `?query`) is set on the parsed base: the same URL as parsing the whole string,
    /// without parsing the scheme and host (IDNA included) for every request.
    fn url(&self, rest: &str) -> Result<Url, ApiError> {
        let Some(base) = &self.base_url else {
            return Url::parse(&format!("{}{rest}", self.base)).map_err(|_| {
                tracing::warn!("the Graph base URL is not a URL");
                ApiError::Unavailable { retry_after: None }
            });
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut url = (**base).clone();
        let base_path = base.path().trim_end_matches('/');
        let mut full = String::with_capacity(base_path.len() + path.len());
        full.push_str(base_path);
        full.push_str(path);
        url.set_path(&full);
        url.set_query(query);
        Ok(url)
    }

    /// The token manager behind this client.
    pub fn tokens(&self) -> &Arc<TokenManager> {
        &self.tokens
    }

    /// URL of an item addressed by a path below the app folder, plus a suffix (`:/content`...).
    fn approot_path(&self, segments: &[&str], suffix: &str) -> Result<Url, ApiError> {
        let mut rest = String::from("/me/drive/special/approot:/");
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                rest.push('/');
            }
            rest.extend(utf8_percent_encode(segment, SEGMENT));
        }
        rest.push_str(suffix);
        self.url(&rest)
    }

    fn item_url(&self, id: &str, suffix: &str) -> Result<Url, ApiError> {
        self.url(&format!("/me/drive/items/{}{}", encode_segment(id), suffix))
    }

    /// Sends a request with the account's token; retries once after a 401. Non-2xx/3xx -> error.
    /// `body` is JSON, already serialized.
    async fn send(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Response, ApiError> {
        for attempt in 0..2 {
            let token = self.tokens.access_token().await?;
            let mut request: RequestBuilder = self.http.request(method.clone(), url.clone()).bearer_auth(&token);
            request = match &body {
                Some(b) => request.header(header::CONTENT_TYPE, "application/json").body(b.clone()),
                None if method == Method::PUT || method == Method::POST => request.header("content-length", "0"),
                None => request,
            };
            let response = request.send().await.map_err(|e| {
                tracing::warn!(error = %e.without_url(), "Graph unreachable");
                ApiError::Unavailable { retry_after: None }
            })?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.tokens.invalidate(&token);
                continue;
            }
            if status.is_success() || status.is_redirection() {
                return Ok(response);
            }
            return Err(error_from(response).await);
        }
        Err(ApiError::BadGateway)
    }

    async fn json<T: DeserializeOwned>(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<T, ApiError> {
        let response = self.send(method, url, body).await?;
        response.json::<T>().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "unreadable Graph answer");
            ApiError::BadGateway
        })
    }

    /// `GET /me/drive/special/approot`: the app folder (created by Graph on first use).
    pub async fn approot(&self) -> Result<DriveItem, ApiError> {
        self.json(Method::GET, self.url("/me/drive/special/approot")?, None).await
    }

    /// `GET /me/drive/special/approot:/{path}`.
    pub async fn get_by_path(&self, segments: &[&str]) -> Result<DriveItem, ApiError> {
        self.json(Method::GET, self.approot_path(segments, "")?, None).await
    }

    /// `GET .../approot:/{path}:/children`, every page (`@odata.nextLink` followed).
    pub async fn children_by_path(&self, segments: &[&str]) -> Result<Vec<DriveItem>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Page {
            value: Vec<DriveItem>,
            #[serde(rename = "@odata.nextLink")]
            next: Option<String>,
        }
        let mut url = self.approot_path(segments, ":/children")?;
        let mut items = Vec::new();
        for _ in 0..1000 {
            let page: Page = self.json(Method::GET, url, None).await?;
            items.extend(page.value);
            match page.next.filter(|next| next.starts_with(&*self.base)).map(|next| Url::parse(&next)) {
                Some(Ok(next)) => url = next,
                _ => break,
            }
        }
        Ok(items)
    }

    /// `DELETE .../approot:/{path}` (a folder goes with everything in it).
    pub async fn delete_by_path(&self, segments: &[&str]) -> Result<(), ApiError> {
        self.send(Method::DELETE, self.approot_path(segments, "")?, None).await.map(|_| ())
    }

    /// `GET /me/drive/items/{id}`.
    pub async fn get_item(&self, id: &str) -> Result<DriveItem, ApiError> {
        self.json(Method::GET, self.item_url(id, "")?, None).await
    }

    /// `POST .../approot:/{path}:/createUploadSession`.
    pub async fn create_upload_session(
        &self,
        segments: &[&str],
        request: &CreateUploadSessionRequest,
    ) -> Result<UploadSession, ApiError> {
        let url = self.approot_path(segments, ":/createUploadSession")?;
        self.json(Method::POST, url, Some(to_json(request)?)).await
    }

    /// Simple upload of an empty file: `PUT .../approot:/{path}:/content` (conflicts renamed).
    pub async fn upload_empty(&self, segments: &[&str]) -> Result<DriveItem, ApiError> {
        let url = self.approot_path(segments, ":/content?@microsoft.graph.conflictBehavior=rename")?;
        self.json(Method::PUT, url, None).await
    }

    /// `POST /me/drive/items/{parent}/children` creating a folder (409 if it exists).
    pub async fn create_folder(&self, parent_id: &str, name: &str) -> Result<DriveItem, ApiError> {
        let body = json!({"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail"});
        self.json(Method::POST, self.item_url(parent_id, "/children")?, Some(to_json(&body)?)).await
    }

    /// `PATCH /me/drive/items/{id}` with a new parent, and a new name when given (409 on a clash).
    pub async fn move_item(&self, id: &str, parent_id: &str, name: Option<&str>) -> Result<DriveItem, ApiError> {
        let mut body = json!({"parentReference": {"id": parent_id}});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        let url = self.item_url(id, "?@microsoft.graph.conflictBehavior=rename")?;
        self.json(Method::PATCH, url, Some(to_json(&body)?)).await
    }

    /// `GET /me/drive/items/{id}/content` without following: the short-lived download URL.
    pub async fn download_url(&self, id: &str) -> Result<String, ApiError> {
        let response = self.send(Method::GET, self.item_url(id, "/content")?, None).await?;
        match response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()) {
            Some(location) if response.status().is_redirection() => Ok(location.to_owned()),
            _ => {
                tracing::warn!(status = response.status().as_u16(), "download answered without a redirect");
                Err(ApiError::BadGateway)
            }
        }
    }

    /// `POST /me/drive/items/{id}/createLink` (view, anonymous): the link's `webUrl`.
    pub async fn create_link(&self, id: &str) -> Result<String, ApiError> {
        let request = CreateLinkRequest { link_type: "view".into(), scope: Some("anonymous".into()) };
        let permission: Permission =
            self.json(Method::POST, self.item_url(id, "/createLink")?, Some(to_json(&request)?)).await?;
        permission.link.map(|l| l.web_url).filter(|u| !u.is_empty()).ok_or(ApiError::BadGateway)
    }

    /// `DELETE /me/drive/items/{id}`.
    pub async fn delete_item(&self, id: &str) -> Result<(), ApiError> {
        self.send(Method::DELETE, self.item_url(id, "")?, None).await.map(|_| ())
    }
}

/// A request body as JSON bytes.
fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Turns a Graph error answer into an [`ApiError`] (Graph's codes go to the log, not the browser).
async fn error_from(response: Response) -> ApiError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = response.text().await.unwrap_or_default();
    let codes = GraphError::parse(&body).map(|e| e.codes().join("/")).unwrap_or_default();
    classify(status, &codes, retry_after)
}

/// What a Graph error status (and its codes, `a/b/c`) means for the browser. A 400 is the
/// request's fault (an id or a name Graph refuses): the client's 400, never a 502.
fn classify(status: StatusCode, codes: &str, retry_after: Option<u64>) -> ApiError {
    let shown = crate::logsafe::escaped(codes);
    tracing::debug!(status = status.as_u16(), codes = %shown, "Graph error");
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::CONFLICT => ApiError::Conflict("a file or folder with that name already exists".into()),
        StatusCode::INSUFFICIENT_STORAGE => ApiError::InsufficientStorage,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable { retry_after },
        StatusCode::UNAUTHORIZED => ApiError::Unavailable { retry_after: None },
        StatusCode::BAD_REQUEST if codes.contains("nameAlreadyExists") => {
            ApiError::Conflict("a file with that name already exists".into())
        }
        StatusCode::BAD_REQUEST => {
            tracing::warn!(codes = %shown, "Graph refused a request as invalid");
            ApiError::bad_request("invalid_request", "OneDrive refused this request as invalid")
        }
        _ => {
            tracing::warn!(status = status.as_u16(), codes = %shown, "unexpected Graph error");
            ApiError::BadGateway
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b#c%.txt"), "a%20b%23c%25.txt");
        assert_eq!(encode_segment("résumé"), "r%C3%A9sum%C3%A9");
        assert_eq!(encode_segment("D4648F06C91D9D3D!54927"), "D4648F06C91D9D3D%2154927");
        assert_eq!(encode_segment("../x"), "..%2Fx");
    }

    /// A client on `base` whose token manager is never asked (URLs only).
    fn client(base: &str) -> GraphClient {
        let settings = crate::OAuthSettings {
            client_id: "id".into(),
            client_secret: None,
            authorize_url: "http://127.0.0.1:1/authorize".into(),
            token_url: "http://127.0.0.1:1/token".into(),
            redirect_uri: "http://127.0.0.1:2/cb".into(),
            scopes: vec![],
        };
        let file = std::env::temp_dir().join("odu-graph-url-test/tokens.json");
        let tokens = TokenManager::new(&settings, reqwest::Client::new(), file, std::time::Duration::ZERO).unwrap();
        GraphClient::new(reqwest::Client::new(), base, Arc::new(tokens))
    }

    #[test]
    fn urls_are_those_of_the_whole_string_parsed() {
        let names: &[&[&str]] = &[
            &["temp", "u_alice", "0123456789abcdef0123456789abcdef", "a b#c%.txt"],
            &["résumé?.pdf"],
            &["..", "x:y", "@z"],
            &[],
        ];
        let suffixes =
            ["", ":/createUploadSession", ":/content?@microsoft.graph.conflictBehavior=rename", ":/children"];
        for base in [
            "https://graph.microsoft.com/v1.0",
            "http://127.0.0.1:8080/v1.0/",
            "http://localhost:9",
            "http://[::1]:9/a/b",
        ] {
            let graph = client(base);
            let base = base.trim_end_matches('/');
            for segments in names {
                for suffix in suffixes {
                    let encoded: Vec<String> = segments.iter().map(|s| encode_segment(s)).collect();
                    let whole = format!("{base}/me/drive/special/approot:/{}{suffix}", encoded.join("/"));
                    assert_eq!(graph.approot_path(segments, suffix).unwrap(), Url::parse(&whole).unwrap(), "{whole}");
                }
            }
            let whole =
                format!("{base}/me/drive/items/D4648F06C91D9D3D%2154927?@microsoft.graph.conflictBehavior=rename");
            let url = graph.item_url("D4648F06C91D9D3D!54927", "?@microsoft.graph.conflictBehavior=rename").unwrap();
            assert_eq!(url.as_str(), Url::parse(&whole).unwrap().as_str());
        }
        assert!(matches!(client("not a url").url("/me"), Err(ApiError::Unavailable { .. })));
    }

    #[test]
    fn graph_statuses_become_client_errors() {
        let cases: &[(u16, &str, Option<u64>, u16, &str)] = &[
            (400, "invalidRequest", None, 400, "invalid_request"),
            (400, "invalidRequest/invalidName", None, 400, "invalid_request"),
            (400, "", None, 400, "invalid_request"),
            (400, "invalidRequest/nameAlreadyExists", None, 409, "conflict"),
            (404, "itemNotFound", None, 404, "not_found"),
            (409, "nameAlreadyExists", None, 409, "conflict"),
            (507, "quotaLimitReached", None, 507, "insufficient_storage"),
            (429, "activityLimitReached", Some(7), 503, "upstream_unavailable"),
            (503, "serviceNotAvailable", None, 503, "upstream_unavailable"),
            (401, "unauthenticated", None, 503, "upstream_unavailable"),
            (500, "generalException", None, 502, "upstream_error"),
            (403, "accessDenied", None, 502, "upstream_error"),
        ];
        for &(graph, codes, retry_after, status, code) in cases {
            let e = classify(StatusCode::from_u16(graph).unwrap(), codes, retry_after);
            assert_eq!((e.status().as_u16(), e.code()), (status, code), "{graph} {codes}");
        }
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, "", Some(7)),
            ApiError::Unavailable { retry_after: Some(7) }
        ));
    }
}
