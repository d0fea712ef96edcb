//! The SQLite connection: schema, pragmas, and running queries off the async threads.

use super::worker::{run_jobs, Call, Job};
use crate::error::EmulatorError;
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    name TEXT NOT NULL,
    is_folder INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    quick_xor_hash TEXT,
    blob TEXT,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    fs_created_ms INTEGER,
    fs_modified_ms INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS items_parent_name ON items(parent_id, name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL,
    requested_name TEXT NOT NULL,
    path TEXT NOT NULL,
    conflict TEXT NOT NULL,
    defer_commit INTEGER NOT NULL,
    total INTEGER,
    accepted INTEGER NOT NULL DEFAULT 0,
    expires_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    item_id TEXT,
    bytes_received INTEGER NOT NULL DEFAULT 0,
    put_requests INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    fs_created_ms INTEGER,
    fs_modified_ms INTEGER
);
CREATE TABLE IF NOT EXISTS codes (
    digest TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    challenge TEXT,
    challenge_method TEXT,
    expires_ms INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS links (
    item_id TEXT NOT NULL,
    type TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    PRIMARY KEY (item_id, type, scope)
);
";

/// Columns added after the first release: (table, column, type). Data directories made before
/// get them on open.
const ADDED_COLUMNS: [(&str, &str, &str); 4] = [
    ("items", "fs_created_ms", "INTEGER"),
    ("items", "fs_modified_ms", "INTEGER"),
    ("sessions", "fs_created_ms", "INTEGER"),
    ("sessions", "fs_modified_ms", "INTEGER"),
];

fn migrate(conn: &Connection) -> Result<(), EmulatorError> {
    for (table, column, kind) in ADDED_COLUMNS {
        let present: i64 =
            conn.query_row("SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2", [table, column], |r| {
                r.get(0)
            })?;
        if present == 0 {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// Prepared statements kept per connection: every statement of the emulator fits, so SQL
/// text is parsed once per process, not once per request.
const STATEMENT_CACHE: usize = 128;

/// The metadata database, shared by every request. One connection, owned by one dedicated
/// thread ([`super::worker`]) that runs the queued queries in order, committing those that
/// queued up together at once: requests never contend for a lock or wake a pool thread
/// each, and the thread stays hot while requests keep coming.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Db {
    /// Opens (creating if needed) `path`, applies the schema and starts the database thread
    /// (it ends when the last clone of this `Db` is dropped).
    pub fn open(path: &Path) -> Result<Db, EmulatorError> {
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
        crate::store::blobs::open_private(path, true, false)?;
        let conn = Connection::open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = std::path::PathBuf::from(file);
            if file.exists() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(crate::store::blobs::FILE_MODE))?;
            }
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let conn = Arc::new(Mutex::new(conn));
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let worker = conn.clone();
        std::thread::Builder::new().name("emulator-sqlite".into()).spawn(move || run_jobs(&worker, &queue))?;
        Ok(Db { conn, jobs })
    }

    /// Runs `f` with the connection on the database thread, possibly inside a transaction
    /// shared with other callers' queries (use [`Atomic`] for all-or-nothing changes). The
    /// answer comes once the writes are committed.
    pub async fn call<T, F>(&self, f: F) -> Result<T, EmulatorError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, EmulatorError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs.send(Box::new(Call::new(f, tx))).map_err(|_| gone())?;
        // A job that panicked dropped its sender: report it like a failed query.
        rx.await.map_err(|_| gone())?
    }

    /// Runs `f` with the connection on the current thread (start-up and tests only).
    pub fn call_sync<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, EmulatorError>,
    ) -> Result<T, EmulatorError> {
        let mut guard = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

fn gone() -> EmulatorError {
    EmulatorError::Io(std::io::Error::other("the database thread stopped"))
}

/// Statements that take effect together or not at all: a savepoint, so it works both on
/// its own (then it is a transaction) and inside the database thread's batch transaction.
/// Dropped without [`Atomic::commit`], it undoes its changes.
pub struct Atomic<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Atomic<'c> {
    /// Starts the group.
    pub fn begin(conn: &'c Connection) -> Result<Atomic<'c>, EmulatorError> {
        conn.prepare_cached("SAVEPOINT atomic")?.execute([])?;
        Ok(Atomic { conn, open: true })
    }

    /// Keeps the changes (commits them when no batch transaction is open).
    pub fn commit(mut self) -> Result<(), EmulatorError> {
        self.conn.prepare_cached("RELEASE atomic")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Atomic<'_> {
    fn drop(&mut self) {
        if self.open {
            for undo in ["ROLLBACK TO atomic", "RELEASE atomic"] {
                if let Err(e) = self.conn.prepare_cached(undo).and_then(|mut s| s.execute([])) {
                    tracing::warn!(error = %e, "could not undo a savepoint");
                }
            }
        }
    }
}

impl std::ops::Deref for Atomic<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// Reads a `meta` value, or stores `make()` under `key` the first time.
pub fn meta_or_insert(conn: &Connection, key: &str, make: impl FnOnce() -> String) -> Result<String, EmulatorError> {
    if let Some(v) =
        conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?
    {
        return Ok(v);
    }
    let value = make();
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2)")?.execute([key, value.as_str()])?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dirs_of_earlier_versions_get_the_new_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE items (id TEXT PRIMARY KEY, parent_id TEXT, name TEXT NOT NULL, is_folder INTEGER NOT NULL,
             size INTEGER NOT NULL DEFAULT 0, quick_xor_hash TEXT, blob TEXT, created_ms INTEGER NOT NULL,
             modified_ms INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1);
             INSERT INTO items (id, name, is_folder, created_ms, modified_ms) VALUES ('r', 'root', 1, 1, 1);",
        )
        .unwrap();
        drop(old);
        let db = Db::open(&path).unwrap();
        let root = db.call_sync(|c| crate::store::items::get(c, "r")).unwrap().unwrap();
        assert_eq!(root.fs, crate::store::items::FileSystemTimes::default());
        drop(db);
        Db::open(&path).unwrap();
    }
}
