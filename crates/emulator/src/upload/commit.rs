//! Turning received bytes into a visible item: conflict handling (`fail`, `replace`,
//! `rename` with `name 1.ext` numbering) in one SQLite transaction, after the bytes are
//! durable on disk. Nothing becomes visible before the data is fsynced.

use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items::{self, FileSystemTimes, ItemRow};
use crate::store::sessions::{self, SessionState};
use crate::store::Atomic;
use crate::upload::live::LiveSession;
use crate::util::{new_item_id, now_ms, random_token};
use onedrive_upload_core::protocol::ConflictBehavior;
use onedrive_upload_core::QuickXorHash;
use rusqlite::Connection;

/// A file placed in the tree.
#[derive(Debug)]
pub struct Placement {
    /// The item as stored.
    pub item: ItemRow,
    /// The blob the item had before a `replace` (to delete from disk).
    pub replaced_blob: Option<String>,
    /// A new item (false: an existing file was replaced).
    pub created: bool,
}

/// Parses a stored conflict behaviour.
pub fn conflict_from_str(s: &str) -> ConflictBehavior {
    match s {
        "fail" => ConflictBehavior::Fail,
        "rename" => ConflictBehavior::Rename,
        _ => ConflictBehavior::Replace,
    }
}

/// The stored spelling of a conflict behaviour.
pub fn conflict_str(c: ConflictBehavior) -> &'static str {
    match c {
        ConflictBehavior::Fail => "fail",
        ConflictBehavior::Rename => "rename",
        ConflictBehavior::Replace => "replace",
    }
}

/// Puts a file named `name` into `parent` (call inside a transaction).
#[allow(clippy::too_many_arguments)]
pub fn place_file(
    conn: &Connection,
    parent: &str,
    name: &str,
    conflict: ConflictBehavior,
    size: u64,
    hash: &str,
    blob: &str,
    now: i64,
    fs: FileSystemTimes,
) -> Result<Placement, EmulatorError> {
    let folder = items::get(conn, parent)?.ok_or_else(EmulatorError::item_not_found)?;
    if !folder.is_folder {
        return Err(EmulatorError::invalid_request("The parent is not a folder."));
    }
    let existing = items::child(conn, parent, name)?;
    let name = match (existing, conflict) {
        (None, _) => name.to_owned(),
        (Some(_), ConflictBehavior::Fail) => return Err(EmulatorError::name_exists()),
        (Some(old), ConflictBehavior::Replace) if !old.is_folder => {
            items::replace_content(conn, &old.id, size, hash, blob, now, fs)?;
            let item = items::get(conn, &old.id)?.ok_or_else(EmulatorError::item_not_found)?;
            return Ok(Placement { item, replaced_blob: old.blob, created: false });
        }
        (Some(_), ConflictBehavior::Replace) => return Err(EmulatorError::name_exists()),
        (Some(_), ConflictBehavior::Rename) => items::free_name(conn, parent, name)?,
    };
    let item = ItemRow {
        id: new_item_id(),
        parent_id: Some(parent.to_owned()),
        name,
        is_folder: false,
        size,
        quick_xor_hash: Some(hash.to_owned()),
        blob: Some(blob.to_owned()),
        created_ms: now,
        modified_ms: now,
        version: 1,
        fs,
    };
    items::insert(conn, &item)?;
    Ok(Placement { item, replaced_blob: None, created: true })
}

/// Where an explicit commit (`PUT` with `@microsoft.graph.sourceUrl`) puts a session's file
/// instead of the place and conflict behaviour it was created with.
#[derive(Debug, Clone)]
pub struct CommitTarget {
    /// The folder.
    pub parent_id: String,
    /// The file name.
    pub name: String,
    /// What to do when the name is taken.
    pub conflict: ConflictBehavior,
}

/// Commits a session whose bytes are all accepted: fsync + move of the part file, then the
/// item and the session's `completed` state in one transaction. On a name clash (409) the
/// session is kept, bytes included, until it expires, so that a `PUT` with
/// `@microsoft.graph.sourceUrl` can commit it elsewhere (as Graph documents); on any other
/// failure (parent gone, ...) the session is cancelled and its bytes removed.
pub async fn commit_session(
    state: &AppState,
    session: &LiveSession,
    target: Option<CommitTarget>,
    corrupt_hash: bool,
) -> Result<Placement, EmulatorError> {
    let (total, hash) = {
        let mut live = session.lock();
        live.committing = true;
        (live.progress.total.unwrap_or(0), live.hash.finalize())
    };
    let hash = if corrupt_hash { QuickXorHash::hash(hash.as_bytes()) } else { hash };
    let result = commit_inner(state, session, target, total, hash).await;
    let failed = {
        let mut live = session.lock();
        live.committing = false;
        match &result {
            Ok((_, progress)) => {
                live.progress = progress.clone();
                false
            }
            Err((_, kept)) => !kept,
        }
    };
    let result = result.map_err(|(e, _)| e);
    if failed {
        state.end_session(session, SessionState::Cancelled).await?;
    }
    let (placement, _) = result?;
    if let Some(old) = &placement.replaced_blob {
        state.blobs().remove_blob(old);
    }
    Ok(placement)
}

/// Err: the error, and whether the session's bytes are back in its part file (a name clash).
async fn commit_inner(
    state: &AppState,
    session: &LiveSession,
    target: Option<CommitTarget>,
    total: u64,
    hash: String,
) -> Result<(Placement, sessions::SessionProgress), (EmulatorError, bool)> {
    let blob = random_token(16);
    let (blobs, id, b) = (state.blobs().clone(), session.info.id.clone(), blob.clone());
    tokio::task::spawn_blocking(move || blobs.commit_part(&id, total, &b))
        .await
        .map_err(|e| EmulatorError::Io(std::io::Error::other(e)))
        .and_then(|r| r.map_err(EmulatorError::Io))
        .map_err(|e| (e, false))?;
    let info = session.info.clone();
    let target = target.unwrap_or_else(|| CommitTarget {
        parent_id: info.parent_id.clone(),
        name: info.requested_name.clone(),
        conflict: conflict_from_str(&info.conflict),
    });
    let mut progress = session.progress();
    let b = blob.clone();
    let placed = state
        .db()
        .call(move |c| {
            let tx = Atomic::begin(c)?;
            let placed =
                place_file(&tx, &target.parent_id, &target.name, target.conflict, total, &hash, &b, now_ms(), info.fs)?;
            progress.state = SessionState::Completed;
            progress.accepted = total;
            progress.item_id = Some(placed.item.id.clone());
            sessions::update(&tx, &info.id, &progress)?;
            tx.commit()?;
            Ok((placed, progress))
        })
        .await;
    placed.map_err(|e| {
        let clash = e.status() == axum::http::StatusCode::CONFLICT;
        let kept =
            clash && std::fs::rename(state.blobs().blob_path(&blob), state.blobs().part_path(&session.info.id)).is_ok();
        if !kept {
            state.blobs().remove_blob(&blob);
        }
        (e, kept)
    })
}
