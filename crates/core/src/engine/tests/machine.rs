//! Table-driven tests of the engine: one row per line of the retry table (event ->
//! expected action), with a fixed jitter of 0.5 so backoff values are exact.

use crate::chunk::ChunkSize;
use crate::engine::*;

/// 1,000,000 bytes in 320 KiB chunks: 0..327680, ..655360, ..983040, ..1000000.
const TOTAL: u64 = 1_000_000;
const C: u64 = 327_680;
const NOW: i64 = 1_700_000_000_000;

fn policy() -> RetryPolicy {
    RetryPolicy {
        client_error_retries: 5,
        base_delay_ms: 1000,
        max_delay_ms: 60_000,
        max_attempts: 50,
        max_session_restarts: 3,
    }
}

fn engine(retry: RetryPolicy) -> Engine {
    let chunk = ChunkSize::new(C).unwrap();
    Engine::new(EngineConfig { total: TOTAL, chunk, retry }, Box::new(|| 0.5)).unwrap()
}

fn put(start: u64, end: u64) -> Action {
    Action::Put { start, end, content_range: format!("bytes {}-{}/{TOTAL}", start, end - 1) }
}

fn answer(status: u16, body: &str) -> HttpAnswer {
    HttpAnswer { status, body: body.into(), retry_after_ms: None }
}

