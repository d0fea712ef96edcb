//! The temp retention sweep: what was uploaded but never moved out of `temp/` is deleted once it
//! is older than `--temp-retention` (per-upload folders with their file, and loose files).
//!
//! With several server processes sharing a database, one process at a time sweeps: each asks for
//! the `temp-retention` lease every period and sweeps only when granted. A sweep that overlaps
//! another anyway (a lease that expired mid-sweep) is still safe: an entry another process removed
//! first answers 404, which counts as removed; nothing else is touched.

use std::time::Duration;

use onedrive_upload_core::protocol::DriveItem;
use onedrive_upload_core::time::parse_millis;

use crate::error::ApiError;
use crate::AppState;

/// How often the background task sweeps (at most; more often for a short retention).
const EVERY: Duration = Duration::from_secs(3600);

/// The name of the sweep's lease.
pub const LEASE: &str = "temp-retention";

/// When an entry last changed (Unix ms): `lastModifiedDateTime`, else `createdDateTime`.
fn changed_ms(item: &DriveItem) -> Option<i64> {
    let when = item.last_modified_date_time.as_deref().or(item.created_date_time.as_deref())?;
    parse_millis(when).ok()
}

/// Deletes every entry of `temp/{user}/` that last changed at or before `now_ms - retention`;
/// returns their paths (`temp/{user}/{name}`) and logs each. `now_ms` is a parameter so tests
/// can move the clock.
pub async fn sweep_temp(state: &AppState, now_ms: i64, retention: Duration) -> Result<Vec<String>, ApiError> {
    let cutoff = now_ms.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    let users = match state.graph().children_by_path(&["temp"]).await {
        Err(ApiError::NotFound) => return Ok(Vec::new()),
        other => other?,
    };
    let mut removed = Vec::new();
    for user in users.iter().filter(|u| u.folder.is_some()) {
        let entries = match state.graph().children_by_path(&["temp", &user.name]).await {
            Err(ApiError::NotFound) => continue,
            other => other?,
        };
        for entry in entries.iter().filter(|e| changed_ms(e).is_some_and(|t| t <= cutoff)) {
            let path = format!("temp/{}/{}", user.name, entry.name);
            match state.graph().delete_by_path(&["temp", &user.name, &entry.name]).await {
                Ok(()) | Err(ApiError::NotFound) => {
                    tracing::info!(path = %path, "temp retention: removed an upload never moved out of temp");
                    removed.push(path);
                }
                Err(e) => tracing::warn!(path = %path, error = %e, "temp retention: could not remove"),
            }
        }
    }
    Ok(removed)
}

/// Starts the background sweep (once at start, then every hour, or every quarter of a shorter
/// retention), on the process holding the `temp-retention` lease of [`AppState::lease`] for that
/// period; `None` when `retention` is zero (disabled). Aborting the handle stops it.
pub fn spawn(state: AppState, retention: Duration) -> Option<tokio::task::JoinHandle<()>> {
    if retention.is_zero() {
        return None;
    }
    let every = EVERY.min(retention / 4).max(Duration::from_secs(1));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Held for most of a period, so that the next period's request finds it expired.
            match state.lease().try_acquire(LEASE, every.mul_f64(0.9)).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!("temp retention: another process sweeps this period");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "temp retention: could not ask for the lease; skipping this period");
                    continue;
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            match sweep_temp(&state, now, retention).await {
                Ok(removed) => tracing::debug!(removed = removed.len(), "temp retention sweep done"),
                Err(e) => tracing::warn!(error = %e, "temp retention sweep failed"),
            }
        }
    }))
}
