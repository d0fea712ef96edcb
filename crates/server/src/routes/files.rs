//! `/api/cloud/file...`: create upload sessions, read, move, download, link and delete the users' files.
//!
//! Who may touch an item is decided from where it really is in the drive (Graph's
//! `parentReference.path`), never from what the client says: `temp/{user}/` (and the
//! per-upload folders `temp/{user}/{uploadId}/` in it) is the user's own; files in a
//! configured feature folder are readable by every user.

use std::time::{Duration, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::names::validate_item_id;
use onedrive_upload_core::protocol::{
    ConflictBehavior, CreateUploadSessionRequest, DriveItem, NewFileRequest, UploadSessionItem,
};
use onedrive_upload_core::time::{self, format_millis};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::limits;
use crate::names::{validate_filename, UserId};
use crate::routes::uploads::{is_upload_id, new_upload_id, status_url};
use crate::users::User;
use crate::{AppState, FolderSlot};

/// A JSON body whose rejections are JSON errors too.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge("the request body is too large".into()))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::bad_request("invalid_json", "the body must be JSON (Content-Type: application/json)"))
            }
            Err(rejection) => Err(ApiError::bad_request("invalid_json", rejection.body_text())),
        }
    }
}

/// Where an item is, seen from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the caller's own `temp/{user}/`, directly or in the per-upload folder `upload`.
    Own {
        /// The upload id of the folder the item is in, if it is in one.
        upload: Option<String>,
    },
    /// In a configured feature folder.
    Feature,
    /// Anywhere else (another user's temp folder, outside the app folder...).
    Foreign,
}

/// Decodes and lower-cases a Graph path (OneDrive compares names without case).
fn normalize(path: &str) -> String {
    percent_decode_str(path).decode_utf8_lossy().trim_end_matches('/').to_lowercase()
}

/// Classifies `item` for `user` given the app folder's path.
pub fn place(state: &AppState, approot_path: &str, item: &DriveItem, user: &UserId) -> Place {
    let Some(parent) = item.parent_reference.as_ref().and_then(|p| p.path.as_deref()) else {
        return Place::Foreign;
    };
    let parent = normalize(parent);
    let Some(rest) = parent.strip_prefix(&normalize(approot_path)) else {
        return Place::Foreign;
    };
    let own = format!("/temp/{}", user.folder().to_lowercase());
    if rest == own {
        Place::Own { upload: None }
    } else if let Some(id) = rest.strip_prefix(&own).and_then(|r| r.strip_prefix('/')).filter(|id| is_upload_id(id)) {
        Place::Own { upload: Some(id.to_owned()) }
    } else if rest.strip_prefix('/').is_some_and(|f| !f.contains('/') && state.folder_slot(f).is_some()) {
        Place::Feature
    } else {
        Place::Foreign
    }
}

/// Refuses, before asking Graph, ids that no drive issues (core's item-id rule): no such file.
fn check_id(id: &str) -> Result<(), ApiError> {
    validate_item_id(id).map_err(|_| ApiError::NotFound)
}

/// Fetches an item and where it is for `user`.
async fn locate(state: &AppState, id: &str, user: &UserId) -> Result<(DriveItem, Place), ApiError> {
    check_id(id)?;
    let (item, approot) = tokio::try_join!(state.graph().get_item(id), state.approot())?;
    let place = place(state, &approot.path, &item, user);
    Ok((item, place))
}

fn require_readable(place: &Place) -> Result<(), ApiError> {
    match place {
        Place::Own { .. } | Place::Feature => Ok(()),
        Place::Foreign => Err(ApiError::Forbidden("this file belongs to another user".into())),
    }
}

fn require_own(place: &Place) -> Result<(), ApiError> {
    match place {
        Place::Own { .. } => Ok(()),
        Place::Feature => Err(ApiError::Forbidden("only files still in your upload folder can be changed".into())),
        Place::Foreign => Err(ApiError::Forbidden("this file belongs to another user".into())),
    }
}

/// The item as shown to browsers: without the short-lived download URL (use `/download`).
fn public(mut item: DriveItem) -> Json<DriveItem> {
    item.download_url = None;
    Json(item)
}

