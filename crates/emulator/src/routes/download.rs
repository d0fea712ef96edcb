//! Pre-authenticated downloads: `/download/{token}` (from `GET .../content`'s redirect and
//! `@microsoft.graph.downloadUrl`) and `/share/{token}` (sharing links), honouring a
//! single `Range` with 206 / 416.

use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items::{self, ItemRow};
use crate::store::tokens;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: the whole file, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial(u64, u64),
    /// Nothing of the file matches, 416.
    Unsatisfiable,
}

/// Interprets a `Range` header (one range; several or malformed ones mean the whole file).
pub fn parse_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else { return RangeRequest::Full };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeRequest::Full };
    let num =
        |s: &str| if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (a.is_empty(), num(a), num(b)) {
        (true, _, Some(0)) => RangeRequest::Unsatisfiable,
        (true, _, Some(_)) if size == 0 => RangeRequest::Unsatisfiable,
        (true, _, Some(n)) => RangeRequest::Partial(size.saturating_sub(n), size - 1),
        (false, Some(start), _) if start >= size => RangeRequest::Unsatisfiable,
        (false, Some(start), None) if b.is_empty() => RangeRequest::Partial(start, size - 1),
        (false, Some(start), Some(end)) if end >= start => RangeRequest::Partial(start, end.min(size - 1)),
        _ => RangeRequest::Full,
    }
}

/// Sends a file's bytes (whole or one range), streamed from disk.
pub async fn serve_file(
    state: &AppState,
    item: &ItemRow,
    headers: &HeaderMap,
    attachment: bool,
) -> Result<Response, EmulatorError> {
    if item.is_folder {
        return Err(EmulatorError::invalid_request("A folder has no content to download."));
    }
    let blob = item.blob.as_deref().ok_or_else(EmulatorError::item_not_found)?;
    let size = item.size;
    let range = parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), size);
    let (status, start, len) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, size),
        RangeRequest::Partial(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        RangeRequest::Unsatisfiable => {
            let mut r = EmulatorError::graph(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "invalidRange",
                "The requested range is not satisfiable.",
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"));
            return Ok(r);
        }
    };
    let mut file = tokio::fs::File::open(state.blobs().blob_path(blob)).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::routes::render::mime_type(&item.name)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, HeaderValue::from_str(&crate::routes::conditions::etag(item)).expect("ascii"));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{size}", start + len - 1);
        h.insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).expect("ascii"));
    }
    let encoded = percent_encoding::utf8_percent_encode(&item.name, percent_encoding::NON_ALPHANUMERIC);
    let kind = if attachment { "attachment" } else { "inline" };
    if let Ok(v) = HeaderValue::from_str(&format!("{kind}; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

async fn item_by_id(state: &AppState, id: String) -> Result<ItemRow, EmulatorError> {
    state.db().call(move |c| items::get(c, &id)?.ok_or_else(EmulatorError::item_not_found)).await
}

/// `GET /download/{token}`.
pub async fn by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let id = state.verify_download(&token).ok_or_else(|| {
        EmulatorError::graph(StatusCode::UNAUTHORIZED, "unauthenticated", "The download URL is invalid or has expired.")
    })?;
    let item = item_by_id(&state, id).await?;
    serve_file(&state, &item, &headers, true).await
}

/// `GET /share/{token}` (`?download=1` makes it an attachment).
pub async fn shared(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let link =
        state.db().call(move |c| tokens::link_by_token(c, &token)).await?.ok_or_else(EmulatorError::item_not_found)?;
    let item = item_by_id(&state, link.item_id).await?;
    serve_file(&state, &item, &headers, query.get("download").is_some_and(|v| v == "1")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_table() {
        use RangeRequest::*;
        let cases: &[(Option<&str>, u64, RangeRequest)] = &[
            (None, 10, Full),
            (Some("bytes=0-4"), 10, Partial(0, 4)),
            (Some("bytes=5-"), 10, Partial(5, 9)),
            (Some("bytes=5-100"), 10, Partial(5, 9)),
            (Some("bytes=-3"), 10, Partial(7, 9)),
            (Some("bytes=-30"), 10, Partial(0, 9)),
            (Some("bytes=10-"), 10, Unsatisfiable),
            (Some("bytes=-0"), 10, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=4-2"), 10, Full),
            (Some("bytes=0-1,3-4"), 10, Full),
            (Some("items=0-1"), 10, Full),
            (Some("bytes=x-1"), 10, Full),
        ];
        for (h, size, want) in cases {
            assert_eq!(&parse_range(*h, *size), want, "{h:?} of {size}");
        }
    }
}
