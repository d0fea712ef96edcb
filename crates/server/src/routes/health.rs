//! `GET /healthz`: liveness, and whether the OneDrive account is connected.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::tokens::AccountStatus;
use crate::AppState;

/// Always 200 while the process serves; `account` says `connected`, `not_connected` or `disconnected`
/// (then `action` tells the operator to visit `/auth/login`).
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let status = state.tokens().status();
    let mut body = json!({
        "status": "ok",
        "mode": state.options().mode.as_str(),
        "account": status.as_str(),
    });
    if status != AccountStatus::Connected {
        body["action"] = json!("an operator must visit /auth/login to connect the OneDrive account");
    }
    Json(body)
}
