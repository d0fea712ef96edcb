//! `request-id` on every answer, and `client-request-id` echoed (or, when the client sent none,
//! the same value as `request-id`), as Graph answers; error bodies carry the same ids in
//! `innerError`.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The `request-id` header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// The `client-request-id` header.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The ids of the request being answered.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// Ours, a GUID.
    pub request_id: String,
    /// The client's, or ours.
    pub client_request_id: String,
}

tokio::task_local! {
    static CURRENT: RequestIds;
}

/// The ids of the request being answered on this task (`None` outside the middleware).
pub fn current() -> Option<RequestIds> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A random GUID (version 4) in Graph's spelling.
pub fn new_guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Middleware: sets both headers on the answer and makes the ids available to error bodies.
pub async fn layer(request: Request, next: Next) -> Response {
    let request_id = new_guid();
    let client_request_id = request
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(100).collect::<String>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| request_id.clone());
    let ids = RequestIds { request_id, client_request_id };
    let mut response = CURRENT.scope(ids.clone(), next.run(request)).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
        headers.insert(CLIENT_REQUEST_ID, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_look_like_graphs() {
        let g = new_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.as_bytes()[14], b'4');
        assert!(g.split('-').map(str::len).eq([8, 4, 4, 4, 12]));
        assert_ne!(g, new_guid());
    }
}
