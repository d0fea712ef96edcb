//! Item routes: get by id or path, list children, create folders, move/rename, delete,
//! download redirect and sharing links.

use super::conditions::Preconditions;
use super::graph_path::{split_path, Base, GraphPath};
use super::{read_json, render};
use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items::{self, ItemRow};
use crate::store::tokens::{self, LinkRow};
use crate::store::Atomic;
use crate::util::{now_ms, random_token};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onedrive_upload_core::names::{validate_item_id, validate_name};
use onedrive_upload_core::protocol::{Collection, DriveItem};
use rusqlite::Connection;
use serde_json::Value;

/// The item a base names; the app folder is created on first use.
pub fn base_item(conn: &Connection, state: &AppState, base: &Base) -> Result<ItemRow, EmulatorError> {
    match base {
        Base::Root => items::get(conn, state.root_id())?.ok_or_else(EmulatorError::item_not_found),
        Base::AppRoot => {
            let segments = ["Apps".to_owned(), state.config().app_name.clone()];
            items::ensure_folders(conn, state.root_id(), &segments, now_ms())
        }
        Base::Item(id) => items::get(conn, id)?.ok_or_else(EmulatorError::item_not_found),
    }
}

/// The item a whole path names, or 404.
pub fn resolve(conn: &Connection, state: &AppState, path: &GraphPath) -> Result<ItemRow, EmulatorError> {
    let base = base_item(conn, state, &path.base)?;
    items::resolve(conn, &base.id, &path.segments)?.ok_or_else(EmulatorError::item_not_found)
}

async fn with_item<T: Send + 'static>(
    state: &AppState,
    path: &GraphPath,
    f: impl FnOnce(&mut Connection, &AppState, ItemRow) -> Result<T, EmulatorError> + Send + 'static,
) -> Result<T, EmulatorError> {
    let (st, path) = (state.clone(), path.clone());
    state
        .db()
        .call(move |c| {
            let item = resolve(c, &st, &path)?;
            f(c, &st, item)
        })
        .await
}

fn selected(item: DriveItem, select: Option<&[String]>) -> Value {
    let mut value = serde_json::to_value(item).unwrap_or_default();
    if let Some(select) = select {
        render::apply_select(&mut value, select);
    }
    value
}

/// `GET` an item (`$select` honoured).
pub async fn get_item(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    select: Option<Vec<String>>,
) -> Result<Response, EmulatorError> {
    let base = base.to_owned();
    let v = with_item(state, path, move |c, st, item| render::drive_item(c, st, &base, &item)).await?;
    Ok(Json(selected(v, select.as_deref())).into_response())
}

/// `GET .../children` (`$select` honoured on each child).
pub async fn list_children(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    select: Option<Vec<String>>,
) -> Result<Response, EmulatorError> {
    let base = base.to_owned();
    let v = with_item(state, path, move |c, st, item| {
        if !item.is_folder {
            return Err(EmulatorError::invalid_request("The item is not a folder."));
        }
        let children = items::children(c, &item.id)?;
        let value = children
            .iter()
            .map(|i| Ok(selected(render::drive_item(c, st, &base, i)?, select.as_deref())))
            .collect::<Result<Vec<_>, EmulatorError>>()?;
        Ok(Collection { value })
    })
    .await?;
    Ok(Json(v).into_response())
}

fn conflict_of(body: &Value, default: &str) -> Result<String, EmulatorError> {
    match body.get("@microsoft.graph.conflictBehavior") {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) if ["fail", "replace", "rename"].contains(&s.as_str()) => Ok(s.clone()),
        Some(_) => Err(EmulatorError::invalid_request("Invalid value for @microsoft.graph.conflictBehavior.")),
    }
}

