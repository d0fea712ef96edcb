//! Creating upload sessions (`createUploadSession` by parent id, root path or app-folder
//! path) and the simple upload `PUT .../{path}:/content` (streamed to disk like fragments).

use super::conditions::Preconditions;
use super::graph_path::{Base, GraphPath};
use super::upload::status_fault;
use super::{read_json, render};
use crate::error::EmulatorError;
use crate::faults::FaultAction;
use crate::state::AppState;
use crate::store::items::{self, FileSystemTimes, ItemRow};
use crate::store::sessions::{self, SessionInfo, SessionProgress, SessionState};
use crate::store::Atomic;
use crate::upload::commit::{conflict_from_str, conflict_str, place_file};
use crate::upload::ingest::{ingest, IngestOutcome};
use crate::upload::live::LiveSession;
use crate::util::{now_ms, random_token};
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::protocol::{ConflictBehavior, CreateUploadSessionRequest, UploadSession};
use onedrive_upload_core::time::{format_millis, parse_millis};
use onedrive_upload_core::QuickXorHash;
use rusqlite::Connection;

/// Free space of the emulated drive: a `fileSize` above it is refused with 507.
pub const QUOTA_BYTES: u64 = 1 << 40;
/// Largest simple-upload body.
pub const MAX_SIMPLE_UPLOAD: u64 = 250 << 20;

/// The folder a file path targets, that folder's drive path, and the file name. The
/// folders on the way are created; a path that names an existing file by id means "new
/// content for that file". The path is gathered on the way down (no walk back up).
pub fn upload_target(
    conn: &Connection,
    state: &AppState,
    path: &GraphPath,
) -> Result<(ItemRow, String, String, Option<ConflictBehavior>), EmulatorError> {
    let mut base_path = String::new();
    let base = match &path.base {
        Base::Root => items::get(conn, state.root_id())?.ok_or_else(EmulatorError::item_not_found)?,
        Base::AppRoot => {
            let root = items::get(conn, state.root_id())?.ok_or_else(EmulatorError::item_not_found)?;
            let segments = ["Apps".to_owned(), state.config().app_name.clone()];
            items::descend_creating(conn, root, &segments, now_ms(), &mut base_path)?
        }
        Base::Item(id) => {
            let item = items::get(conn, id)?.ok_or_else(EmulatorError::item_not_found)?;
            if item.is_folder {
                base_path = items::path_of(conn, id)?;
            }
            item
        }
    };
    match path.segments.split_last() {
        Some((name, dirs)) => {
            let parent = items::descend_creating(conn, base, dirs, now_ms(), &mut base_path)?;
            Ok((parent, base_path, name.clone(), None))
        }
        None if !base.is_folder => {
            let parent_id = base.parent_id.clone().ok_or_else(EmulatorError::item_not_found)?;
            let parent = items::get(conn, &parent_id)?.ok_or_else(EmulatorError::item_not_found)?;
            let parent_path = items::path_of(conn, &parent_id)?;
            Ok((parent, parent_path, base.name, Some(ConflictBehavior::Replace)))
        }
        None => Err(EmulatorError::invalid_request("The path must name a file: .../{folder}:/{name}:/...")),
    }
}

fn check_conflict(
    conn: &Connection,
    parent: &str,
    name: &str,
    conflict: ConflictBehavior,
) -> Result<(), EmulatorError> {
    match (items::child(conn, parent, name)?, conflict) {
        (Some(_), ConflictBehavior::Fail) => Err(EmulatorError::name_exists()),
        (Some(existing), ConflictBehavior::Replace) if existing.is_folder => Err(EmulatorError::name_exists()),
        _ => Ok(()),
    }
}

/// `POST .../createUploadSession`: 200 `{"uploadUrl","expirationDateTime","nextExpectedRanges":["0-"]}`;
/// `If-Match`/`If-None-Match` are checked against the file the session would replace (412).
pub async fn create_session(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    conditions: Preconditions,
    body: Body,
) -> Result<Response, EmulatorError> {
    let body: serde_json::Value = read_json(body).await?.unwrap_or_default();
    let fs = file_system_info(body.pointer("/item/fileSystemInfo"))?;
    let request: CreateUploadSessionRequest = if body.is_null() {
        CreateUploadSessionRequest::default()
    } else {
        serde_json::from_value(body).map_err(|e| {
            EmulatorError::invalid_request(format!("Unable to read JSON request payload: {e}"))
                .with_inner("invalidJson")
        })?
    };
    // Faults with method `SESSION` hit createUploadSession for a file of that name.
    let name = path.segments.last().map(String::as_str).unwrap_or_default();
    if state.config().fault_injection {
        if let Some(FaultAction::Status { status, retry_after, body }) = state.faults().take(name, "SESSION", false) {
            return Err(status_fault(status, retry_after, body));
        }
    }
    let item = request.item.unwrap_or_default();
    if let Some(size) = item.file_size {
        if size > QUOTA_BYTES {
            return Err(EmulatorError::graph(
                StatusCode::INSUFFICIENT_STORAGE,
                "quotaLimitReached",
                "Insufficient Space Available",
            ));
        }
    }
    let default =
        if state.config().default_conflict_behavior_fail { ConflictBehavior::Fail } else { ConflictBehavior::Replace };
    let now = now_ms();
    let expires_ms = now + state.config().session_ttl.as_millis() as i64;
    let (st, path) = (state.clone(), path.clone());
    // One transaction: the folders created on the way and the session row appear together,
    // and SQLite takes its locks once. The part file is created by the first PUT.
    let live = state
        .db()
        .call(move |c| {
            let tx = Atomic::begin(c)?;
            let (parent, parent_path, name, forced) = upload_target(&tx, &st, &path)?;
            if !conditions.is_empty() {
                conditions.check(items::child(&tx, &parent.id, &name)?.as_ref())?;
            }
            let conflict = forced.or(item.conflict_behavior).unwrap_or(default);
            check_conflict(&tx, &parent.id, &name, conflict)?;
            let info = SessionInfo {
                id: random_token(32),
                path: format!("{parent_path}/{name}"),
                parent_id: parent.id,
                requested_name: name,
                conflict: conflict_str(conflict).to_owned(),
                defer_commit: request.defer_commit,
                created_ms: now,
                fs,
            };
            let progress = SessionProgress {
                total: item.file_size.filter(|&s| s > 0),
                accepted: 0,
                expires_ms,
                state: SessionState::Active,
                item_id: None,
                bytes_received: 0,
                put_requests: 0,
            };
            sessions::insert(&tx, &info, &progress)?;
            tx.commit()?;
            Ok(LiveSession::new(info, progress, QuickXorHash::new()))
        })
        .await?;
    let session = state.add_session(live);
    Ok(Json(UploadSession {
        odata_context: Some("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession".to_owned()),
        upload_url: Some(format!("{base}/upload/{}", session.info.id)),
        expiration_date_time: Some(format_millis(expires_ms)),
        next_expected_ranges: vec!["0-".to_owned()],
    })
    .into_response())
}

