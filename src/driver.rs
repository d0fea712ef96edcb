//! The upload loop: performs each engine `Action` (session, PUT, GET, sleep, DELETE) and feeds back the `Event`.

use crate::control::{Control, SignalLink, State};
use crate::error::{call, get, message_of, size_of, UploadFailure};
use crate::hasher::Hasher;
use crate::options::{Options, SessionSource};
use crate::progress::Progress;
use crate::race::{join, select, Either};
use crate::reader::{iso, json_of, millis, BrowserReader};
use crate::session::{self, Answer};
use crate::storage::{Saved, Slot};
use crate::timer::sleep;
use crate::xhr::{self, now_ms, retry_after_ms, Body, Outcome, Request};
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::{pin, Pin};
use core::task::{Poll, Waker};
use js_sys::JSON;
use onedrive_upload_core::chunk::ChunkSize;
use onedrive_upload_core::engine::{
    committed_item_of, verify_hash, Action, CommittedItem, Engine, EngineConfig, Event, FailureCode, HttpAnswer,
    SessionInfo,
};
use onedrive_upload_core::text::{cat, dec};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, File};

/// Runs one upload to its end: the driveItem, or why it failed.
pub async fn run(file: File, options: Options, control: Rc<Control>) -> Result<JsValue, UploadFailure> {
    let _link = options.signal.clone().map(|s| SignalLink::new(s, &control));
    let total = size_of(&file) as u64;
    let endpoint = match &options.session {
        SessionSource::Url(u) => u.clone(),
        SessionSource::Function(f) => cat(&["function ", &get(f, "name").as_string().unwrap_or_default()]),
    };
    let slot = Slot::open(&file, &endpoint, options.resume);
    let hasher = options.verify.then(|| Hasher::new(file.clone().into()));
    let progress = Rc::new(RefCell::new(Progress::new(options.on_progress.clone(), total)));
    if control.state() == State::Cancelled {
        return Err(UploadFailure::aborted());
    }
    if total == 0 {
        return match interruptible(&control, session_op(&options, &file), None).await {
            Ok(Got::Session(Ok(Answer::Item(item)))) => finish(item, None, total, hasher.as_ref(), &progress).await,
            Ok(Got::Session(Ok(Answer::Session(_)))) => Err(UploadFailure::protocol(
                "a zero-byte file cannot use an upload session: the session source must answer the driveItem",
            )),
            Ok(Got::Session(Err(event))) => Err(session_failure(event)),
            Ok(_) | Err(_) => Err(UploadFailure::aborted()),
        };
    }
    let saved = slot.load(now_ms());
    let chunk = saved.as_ref().and_then(|s| ChunkSize::new(s.chunk_size).ok()).unwrap_or(options.chunk);
    let config = EngineConfig { total, chunk, retry: options.retry };
    let mut engine = Engine::with_reader(config, Box::new(js_sys::Math::random), Box::new(BrowserReader))
        .map_err(|_| UploadFailure::protocol("the engine refused this file size or chunk size"))?;
    let mut upload_url = saved.as_ref().map(|s| s.upload_url.clone());
    let mut status_url = saved.as_ref().and_then(|s| s.status_url.clone());
    // A stored session (never an expired one: `load` drops those) is probed with a status GET;
    // if it is gone (404/401) the engine asks its statusUrl, then for a new session.
    let stored = saved.as_ref().map(|s| SessionInfo {
        expires_at_ms: s.expiration_date_time.as_deref().and_then(millis),
        next_expected_ranges: Vec::new(),
        has_status_url: status_url.is_some(),
    });
    let mut action = engine.start(stored, now_ms() as i64);
    let mut stored_expiry = engine.expires_at_ms();
    let stall = options.stall_timeout_ms;
    let mut first_put = true;
    loop {
        let event = match action {
            Action::RequestSession => match interruptible(&control, session_op(&options, &file), None).await {
                Err(event) => event,
                Ok(Got::Session(Ok(Answer::Session(s)))) => {
                    slot.save(&Saved {
                        upload_url: s.upload_url.clone(),
                        expiration_date_time: s.expiration.clone(),
                        status_url: s.status_url.clone(),
                        chunk_size: chunk.get(),
                        saved_at: now_ms(),
                    });
                    upload_url = Some(s.upload_url);
                    status_url = s.status_url;
                    stored_expiry = s.info.expires_at_ms;
                    Event::SessionReady(s.info)
                }
                Ok(Got::Session(Ok(Answer::Item(item)))) => {
                    return finish(item, None, total, hasher.as_ref(), &progress).await
                }
                Ok(Got::Session(Err(event))) => event,
                Ok(_) => Event::SessionFailed { status: None, message: String::new(), retry_after_ms: None },
            },
            Action::Put { start, end, content_range } => {
                let url = upload_url.clone().unwrap_or_default();
                let blob: Blob = call(&file, "slice", &(start as f64).into(), &(end as f64).into())
                    .map_err(|e| UploadFailure::protocol(message_of(&e)))?
                    .unchecked_into();
                let headers = [("Content-Range".to_owned(), content_range)];
                let req = Request::upload_url("PUT", &url, &headers, Body::Blob(&blob), stall);
                let (p, ack, body_sent) = (progress.clone(), engine.acknowledged(), Rc::new(Cell::new(false)));
                let sent_flag = body_sent.clone();
                // Time to first byte: the file's first read for the hash waits until the first PUT's
                // body is moving (its first upload progress event), not beside the request's start.
                let on_wire = Rc::new(Signal::default());
                if !core::mem::take(&mut first_put) {
                    on_wire.set();
                }
                let wire = on_wire.clone();
                let on_upload: Rc<dyn Fn(f64)> = Rc::new(move |loaded: f64| {
                    let sent = start + (loaded.max(0.0) as u64).min(end - start);
                    sent_flag.set(sent == end);
                    wire.set();
                    p.borrow_mut().report(sent, ack, now_ms());
                });
                let put = xhr::send(req, Some(on_upload));
                let hashed = async {
                    if let Some(h) = &hasher {
                        h.advance_to(end).await;
                    }
                };
                let io: Op<'_> = Box::pin(async move {
                    let mut put = pin!(put);
                    // A PUT that ends before its body moved (refused, unreachable) hashes nothing now.
                    match select(put.as_mut(), on_wire.wait()).await {
                        Either::Left((outcome, _)) => Got::Http(outcome),
                        Either::Right(_) => Got::Http(join(put, pin!(hashed)).await.0),
                    }
                });
                to_event(interruptible(&control, io, Some(&body_sent)).await, Event::PutAnswered)
            }
            Action::GetStatus => {
                let url = upload_url.clone().unwrap_or_default();
                let req = Request::upload_url("GET", &url, &[], Body::None, stall);
                let io: Op<'_> = Box::pin(async { Got::Http(xhr::send(req, None).await) });
                to_event(interruptible(&control, io, None).await, Event::StatusAnswered)
            }
            Action::GetCommitted => match &status_url {
                Some(url) => {
                    let req = Request::app("GET", url, &options.headers, Body::None, stall);
                    let io: Op<'_> = Box::pin(async { Got::Http(xhr::send(req, None).await) });
                    to_event(interruptible(&control, io, None).await, Event::CommittedAnswered)
                }
                // The engine asks only for sessions that had one; answer "not committed" if not.
                None => Event::CommittedAnswered(HttpAnswer { status: 404, ..HttpAnswer::default() }),
            },
            Action::Sleep { ms } => {
                let timer = sleep(ms);
                match interruptible(
                    &control,
                    Box::pin(async {
                        timer.await;
                        Got::Timer
                    }),
                    None,
                )
                .await
                {
                    Err(event) => event,
                    Ok(_) => Event::TimerFired,
                }
            }
            Action::DeleteSession => {
                slot.remove();
                if let Some(url) = &upload_url {
                    let _ = xhr::send(Request::upload_url("DELETE", url, &[], Body::None, stall), None).await;
                }
                // The server removes what it keeps for the upload (its temp folder).
                if let Some(url) = &status_url {
                    let _ = xhr::send(Request::app("DELETE", url, &options.headers, Body::None, stall), None).await;
                }
                Event::DeleteAnswered
            }
            Action::Done { item, body } => {
                slot.remove();
                let value = JSON::parse(&body).map_err(|_| UploadFailure::protocol("unreadable driveItem"))?;
                return finish(value, Some(item), total, hasher.as_ref(), &progress).await;
            }
            Action::Fail(f) => {
                // Kept for a later try: its session (or statusUrl) may still be usable then.
                if !matches!(f.code, FailureCode::RetriesExhausted | FailureCode::SessionFailed) {
                    slot.remove();
                }
                return Err(f.into());
            }
        };
        let before = engine.acknowledged();
        action = engine.handle(event, now_ms() as i64);
        if engine.acknowledged() > before {
            let ack = engine.acknowledged();
            progress.borrow_mut().report(ack, ack, now_ms());
        }
        if engine.expires_at_ms() != stored_expiry && engine.has_session() {
            stored_expiry = engine.expires_at_ms();
            if let (Some(url), Some(ms)) = (&upload_url, stored_expiry) {
                slot.save(&Saved {
                    upload_url: url.clone(),
                    expiration_date_time: Some(iso(ms)),
                    status_url: status_url.clone(),
                    chunk_size: chunk.get(),
                    saved_at: now_ms(),
                });
            }
        }
    }
}

