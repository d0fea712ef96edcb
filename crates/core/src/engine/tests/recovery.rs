//! Table-driven tests of what the engine does when an answer is lost or the session endpoint
//! fails: `GetCommitted` before a session with a `statusUrl` is replaced, and session requests
//! retried under the same policy as PUTs (fixed jitter 0.5, so backoff values are exact).

use super::sim::{drive, drive_with, file, Fault, On, CHUNK};
use crate::chunk::ChunkSize;
use crate::engine::*;

/// 1,000,000 bytes in 320 KiB chunks: 0..327680, ..655360, ..983040, ..1000000.
const TOTAL: u64 = 1_000_000;
const C: u64 = 327_680;
const NOW: i64 = 1_700_000_000_000;
const ITEM: &str = r#"{"id":"item1","name":"a.bin","size":1000000,"file":{"hashes":{"quickXorHash":"x"}}}"#;

fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 50, max_session_restarts: 3, ..RetryPolicy::default() }
}

fn put(start: u64, end: u64) -> Action {
    Action::Put { start, end, content_range: format!("bytes {}-{}/{TOTAL}", start, end - 1) }
}

fn answer(status: u16, body: &str, retry_after_ms: Option<u64>) -> HttpAnswer {
    HttpAnswer { status, body: body.into(), retry_after_ms }
}

fn p(status: u16) -> Event {
    Event::PutAnswered(answer(status, "", None))
}

fn c(status: u16, body: &str) -> Event {
    Event::CommittedAnswered(answer(status, body, None))
}

fn session_failed(status: Option<u16>, retry_after_ms: Option<u64>) -> Event {
    Event::SessionFailed { status, message: "the server said no".into(), retry_after_ms }
}

fn ready(has_status_url: bool) -> Event {
    Event::SessionReady(SessionInfo {
        next_expected_ranges: vec!["0-".into()],
        has_status_url,
        ..SessionInfo::default()
    })
}

fn done() -> Action {
    let item = CommittedItem { id: "item1".into(), size: TOTAL, quick_xor_hash: Some("x".into()) };
    Action::Done { item, body: ITEM.into() }
}

fn failed(code: FailureCode, status: Option<u16>) -> Action {
    Action::Fail(Failure { code, status, message: String::new() })
}

fn engine(retry: RetryPolicy) -> Engine {
    let config = EngineConfig { total: TOTAL, chunk: ChunkSize::new(C).unwrap(), retry };
    Engine::new(config, Box::new(|| 0.5)).unwrap()
}

/// Starts (fresh, or resuming a stored session when `stored` is given), feeds `events`, and
/// returns the engine and the last action with its failure message blanked.
fn run(retry: RetryPolicy, stored: Option<SessionInfo>, events: Vec<Event>) -> (Engine, Action) {
    let mut e = engine(retry);
    let mut last = e.start(stored, NOW);
    for ev in events {
        last = e.handle(ev, NOW);
    }
    if let Action::Fail(f) = &mut last {
        f.message.clear();
    }
    (e, last)
}

