//! The fault-injection control API (`/_emulator/...`), mounted only when enabled.

use super::{base_url, read_json};
use crate::error::EmulatorError;
use crate::faults::FaultSpec;
use crate::state::AppState;
use crate::store::items;
use crate::store::sessions::SessionState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The control routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_emulator/faults", post(add_fault).delete(clear_faults))
        .route("/_emulator/sessions", get(list_sessions))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/items/{id}/content", get(item_content))
}

async fn add_fault(State(state): State<AppState>, body: axum::body::Body) -> Result<Response, EmulatorError> {
    let spec: FaultSpec =
        read_json(body).await?.ok_or_else(|| EmulatorError::invalid_request("A fault description is required."))?;
    state.faults().add(&spec).map_err(EmulatorError::invalid_request)?;
    Ok((StatusCode::CREATED, Json(json!({ "id": crate::util::random_token(9) }))).into_response())
}

/// `GET /_emulator/stats`: token grants served since start (refresh grants counted once each, so a
/// test can check that several servers sharing an account refreshed it exactly once).
async fn stats(State(state): State<AppState>) -> Json<Value> {
    let (codes, refreshes) = state.grants();
    Json(json!({ "grants": { "authorization_code": codes, "refresh_token": refreshes } }))
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults().clear();
    StatusCode::NO_CONTENT
}

async fn list_sessions(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Json<Vec<Value>> {
    let base = base_url(&state, &headers);
    let name = query.get("name");
    let list = state
        .all_sessions()
        .into_iter()
        .filter(|s| name.is_none_or(|n| *n == s.info.requested_name))
        .map(|s| {
            let live = s.lock().clone();
            let state = if live.committing { SessionState::Active } else { live.progress.state };
            json!({
                "id": s.info.id,
                "name": s.info.requested_name,
                "path": s.info.path,
                "uploadUrl": format!("{base}/upload/{}", s.info.id),
                "state": state.as_str(),
                "bytesReceived": live.progress.bytes_received,
                "bytesAccepted": live.progress.accepted,
                "putRequests": live.progress.put_requests,
                "nextExpectedRanges": if state == SessionState::Active { live.next_expected_ranges() } else { Vec::new() },
                "itemId": live.progress.item_id,
                "expirationDateTime": onedrive_upload_core::time::format_millis(live.progress.expires_ms),
            })
        })
        .collect();
    Json(list)
}

async fn item_content(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let item = state.db().call(move |c| items::get(c, &id)?.ok_or_else(EmulatorError::item_not_found)).await?;
    super::download::serve_file(&state, &item, &headers, false).await
}
