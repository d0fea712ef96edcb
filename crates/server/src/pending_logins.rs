//! Logins between `/auth/login` and the callback: the `state` with its PKCE verifier, single use,
//! [`STATE_TTL`] at most. In this process's memory, or in the shared database so that a login
//! started on one server process completes through another's callback (the `state` stored as its
//! SHA-256 digest, the verifier sealed). Also the operator's one-time connect codes, shared through
//! the database ([`connect_codes`]) so that a code one process logged works on any of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oauth2::PkceCodeVerifier;
use sha2::{Digest, Sha256};

use crate::database::{unavailable, Database};
use crate::error::ApiError;

/// How long a login may take between `/auth/login` and the callback.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// At most this many logins may be pending at once in memory (older ones are dropped).
const MAX_PENDING: usize = 256;
/// What verifiers are sealed for (associated data).
const PURPOSE: &str = "odu-pkce-verifier";

/// Where pending logins are kept.
pub enum PendingLogins {
    /// This process's memory: `state` -> (verifier, created).
    Memory(Mutex<HashMap<String, (PkceCodeVerifier, Instant)>>),
    /// The shared database.
    Database(Arc<Database>),
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl PendingLogins {
    /// Pending logins in memory.
    pub fn memory() -> Self {
        PendingLogins::Memory(Mutex::new(HashMap::new()))
    }

    /// Records a login; expired ones are dropped.
    pub async fn put(&self, state: &str, verifier: PkceCodeVerifier) -> Result<(), ApiError> {
        match self {
            PendingLogins::Memory(pending) => {
                let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.retain(|_, (_, created)| created.elapsed() < STATE_TTL);
                if pending.len() >= MAX_PENDING {
                    if let Some(oldest) = pending.iter().min_by_key(|(_, (_, c))| *c).map(|(k, _)| k.clone()) {
                        pending.remove(&oldest);
                    }
                }
                pending.insert(state.to_owned(), (verifier, Instant::now()));
                Ok(())
            }
            PendingLogins::Database(db) => {
                let client = db.client().await?;
                let sealed = db.sealer().seal(PURPOSE, verifier.secret().as_bytes());
                let digest = Sha256::digest(state.as_bytes()).to_vec();
                let now = now_ms();
                db.count(2);
                client
                    .execute(
                        "DELETE FROM odu_pending_login WHERE created_ms < $1",
                        &[&(now - STATE_TTL.as_millis() as i64)],
                    )
                    .await
                    .map_err(unavailable)?;
                client
                    .execute(
                        "INSERT INTO odu_pending_login (state_digest, verifier, created_ms) VALUES ($1, $2, $3)",
                        &[&digest, &sealed, &now],
                    )
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }
        }
    }

    /// Takes a fresh login's verifier (single use); `None` if unknown or expired.
    pub async fn take(&self, state: &str) -> Result<Option<PkceCodeVerifier>, ApiError> {
        match self {
            PendingLogins::Memory(pending) => {
                let taken = pending.lock().unwrap_or_else(|e| e.into_inner()).remove(state);
                Ok(taken.filter(|(_, created)| created.elapsed() < STATE_TTL).map(|(v, _)| v))
            }
            PendingLogins::Database(db) => {
                let client = db.client().await?;
                let digest = Sha256::digest(state.as_bytes()).to_vec();
                db.count(1);
                let row = client
                    .query_opt(
                        "DELETE FROM odu_pending_login WHERE state_digest = $1 RETURNING verifier, created_ms",
                        &[&digest],
                    )
                    .await
                    .map_err(unavailable)?;
                let Some(row) = row else { return Ok(None) };
                let (sealed, created): (Vec<u8>, i64) = (row.get(0), row.get(1));
                if now_ms() - created >= STATE_TTL.as_millis() as i64 {
                    return Ok(None);
                }
                let (plain, _) = db.sealer().open(PURPOSE, &sealed).map_err(|e| ApiError::Internal(e.to_string()))?;
                let verifier = String::from_utf8(plain).map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok(Some(PkceCodeVerifier::new(verifier)))
            }
        }
    }
}

/// The operator's connect codes in the shared database (digests only), valid on every process.
pub mod connect_codes {
    use super::{now_ms, unavailable, ApiError, Database};
    use crate::oauth::CONNECT_TTL;

    /// Records `digest` as live, forgetting this process's `previous` one.
    pub async fn replace(db: &Database, previous: Option<[u8; 32]>, digest: [u8; 32]) -> Result<(), ApiError> {
        let client = db.client().await?;
        db.count(2);
        let stale = now_ms() - CONNECT_TTL.as_millis() as i64;
        let previous = previous.map(|d| d.to_vec());
        client
            .execute("DELETE FROM odu_connect_code WHERE digest = $1 OR issued_ms < $2", &[&previous, &stale])
            .await
            .map_err(unavailable)?;
        client
            .execute("INSERT INTO odu_connect_code (digest, issued_ms) VALUES ($1, $2)", &[&digest.to_vec(), &now_ms()])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Consumes `digest` if it is a live code.
    pub async fn take(db: &Database, digest: &[u8; 32]) -> Result<bool, ApiError> {
        let client = db.client().await?;
        db.count(1);
        let stale = now_ms() - CONNECT_TTL.as_millis() as i64;
        let row = client
            .query_opt(
                "DELETE FROM odu_connect_code WHERE digest = $1 RETURNING issued_ms > $2",
                &[&digest.to_vec(), &stale],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    /// Forgets every code (the account is connected).
    pub async fn clear(db: &Database) -> Result<(), ApiError> {
        let client = db.client().await?;
        db.count(1);
        client.execute("DELETE FROM odu_connect_code", &[]).await.map_err(unavailable)?;
        Ok(())
    }
}
