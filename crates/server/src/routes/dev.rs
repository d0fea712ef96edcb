//! Dev/demo-only routes (`--dev`, loopback only): `GET /dev/token?user=NAME` and `GET /dev/info`.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::names::UserId;
use crate::AppState;

/// Lifetime of a dev token.
const DEV_TOKEN_TTL_SECS: i64 = 12 * 3600;

/// The query of `/dev/token`.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    user: Option<String>,
}

/// `{"token": "<HS256 JWT, sub=user>", "user": "..."}`; the user defaults to `demo`.
pub async fn token(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Json<Value>, ApiError> {
    let issuer = state.options().dev_issuer.as_ref().ok_or(ApiError::NotFound)?;
    let user =
        UserId::parse(query.user.as_deref().unwrap_or("demo")).map_err(|m| ApiError::bad_request("invalid_user", m))?;
    Ok(Json(json!({"token": issuer.issue(&user, DEV_TOKEN_TTL_SECS), "user": user.as_str()})))
}

/// `{"mode","emulator","faultInjection","folders"}` (`folders`: the allowed feature folders).
pub async fn info(State(state): State<AppState>) -> Json<Value> {
    let o = state.options();
    Json(
        json!({"mode": o.mode.as_str(), "emulator": o.emulator_url, "faultInjection": o.fault_injection, "folders": o.folders}),
    )
}
