//! The explicit commit of an upload session: `PUT /me/drive/{item path}` with
//! `{"name","@microsoft.graph.conflictBehavior","@microsoft.graph.sourceUrl":"{uploadUrl}"}`, what
//! Graph documents for deferred sessions and for recovering from a failed last fragment (name
//! clash), and what the JS SDK's `LargeFileUploadTask.commit()` sends.

use super::conditions::Preconditions;
use super::graph_path::GraphPath;
use super::{items as item_routes, read_json, render, sessions::upload_target};
use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items;
use crate::store::sessions::SessionState;
use crate::store::Atomic;
use crate::upload::commit::{commit_session, conflict_from_str, CommitTarget};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::names::validate_name;
use onedrive_upload_core::protocol::ConflictBehavior;
use serde_json::Value;

/// The session id in one of our upload URLs (`{any base}/upload/{id}`).
fn session_id(source: &str) -> Option<String> {
    let url = url::Url::parse(source).ok()?;
    let mut segments = url.path_segments()?;
    match (segments.next(), segments.next(), segments.next()) {
        (Some("upload"), Some(id), None) if !id.is_empty() => Some(id.to_owned()),
        _ => None,
    }
}

/// `PUT` on an item path with `@microsoft.graph.sourceUrl`: commits the session's bytes there.
/// The path names the file, or an existing folder to put it in (then the body's `name`, else
/// the session's, names it); a `name` in the body renames the file either way. 201 new file,
/// 200 replaced, 409 name taken (the session stays for another try), 404 unknown or ended
/// session, 400 bytes missing (inner `uploadSessionIncomplete`), 412 failed `If-Match`.
pub async fn commit_by_source_url(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    conditions: Preconditions,
    body: Body,
) -> Result<Response, EmulatorError> {
    let body: Value =
        read_json(body).await?.ok_or_else(|| EmulatorError::invalid_request("A request body is required."))?;
    let source = body.get("@microsoft.graph.sourceUrl").and_then(Value::as_str).ok_or_else(|| {
        EmulatorError::invalid_request("PUT on an item needs @microsoft.graph.sourceUrl (an upload session URL).")
    })?;
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_name(s)?;
            Some(s.clone())
        }
        Some(_) => return Err(EmulatorError::invalid_request("The name must be a string.")),
    };
    let conflict = match body.get("@microsoft.graph.conflictBehavior") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if ["fail", "replace", "rename"].contains(&s.as_str()) => Some(conflict_from_str(s)),
        Some(_) => return Err(EmulatorError::invalid_request("Invalid value for @microsoft.graph.conflictBehavior.")),
    };
    let session = session_id(source).and_then(|id| state.session(&id)).ok_or_else(EmulatorError::session_not_found)?;
    let _turn = session.put_lock.lock().await;
    {
        let live = session.lock();
        if live.progress.state != SessionState::Active || live.committing {
            return Err(EmulatorError::session_not_found());
        }
        if live.progress.total.is_none_or(|t| t != live.progress.accepted) {
            return Err(EmulatorError::invalid_request("The upload session has not received every byte yet.")
                .with_inner("uploadSessionIncomplete"));
        }
    }
    let (st, p, requested) = (state.clone(), path.clone(), session.info.requested_name.clone());
    let fallback = conflict_from_str(&session.info.conflict);
    let target = state
        .db()
        .call(move |c| {
            // Folders created on the way appear only if the commit can go ahead.
            let c = Atomic::begin(c)?;
            let folder = item_routes::resolve(&c, &st, &p).ok().filter(|i| i.is_folder);
            let (parent_id, name, forced) = match folder {
                Some(folder) => (folder.id, name.unwrap_or(requested), None),
                None => {
                    let (parent, _, path_name, forced) = upload_target(&c, &st, &p)?;
                    (parent.id, name.unwrap_or(path_name), forced)
                }
            };
            let existing = items::child(&c, &parent_id, &name)?;
            conditions.check(existing.as_ref())?;
            let conflict = conflict.or(forced).unwrap_or(fallback);
            if conflict == ConflictBehavior::Fail && existing.is_some() {
                return Err(EmulatorError::name_exists());
            }
            c.commit()?;
            Ok(CommitTarget { parent_id, name, conflict })
        })
        .await?;
    let placed = commit_session(state, &session, Some(target), false).await?;
    let status = if placed.created { StatusCode::CREATED } else { StatusCode::OK };
    let v = render::drive_item_async(state, base, placed.item).await?;
    Ok((status, Json(v)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_from_upload_urls() {
        assert_eq!(session_id("https://127.0.0.2:8001/upload/abc-_1").as_deref(), Some("abc-_1"));
        assert_eq!(session_id("http://h/upload/abc?x=1").as_deref(), Some("abc"));
        for bad in ["https://h/upload/", "https://h/upload/a/b", "https://h/download/a", "not a url", "/upload/a"] {
            assert_eq!(session_id(bad), None, "{bad}");
        }
    }
}
