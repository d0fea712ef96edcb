//! `/api/cloud/upload/{uploadId}`: the `statusUrl` of an upload session. Every session the
//! server issues targets `temp/{user}/{uploadId}/{filename}`, a folder of its own, so the
//! committed file of one upload is found by its id, never guessed by name or size.
//!
//! `GET` answers the committed driveItem, or 404 `not_committed`; `DELETE` (a cancelled upload)
//! removes the upload's folder. The caller's own `temp/{user}/` is the only place looked at, so
//! another user's upload id answers 404 like an unknown one.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::protocol::DriveItem;

use crate::error::ApiError;
use crate::users::User;
use crate::AppState;

/// Length of an upload id: 32 lowercase hex digits (128 random bits).
const ID_LEN: usize = 32;

/// A new upload id.
pub fn new_upload_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// True for an id [`new_upload_id`] could have made.
pub fn is_upload_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `statusUrl` of an upload (origin-relative: the library resolves it against the session endpoint).
pub fn status_url(upload_id: &str) -> String {
    format!("/api/cloud/upload/{upload_id}")
}

/// `GET /api/cloud/upload/{uploadId}`: the committed driveItem of that upload, else 404 `not_committed`.
pub async fn status(
    State(state): State<AppState>,
    User(user): User,
    Path(upload_id): Path<String>,
) -> Result<Response, ApiError> {
    if !is_upload_id(&upload_id) {
        return Err(ApiError::NotCommitted);
    }
    let folder = user.folder();
    let children = match state.graph().children_by_path(&["temp", &folder, &upload_id]).await {
        Err(ApiError::NotFound) => return Err(ApiError::NotCommitted),
        other => other?,
    };
    let mut item: DriveItem = children.into_iter().find(|c| c.file.is_some()).ok_or(ApiError::NotCommitted)?;
    item.download_url = None;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(item)).into_response())
}

/// `DELETE /api/cloud/upload/{uploadId}`: removes the upload's folder (a cancelled upload); 204,
/// also when there is nothing to remove.
pub async fn cancel(
    State(state): State<AppState>,
    User(user): User,
    Path(upload_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !is_upload_id(&upload_id) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let folder = user.folder();
    match state.graph().delete_by_path(&["temp", &folder, &upload_id]).await {
        Ok(()) => tracing::info!(user = %user, "cancelled upload's folder removed"),
        Err(ApiError::NotFound) => {}
        Err(e) => return Err(e),
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids() {
        let (a, b) = (new_upload_id(), new_upload_id());
        assert!(is_upload_id(&a) && is_upload_id(&b) && a != b, "{a} {b}");
        for bad in ["", "..", &"A".repeat(32), &"0".repeat(31), &"0".repeat(33), "0123456789abcdef0123456789abcdeg"] {
            assert!(!is_upload_id(bad), "{bad}");
        }
        assert_eq!(status_url(&a), format!("/api/cloud/upload/{a}"));
    }
}