fn ranges(r: &str) -> String {
    format!(r#"{{"expirationDateTime":"2030-01-01T00:00:00Z","nextExpectedRanges":["{r}"]}}"#)
}

const ITEM: &str = r#"{"id":"item1","name":"a.bin","size":1000000,"file":{"hashes":{"quickXorHash":"x"}}}"#;

fn p(status: u16, body: &str) -> Event {
    Event::PutAnswered(answer(status, body))
}
fn p202(r: &str) -> Event {
    p(202, &ranges(r))
}
fn s(status: u16, body: &str) -> Event {
    Event::StatusAnswered(answer(status, body))
}
fn s200(r: &str) -> Event {
    s(200, &ranges(r))
}
fn ra(status: u16, ms: u64) -> Event {
    Event::PutAnswered(HttpAnswer { status, body: String::new(), retry_after_ms: Some(ms) })
}
fn net() -> Event {
    Event::NetworkError { message: "connection reset".into() }
}
fn ready(expires: Option<i64>) -> Event {
    Event::SessionReady(SessionInfo {
        expires_at_ms: expires,
        next_expected_ranges: vec!["0-".into()],
        has_status_url: false,
    })
}
fn fail(code: FailureCode) -> Failure {
    Failure { code, status: None, message: String::new() }
}

/// Starts a fresh upload, feeds `events` (the first PUT of 0..327680 is pending before them),
/// and returns the last action with its failure message blanked for comparison.
fn run(retry: RetryPolicy, events: Vec<Event>) -> (Engine, Action) {
    let mut e = engine(retry);
    assert_eq!(e.start(None, NOW), Action::RequestSession);
    let mut last = e.handle(ready(None), NOW);
    assert_eq!(last, put(0, C));
    for ev in events {
        last = e.handle(ev, NOW);
    }
    if let Action::Fail(f) = &mut last {
        f.message.clear();
    }
    (e, last)
}

fn item() -> Action {
    let item = CommittedItem { id: "item1".into(), size: 1_000_000, quick_xor_hash: Some("x".into()) };
    Action::Done { item, body: ITEM.into() }
}

#[test]
fn retry_table_rows() {
    use Event::{Stalled, TimerFired};
    let status_fail = |code, status| Action::Fail(Failure { code, status: Some(status), message: String::new() });
    let rows: Vec<(&str, Vec<Event>, Action)> = vec![
        ("202 advances to the first range", vec![p202("327680-")], put(C, 2 * C)),
        ("202 with more than we sent skips ahead", vec![p202("655360-")], put(2 * C, 3 * C)),
        ("202 with less than we thought goes back", vec![p202("655360-"), p202("327680-")], put(C, 2 * C)),
        ("202 bounded gap limits the fragment", vec![p202("327680-400000")], put(C, 400_001)),
        ("202 last fragment is short", vec![p202("983040-")], put(3 * C, TOTAL)),
        ("201 is done", vec![p(201, ITEM)], item()),
        ("200 is done", vec![p(200, ITEM)], item()),
        ("201 without id asks the status once", vec![p(201, r#"{"name":"a"}"#)], Action::GetStatus),
        ("... and accepts a 200 driveItem", vec![p(201, "{}"), s(200, ITEM)], item()),
        ("... else fails protocol", vec![p(201, "{}"), s(404, "")], Action::Fail(fail(FailureCode::Protocol))),
        ("500 backs off", vec![p(500, "")], Action::Sleep { ms: 500 }),
        ("502 backs off", vec![p(502, "")], Action::Sleep { ms: 500 }),
        ("503 backs off", vec![p(503, "")], Action::Sleep { ms: 500 }),
        ("504 backs off", vec![p(504, "")], Action::Sleep { ms: 500 }),
        ("408 backs off", vec![p(408, "")], Action::Sleep { ms: 500 }),
        ("429 without Retry-After backs off", vec![p(429, "")], Action::Sleep { ms: 500 }),
        ("network error backs off", vec![net()], Action::Sleep { ms: 500 }),
        ("stall backs off", vec![Stalled], Action::Sleep { ms: 500 }),
        ("after backoff: GET status", vec![p(500, ""), TimerFired], Action::GetStatus),
        ("then resume from the ranges", vec![p(500, ""), TimerFired, s200("327680-")], put(C, 2 * C)),
        ("backoff grows", vec![p(500, ""), TimerFired, s(503, "")], Action::Sleep { ms: 1000 }),
        ("backoff grows on", vec![p(500, ""), TimerFired, s(503, ""), TimerFired, net()], Action::Sleep { ms: 2000 }),
        (
            "backoff resets on progress",
            vec![p(500, ""), TimerFired, s(503, ""), TimerFired, s200("327680-"), p(500, "")],
            Action::Sleep { ms: 500 },
        ),
        ("429 Retry-After sleeps exactly", vec![ra(429, 2500)], Action::Sleep { ms: 2500 }),
        ("503 Retry-After sleeps exactly", vec![ra(503, 1234)], Action::Sleep { ms: 1234 }),
        ("Retry-After is capped at max_delay_ms", vec![ra(503, 9_999_999)], Action::Sleep { ms: 60_000 }),
        ("after Retry-After: the same PUT", vec![ra(429, 2500), TimerFired], put(0, C)),
        ("416 asks the status", vec![p(416, "")], Action::GetStatus),
        ("416 realigns", vec![p202("327680-"), p(416, ""), s200("655360-")], put(2 * C, 3 * C)),
        ("404 asks a new session", vec![p(404, "")], Action::RequestSession),
        ("... and starts over from 0", vec![p202("327680-"), p(404, ""), ready(None)], put(0, C)),
        ("404 on GET asks a new session", vec![net(), TimerFired, s(404, "")], Action::RequestSession),
        ("401 asks a new session", vec![p(401, "")], Action::RequestSession),
        ("409 is a conflict", vec![p(409, "")], status_fail(FailureCode::Conflict, 409)),
        ("400 retries at once", vec![p(400, "")], put(0, C)),
        ("413 retries at once", vec![p(413, "")], put(0, C)),
        ("400 x6 is a client error", vec![p(400, ""); 6], status_fail(FailureCode::ClientError, 400)),
        ("507 counts as other", vec![p(507, ""); 6], status_fail(FailureCode::ClientError, 507)),
        ("session failure", vec![], Action::Fail(fail(FailureCode::SessionFailed))),
        ("abort mid-put deletes the session", vec![Event::Abort], Action::DeleteSession),
        ("then fails aborted", vec![Event::Abort, Event::DeleteAnswered], Action::Fail(fail(FailureCode::Aborted))),
        ("abort mid-sleep deletes", vec![p(500, ""), Event::Abort], Action::DeleteSession),
        (
            "nothing retries after abort",
            vec![Event::Abort, Event::DeleteAnswered, TimerFired],
            Action::Fail(fail(FailureCode::Aborted)),
        ),
        ("resume asks the status", vec![Event::Resume], Action::GetStatus),
        ("TimerFired during a PUT is a protocol failure", vec![TimerFired], Action::Fail(fail(FailureCode::Protocol))),
        ("a GET answer during a PUT too", vec![s200("0-")], Action::Fail(fail(FailureCode::Protocol))),
        ("malformed 202 backs off", vec![p(202, "not json")], Action::Sleep { ms: 500 }),
        ("202 without ranges backs off", vec![p(202, "{}")], Action::Sleep { ms: 500 }),
        ("202 past the end backs off", vec![p(202, &ranges("1000000-"))], Action::Sleep { ms: 500 }),
        ("202 bad range backs off", vec![p(202, &ranges("9-3"))], Action::Sleep { ms: 500 }),
        ("GET with the committed item is done", vec![net(), TimerFired, s(200, ITEM)], item()),
    ];
    for (name, events, want) in rows {
        let events = if name == "session failure" { vec![] } else { events };
        let got = if name == "session failure" {
            let mut e = engine(policy());
            e.start(None, NOW);
            let mut a =
                e.handle(Event::SessionFailed { status: Some(403), message: "no".into(), retry_after_ms: None }, NOW);
            if let Action::Fail(f) = &mut a {
                assert_eq!(f.status, Some(403));
                f.message.clear();
                f.status = None;
            }
            a
        } else {
            run(policy(), events).1
        };
        assert_eq!(got, want, "row: {name}");
    }
}

#[test]
fn client_errors_retry_exactly_n_times() {
    for n in [0u32, 1, 5] {
        let retry = RetryPolicy { client_error_retries: n, ..policy() };
        let mut e = engine(retry);
        e.start(None, NOW);
        let mut a = e.handle(ready(None), NOW);
        let mut puts = 1;
        while let Action::Put { .. } = a {
            a = e.handle(p(400, r#"{"error":{"code":"invalidRequest","message":"bad"}}"#), NOW);
            puts += u32::from(matches!(a, Action::Put { .. }));
        }
        assert_eq!(puts, n + 1, "n = {n}");
        let Action::Fail(f) = a else { panic!("{a:?}") };
        assert_eq!((f.code, f.status), (FailureCode::ClientError, Some(400)));
        assert!(f.message.contains("invalidRequest"), "{}", f.message);
    }
}

#[test]
fn max_attempts_bounds_failing_requests() {
    let retry = RetryPolicy { max_attempts: 3, ..policy() };
    let (e, last) = run(retry, vec![p(500, ""), Event::TimerFired, s(500, ""), Event::TimerFired, s(500, "")]);
    assert_eq!(
        last,
        Action::Fail(Failure { code: FailureCode::RetriesExhausted, status: Some(500), message: String::new() })
    );
    assert_eq!(e.attempts(), 3);
    // Malformed answers until the budget ends: protocol.
    let (_, last) = run(retry, vec![p(202, "x"), Event::TimerFired, s(200, "{}"), Event::TimerFired, s(200, "[]")]);
    assert!(matches!(last, Action::Fail(Failure { code: FailureCode::Protocol, .. })), "{last:?}");
}

#[test]
fn progress_is_not_an_attempt() {
    let (e, last) =
        run(RetryPolicy { max_attempts: 1, ..policy() }, vec![p202("327680-"), p202("655360-"), p202("983040-")]);
    assert_eq!(last, put(3 * C, TOTAL));
    assert_eq!(e.attempts(), 1);
    assert_eq!(e.in_flight(), Some((3 * C, TOTAL)));
    assert_eq!(e.acknowledged(), 3 * C);
}

#[test]
fn resume_does_not_count() {
    let (e, last) = run(policy(), vec![Event::Resume, Event::Resume, s200("327680-")]);
    assert_eq!(last, put(C, 2 * C));
    assert_eq!((e.attempts(), e.failures()), (1, 0));
}

#[test]
fn acknowledged_is_a_high_water_mark() {
    let (e, last) = run(policy(), vec![p202("655360-"), p202("327680-")]);
    assert_eq!(last, put(C, 2 * C));
    assert_eq!((e.acknowledged(), e.position()), (2 * C, C));
    let (e, _) = run(policy(), vec![p202("655360-"), p(404, ""), ready(None)]);
    assert_eq!((e.acknowledged(), e.position(), e.session_restarts()), (2 * C, 0, 1));
    let (e, _) = run(policy(), vec![p(201, ITEM)]);
    assert_eq!(e.acknowledged(), TOTAL);
}

#[test]
fn expiry_before_a_request_asks_a_new_session() {
    let mut e = engine(policy());
    e.start(None, NOW);
    assert_eq!(e.handle(ready(Some(NOW + 1000)), NOW), put(0, C));
    let body = r#"{"expirationDateTime":"2023-11-14T22:13:21.000Z","nextExpectedRanges":["327680-"]}"#;
    // The 202 refreshes the expiry to NOW + 1000 ms (2023-11-14T22:13:21Z); the next PUT is due after it.
    assert_eq!(e.expires_at_ms(), Some(NOW + 1000));
    assert_eq!(e.handle(p(202, body), NOW + 1000), Action::RequestSession);
    assert_eq!((e.session_restarts(), e.has_session()), (1, false));
    // Restarts used up on an expired session: `expired`.
    let mut e = engine(RetryPolicy { max_session_restarts: 0, ..policy() });
    e.start(None, NOW);
    e.handle(ready(Some(NOW + 10)), NOW);
    let Action::Fail(f) = e.handle(p(404, ""), NOW + 20) else { panic!() };
    assert_eq!((f.code, f.status), (FailureCode::Expired, Some(404)));
    // ... and `retries-exhausted` when it was not known to be expired.
    let (_, last) = run(RetryPolicy { max_session_restarts: 1, ..policy() }, vec![p(404, ""), ready(None), p(404, "")]);
    assert_eq!(
        last,
        Action::Fail(Failure { code: FailureCode::RetriesExhausted, status: Some(404), message: String::new() })
    );
}

#[test]
fn resuming_a_stored_session() {
    let mut e = engine(policy());
    assert_eq!(e.start(Some(SessionInfo::default()), NOW), Action::GetStatus);
    assert!(e.has_session());
    assert_eq!(e.handle(s(404, ""), NOW), Action::RequestSession);
    assert_eq!(e.session_restarts(), 0);
    assert_eq!(e.handle(ready(None), NOW), put(0, C));
    let mut e = engine(policy());
    e.start(Some(SessionInfo::default()), NOW);
    assert_eq!(e.handle(s200("655360-"), NOW), put(2 * C, 3 * C));
    // A stored session known to be expired is not probed.
    let mut e = engine(policy());
    let stored = SessionInfo { expires_at_ms: Some(NOW - 1), ..SessionInfo::default() };
    assert_eq!(e.start(Some(stored), NOW), Action::RequestSession);
    assert_eq!(e.session_restarts(), 0);
    // Resumed sessions with bounded or empty ranges.
    let mut e = engine(policy());
    e.start(None, NOW);
    let info = SessionInfo { next_expected_ranges: vec!["655360-700000".into()], ..SessionInfo::default() };
    assert_eq!(e.handle(Event::SessionReady(info), NOW), put(2 * C, 700_001));
    let mut e = engine(policy());
    e.start(None, NOW);
    assert_eq!(e.handle(Event::SessionReady(SessionInfo::default()), NOW), put(0, C));
    let mut e = engine(policy());
    e.start(None, NOW);
    let bad = SessionInfo { next_expected_ranges: vec!["x".into()], ..SessionInfo::default() };
    assert_eq!(e.handle(Event::SessionReady(bad), NOW), Action::GetStatus);
}

#[test]
fn abort_without_session_and_stray_events() {
    let mut e = engine(policy());
    assert!(matches!(e.handle(Event::TimerFired, NOW), Action::Fail(Failure { code: FailureCode::Protocol, .. })));
    let mut e = engine(policy());
    e.start(None, NOW);
    let a = e.handle(Event::Abort, NOW);
    assert!(matches!(a, Action::Fail(Failure { code: FailureCode::Aborted, .. })));
    assert_eq!(e.handle(Event::Resume, NOW), a, "terminal action repeats");
    assert!(e.is_finished());
    let mut e = engine(policy());
    e.start(None, NOW);
    assert!(matches!(e.start(None, NOW), Action::Fail(Failure { code: FailureCode::Protocol, .. })));
    assert!(
        Engine::new(EngineConfig { total: 0, chunk: ChunkSize::default(), retry: policy() }, Box::new(|| 0.0)).is_err()
    );
}
