//! The engine's state machine (being written; see mod.rs for the contract).

use super::{Action, EngineConfig, Event, Jitter};
use crate::error::CoreError;

/// The upload state machine.
pub struct Engine {
    config: EngineConfig,
    jitter: Box<dyn Jitter>,
    acknowledged: u64,
}

impl Engine {
    /// A new engine for one upload.
    pub fn new(config: EngineConfig, jitter: Box<dyn Jitter>) -> Result<Self, CoreError> {
        Ok(Engine { config, jitter, acknowledged: 0 })
    }

    /// First action: `RequestSession`, or `GetStatus` when `resuming` a stored session.
    pub fn start(&mut self, resuming: bool, _now_ms: i64) -> Action {
        let _ = (&self.config, &mut self.jitter);
        if resuming { Action::GetStatus } else { Action::RequestSession }
    }

    /// Feeds one event; returns the next action.
    pub fn handle(&mut self, _event: Event, _now_ms: i64) -> Action {
        Action::RequestSession
    }

    /// Bytes the server has acknowledged (never decreases; equals the total on success).
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }
}
