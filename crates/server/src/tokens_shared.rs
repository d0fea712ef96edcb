//! The token manager's shared-database side: the account row locked for one refresh across all
//! processes, the rotated refresh token committed before the new access token is used, and the
//! periodic sync that tells this process what the others did (connected, refreshed, disconnected).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use oauth2::{AuthorizationCode, PkceCodeVerifier, RefreshToken};

use super::{now_secs, State, Stored, TokenManager};
use crate::database::{AccountRow, Database, Locked};
use crate::error::ApiError;

/// How often a process re-reads the account row (status, tokens another process obtained).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);
/// What the tokens are sealed for (associated data).
const PURPOSE: &str = "odu-account-tokens";

impl TokenManager {
    /// The tokens of a row (`None` unless connected); a row no configured key opens is an error.
    fn open_row(db: &Database, row: &AccountRow) -> Result<Option<Stored>, ApiError> {
        let Some(sealed) = row.tokens.as_deref().filter(|_| row.status == "connected") else { return Ok(None) };
        let (plain, _old_key) = db.sealer().open(PURPOSE, sealed).map_err(|e| {
            tracing::error!(error = %e, "cannot open the account's tokens in the database");
            ApiError::Internal(e.to_string())
        })?;
        serde_json::from_slice(&plain).map(Some).map_err(|e| ApiError::Internal(format!("stored tokens: {e}")))
    }

    fn seal(db: &Database, stored: &Stored) -> Result<Vec<u8>, ApiError> {
        let json = serde_json::to_vec(stored).map_err(|e| ApiError::Internal(format!("serialize tokens: {e}")))?;
        Ok(db.sealer().seal(PURPOSE, &json))
    }

    /// Takes what the row says into memory; a new generation (another connection) counts as one.
    fn adopt(&self, row: &AccountRow, stored: Option<Stored>) {
        if self.generation.swap(row.generation, Ordering::AcqRel) != row.generation {
            self.connections.fetch_add(1, Ordering::AcqRel);
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        *state = match (row.status.as_str(), stored) {
            ("connected", Some(new)) => match &*state {
                // Keep what this process has when the row is not newer (e.g. a token marked stale here).
                State::Connected(old) if old.obtained_at >= new.obtained_at && old.access_token == new.access_token => {
                    return
                }
                _ => State::Connected(Arc::new(new)),
            },
            ("disconnected", _) => State::Disconnected,
            _ => State::NotConnected,
        };
    }

    /// Reads the account row into memory (at start and every [`SYNC_INTERVAL`]); first writes the
    /// tokens in memory if an earlier database write failed.
    pub async fn sync(&self) -> Result<(), ApiError> {
        let Some(db) = &self.database else { return Ok(()) };
        if self.database_failure.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            let _guard = self.refresh_lock.lock().await;
            let current = match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
                State::Connected(t) => Some(t.clone()),
                _ => None,
            };
            if let Some(t) = current {
                db.write_account("connected", Some(&Self::seal(db, &t)?), false).await?;
            }
            *self.database_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
            tracing::info!("tokens written to the database again; no longer degraded");
        }
        let row = db.account().await?;
        let stored = Self::open_row(db, &row)?;
        self.adopt(&row, stored);
        Ok(())
    }

    /// Runs [`TokenManager::sync`] every [`SYNC_INTERVAL`] for as long as the returned task lives.
    pub fn spawn_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SYNC_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return };
                if let Err(e) = this.sync().await {
                    tracing::warn!(error = %e, "could not read the account from the database");
                }
            }
        })
    }

    /// The refresh shared by all processes (this process's `refresh_lock` is held): lock the row;
    /// if another process refreshed meanwhile take its token, else refresh and commit first.
    pub(super) async fn refresh_shared(&self, db: &Database) -> Result<String, ApiError> {
        let stale = match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Connected(t) => Some(t.access_token.clone()),
            _ => None,
        };
        let Locked { guard, row } = db.lock_account().await?;
        let Some(current) = Self::open_row(db, &row)? else {
            guard.commit(db, None).await?;
            self.adopt(&row, None);
            return Err(ApiError::AccountDisconnected);
        };
        if current.fresh(self.margin) && Some(&current.access_token) != stale.as_ref() {
            // Another process refreshed (or this one was behind): its token, no request to the identity platform.
            guard.commit(db, None).await?;
            let token = current.access_token.clone();
            self.adopt(&row, Some(current));
            return Ok(token);
        }
        test_delay_inside_lock().await;
        let Some(refresh) = current.refresh_token.clone() else {
            guard.commit(db, Some(("disconnected", None, true))).await?;
            *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Disconnected;
            return Err(ApiError::AccountDisconnected);
        };
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh))
            .add_scopes(self.scopes.iter().cloned())
            .request_async(&self.http)
            .await;
        match self.check(answer).await {
            Ok(answer) => {
                let stored = Stored::from_answer(&answer, current.refresh_token.clone());
                let sealed = Self::seal(db, &stored)?;
                let token = stored.access_token.clone();
                // The rotated refresh token is durable before its access token is used.
                let committed = guard.commit(db, Some(("connected", Some(&sealed), false))).await;
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Connected(Arc::new(stored));
                if let Err(e) = committed {
                    let reason = format!("the refreshed tokens could not be written to the database ({e})");
                    tracing::error!(%reason, "serving from memory, retrying the write");
                    *self.database_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                } else {
                    tracing::info!("access token refreshed");
                }
                Ok(token)
            }
            Err(ApiError::AccountDisconnected) => {
                guard.commit(db, Some(("disconnected", None, true))).await?;
                Err(ApiError::AccountDisconnected)
            }
            Err(e @ (ApiError::Unavailable { .. } | ApiError::BadGateway)) => {
                guard.commit(db, None).await?;
                // A refresh ahead of expiry that fails for a passing reason: the old token still works.
                if current.expires_at > now_secs() + 5 {
                    let token = current.access_token.clone();
                    self.adopt(&row, Some(current));
                    return Ok(token);
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Redeems a login's code holding the row lock and commits the tokens as a new connection.
    pub(super) async fn exchange_code_shared(
        &self,
        db: &Database,
        code: String,
        verifier: PkceCodeVerifier,
    ) -> Result<(), ApiError> {
        let Locked { guard, .. } = db.lock_account().await?;
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await;
        let answer = self.check(answer).await?;
        let stored = Stored::from_answer(&answer, None);
        let generation = guard.commit(db, Some(("connected", Some(&Self::seal(db, &stored)?), true))).await?;
        let row = AccountRow { status: "connected".into(), tokens: None, generation };
        self.adopt(&row, Some(stored));
        tracing::info!("OneDrive account connected");
        Ok(())
    }

    /// The operator's disconnect, recorded for every process.
    pub(super) async fn disconnect_shared(&self, db: &Database) -> Result<(), ApiError> {
        let generation = db.write_account("not_connected", None, true).await?;
        self.generation.store(generation, Ordering::Release);
        self.connections.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// Test hook: in debug builds, `ODU_TEST_REFRESH_LOCK_DELAY_MS` makes a refresh wait that long while it
/// holds the lock (so that a test can kill the process there). Release builds ignore it.
async fn test_delay_inside_lock() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("ODU_TEST_REFRESH_LOCK_DELAY_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        tracing::warn!(ms, "test hook: holding the refresh lock");
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