/// The failure of a zero-byte upload whose session request failed (no engine, no retries).
fn session_failure(event: Event) -> UploadFailure {
    match event {
        Event::SessionFailed { status, message, .. } => UploadFailure::new(FailureCode::SessionFailed, status, message),
        Event::NetworkError { message } => UploadFailure::new(FailureCode::SessionFailed, None, message),
        _ => UploadFailure::new(FailureCode::SessionFailed, None, "session endpoint stalled"),
    }
}

/// A one-way flag a future can wait for (set from a JS event handler).
#[derive(Default)]
struct Signal {
    set: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    /// Sets the flag and wakes the waiting future.
    fn set(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Resolves once the flag is set.
    fn wait(&self) -> impl Future<Output = ()> + Unpin + '_ {
        core::future::poll_fn(move |cx| {
            if self.set.get() {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
    }
}

/// What an interruptible operation produced.
enum Got {
    /// The session source's answer (an error is the event to feed the engine).
    Session(Result<Answer, Event>),
    /// A request's outcome.
    Http(Outcome),
    /// A sleep ended.
    Timer,
}

/// One interruptible operation, boxed: [`interruptible`] has a single instance whatever the operation.
// wasm-size: a generic `interruptible` (one instance per operation) cost 1,060 B more gzipped wasm
// (driver.rs of a6f6698 alone: 62,551 -> 61,491 B).
type Op<'a> = Pin<Box<dyn Future<Output = Got> + 'a>>;

/// Asks the session source for a session, as an [`Op`].
fn session_op<'a>(options: &'a Options, file: &'a File) -> Op<'a> {
    Box::pin(async move { Got::Session(session::request(options, file).await) })
}

/// Runs `op` unless the upload is paused or cancelled first; then `op` is dropped (its
/// request aborted, its timer cleared) and the event to feed is `Abort`, or `Resume` once a
/// pause ends. For a PUT (`body_sent` given), a pause that comes once the whole body is sent
/// waits for the answer instead of aborting (the server has the bytes, and the answer may be
/// the commit, which could not be asked for again: a committed session's URL answers 404);
/// a cancel still aborts.
async fn interruptible(control: &Rc<Control>, op: Op<'_>, body_sent: Option<&Cell<bool>>) -> Result<Got, Event> {
    if control.state() != State::Running {
        drop(op); // never started: nothing is sent after a pause or cancel
        return Err(after_interrupt(control).await);
    }
    let op = match select(op, control.interrupted()).await {
        Either::Left((out, _)) => return Ok(out),
        Either::Right((_, op)) => op,
    };
    if control.state() == State::Paused && body_sent.is_some_and(Cell::get) {
        if let Either::Left((out, _)) = select(op, control.cancelled()).await {
            return Ok(out);
        }
    } else {
        drop(op); // aborts the request / clears the timer now, not when the pause ends
    }
    Err(after_interrupt(control).await)
}

/// Waits out a pause: `Abort` if cancelled, `Resume` once running again.
async fn after_interrupt(control: &Rc<Control>) -> Event {
    if control.unpaused().await == State::Cancelled {
        Event::Abort
    } else {
        Event::Resume
    }
}

/// Converts what an interruptible request gave to the engine's event; `wrap` makes the answer's.
fn to_event(got: Result<Got, Event>, wrap: fn(HttpAnswer) -> Event) -> Event {
    let outcome = match got {
        Ok(Got::Http(outcome)) => outcome,
        Ok(_) => Outcome::Stalled,
        Err(event) => return event,
    };
    match outcome {
        Outcome::Answer { status, body, retry_after } => {
            wrap(HttpAnswer { status, body, retry_after_ms: retry_after.as_deref().and_then(retry_after_ms) })
        }
        Outcome::NetworkError(message) => Event::NetworkError { message },
        Outcome::Stalled => Event::Stalled,
    }
}

/// Verifies (when asked) and resolves with the committed driveItem `value`.
async fn finish(
    value: JsValue,
    item: Option<CommittedItem>,
    total: u64,
    hasher: Option<&Hasher>,
    progress: &RefCell<Progress>,
) -> Result<JsValue, UploadFailure> {
    let item = match item {
        Some(i) => i,
        // Read as the engine reads commit answers.
        None => json_of(&value, 0)
            .and_then(|doc| committed_item_of(&doc))
            .ok_or_else(|| UploadFailure::protocol("the session answered an unreadable driveItem"))?,
    };
    if item.size != total {
        let message = cat(&["the server stored ", &dec(item.size), " bytes, the file has ", &dec(total)]);
        return Err(UploadFailure::new(FailureCode::Integrity, None, message));
    }
    if let Some(h) = hasher {
        let local = h.finish(total).await.map_err(|message| UploadFailure::Integrity {
            message,
            local: String::new(),
            server: None,
        })?;
        if let Err(f) = verify_hash(&item, &local) {
            return Err(UploadFailure::Integrity { message: f.message, local, server: item.quick_xor_hash });
        }
    }
    progress.borrow_mut().complete();
    Ok(value)
}