#[test]
fn lost_session_asks_status_url_first() {
    use Event::{Stalled, TimerFired};
    let net = || Event::NetworkError { message: "reset".into() };
    let with_url = || vec![ready(true)];
    let then = |mut head: Vec<Event>, tail: Vec<Event>| {
        head.extend(tail);
        head
    };
    let rows: Vec<(&str, Vec<Event>, Action)> = vec![
        ("404 to a PUT asks statusUrl", then(with_url(), vec![p(404)]), Action::GetCommitted),
        ("401 to a PUT asks statusUrl", then(with_url(), vec![p(401)]), Action::GetCommitted),
        (
            "404 to a GET asks statusUrl",
            then(with_url(), vec![net(), TimerFired, Event::StatusAnswered(answer(404, "", None))]),
            Action::GetCommitted,
        ),
        ("without statusUrl: a new session", vec![ready(false), p(404)], Action::RequestSession),
        ("200 driveItem: done, nothing re-sent", then(with_url(), vec![p(404), c(200, ITEM)]), done()),
        (
            "404 not_committed: a new session",
            then(with_url(), vec![p(404), c(404, r#"{"error":{"code":"not_committed"}}"#)]),
            Action::RequestSession,
        ),
        ("... from byte 0", then(with_url(), vec![p(404), c(404, ""), ready(true)]), put(0, C)),
        ("503 backs off", then(with_url(), vec![p(404), c(503, "")]), Action::Sleep { ms: 500 }),
        ("... and asks again", then(with_url(), vec![p(404), c(503, ""), TimerFired]), Action::GetCommitted),
        ("... then done", then(with_url(), vec![p(404), c(503, ""), TimerFired, c(200, ITEM)]), done()),
        (
            "429 Retry-After sleeps exactly",
            then(with_url(), vec![p(404), Event::CommittedAnswered(answer(429, "", Some(1500)))]),
            Action::Sleep { ms: 1500 },
        ),
        ("network error backs off", then(with_url(), vec![p(404), net()]), Action::Sleep { ms: 500 }),
        ("stall backs off", then(with_url(), vec![p(404), Stalled]), Action::Sleep { ms: 500 }),
        ("200 without a driveItem backs off", then(with_url(), vec![p(404), c(200, "{}")]), Action::Sleep { ms: 500 }),
        ("403 goes on as without statusUrl", then(with_url(), vec![p(404), c(403, "")]), Action::RequestSession),
        (
            "a committed item of another size fails",
            then(with_url(), vec![p(404), c(200, r#"{"id":"i","size":5}"#)]),
            failed(FailureCode::Integrity, None),
        ),
        (
            "asked once per session",
            then(with_url(), vec![p(404), c(404, ""), ready(false), p(404)]),
            Action::RequestSession,
        ),
        (
            "a new session's own statusUrl is asked",
            then(with_url(), vec![p(404), c(404, ""), ready(true), p(404)]),
            Action::GetCommitted,
        ),
        ("pause + resume asks again", then(with_url(), vec![p(404), Event::Resume]), Action::GetCommitted),
        (
            "abort: no session to delete",
            then(with_url(), vec![p(404), Event::Abort]),
            failed(FailureCode::Aborted, None),
        ),
        (
            "a PUT answer now is a protocol failure",
            then(with_url(), vec![p(404), p(202)]),
            failed(FailureCode::Protocol, None),
        ),
        (
            "CommittedAnswered during a PUT too",
            then(with_url(), vec![c(200, ITEM)]),
            failed(FailureCode::Protocol, None),
        ),
    ];
    for (name, events, want) in rows {
        let (_, got) = run(policy(), None, events);
        assert_eq!(got, want, "row: {name}");
    }
}

#[test]
fn status_url_is_asked_even_when_restarts_are_used_up() {
    let retry = RetryPolicy { max_session_restarts: 0, ..policy() };
    assert_eq!(run(retry, None, vec![ready(true), p(404), c(200, ITEM)]).1, done());
    let (_, last) = run(retry, None, vec![ready(true), p(404), c(404, "")]);
    assert_eq!(last, failed(FailureCode::RetriesExhausted, Some(404)));
    // An expiry that passed before the next request also asks first.
    let mut e = engine(policy());
    e.start(None, NOW);
    let info = SessionInfo { expires_at_ms: Some(NOW + 10), has_status_url: true, ..SessionInfo::default() };
    assert_eq!(e.handle(Event::SessionReady(info), NOW), put(0, C));
    assert_eq!(e.handle(p(500), NOW + 20), Action::Sleep { ms: 500 });
    assert_eq!(e.handle(Event::TimerFired, NOW + 600), Action::GetCommitted);
    let Action::Done { item, .. } = e.handle(c(200, ITEM), NOW + 700) else { panic!("not done") };
    assert_eq!((item.id.as_str(), e.acknowledged(), e.has_session()), ("item1", TOTAL, false));
}

#[test]
fn stored_session_recovers_a_commit_before_the_reload() {
    let stored = || Some(SessionInfo { has_status_url: true, ..SessionInfo::default() });
    let gone = || Event::StatusAnswered(answer(404, "", None));
    assert_eq!(run(policy(), stored(), vec![]).1, Action::GetStatus);
    assert_eq!(run(policy(), stored(), vec![gone()]).1, Action::GetCommitted);
    assert_eq!(run(policy(), stored(), vec![gone(), c(200, ITEM)]).1, done());
    let (e, last) = run(policy(), stored(), vec![gone(), c(404, "")]);
    assert_eq!((last, e.session_restarts()), (Action::RequestSession, 0), "not counted as a restart");
    // Known to be expired already: statusUrl at once, then a new session.
    let expired = SessionInfo { expires_at_ms: Some(NOW - 1), has_status_url: true, ..SessionInfo::default() };
    assert_eq!(run(policy(), Some(expired.clone()), vec![]).1, Action::GetCommitted);
    let (e, last) = run(policy(), Some(expired), vec![c(404, "")]);
    assert_eq!((last, e.session_restarts()), (Action::RequestSession, 0));
}

#[test]
fn session_requests_follow_the_retry_policy() {
    use Event::{Stalled, TimerFired};
    let net = || Event::NetworkError { message: "unreachable".into() };
    let rows: Vec<(&str, Vec<Event>, Action)> = vec![
        ("503 backs off", vec![session_failed(Some(503), None)], Action::Sleep { ms: 500 }),
        ("503 Retry-After sleeps exactly", vec![session_failed(Some(503), Some(2000))], Action::Sleep { ms: 2000 }),
        ("429 Retry-After sleeps exactly", vec![session_failed(Some(429), Some(700))], Action::Sleep { ms: 700 }),
        ("Retry-After is capped", vec![session_failed(Some(429), Some(10_000_000))], Action::Sleep { ms: 60_000 }),
        ("429 backs off", vec![session_failed(Some(429), None)], Action::Sleep { ms: 500 }),
        ("408 backs off", vec![session_failed(Some(408), None)], Action::Sleep { ms: 500 }),
        ("500 backs off", vec![session_failed(Some(500), None)], Action::Sleep { ms: 500 }),
        ("502 backs off", vec![session_failed(Some(502), None)], Action::Sleep { ms: 500 }),
        ("504 backs off", vec![session_failed(Some(504), None)], Action::Sleep { ms: 500 }),
        ("507 fails at once", vec![session_failed(Some(507), None)], failed(FailureCode::SessionFailed, Some(507))),
        ("501 fails at once", vec![session_failed(Some(501), None)], failed(FailureCode::SessionFailed, Some(501))),
        ("network error backs off", vec![net()], Action::Sleep { ms: 500 }),
        ("stall backs off", vec![Stalled], Action::Sleep { ms: 500 }),
        ("then asks again", vec![net(), TimerFired], Action::RequestSession),
        ("backoff grows", vec![net(), TimerFired, session_failed(Some(502), None)], Action::Sleep { ms: 1000 }),
        ("then the session is used", vec![net(), TimerFired, ready(false)], put(0, C)),
        ("400 fails at once", vec![session_failed(Some(400), None)], failed(FailureCode::SessionFailed, Some(400))),
        ("401 fails at once", vec![session_failed(Some(401), None)], failed(FailureCode::SessionFailed, Some(401))),
        ("403 fails at once", vec![session_failed(Some(403), None)], failed(FailureCode::SessionFailed, Some(403))),
        ("404 fails at once", vec![session_failed(Some(404), None)], failed(FailureCode::SessionFailed, Some(404))),
        ("413 fails at once", vec![session_failed(Some(413), Some(5))], failed(FailureCode::SessionFailed, Some(413))),
        (
            "no status (a function threw) fails at once",
            vec![session_failed(None, None)],
            failed(FailureCode::SessionFailed, None),
        ),
        (
            "a 2xx that is no session fails at once",
            vec![session_failed(Some(200), None)],
            failed(FailureCode::SessionFailed, Some(200)),
        ),
        ("abort while waiting", vec![net(), Event::Abort], failed(FailureCode::Aborted, None)),
        ("resume while waiting asks now", vec![net(), Event::Resume], Action::RequestSession),
    ];
    for (name, events, want) in rows {
        let (_, got) = run(policy(), None, events);
        assert_eq!(got, want, "row: {name}");
    }
}

#[test]
fn session_failures_keep_the_message_and_respect_max_attempts() {
    let (_, last) = run(policy(), None, vec![]);
    assert_eq!(last, Action::RequestSession);
    let mut e = engine(policy());
    e.start(None, NOW);
    let Action::Fail(f) = e.handle(session_failed(Some(403), None), NOW) else { panic!() };
    assert_eq!((f.code, f.status, f.message.as_str()), (FailureCode::SessionFailed, Some(403), "the server said no"));
    // Two attempts: the first request is free, two repeats are counted, the third failure ends it.
    let retry = RetryPolicy { max_attempts: 2, ..policy() };
    let mut e = engine(retry);
    e.start(None, NOW);
    for _ in 0..2 {
        assert!(matches!(e.handle(session_failed(Some(503), None), NOW), Action::Sleep { .. }));
        assert_eq!(e.handle(Event::TimerFired, NOW), Action::RequestSession);
    }
    let Action::Fail(f) = e.handle(session_failed(Some(503), None), NOW) else { panic!() };
    assert_eq!((f.code, f.status), (FailureCode::SessionFailed, Some(503)));
    assert!(f.message.starts_with("gave up after 2 attempts; last: the server said no"), "{}", f.message);
    assert_eq!(e.attempts(), 2);
}

#[test]
fn session_endpoint_down_after_a_session_loss_mid_upload() {
    let events = vec![
        ready(false),
        Event::PutAnswered(answer(202, r#"{"nextExpectedRanges":["327680-"]}"#, None)),
        p(404),
        session_failed(Some(503), Some(3000)),
        Event::TimerFired,
        ready(false),
    ];
    let (e, last) = run(policy(), None, events);
    assert_eq!((last, e.session_restarts(), e.acknowledged()), (put(0, C), 1, C));
}

#[test]
fn lost_last_answer_commits_exactly_once_against_the_model() {
    let data = file(CHUNK as usize * 2 + 5);
    // The last PUT is processed, then the connection drops; the status GET finds no session.
    let faults = || vec![(On::Put, Fault::Clock(0)), (On::Put, Fault::Clock(0)), (On::Put, Fault::LostNetwork)];
    let o = drive(&data, policy(), faults());
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!((o.model.commits, o.session_requests, o.model.status_gets), (1, 1, 1));
    assert_eq!(o.model.puts, 3, "nothing re-sent");
    // Without a statusUrl the file is uploaded twice (the behaviour the statusUrl removes).
    let o = drive_with(&data, policy(), faults(), false);
    assert_eq!((o.model.commits, o.session_requests), (2, 2));
    // A middle fragment's lost answer: realigned, still one commit, one session.
    let o = drive(&data, policy(), vec![(On::Put, Fault::LostNetwork)]);
    assert_eq!((o.model.commits, o.session_requests, o.model.status_gets), (1, 1, 0));
    // The statusUrl GET itself failing first: retried.
    let mut f = faults();
    f.extend([(On::Committed, Fault::Network), (On::Committed, Fault::Status(503, Some(100)))]);
    let o = drive(&data, policy(), f);
    assert_eq!((o.model.commits, o.session_requests, o.model.status_gets), (1, 1, 1));
    assert_eq!(o.sleeps.len(), 3, "backoff after the lost answer, the network error and the 503");
}
