//! The in-memory side of an upload session: its progress, running QuickXorHash and the
//! lock that serialises its PUTs. SQLite holds the same progress for restarts.

use crate::store::sessions::{SessionInfo, SessionProgress, SessionState};
use onedrive_upload_core::QuickXorHash;
use std::sync::{Mutex, MutexGuard};

/// Mutable part of a live session.
#[derive(Debug, Clone)]
pub struct Live {
    /// Persisted progress.
    pub progress: SessionProgress,
    /// QuickXorHash of the accepted prefix.
    pub hash: QuickXorHash,
    /// A commit is running (the last byte arrived).
    pub committing: bool,
}

/// One upload session.
#[derive(Debug)]
pub struct LiveSession {
    /// Facts fixed at creation.
    pub info: SessionInfo,
    state: Mutex<Live>,
    /// Held by the PUT (or commit) in progress; others wait their turn.
    pub put_lock: tokio::sync::Mutex<()>,
}

impl LiveSession {
    /// Wraps a session.
    pub fn new(info: SessionInfo, progress: SessionProgress, hash: QuickXorHash) -> Self {
        LiveSession {
            info,
            state: Mutex::new(Live { progress, hash, committing: false }),
            put_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Locks the mutable state (never held across an await).
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the progress.
    pub fn progress(&self) -> SessionProgress {
        self.lock().progress.clone()
    }

    /// True while fragments are accepted (and no commit is running).
    pub fn is_active(&self) -> bool {
        let live = self.lock();
        live.progress.state == SessionState::Active && !live.committing
    }
}

impl Live {
    /// `nextExpectedRanges`: the one missing range after the accepted prefix, or none.
    pub fn next_expected_ranges(&self) -> Vec<String> {
        match self.progress.total {
            Some(total) if self.progress.accepted >= total => Vec::new(),
            _ => vec![format!("{}-", self.progress.accepted)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_expected_ranges_follow_the_prefix() {
        let info = SessionInfo {
            id: "s".into(),
            parent_id: "p".into(),
            requested_name: "a".into(),
            path: "/a".into(),
            conflict: "replace".into(),
            defer_commit: false,
            created_ms: 0,
            fs: Default::default(),
        };
        let progress = SessionProgress {
            total: None,
            accepted: 0,
            expires_ms: 0,
            state: SessionState::Active,
            item_id: None,
            bytes_received: 0,
            put_requests: 0,
        };
        let s = LiveSession::new(info, progress, QuickXorHash::new());
        assert_eq!(s.lock().next_expected_ranges(), vec!["0-"]);
        s.lock().progress.total = Some(10);
        s.lock().progress.accepted = 4;
        assert_eq!(s.lock().next_expected_ranges(), vec!["4-"]);
        s.lock().progress.accepted = 10;
        assert!(s.lock().next_expected_ranges().is_empty());
        assert!(s.is_active());
        s.lock().committing = true;
        assert!(!s.is_active());
    }
}
