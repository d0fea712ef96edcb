//! Tests only: a model of the upload-session server as docs/protocol.md describes it, and a
//! driver loop that runs [`Engine`] against it with a scripted queue of faults, checking the
//! engine's invariants after every step (acknowledged never decreases, attempts bounded).

use crate::chunk::ChunkSize;
use crate::engine::{
    Action, CommittedItem, Engine, EngineConfig, Event, Failure, HttpAnswer, RetryPolicy, SessionInfo,
};
use crate::protocol::GraphError;
use crate::quickxor::QuickXorHash;
use crate::range::ContentRange;
use crate::time::format_millis;
use std::collections::VecDeque;

/// Sliding session lifetime of the model (Business-like: 15 minutes, extended by every fragment).
pub(super) const TTL_MS: i64 = 15 * 60 * 1000;
/// The driver's clock at the start.
pub(super) const T0: i64 = 1_700_000_000_000;
/// The chunk size of every simulated upload.
pub(super) const CHUNK: u64 = 327_680;

/// One upload session on the model server.
struct Session {
    received: Vec<u8>,
    expires_at: i64,
    active: bool,
    /// The driveItem body once this session committed (what its `statusUrl` answers).
    item: Option<String>,
}

/// The server: sessions, the committed file, and counters of what it saw.
#[derive(Default)]
pub(super) struct Model {
    total: u64,
    sessions: Vec<Session>,
    /// The bytes of the last committed item.
    pub committed: Option<Vec<u8>>,
    /// Items committed (more than one is a duplicate upload).
    pub commits: u32,
    /// Sessions come with a `statusUrl`.
    pub status_urls: bool,
    /// `statusUrl` GETs received.
    pub status_gets: u32,
    /// PUT requests received (including faulted ones).
    pub puts: u32,
    /// GET requests received.
    pub gets: u32,
    /// DELETE requests received.
    pub deletes: u32,
    /// Requests that reached a session already past its expiry.
    pub to_expired: u32,
}

fn error(status: u16, code: &str, message: &str, inner: Option<&str>) -> HttpAnswer {
    let body = serde_json::to_string(&GraphError::new(code, message, inner)).unwrap();
    HttpAnswer { status, body, retry_after_ms: None }
}

impl Model {
    fn live(&mut self, now: i64) -> Result<&mut Session, HttpAnswer> {
        let gone = || error(404, "itemNotFound", "The upload session was not found", None);
        let s = self.sessions.last_mut().ok_or_else(gone)?;
        if s.active && now >= s.expires_at {
            self.to_expired += 1;
            s.active = false;
        }
        if s.active {
            Ok(s)
        } else {
            Err(gone())
        }
    }

    fn status_body(s: &Session) -> String {
        format!(
            r#"{{"expirationDateTime":"{}","nextExpectedRanges":["{}-"]}}"#,
            format_millis(s.expires_at),
            s.received.len()
        )
    }

    /// createUploadSession.
    pub(super) fn create(&mut self, now: i64) -> SessionInfo {
        self.sessions.push(Session { received: Vec::new(), expires_at: now + TTL_MS, active: true, item: None });
        SessionInfo {
            expires_at_ms: Some(now + TTL_MS),
            next_expected_ranges: vec!["0-".into()],
            has_status_url: self.status_urls,
        }
    }

    /// `PUT {uploadUrl}` with the bytes of `range`.
    pub(super) fn put(&mut self, range: ContentRange, bytes: &[u8], now: i64) -> HttpAnswer {
        self.puts += 1;
        let (total, n) = (self.total, self.sessions.len());
        let s = match self.live(now) {
            Ok(s) => s,
            Err(a) => return a,
        };
        let ContentRange::Bytes { first, total: t, .. } = range else {
            return error(400, "invalidRequest", "The Content-Range header is missing or malformed.", None);
        };
        if t != total {
            return error(400, "invalidRequest", "length mismatch", Some("fragmentLengthMismatch"));
        }
        let have = s.received.len() as u64;
        if first != have {
            let (msg, inner) =
                if first < have { ("overlaps", "fragmentOverlap") } else { ("out of order", "fragmentOutOfOrder") };
            return error(416, "invalidRange", msg, Some(inner));
        }
        s.received.extend_from_slice(bytes);
        s.expires_at = now + TTL_MS;
        if s.received.len() as u64 == total {
            s.active = false;
            let hash = QuickXorHash::hash(&s.received);
            let committed = Some(s.received.clone());
            let body = format!(
                r#"{{"id":"item-{}","name":"f.bin","size":{total},"file":{{"hashes":{{"quickXorHash":"{hash}"}}}}}}"#,
                n
            );
            s.item = Some(body.clone());
            self.committed = committed;
            self.commits += 1;
            return HttpAnswer { status: 201, body, retry_after_ms: None };
        }
        HttpAnswer { status: 202, body: Self::status_body(s), retry_after_ms: None }
    }

