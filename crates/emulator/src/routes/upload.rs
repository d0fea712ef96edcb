//! The upload URL (`/upload/{session}`): pre-authenticated PUT/GET/DELETE (and POST for
//! deferred commits) as docs/protocol.md tabulates, with injected faults first.

use super::{base_url, render};
use crate::error::EmulatorError;
use crate::faults::FaultAction;
use crate::serve::ConnectionKill;
use crate::state::AppState;
use crate::store::sessions::SessionState;
use crate::upload::commit::commit_session;
use crate::upload::ingest::{ingest, IngestOutcome};
use crate::upload::live::LiveSession;
use crate::util::now_ms;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use onedrive_upload_core::chunk::{FRAGMENT_ALIGN, MAX_FRAGMENT};
use onedrive_upload_core::protocol::UploadSession;
use onedrive_upload_core::time::format_millis;
use onedrive_upload_core::ContentRange;
use std::sync::Arc;

/// Handles any method on `/upload/{id}`.
pub async fn handle(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let mut body = Some(body);
    let result = handle_inner(&state, &id, &parts.method, &parts.headers, &mut body, kill).await;
    // An error answered before the body was read: read it anyway (up to 60 MiB) so that
    // the client, still sending, gets to see the answer instead of a reset connection.
    if let Some(unread) = body.take() {
        let refused_early = result.as_ref().is_err_and(|e| matches!(e.status().as_u16(), 411 | 413));
        if parts.method == Method::PUT && !refused_early {
            let n = drain(unread, MAX_FRAGMENT).await;
            if let Some(session) = state.session(&id) {
                session.lock().progress.bytes_received += n;
            }
        }
    }
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn drain(body: Body, limit: u64) -> u64 {
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while let Some(Ok(frame)) = stream.next().await {
        read += frame.len() as u64;
        if read > limit {
            break;
        }
    }
    read
}

async fn handle_inner(
    state: &AppState,
    id: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    kill: Option<ConnectionKill>,
) -> Result<Response, EmulatorError> {
    let session = state.session(id).ok_or_else(EmulatorError::session_not_found)?;
    if *method == Method::PUT {
        session.lock().progress.put_requests += 1;
    }
    let fault = if state.config().fault_injection {
        state.faults().take(&session.info.requested_name, method.as_str(), false)
    } else {
        None
    };
    match fault {
        Some(FaultAction::Status { status, retry_after, body: fault_body }) => {
            state.persist(&session).await?;
            return Err(status_fault(status, retry_after, fault_body));
        }
        Some(FaultAction::DropAfterBytes(n)) => {
            return drop_connection(state, &session, body.take().unwrap_or_default(), n, kill).await
        }
        Some(FaultAction::DelayMs(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        Some(FaultAction::ExpireSession) => {
            state.end_session(&session, SessionState::Expired).await?;
        }
        Some(FaultAction::DropAnswer) => {
            // Processed in full (a last fragment commits), then the answer is lost.
            let processed = respond(state, &session, method, headers, body).await;
            tracing::debug!(ok = processed.is_ok(), "dropping the answer");
            return cut_connection(kill).await;
        }
        Some(FaultAction::CorruptHash) | None => {}
    }
    respond(state, &session, method, headers, body).await
}

/// The request's real handling, after any fault.
async fn respond(
    state: &AppState,
    session: &Arc<LiveSession>,
    method: &Method,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, EmulatorError> {
    let session = session.clone();
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(EmulatorError::graph(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "An upload URL is pre-authenticated: do not send an Authorization header.",
        ));
    }
    state.expire_if_due(&session).await?;
    match *method {
        Method::PUT => put_fragment(state, &session, headers, body).await,
        Method::GET => {
            let live = session.lock().clone();
            if live.progress.state != SessionState::Active {
                return Err(EmulatorError::session_not_found());
            }
            Ok(Json(status_json(&live)).into_response())
        }
        Method::DELETE => match state.end_session(&session, SessionState::Cancelled).await? {
            true => Ok(StatusCode::NO_CONTENT.into_response()),
            false => Err(EmulatorError::session_not_found()),
        },
        Method::POST => commit_deferred(state, &session, headers).await,
        _ => Err(EmulatorError::graph(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "Use PUT, GET or DELETE on an upload URL.",
        )),
    }
}

fn status_json(live: &crate::upload::live::Live) -> UploadSession {
    UploadSession {
        expiration_date_time: Some(format_millis(live.progress.expires_ms)),
        next_expected_ranges: live.next_expected_ranges(),
        ..Default::default()
    }
}

/// The error a status fault answers: Graph's error for that status (or the given body), with `Retry-After`.
pub(crate) fn status_fault(status: u16, retry_after: Option<String>, body: Option<serde_json::Value>) -> EmulatorError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (code, message) = match status.as_u16() {
        429 => ("activityLimitReached", "The request has been throttled."),
        502..=504 => ("serviceNotAvailable", "The service is temporarily unavailable."),
        404 => ("itemNotFound", "The upload session was not found"),
        416 => ("invalidRange", "The requested range is not satisfiable."),
        401 => ("unauthenticated", "The caller is not authenticated."),
        409 => ("nameAlreadyExists", "The specified item name already exists."),
        507 => ("quotaLimitReached", "Insufficient Space Available"),
        s if s < 500 => ("invalidRequest", "The request is malformed or incorrect."),
        _ => ("generalException", "An unspecified error has occurred."),
    };
    let error = EmulatorError::graph(status, code, message);
    let error = if status == StatusCode::NOT_FOUND { error.with_inner("uploadSessionNotFound") } else { error };
    match error {
        EmulatorError::Graph(mut g) => {
            g.retry_after = retry_after;
            g.body = body;
            EmulatorError::Graph(g)
        }
        other => other,
    }
}

async fn drop_connection(
    state: &AppState,
    session: &LiveSession,
    body: Body,
    n: u64,
    kill: Option<ConnectionKill>,
) -> Result<Response, EmulatorError> {
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while read < n {
        match stream.next().await {
            Some(Ok(frame)) => read += (frame.len() as u64).min(n - read),
            _ => break,
        }
    }
    session.lock().progress.bytes_received += read;
    state.persist(session).await?;
    cut_connection(kill).await
}

/// Closes the request's connection without an answer.
async fn cut_connection(kill: Option<ConnectionKill>) -> Result<Response, EmulatorError> {
    match kill {
        Some(kill) => {
            kill.kill();
            std::future::pending().await
        }
        None => {
            // Served without our accept loop: break the response body instead.
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("connection dropped"))
            });
            Ok((StatusCode::OK, [(header::CONTENT_LENGTH, "1")], Body::from_stream(broken)).into_response())
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn put_fragment(
    state: &AppState,
    session: &Arc<LiveSession>,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, EmulatorError> {
    if !session.is_active() {
        state.persist(session).await?;
        return Err(EmulatorError::session_not_found());
    }
    let length = header_str(headers, header::CONTENT_LENGTH)
        .ok_or_else(|| {
            EmulatorError::graph(StatusCode::LENGTH_REQUIRED, "lengthRequired", "A Content-Length header is required.")
        })?
        .parse::<u64>()
        .map_err(|_| EmulatorError::invalid_request("The Content-Length header is malformed."))?;
    // Microsoft documents "less than 60 MiB"; its SDKs cap fragments at exactly 60 MiB
    // (62,914,560 bytes), which is accepted unless the documented rules are asked for.
    let strict = state.config().strict_fragment_alignment;
    if length > MAX_FRAGMENT || (strict && length == MAX_FRAGMENT) {
        return Err(EmulatorError::graph(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalidRequest",
            "A fragment must be smaller than 60 MiB (62,914,560 bytes).",
        )
        .with_inner("maxFragmentLengthExceeded"));
    }
    let malformed = || EmulatorError::invalid_request("The Content-Range header is missing or malformed.");
    let range =
        header_str(headers, header::CONTENT_RANGE).and_then(|v| ContentRange::parse(v).ok()).ok_or_else(malformed)?;
    let ContentRange::Bytes { first, last, total } = range else { return Err(malformed()) };
    if range.len() != length {
        return Err(EmulatorError::invalid_request("The Content-Range header does not match the Content-Length.")
            .with_inner("invalidContentRangeHeader"));
    }
    let _turn = session.put_lock.lock().await;
    let (accepted, known_total, hash) = {
        let live = session.lock();
        if live.progress.state != SessionState::Active || live.committing {
            return Err(EmulatorError::session_not_found());
        }
        (live.progress.accepted, live.progress.total, live.hash.clone())
    };
    if known_total.is_some_and(|t| t != total) {
        return Err(EmulatorError::invalid_request("The Content-Range total does not match the file's size.")
            .with_inner("fragmentLengthMismatch"));
    }
    if first < accepted {
        return Err(EmulatorError::graph(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalidRange",
            "Uploaded fragment overlaps with existing data.",
        )
        .with_inner("fragmentOverlap"));
    }
    if first > accepted {
        return Err(EmulatorError::graph(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalidRange",
            "Uploaded fragment is out of order.",
        )
        .with_inner("fragmentOutOfOrder"));
    }
    if state.config().strict_fragment_alignment && last + 1 != total && length % FRAGMENT_ALIGN != 0 {
        return Err(EmulatorError::invalid_request("Fragments other than the last must be a multiple of 320 KiB.")
            .with_inner("fragmentRangeNotAligned"));
    }
    let body = state.rate_limited(body.take().unwrap_or_default());
    let got = ingest(body, state.blobs().part_path(&session.info.id), first, Some(length), hash, None).await;
    let done = {
        let mut live = session.lock();
        live.progress.bytes_received += got.received;
        match got.outcome {
            IngestOutcome::Complete(hash) if live.progress.state == SessionState::Active => {
                live.progress.total = Some(total);
                live.progress.accepted = last + 1;
                live.progress.expires_ms = now_ms() + state.config().session_ttl.as_millis() as i64;
                live.hash = hash;
                Ok(last + 1 == total)
            }
            IngestOutcome::Complete(_) => Err(EmulatorError::session_not_found()),
            IngestOutcome::Failed(e) => Err(EmulatorError::Io(e)),
            IngestOutcome::Interrupted | IngestOutcome::LimitReached => {
                Err(EmulatorError::invalid_request("The request body ended before Content-Length bytes arrived."))
            }
        }
    };
    let ended = session.lock().progress.state != SessionState::Active;
    if ended {
        // Cancelled or expired while this fragment streamed in: a first fragment may have
        // created the part file after the session's end removed it.
        state.blobs().remove_part(&session.info.id);
    } else if done.is_err() {
        let (blobs, id) = (state.blobs().clone(), session.info.id.clone());
        let _ = tokio::task::spawn_blocking(move || blobs.truncate_part(&id, accepted)).await;
    }
    state.persist(session).await?;
    if !done? || session.info.defer_commit {
        let live = session.lock().clone();
        return Ok((StatusCode::ACCEPTED, Json(status_json(&live))).into_response());
    }
    commit_and_answer(state, session, headers).await
}

async fn commit_and_answer(
    state: &AppState,
    session: &LiveSession,
    headers: &HeaderMap,
) -> Result<Response, EmulatorError> {
    let corrupt =
        state.config().fault_injection && state.faults().take(&session.info.requested_name, "PUT", true).is_some();
    let placed = commit_session(state, session, None, corrupt).await?;
    let v = render::drive_item_async(state, &base_url(state, headers), placed.item).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn commit_deferred(
    state: &AppState,
    session: &Arc<LiveSession>,
    headers: &HeaderMap,
) -> Result<Response, EmulatorError> {
    let _turn = session.put_lock.lock().await;
    let (active, complete) = {
        let live = session.lock();
        (
            live.progress.state == SessionState::Active && !live.committing,
            live.progress.total.is_some_and(|t| t == live.progress.accepted),
        )
    };
    if !active {
        return Err(EmulatorError::session_not_found());
    }
    if !session.info.defer_commit || !complete {
        return Err(EmulatorError::invalid_request(
            "Only a deferred session with every byte uploaded can be committed.",
        ));
    }
    commit_and_answer(state, session, headers).await
}