/// `POST /api/cloud/file {"filename","size"}`: an upload session for
/// `temp/{user}/{uploadId}/{filename}` with its `statusUrl`, or the empty file itself (in a
/// folder of its own too) when `size` is 0.
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(request): ApiJson<NewFileRequest>,
) -> Result<Response, ApiError> {
    validate_filename(&request.filename).map_err(|m| ApiError::bad_request("invalid_filename", m))?;
    let max = state.options().max_file_size;
    if request.size > max {
        return Err(ApiError::TooLarge(format!("files may not be larger than {max} bytes")));
    }
    let now = std::time::SystemTime::now();
    let limits = &state.options().session_limits;
    let live = request.size > 0;
    let admission = match state.limits().admit(user.as_str(), now, live, limits).await {
        // Some of the user's sessions may have finished since: ask Graph, then try once more.
        Err(refused)
            if refused.limit == limits::Limit::Live
                && limits::release_finished(&**state.limits(), state.http(), user.as_str()).await > 0 =>
        {
            state.limits().admit(user.as_str(), now, live, limits).await
        }
        other => other,
    }
    .map_err(|r| ApiError::TooManyRequests { retry_after: r.retry_after.as_secs(), message: r.message })?;
    let admission = limits::Pending::new(state.limits().clone(), admission);
    let (folder, upload_id) = (user.folder(), new_upload_id());
    let segments = ["temp", folder.as_str(), upload_id.as_str(), request.filename.as_str()];
    if request.size == 0 {
        let item = state.graph().upload_empty(&segments).await?;
        tracing::info!(user = %user, "empty file created");
        return Ok((StatusCode::CREATED, public(item)).into_response());
    }
    let body = CreateUploadSessionRequest {
        item: Some(UploadSessionItem {
            conflict_behavior: Some(ConflictBehavior::Rename),
            name: None,
            file_size: Some(request.size),
        }),
        defer_commit: false,
    };
    let session = match state.graph().create_upload_session(&segments, &body).await {
        Ok(session) => session,
        Err(e) => {
            admission.settle(None).await;
            return Err(e);
        }
    };
    let expires = session.expiration_date_time.as_deref().and_then(|t| time::parse_millis(t).ok());
    let until = expires.and_then(|ms| u64::try_from(ms).ok()).map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    let live = session.upload_url.clone().map(|url| (until.unwrap_or(now + limits::MAX_LIVE_SPAN), url));
    admission.settle(live).await;
    tracing::info!(user = %user, size = request.size, "upload session created");
    let answer = SessionAnswer { session, status_url: status_url(&upload_id) };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

/// The answer to a session request: Graph's upload session and where to ask whether it committed.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer {
    /// Graph's upload session, as Graph wrote it.
    #[serde(flatten)]
    pub session: onedrive_upload_core::protocol::UploadSession,
    /// The server route that answers this upload's committed driveItem, or 404 `not_committed`.
    pub status_url: String,
}

/// `GET /api/cloud/file/{id}`: the driveItem (owner, or any user for feature folders).
pub async fn get(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<Json<DriveItem>, ApiError> {
    let (item, place) = locate(&state, &id, &user).await?;
    require_readable(&place)?;
    Ok(public(item))
}

/// The body of a move.
#[derive(Debug, Deserialize)]
pub struct MoveRequest {
    /// One of the configured feature folders.
    pub folder: String,
}

/// The feature folder's id: cached, or looked up / created under the app folder (single-flight per folder).
async fn folder_id(state: &AppState, slot: &FolderSlot) -> Result<String, ApiError> {
    let connection = state.tokens().connection();
    let mut cached = slot.id.lock().await;
    if let Some((c, id)) = cached.as_ref() {
        if *c == connection {
            return Ok(id.clone());
        }
    }
    let item = match state.graph().get_by_path(&[&slot.name]).await {
        Ok(item) => item,
        Err(ApiError::NotFound) => {
            let approot = state.approot().await?;
            match state.graph().create_folder(&approot.id, &slot.name).await {
                Err(ApiError::Conflict(_)) => state.graph().get_by_path(&[&slot.name]).await?,
                other => other?,
            }
        }
        Err(e) => return Err(e),
    };
    let id = item.id.ok_or(ApiError::BadGateway)?;
    *cached = Some((connection, id.clone()));
    Ok(id)
}

/// `POST /api/cloud/file/{id}/move {"folder"}`: owner only, into an allowed feature folder.
pub async fn move_to(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> Result<Json<DriveItem>, ApiError> {
    let slot = state.folder_slot(&request.folder).ok_or_else(|| {
        ApiError::bad_request("folder_not_allowed", "that folder is not one of the configured feature folders")
    })?;
    let (item, place) = locate(&state, &id, &user).await?;
    require_own(&place)?;
    let mut target = folder_id(&state, slot).await?;
    let (mut attempt, mut folder_checked) = (0, false);
    let moved = loop {
        let name = (attempt > 0).then(|| numbered(&item.name, attempt));
        match state.graph().move_item(&id, &target, name.as_deref()).await {
            // The folder may have been deleted in the drive since we cached its id.
            Err(ApiError::NotFound) if !folder_checked => {
                folder_checked = true;
                *slot.id.lock().await = None;
                target = folder_id(&state, slot).await?;
            }
            // Another user's file of the same name is there: `name 1.ext`, `name 2.ext`, ...
            Err(ApiError::Conflict(_)) if attempt < MAX_RENAMES => attempt += 1,
            other => break other?,
        }
    };
    tracing::info!(user = %user, folder = %slot.name, "file moved");
    if let Place::Own { upload: Some(upload_id) } = &place {
        remove_upload_folder(&state, &user, upload_id).await;
    }
    Ok(public(moved))
}

/// How many numbered names a move tries before answering 409.
const MAX_RENAMES: i32 = 50;

/// `photo.jpg`, 3 -> `photo 3.jpg` (OneDrive's own rename pattern).
pub fn numbered(name: &str, n: i32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} {n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name} {n}"),
    }
}

