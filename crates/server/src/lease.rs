//! Leases for background jobs that must run on one server process at a time (e.g. a periodic
//! sweep): a process asks for the lease each period and runs the job only when granted.
//! [`SingleProcess`] always grants (one process, nothing to share); [`PgLease`] grants a named
//! lease to one holder until it expires, through a row in the shared database.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::database::{unavailable, Database};
use crate::error::ApiError;

/// The future a [`Lease`] answers with.
pub type LeaseFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, ApiError>> + Send + 'a>>;

/// Grants a named job to one process at a time.
pub trait Lease: Send + Sync + 'static {
    /// Takes the lease `name` for `ttl` if no other holder has it now; `true` when this process may
    /// run the job. Asked again once per period, a job runs once per period across all processes.
    fn try_acquire<'a>(&'a self, name: &'a str, ttl: Duration) -> LeaseFuture<'a>;
}

/// One process: always granted.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleProcess;

impl Lease for SingleProcess {
    fn try_acquire<'a>(&'a self, _name: &'a str, _ttl: Duration) -> LeaseFuture<'a> {
        Box::pin(std::future::ready(Ok(true)))
    }
}

/// Leases in the shared database's `odu_lease` table; `holder` names this process.
pub struct PgLease {
    db: Arc<Database>,
    holder: String,
}

impl PgLease {
    /// Leases in `db`, held under a random name for this process.
    pub fn new(db: Arc<Database>) -> Self {
        PgLease { db, holder: format!("{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 8]>())) }
    }
}

impl Lease for PgLease {
    fn try_acquire<'a>(&'a self, name: &'a str, ttl: Duration) -> LeaseFuture<'a> {
        Box::pin(async move {
            let client = self.db.client().await?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
            let until = now + ttl.as_millis() as i64;
            self.db.count(1);
            // One statement: the row is created, or taken over once expired; a live lease is left alone.
            let granted = client
                .query_opt(
                    "INSERT INTO odu_lease (name, holder, until_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until_ms = EXCLUDED.until_ms
                     WHERE odu_lease.until_ms <= $4
                     RETURNING holder",
                    &[&name, &self.holder, &until, &now],
                )
                .await
                .map_err(unavailable)?;
            Ok(granted.is_some())
        })
    }
}
