//! The PostgreSQL store shared by several server processes (`--database-url`): a connection pool,
//! the versioned schema the server creates and migrates at start, and the account row that the
//! processes lock (`SELECT ... FOR UPDATE`) to refresh the tokens one at a time.
//!
//! A lock lives in a transaction on one connection: if the process holding it dies, PostgreSQL
//! sees the connection close, rolls the transaction back and the lock is free again. A
//! [`LockedAccount`] dropped before it commits (its future cancelled) closes its connection for
//! the same effect, instead of returning a connection with an open transaction to the pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::error::ApiError;
use crate::sealing::Sealer;

/// The schema, one entry per version: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the account's tokens (sealed), pending logins, per-user session counters, leases.
    "CREATE TABLE odu_account (
         id smallint PRIMARY KEY CHECK (id = 1),
         status text NOT NULL DEFAULT 'not_connected',
         tokens bytea,
         generation bigint NOT NULL DEFAULT 0,
         updated_at timestamptz NOT NULL DEFAULT now()
     );
     INSERT INTO odu_account (id) VALUES (1);
     CREATE TABLE odu_pending_login (
         state_digest bytea PRIMARY KEY,
         verifier bytea NOT NULL,
         created_ms bigint NOT NULL
     );
     CREATE TABLE odu_session (
         id bigserial PRIMARY KEY,
         user_id text NOT NULL,
         created_ms bigint NOT NULL,
         live_until_ms bigint,
         upload_url bytea
     );
     CREATE INDEX odu_session_user ON odu_session (user_id, created_ms);
     CREATE TABLE odu_lease (
         name text PRIMARY KEY,
         holder text NOT NULL,
         until_ms bigint NOT NULL
     );",
    // 2: the operator's one-time connect codes (digests), valid on every process.
    "CREATE TABLE odu_connect_code (
         digest bytea PRIMARY KEY,
         issued_ms bigint NOT NULL
     );",
];

/// The schema version this server writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Advisory lock key serialising migrations between processes starting together.
const MIGRATION_LOCK: i64 = 0x6f64_755f_6d69_6772;

/// How the server reaches the database.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/db` (or `?host=/socket/dir`).
    pub url: String,
    /// Seals the secrets stored there.
    pub sealer: Sealer,
    /// Longest wait for a row lock (the refresh lock included) before answering 503.
    pub lock_timeout: Duration,
    /// Connections in the pool.
    pub pool_size: usize,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"<redacted>")
            .field("lock_timeout", &self.lock_timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The pool, the sealer, and a count of the statements sent (for tests and benchmarks).
pub struct Database {
    pool: Pool,
    sealer: Sealer,
    lock_timeout: Duration,
    queries: AtomicU64,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Database(<pool>)")
    }
}

/// The account row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// `connected`, `not_connected` or `disconnected`.
    pub status: String,
    /// The sealed tokens, while connected.
    pub tokens: Option<Vec<u8>>,
    /// Increases with every (dis)connection.
    pub generation: i64,
}

/// A database failure, logged here; requests see a 503.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "database unavailable");
    ApiError::Unavailable { retry_after: Some(1) }
}

