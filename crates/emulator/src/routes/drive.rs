//! Dispatch of every Graph drive request (`/v1.0/me/drive/...`) to its handler by path
//! shape and method; unknown shapes are Graph's 400 `BadRequest`, wrong methods 405.

use super::conditions::Preconditions;
use super::{base_url, graph_path, items, render, sessions, source_commit};
use crate::error::EmulatorError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// Handles `ANY /v1.0/{*rest}`.
pub async fn dispatch(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, EmulatorError> {
    let rest = uri.path().strip_prefix("/v1.0/").unwrap_or_default();
    let path = graph_path::parse(rest)?;
    let base = base_url(&state, &headers);
    let query = uri.query().unwrap_or_default();
    let conditions = || Preconditions::from_headers(&headers);
    match (path.action.as_deref(), &method) {
        (None, &Method::GET) => items::get_item(&state, &base, &path, render::select_of(query)).await,
        (None, &Method::PATCH) => items::patch_item(&state, &base, &path, conditions()?, body).await,
        (None, &Method::PUT) => source_commit::commit_by_source_url(&state, &base, &path, conditions()?, body).await,
        (None, &Method::DELETE) => items::delete_item(&state, &path, conditions()?).await,
        (Some("children"), &Method::GET) => items::list_children(&state, &base, &path, render::select_of(query)).await,
        (Some("children"), &Method::POST) => items::create_folder(&state, &base, &path, body).await,
        (Some("content"), &Method::GET) => items::content_redirect(&state, &base, &path).await,
        (Some("content"), &Method::PUT) => sessions::simple_upload(&state, &base, &path, &headers, query, body).await,
        (Some("createlink"), &Method::POST) => items::create_link(&state, &base, &path, body).await,
        (Some("createuploadsession"), &Method::POST) => {
            sessions::create_session(&state, &base, &path, conditions()?, body).await
        }
        (None | Some("children" | "content" | "createlink" | "createuploadsession"), _) => Err(EmulatorError::graph(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            format!("The method {method} is not allowed on this resource."),
        )),
        (Some(other), _) => Err(EmulatorError::graph(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{}'.", other.chars().take(100).collect::<String>()),
        )),
    }
}