/// `item.fileSystemInfo` of a createUploadSession body: the file's own times, ISO 8601.
fn file_system_info(value: Option<&serde_json::Value>) -> Result<FileSystemTimes, EmulatorError> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(FileSystemTimes::default()) };
    let time = |key: &str| match value.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => parse_millis(s).map(Some).map_err(|_| {
            EmulatorError::invalid_request(format!(
                "fileSystemInfo.{key} is not a date-time: {}",
                s.chars().take(40).collect::<String>()
            ))
        }),
        Some(_) => Err(EmulatorError::invalid_request(format!("fileSystemInfo.{key} must be a string."))),
    };
    if !value.is_object() {
        return Err(EmulatorError::invalid_request("fileSystemInfo must be an object."));
    }
    Ok(FileSystemTimes { created_ms: time("createdDateTime")?, modified_ms: time("lastModifiedDateTime")? })
}

fn query_conflict(query: &str) -> Result<Option<ConflictBehavior>, EmulatorError> {
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == "@microsoft.graph.conflictBehavior" {
            return match v.as_ref() {
                "fail" | "replace" | "rename" => Ok(Some(conflict_from_str(&v))),
                _ => Err(EmulatorError::invalid_request("Invalid value for @microsoft.graph.conflictBehavior.")),
            };
        }
    }
    Ok(None)
}

/// `PUT .../{path}:/content` (or `items/{id}/content`): 201 + driveItem (200 when replacing).
pub async fn simple_upload(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    headers: &HeaderMap,
    query: &str,
    body: Body,
) -> Result<Response, EmulatorError> {
    let requested = query_conflict(query)?;
    let length = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| EmulatorError::invalid_request("Bad Content-Length."))?,
        ),
        None => None,
    };
    if length.is_some_and(|l| l > MAX_SIMPLE_UPLOAD) {
        return Err(EmulatorError::graph(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            "Use an upload session for files over 250 MB.",
        ));
    }
    let (st, p) = (state.clone(), path.clone());
    let (parent, name, conflict) = state
        .db()
        .call(move |c| {
            let tx = Atomic::begin(c)?;
            let (parent, _, name, forced) = upload_target(&tx, &st, &p)?;
            let conflict = forced.or(requested).unwrap_or(ConflictBehavior::Replace);
            check_conflict(&tx, &parent.id, &name, conflict)?;
            tx.commit()?;
            Ok((parent, name, conflict))
        })
        .await?;
    let tmp = format!("simple-{}", random_token(16));
    state.blobs().create_part(&tmp)?;
    let body = state.rate_limited(body);
    let got =
        ingest(body, state.blobs().part_path(&tmp), 0, length, QuickXorHash::new(), Some(MAX_SIMPLE_UPLOAD + 1)).await;
    let hash = match got.outcome {
        IngestOutcome::Complete(hash) => hash,
        IngestOutcome::Failed(e) => {
            state.blobs().remove_part(&tmp);
            return Err(e.into());
        }
        IngestOutcome::LimitReached | IngestOutcome::Interrupted => {
            state.blobs().remove_part(&tmp);
            return Err(EmulatorError::invalid_request("The request body was incomplete or too large."));
        }
    };
    let size = hash.len();
    let blob = random_token(16);
    let (blobs, t, b) = (state.blobs().clone(), tmp.clone(), blob.clone());
    let moved = tokio::task::spawn_blocking(move || blobs.commit_part(&t, size, &b))
        .await
        .map_err(|e| EmulatorError::Io(std::io::Error::other(e)))?;
    if let Err(e) = moved {
        state.blobs().remove_part(&tmp);
        return Err(e.into());
    }
    let b = blob.clone();
    let placed = state
        .db()
        .call(move |c| {
            let tx = Atomic::begin(c)?;
            let placed =
                place_file(&tx, &parent.id, &name, conflict, size, &hash.finalize(), &b, now_ms(), Default::default())?;
            tx.commit()?;
            Ok(placed)
        })
        .await;
    let placed = match placed {
        Ok(p) => p,
        Err(e) => {
            state.blobs().remove_blob(&blob);
            return Err(e);
        }
    };
    if let Some(old) = &placed.replaced_blob {
        state.blobs().remove_blob(old);
    }
    let status = if placed.created { StatusCode::CREATED } else { StatusCode::OK };
    let v = render::drive_item_async(state, base, placed.item).await?;
    Ok((status, Json(v)).into_response())
}
