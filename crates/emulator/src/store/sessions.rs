//! Upload sessions in SQLite: one row per session, written at creation, once per accepted
//! (or discarded) fragment, and on every state change.

use crate::error::EmulatorError;
use rusqlite::{params, Connection, Row};

/// Life-cycle state of an upload session, as the control API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Accepting fragments.
    Active,
    /// The file was committed.
    Completed,
    /// DELETEd by the client (or its commit was refused).
    Cancelled,
    /// Its sliding expiry passed.
    Expired,
}

impl SessionState {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Completed => "completed",
            SessionState::Cancelled => "cancelled",
            SessionState::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "active" => SessionState::Active,
            "completed" => SessionState::Completed,
            "cancelled" => SessionState::Cancelled,
            _ => SessionState::Expired,
        }
    }
}

/// Immutable facts of a session, fixed at creation.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Secret id (the last segment of the upload URL).
    pub id: String,
    /// Folder the file goes to.
    pub parent_id: String,
    /// The file name as requested (before any rename numbering).
    pub requested_name: String,
    /// Drive path of the requested target, e.g. `/Apps/app/temp/u/a.bin`.
    pub path: String,
    /// `fail`, `replace` or `rename`.
    pub conflict: String,
    /// Commit only on `POST {uploadUrl}`.
    pub defer_commit: bool,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// `item.fileSystemInfo` of the request, given to the file at commit.
    pub fs: crate::store::items::FileSystemTimes,
}

/// Mutable progress of a session.
#[derive(Debug, Clone)]
pub struct SessionProgress {
    /// Total size, fixed by the first fragment.
    pub total: Option<u64>,
    /// Bytes accepted: the prefix `0..accepted` is on disk.
    pub accepted: u64,
    /// Expiry, Unix ms.
    pub expires_ms: i64,
    /// State.
    pub state: SessionState,
    /// The committed item's id.
    pub item_id: Option<String>,
    /// Every PUT body byte read, discarded ones included.
    pub bytes_received: u64,
    /// Number of PUT requests.
    pub put_requests: u64,
}

/// Inserts a new session.
pub fn insert(conn: &Connection, info: &SessionInfo, p: &SessionProgress) -> Result<(), EmulatorError> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, parent_id, requested_name, path, conflict, defer_commit, total, accepted, expires_ms, state,
         item_id, bytes_received, put_requests, created_ms, fs_created_ms, fs_modified_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        info.id,
        info.parent_id,
        info.requested_name,
        info.path,
        info.conflict,
        info.defer_commit,
        p.total.map(|t| t as i64),
        p.accepted as i64,
        p.expires_ms,
        p.state.as_str(),
        p.item_id,
        p.bytes_received as i64,
        p.put_requests as i64,
        info.created_ms,
        info.fs.created_ms,
        info.fs.modified_ms
    ])?;
    Ok(())
}

/// Stores a session's progress.
pub fn update(conn: &Connection, id: &str, p: &SessionProgress) -> Result<(), EmulatorError> {
    conn.prepare_cached(
        "UPDATE sessions SET total = ?2, accepted = ?3, expires_ms = ?4, state = ?5, item_id = ?6, bytes_received = ?7,
         put_requests = ?8 WHERE id = ?1",
    )?
    .execute(params![
        id,
        p.total.map(|t| t as i64),
        p.accepted as i64,
        p.expires_ms,
        p.state.as_str(),
        p.item_id,
        p.bytes_received as i64,
        p.put_requests as i64
    ])?;
    Ok(())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<(SessionInfo, SessionProgress)> {
    Ok((
        SessionInfo {
            id: r.get(0)?,
            parent_id: r.get(1)?,
            requested_name: r.get(2)?,
            path: r.get(3)?,
            conflict: r.get(4)?,
            defer_commit: r.get(5)?,
            created_ms: r.get(13)?,
            fs: crate::store::items::FileSystemTimes { created_ms: r.get(14)?, modified_ms: r.get(15)? },
        },
        SessionProgress {
            total: r.get::<_, Option<i64>>(6)?.map(|t| t as u64),
            accepted: r.get::<_, i64>(7)? as u64,
            expires_ms: r.get(8)?,
            state: SessionState::parse(&r.get::<_, String>(9)?),
            item_id: r.get(10)?,
            bytes_received: r.get::<_, i64>(11)? as u64,
            put_requests: r.get::<_, i64>(12)? as u64,
        },
    ))
}

/// Every session, oldest first.
pub fn load_all(conn: &Connection) -> Result<Vec<(SessionInfo, SessionProgress)>, EmulatorError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, parent_id, requested_name, path, conflict, defer_commit, total, accepted, expires_ms, state, item_id,
         bytes_received, put_requests, created_ms, fs_created_ms, fs_modified_ms FROM sessions ORDER BY created_ms, rowid",
    )?;
    let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Db::open(&dir.path().join("t.sqlite3")).unwrap();
        let info = SessionInfo {
            id: "s".into(),
            parent_id: "p".into(),
            requested_name: "a.bin".into(),
            path: "/a.bin".into(),
            conflict: "rename".into(),
            defer_commit: false,
            created_ms: 5,
            fs: crate::store::items::FileSystemTimes { created_ms: Some(1), modified_ms: None },
        };
        let mut p = SessionProgress {
            total: None,
            accepted: 0,
            expires_ms: 10,
            state: SessionState::Active,
            item_id: None,
            bytes_received: 0,
            put_requests: 0,
        };
        db.call_sync(|c| insert(c, &info, &p)).unwrap();
        p.total = Some(100);
        p.accepted = 40;
        p.state = SessionState::Expired;
        db.call_sync(|c| update(c, "s", &p)).unwrap();
        let all = db.call_sync(|c| load_all(c)).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0.requested_name, "a.bin");
        assert_eq!(all[0].0.fs, info.fs);
        assert_eq!((all[0].1.total, all[0].1.accepted, all[0].1.state), (Some(100), 40, SessionState::Expired));
    }
}