    /// `GET {uploadUrl}`.
    pub(super) fn get(&mut self, now: i64) -> HttpAnswer {
        self.gets += 1;
        match self.live(now) {
            Ok(s) => HttpAnswer { status: 200, body: Self::status_body(s), retry_after_ms: None },
            Err(a) => a,
        }
    }

    /// `GET {statusUrl}` of the last session: its driveItem once committed, else 404.
    pub(super) fn status(&mut self) -> HttpAnswer {
        self.status_gets += 1;
        match self.sessions.last().and_then(|s| s.item.clone()) {
            Some(body) => HttpAnswer { status: 200, body, retry_after_ms: None },
            None => error(404, "not_committed", "this upload is not committed", None),
        }
    }

    fn expire(&mut self) {
        if let Some(s) = self.sessions.last_mut() {
            s.active = false;
        }
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum On {
    /// The next PUT.
    Put,
    /// The next status GET.
    Get,
    /// The next PUT or GET.
    Any,
    /// The next sleep (only `Abort` and `Pause` make sense).
    Sleep,
    /// The next session request (`Status`, `Network` and `Stall` apply).
    Session,
    /// The next `statusUrl` GET.
    Committed,
}

/// A scripted fault, applied to the next matching request (first in, first out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fault {
    /// Answer this status (with `Retry-After` ms) without processing the request.
    Status(u16, Option<u64>),
    /// Process the request, but the client sees this status instead (a lost answer).
    Lost(u16, Option<u64>),
    /// Process the request, then the connection drops before the answer.
    LostNetwork,
    /// The connection drops mid-body: nothing is processed.
    Network,
    /// The request stalls and is aborted: nothing is processed.
    Stall,
    /// The session expires on the server first (-> 404).
    Expire,
    /// Process normally; the clock jumps this many ms before the answer arrives.
    Clock(i64),
    /// Answer with this status and body without processing (malformed answers).
    Body(u16, String),
    /// Instead of an answer, the user aborts.
    Abort,
    /// Instead of an answer, the user pauses, then resumes.
    Pause,
}

/// What a simulated upload ended with.
pub(super) struct Outcome {
    /// `Done` or `Fail`.
    pub result: Result<CommittedItem, Failure>,
    /// The server at the end.
    pub model: Model,
    /// The engine at the end.
    pub engine: Engine,
    /// Sleeps requested, in ms.
    pub sleeps: Vec<u64>,
    /// Session requests made.
    pub session_requests: u32,
}

/// A deterministic pseudo-random file.
pub(super) fn file(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Runs one upload of `data` against a fresh model (sessions with a `statusUrl`) with the scripted `faults`.
pub(super) fn drive(data: &[u8], retry: RetryPolicy, faults: Vec<(On, Fault)>) -> Outcome {
    drive_with(data, retry, faults, true)
}

/// [`drive`], choosing whether sessions come with a `statusUrl`.
pub(super) fn drive_with(data: &[u8], retry: RetryPolicy, faults: Vec<(On, Fault)>, status_urls: bool) -> Outcome {
    let total = data.len() as u64;
    let config = EngineConfig { total, chunk: ChunkSize::new(CHUNK).unwrap(), retry };
    let mut jitter_state = 0u32;
    let jitter = move || {
        jitter_state = (jitter_state + 1) % 4;
        f64::from(jitter_state) / 4.0
    };
    let mut engine = Engine::new(config, Box::new(jitter)).unwrap();
    let mut model = Model { total, status_urls, ..Model::default() };
    let mut faults: VecDeque<(On, Fault)> = faults.into();
    let mut take = |kind: On| {
        let i =
            faults.iter().position(|(on, _)| *on == kind || (*on == On::Any && matches!(kind, On::Put | On::Get)))?;
        faults.remove(i).map(|(_, f)| f)
    };
    let (mut now, mut sleeps, mut session_requests, mut acked) = (T0, Vec::new(), 0, 0);
    let mut action = engine.start(None, now);
    for _ in 0..100_000 {
        assert!(engine.acknowledged() >= acked, "acknowledged went back");
        acked = engine.acknowledged();
        assert!(engine.attempts() <= retry.max_attempts, "attempts {} > {}", engine.attempts(), retry.max_attempts);
        assert!(engine.in_flight().is_none_or(|(_, end)| end <= total));
        let event = match action {
            Action::Done { item, body } => {
                assert_eq!(crate::engine::committed_item(&body).as_ref(), Some(&item), "Done carries its body");
                return Outcome { result: Ok(item), model, engine, sleeps, session_requests };
            }
            Action::Fail(f) => return Outcome { result: Err(f), model, engine, sleeps, session_requests },
            Action::RequestSession => {
                session_requests += 1;
                match take(On::Session) {
                    Some(Fault::Status(status, retry_after_ms)) => {
                        Event::SessionFailed { status: Some(status), message: "refused".into(), retry_after_ms }
                    }
                    Some(Fault::Network) => Event::NetworkError { message: "connection refused".into() },
                    Some(Fault::Stall) => Event::Stalled,
                    _ => Event::SessionReady(model.create(now)),
                }
            }
            Action::Sleep { ms } => {
                sleeps.push(ms);
                now += ms as i64;
                match take(On::Sleep) {
                    Some(Fault::Abort) => Event::Abort,
                    Some(Fault::Pause) => Event::Resume,
                    _ => Event::TimerFired,
                }
            }
            Action::DeleteSession => {
                model.deletes += 1;
                model.expire();
                Event::DeleteAnswered
            }
            Action::Put { start, end, content_range } => {
                let range = ContentRange::parse(&content_range).unwrap();
                assert_eq!((range.len(), range.total()), (end - start, total));
                let bytes = &data[start as usize..end as usize];
                let fault = take(On::Put);
                exchange(&mut model, &mut now, fault, true, |m, now| m.put(range, bytes, now), Event::PutAnswered)
            }
            Action::GetStatus => {
                let fault = take(On::Get);
                exchange(&mut model, &mut now, fault, false, |m, now| m.get(now), Event::StatusAnswered)
            }
            Action::GetCommitted => {
                assert!(model.status_urls, "GetCommitted for a session without statusUrl");
                let fault = take(On::Committed);
                exchange(&mut model, &mut now, fault, false, |m, _| m.status(), Event::CommittedAnswered)
            }
        };
        action = engine.handle(event, now);
    }
    panic!("the upload did not end after 100000 steps");
}

/// One request through the model with an optional fault.
fn exchange(
    model: &mut Model,
    now: &mut i64,
    fault: Option<Fault>,
    is_put: bool,
    mut request: impl FnMut(&mut Model, i64) -> HttpAnswer,
    wrap: fn(HttpAnswer) -> Event,
) -> Event {
    let unprocessed = |m: &mut Model| {
        if is_put {
            m.puts += 1
        } else {
            m.gets += 1
        }
    };
    match fault {
        None => wrap(request(model, *now)),
        Some(Fault::Status(status, retry_after_ms)) => {
            unprocessed(model);
            wrap(HttpAnswer { status, body: String::new(), retry_after_ms })
        }
        Some(Fault::Lost(status, retry_after_ms)) => {
            request(model, *now);
            wrap(HttpAnswer { status, body: String::new(), retry_after_ms })
        }
        Some(Fault::LostNetwork) => {
            request(model, *now);
            Event::NetworkError { message: "connection reset".into() }
        }
        Some(Fault::Network) => {
            unprocessed(model);
            Event::NetworkError { message: "connection reset".into() }
        }
        Some(Fault::Stall) => {
            unprocessed(model);
            Event::Stalled
        }
        Some(Fault::Expire) => {
            model.expire();
            wrap(request(model, *now))
        }
        Some(Fault::Clock(ms)) => {
            let answer = request(model, *now);
            *now += ms;
            wrap(answer)
        }
        Some(Fault::Body(status, body)) => {
            unprocessed(model);
            wrap(HttpAnswer { status, body, retry_after_ms: None })
        }
        Some(Fault::Abort) => Event::Abort,
        Some(Fault::Pause) => Event::Resume,
    }
}