/// How long the server says a download URL stays valid. Graph gives no expiry for the URL its
/// `/content` redirects to, only "a few minutes"; a browser navigates to it at once.
pub const DOWNLOAD_URL_VALIDITY_MS: i64 = 60_000;

/// `GET /api/cloud/file/{id}/download`: the short-lived pre-authenticated URL, as
/// `{"url","expirationDateTime"}` JSON when the request accepts `application/json` (browsers:
/// they then navigate to it, relying on nothing about headers across a redirect), else as a
/// 302 to it (curl, server-to-server).
pub async fn download(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, place) = locate(&state, &id, &user).await?;
    require_readable(&place)?;
    let issued = now_ms();
    let url = state.graph().download_url(&id).await?;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    if accepts_json(&headers) {
        let expires = format_millis(issued + DOWNLOAD_URL_VALIDITY_MS);
        return Ok((no_store, Json(json!({"url": url, "expirationDateTime": expires}))).into_response());
    }
    Ok((StatusCode::FOUND, no_store, [(header::LOCATION, url)]).into_response())
}

/// Whether an `Accept` header lists `application/json` (parameters such as `q` ignored).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| range.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json")))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Appends `download=1` to a share link.
pub fn with_download(web_url: &str) -> String {
    let sep = if web_url.contains('?') { '&' } else { '?' };
    format!("{web_url}{sep}download=1")
}

/// `POST /api/cloud/file/{id}/link`: `{"webUrl": "<anonymous view link>?download=1"}`.
pub async fn link(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (_, place) = locate(&state, &id, &user).await?;
    require_readable(&place)?;
    let web_url = state.graph().create_link(&id).await?;
    Ok(Json(json!({"webUrl": with_download(&web_url)})))
}

/// `DELETE /api/cloud/file/{id}`: owner only; 204.
pub async fn delete(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (_, place) = locate(&state, &id, &user).await?;
    require_own(&place)?;
    state.graph().delete_item(&id).await?;
    tracing::info!(user = %user, "file deleted");
    if let Place::Own { upload: Some(upload_id) } = &place {
        remove_upload_folder(&state, &user, upload_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the (now empty) folder of an upload whose file left it; a failure is only logged
/// (the retention sweep removes what is left).
async fn remove_upload_folder(state: &AppState, user: &UserId, upload_id: &str) {
    let folder = user.folder();
    match state.graph().delete_by_path(&["temp", &folder, upload_id]).await {
        Ok(()) | Err(ApiError::NotFound) => {}
        Err(e) => tracing::warn!(user = %user, error = %e, "could not remove an upload's folder"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_asked_for_by_accept_only() {
        let accept = |v: &[&str]| {
            let mut h = HeaderMap::new();
            for value in v {
                h.append(header::ACCEPT, value.parse().unwrap());
            }
            accepts_json(&h)
        };
        assert!(accept(&["application/json"]));
        assert!(accept(&["text/html, Application/JSON;q=0.9"]));
        assert!(accept(&["text/html", "application/json"]));
        assert!(!accept(&[]));
        assert!(!accept(&["*/*"]));
        assert!(!accept(&["application/json-seq", "text/json"]));
    }

    #[test]
    fn download_suffix() {
        assert_eq!(with_download("https://1drv.ms/u/s!abc"), "https://1drv.ms/u/s!abc?download=1");
        assert_eq!(with_download("http://x/s?t=1"), "http://x/s?t=1&download=1");
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("photo.jpg", 1), "photo 1.jpg");
        assert_eq!(numbered("a.tar.gz", 2), "a.tar 2.gz");
        assert_eq!(numbered("README", 3), "README 3");
        assert_eq!(numbered(".profile", 4), ".profile 4");
    }

    #[test]
    fn ids() {
        assert!(check_id("D4648F06C91D9D3D!54927").is_ok());
        assert!(check_id("01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K").is_ok());
        for bad in ["", "..", ".", "a/b", "..%2f", "a b", "a?b", "a~b", &"x".repeat(201)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