impl Database {
    /// Connects, and creates or migrates the schema (refusing a schema newer than this server's).
    pub async fn connect(settings: &DatabaseSettings) -> Result<Database, String> {
        let mut config: tokio_postgres::Config =
            settings.url.parse().map_err(|e| format!("--database-url is not a PostgreSQL URL: {e}"))?;
        config.application_name("onedrive-upload-server");
        config.connect_timeout(Duration::from_secs(10));
        // Every lock wait is bounded: a refresh blocked longer than this answers 503.
        config.options(format!("-c lock_timeout={}", settings.lock_timeout.as_millis().max(1)));
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.lock_timeout + Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("database pool: {e}"))?;
        let db = Database {
            pool,
            sealer: settings.sealer.clone(),
            lock_timeout: settings.lock_timeout,
            queries: AtomicU64::new(0),
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), String> {
        let mut client = self.pool.get().await.map_err(|e| format!("cannot connect to the database: {e}"))?;
        let tx = client.transaction().await.map_err(|e| e.to_string())?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(|e| e.to_string())?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS odu_schema_version (version integer NOT NULL)")
            .await
            .map_err(|e| e.to_string())?;
        let row = tx
            .query_one("SELECT coalesce(max(version), 0) FROM odu_schema_version", &[])
            .await
            .map_err(|e| e.to_string())?;
        let current: i32 = row.get(0);
        if current > SCHEMA_VERSION {
            return Err(format!(
                "the database schema is version {current}, newer than this server's {SCHEMA_VERSION}: upgrade the server"
            ));
        }
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql).await.map_err(|e| format!("schema migration to version {}: {e}", version + 1))?;
        }
        if current < SCHEMA_VERSION {
            tx.execute("DELETE FROM odu_schema_version", &[]).await.map_err(|e| e.to_string())?;
            tx.execute("INSERT INTO odu_schema_version (version) VALUES ($1)", &[&SCHEMA_VERSION])
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(from = current, to = SCHEMA_VERSION, "database schema migrated");
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        self.count(6);
        Ok(())
    }

    /// The sealer of the secrets stored here.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// How long a lock wait may take.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// Statements sent since start on behalf of requests (the periodic sync's reads left out).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Counts `n` statements.
    pub(crate) fn count(&self, n: u64) {
        self.queries.fetch_add(n, Ordering::Relaxed);
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<Object, ApiError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// The account row, without locking it (the periodic sync's read: not counted in [`Database::queries`]).
    pub async fn account(&self) -> Result<AccountRow, ApiError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT status, tokens, generation FROM odu_account WHERE id = 1", &[])
            .await
            .map_err(unavailable)?;
        Ok(AccountRow { status: row.get(0), tokens: row.get(1), generation: row.get(2) })
    }

    /// Locks the account row until the returned guard commits or is dropped; waits at most the
    /// lock timeout for another process's lock (then 503).
    pub async fn lock_account(&self) -> Result<Locked, ApiError> {
        let client = self.client().await?;
        let guard = LockedAccount { client: Some(client), done: false };
        let c = guard.client.as_ref().expect("set above");
        self.count(2);
        c.batch_execute("BEGIN").await.map_err(unavailable)?;
        let row = c
            .query_one("SELECT status, tokens, generation FROM odu_account WHERE id = 1 FOR UPDATE", &[])
            .await
            .map_err(|e| {
                if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
                    tracing::warn!("another server held the token refresh lock past the lock timeout");
                    ApiError::Unavailable { retry_after: Some(1) }
                } else {
                    unavailable(e)
                }
            })?;
        let row = AccountRow { status: row.get(0), tokens: row.get(1), generation: row.get(2) };
        Ok(Locked { guard, row })
    }

    /// Writes the account row without holding its lock first (it waits for a holder, bounded).
    pub async fn write_account(&self, status: &str, tokens: Option<&[u8]>, bump: bool) -> Result<i64, ApiError> {
        let client = self.client().await?;
        self.count(1);
        let row = client
            .query_one(
                "UPDATE odu_account SET status = $1, tokens = $2, generation = generation + $3::bigint,
                 updated_at = now() WHERE id = 1 RETURNING generation",
                &[&status, &tokens, &i64::from(bump)],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.get(0))
    }
}

/// The account row, locked by this process until [`LockedAccount::commit`] (or drop: rollback).
pub struct LockedAccount {
    client: Option<Object>,
    done: bool,
}

/// A [`LockedAccount`] with the row it read.
pub struct Locked {
    /// The lock.
    pub guard: LockedAccount,
    /// The row as it was when locked.
    pub row: AccountRow,
}

impl LockedAccount {
    /// Writes the row and commits: the write is durable before this returns `Ok`.
    pub async fn commit(mut self, db: &Database, write: Option<(&str, Option<&[u8]>, bool)>) -> Result<i64, ApiError> {
        let client = self.client.as_ref().expect("present until done");
        let mut generation = -1;
        if let Some((status, tokens, bump)) = write {
            db.count(1);
            let row = client
                .query_one(
                    "UPDATE odu_account SET status = $1, tokens = $2, generation = generation + $3::bigint,
                     updated_at = now() WHERE id = 1 RETURNING generation",
                    &[&status, &tokens, &i64::from(bump)],
                )
                .await
                .map_err(unavailable)?;
            generation = row.get(0);
        }
        db.count(1);
        client.batch_execute("COMMIT").await.map_err(unavailable)?;
        self.done = true;
        Ok(generation)
    }
}

impl Drop for LockedAccount {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !self.done {
                // Not committed: close the connection (PostgreSQL rolls back and frees the lock)
                // rather than pool a connection inside a transaction.
                drop(Object::take(client));
            }
        }
    }
}
