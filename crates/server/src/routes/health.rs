//! `GET /healthz`: liveness, and whether the OneDrive account is connected.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::tokens::AccountStatus;
use crate::AppState;

/// Always 200 while the process serves. `status` is `ok`, or `degraded` with a `reason` (the token
/// file cannot be written: the tokens live in memory only); `account` says `connected`,
/// `not_connected` or `disconnected` (then `action` tells the operator how to connect it). With a
/// shared database, `database_queries` counts the statements this process sent for requests.
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let status = state.tokens().status();
    let degraded = state.tokens().degraded();
    let mut body = json!({
        "status": if degraded.is_some() { "degraded" } else { "ok" },
        "mode": state.options().mode.as_str(),
        "account": status.as_str(),
    });
    if let Some(db) = state.tokens().database() {
        // Statements this process sent to the shared database since start (none per request
        // while the access token is valid).
        body["database_queries"] = json!(db.queries());
    }
    if let Some(reason) = degraded {
        body["reason"] = json!(reason);
    }
    if status != AccountStatus::Connected {
        body["action"] =
            json!("the operator must open the one-time connect URL from the server log (/auth/login?connect=...)");
    }
    Json(body)
}