/// `POST .../children` `{"name","folder":{}}`: creates a folder (201; 409 on a clash with `fail`).
pub async fn create_folder(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    body: Body,
) -> Result<Response, EmulatorError> {
    let body: Value =
        read_json(body).await?.ok_or_else(|| EmulatorError::invalid_request("A request body is required."))?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| EmulatorError::invalid_request("The name is missing."))?
        .to_owned();
    validate_name(&name)?;
    if !body.get("folder").is_some_and(Value::is_object) {
        return Err(EmulatorError::invalid_request("Only folders can be created here: give \"folder\": {}."));
    }
    let conflict = conflict_of(&body, "fail")?;
    let base = base.to_owned();
    let v = with_item(state, path, move |c, st, parent| {
        if !parent.is_folder {
            return Err(EmulatorError::invalid_request("The parent is not a folder."));
        }
        let tx = Atomic::begin(c)?;
        let mut removed = Vec::new();
        let name = match (items::child(&tx, &parent.id, &name)?, conflict.as_str()) {
            (None, _) => name,
            (Some(_), "rename") => items::free_name(&tx, &parent.id, &name)?,
            (Some(old), "replace") => {
                removed = items::delete_tree(&tx, &old.id)?;
                name
            }
            (Some(_), _) => return Err(EmulatorError::name_exists()),
        };
        let folder = ItemRow::folder(&parent.id, &name, now_ms());
        items::insert(&tx, &folder)?;
        tx.commit()?;
        for blob in removed {
            st.blobs().remove_blob(&blob);
        }
        render::drive_item(c, st, &base, &folder)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `PATCH` an item: `{"name"}` and/or `{"parentReference":{"id"|"path"}}` (200; 409 on a clash;
/// 412 when `If-Match`/`If-None-Match` fail).
pub async fn patch_item(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    conditions: Preconditions,
    body: Body,
) -> Result<Response, EmulatorError> {
    let body: Value =
        read_json(body).await?.ok_or_else(|| EmulatorError::invalid_request("A request body is required."))?;
    if !body.is_object() {
        return Err(EmulatorError::invalid_request("The request body must be a JSON object."));
    }
    let new_name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_name(s)?;
            Some(s.clone())
        }
        Some(_) => return Err(EmulatorError::invalid_request("The name must be a string.")),
    };
    let parent_ref = body.get("parentReference").cloned();
    let base = base.to_owned();
    let v = with_item(state, path, move |c, st, item| {
        conditions.check(Some(&item))?;
        let Some(old_parent) = item.parent_id.clone() else {
            return Err(EmulatorError::graph(
                StatusCode::FORBIDDEN,
                "accessDenied",
                "The root cannot be moved or renamed.",
            ));
        };
        let parent = match &parent_ref {
            None | Some(Value::Null) => old_parent,
            Some(r) => target_parent(c, st, r)?,
        };
        let name = new_name.unwrap_or_else(|| item.name.clone());
        if items::is_within(c, &parent, &item.id)? {
            return Err(EmulatorError::invalid_request("An item cannot be moved into itself."));
        }
        let tx = Atomic::begin(c)?;
        if items::child(&tx, &parent, &name)?.is_some_and(|other| other.id != item.id) {
            return Err(EmulatorError::name_exists());
        }
        items::relocate(&tx, &item.id, &parent, &name, now_ms())?;
        tx.commit()?;
        let moved = items::get(c, &item.id)?.ok_or_else(EmulatorError::item_not_found)?;
        render::drive_item(c, st, &base, &moved)
    })
    .await?;
    Ok(Json(v).into_response())
}

fn target_parent(c: &Connection, st: &AppState, r: &Value) -> Result<String, EmulatorError> {
    let folder = if let Some(id) = r.get("id").and_then(Value::as_str) {
        validate_item_id(id)?;
        items::get(c, id)?.ok_or_else(EmulatorError::item_not_found)?
    } else if let Some(p) = r.get("path").and_then(Value::as_str) {
        let rel = p
            .strip_prefix("/drive/root:")
            .ok_or_else(|| EmulatorError::invalid_request("parentReference.path must start with /drive/root:"))?;
        let segments = split_path(rel)?;
        items::resolve(c, st.root_id(), &segments)?.ok_or_else(EmulatorError::item_not_found)?
    } else {
        return Err(EmulatorError::invalid_request("parentReference needs an id or a path."));
    };
    if !folder.is_folder {
        return Err(EmulatorError::invalid_request("The target parent is not a folder."));
    }
    Ok(folder.id)
}

/// `DELETE` an item (and everything below it): 204 (412 when `If-Match`/`If-None-Match` fail).
pub async fn delete_item(
    state: &AppState,
    path: &GraphPath,
    conditions: Preconditions,
) -> Result<Response, EmulatorError> {
    let blobs = with_item(state, path, move |c, _, item| {
        conditions.check(Some(&item))?;
        if item.parent_id.is_none() {
            return Err(EmulatorError::graph(StatusCode::FORBIDDEN, "accessDenied", "The root cannot be deleted."));
        }
        let tx = Atomic::begin(c)?;
        let blobs = items::delete_tree(&tx, &item.id)?;
        tx.commit()?;
        Ok(blobs)
    })
    .await?;
    for blob in blobs {
        state.blobs().remove_blob(&blob);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../content`: 302 to a short-lived pre-authenticated download URL.
pub async fn content_redirect(state: &AppState, base: &str, path: &GraphPath) -> Result<Response, EmulatorError> {
    let item = with_item(state, path, |_, _, item| Ok(item)).await?;
    if item.is_folder {
        return Err(EmulatorError::invalid_request("A folder has no content to download."));
    }
    let url = state.download_url(base, &item.id);
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

/// `POST .../createLink` `{"type","scope"}`: 201 with a new permission, 200 with the existing one.
pub async fn create_link(
    state: &AppState,
    base: &str,
    path: &GraphPath,
    body: Body,
) -> Result<Response, EmulatorError> {
    let body: Value =
        read_json(body).await?.ok_or_else(|| EmulatorError::invalid_request("A request body is required."))?;
    let link_type = match body.get("type").and_then(Value::as_str) {
        Some(t @ ("view" | "edit" | "embed")) => t.to_owned(),
        _ => return Err(EmulatorError::invalid_request("The link type must be view, edit or embed.")),
    };
    let scope = match body.get("scope") {
        None | Some(Value::Null) => "anonymous".to_owned(),
        Some(Value::String(s)) if ["anonymous", "organization", "users"].contains(&s.as_str()) => s.clone(),
        Some(_) => {
            return Err(EmulatorError::invalid_request("The link scope must be anonymous, organization or users."))
        }
    };
    let (link, created) = with_item(state, path, move |c, _, item| {
        if let Some(existing) = tokens::find_link(c, &item.id, &link_type, &scope)? {
            return Ok((existing, false));
        }
        let link = LinkRow { id: random_token(12), item_id: item.id, link_type, scope, token: random_token(24) };
        tokens::insert_link(c, &link)?;
        Ok((link, true))
    })
    .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(render::permission(state, base, &link))).into_response())
}
