//! Every row of the retry table scripted against the server model (sim.rs), plus combinations
//! and a property test over random fault sequences.

use super::sim::{drive, file, Fault, On, Outcome, CHUNK, TTL_MS};
use crate::engine::{verify_hash, Failure, FailureCode, RetryPolicy};
use crate::quickxor::QuickXorHash;
use proptest::prelude::*;
use std::sync::OnceLock;

/// 1,234,567 bytes: three full 320 KiB chunks and a short last one.
fn data() -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    DATA.get_or_init(|| file(1_234_567))
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
}

/// A pass-through fault: processed normally (used to target a later request).
fn pass(n: usize) -> Vec<(On, Fault)> {
    vec![(On::Put, Fault::Clock(0)); n]
}

fn with(mut head: Vec<(On, Fault)>, tail: &[(On, Fault)]) -> Vec<(On, Fault)> {
    head.extend_from_slice(tail);
    head
}

/// Runs and checks the upload succeeded with the exact bytes.
fn ok(faults: Vec<(On, Fault)>) -> Outcome {
    let o = drive(data(), policy(), faults.clone());
    let item = o.result.as_ref().unwrap_or_else(|f| panic!("{faults:?} failed: {f:?}"));
    assert_eq!(o.model.committed.as_deref(), Some(data()), "{faults:?}");
    assert_eq!(o.engine.acknowledged(), data().len() as u64);
    verify_hash(item, &QuickXorHash::hash(data())).unwrap();
    o
}

fn failed(retry: RetryPolicy, faults: Vec<(On, Fault)>) -> (Failure, Outcome) {
    let o = drive(data(), retry, faults);
    match &o.result {
        Err(f) => (f.clone(), o),
        Ok(_) => panic!("succeeded"),
    }
}

#[test]
fn clean_upload() {
    let o = ok(vec![]);
    assert_eq!((o.model.puts, o.model.gets, o.sleeps.len()), (4, 0, 0));
}

#[test]
fn server_errors_back_off_then_resume_from_status() {
    for status in [500, 502, 503, 504, 408, 429] {
        let o = ok(with(pass(2), &[(On::Put, Fault::Status(status, None))]));
        assert_eq!((o.model.puts, o.model.gets), (5, 1), "{status}");
        assert_eq!(o.sleeps, vec![250], "{status}: backoff 0 with jitter 0.25 of 1000 ms");
    }
    for fault in [Fault::Network, Fault::Stall] {
        let o = ok(with(
            pass(1),
            &[(On::Put, fault.clone()), (On::Get, Fault::Network), (On::Get, Fault::Status(500, None))],
        ));
        assert_eq!(o.sleeps, vec![250, 1000, 3000], "{fault:?}: 1000, 2000, 4000 ms ceilings x jitter 0.25, 0.5, 0.75");
        assert_eq!(o.model.gets, 3);
    }
}

#[test]
fn retry_after_is_honoured_exactly() {
    for status in [429, 503] {
        let o = ok(with(pass(1), &[(On::Put, Fault::Status(status, Some(2500)))]));
        assert_eq!(o.sleeps, vec![2500]);
        assert_eq!((o.model.puts, o.model.gets), (5, 0), "the same PUT again, no GET");
    }
}

#[test]
fn lost_202_gives_416_then_realigns() {
    // The server took the bytes but the client saw 503 + Retry-After: the repeat overlaps.
    let o = ok(with(pass(1), &[(On::Put, Fault::Lost(503, Some(1000)))]));
    assert_eq!((o.model.puts, o.model.gets), (5, 1), "4 + the overlapping repeat");
    // Same through a client-error retry (no backoff).
    let o = ok(with(pass(1), &[(On::Put, Fault::Lost(400, None))]));
    assert_eq!((o.model.puts, o.model.gets, o.sleeps.len()), (5, 1, 0));
    // A lost 202 seen as a network error: the GET shows the progress, no repeat.
    let o = ok(with(pass(1), &[(On::Put, Fault::LostNetwork)]));
    assert_eq!((o.model.puts, o.model.gets), (4, 1));
}

#[test]
fn gone_sessions_start_over() {
    for status in [404, 401] {
        let o = ok(with(pass(2), &[(On::Put, Fault::Status(status, None))]));
        assert_eq!((o.session_requests, o.engine.session_restarts()), (2, 1), "{status}");
        assert_eq!(o.model.puts, 2 + 1 + 4);
    }
    let o = ok(with(pass(3), &[(On::Put, Fault::Expire)]));
    assert_eq!(o.session_requests, 2);
    // Restarts are bounded.
    let gone = vec![(On::Put, Fault::Status(404, None)); 4];
    let (f, o) = failed(policy(), gone);
    assert_eq!((f.code, f.status, o.session_requests), (FailureCode::RetriesExhausted, Some(404), 4));
}

#[test]
fn known_expiry_asks_a_new_session_without_sending() {
    let o = ok(with(pass(1), &[(On::Put, Fault::Clock(TTL_MS + 1))]));
    assert_eq!((o.session_requests, o.model.to_expired), (2, 0));
    let retry = RetryPolicy { max_session_restarts: 0, ..policy() };
    let (f, o) = failed(retry, with(pass(1), &[(On::Put, Fault::Clock(TTL_MS + 1))]));
    assert_eq!((f.code, o.model.to_expired), (FailureCode::Expired, 0));
}

#[test]
fn conflict_fails_without_retry() {
    let (f, o) = failed(policy(), with(pass(3), &[(On::Put, Fault::Status(409, None))]));
    assert_eq!((f.code, f.status, o.model.puts), (FailureCode::Conflict, Some(409), 4));
}

#[test]
fn client_errors_are_retried_exactly_n_times() {
    let n = policy().client_error_retries as usize;
    let (f, o) = failed(policy(), with(pass(1), &vec![(On::Put, Fault::Status(400, None)); n + 1]));
    assert_eq!((f.code, f.status), (FailureCode::ClientError, Some(400)));
    assert_eq!(o.model.puts as usize, 1 + 1 + n, "one good PUT, the first 400 and n retries");
    assert!(o.sleeps.is_empty(), "no backoff");
    let o = ok(with(pass(1), &vec![(On::Put, Fault::Status(400, None)); n]));
    assert_eq!(o.model.puts as usize, 4 + n);
}

#[test]
fn max_attempts_is_a_hard_bound() {
    let retry = RetryPolicy { max_attempts: 5, ..policy() };
    let (f, o) = failed(retry, vec![(On::Any, Fault::Status(500, None)); 10]);
    assert_eq!((f.code, f.status), (FailureCode::RetriesExhausted, Some(500)));
    assert_eq!(o.model.puts + o.model.gets, 5);
    let (f, _) = failed(retry, vec![(On::Any, Fault::Body(202, "{oops".into())); 10]);
    assert_eq!(f.code, FailureCode::Protocol);
    ok(vec![(On::Put, Fault::Body(202, r#"{"nextExpectedRanges":["x"]}"#.into()))]);
}

#[test]
fn abort_deletes_the_session_and_never_retries() {
    let (f, o) = failed(policy(), with(pass(1), &[(On::Put, Fault::Status(503, None)), (On::Sleep, Fault::Abort)]));
    assert_eq!((f.code, o.model.deletes, o.model.puts, o.model.gets), (FailureCode::Aborted, 1, 2, 0));
    let (f, o) = failed(policy(), with(pass(2), &[(On::Put, Fault::Abort)]));
    assert_eq!((f.code, o.model.deletes, o.model.puts), (FailureCode::Aborted, 1, 2));
}

#[test]
fn pause_resume_and_session_failure() {
    let o = ok(with(pass(1), &[(On::Put, Fault::Pause), (On::Sleep, Fault::Pause)]));
    assert_eq!((o.model.gets, o.sleeps.len()), (1, 0));
    let (f, _) = failed(policy(), vec![(On::Session, Fault::Status(403, None))]);
    assert_eq!((f.code, f.status), (FailureCode::SessionFailed, Some(403)));
}

#[test]
fn combinations() {
    // 503, then an overlapping repeat (416), then the status GET says 404: new session, from 0.
    let o = ok(with(pass(2), &[(On::Put, Fault::Lost(503, Some(100))), (On::Get, Fault::Status(404, None))]));
    assert_eq!((o.session_requests, o.model.gets), (2, 1));
    // Everything at once.
    let mut all = pass(1);
    all.extend([
        (On::Put, Fault::Status(502, None)),
        (On::Get, Fault::Stall),
        (On::Put, Fault::Status(429, Some(700))),
        (On::Put, Fault::Lost(503, None)),
        (On::Put, Fault::Status(413, None)),
        (On::Put, Fault::Expire),
        (On::Put, Fault::LostNetwork),
        (On::Put, Fault::Pause),
        (On::Put, Fault::Status(401, None)),
    ]);
    let o = ok(all);
    assert_eq!(o.session_requests, 3);
}

/// A random fault from every kind the model can inject.
fn any_fault() -> impl Strategy<Value = (On, Fault)> {
    let statuses = prop::sample::select(vec![400u16, 401, 404, 408, 409, 413, 416, 429, 500, 502, 503, 504, 507]);
    let on = prop::sample::select(vec![On::Put, On::Get, On::Any]);
    let fault = prop_oneof![
        (statuses.clone(), prop::option::of(0u64..5000)).prop_map(|(s, r)| Fault::Status(s, r)),
        (statuses, prop::option::of(0u64..5000)).prop_map(|(s, r)| Fault::Lost(s, r)),
        Just(Fault::LostNetwork),
        Just(Fault::Network),
        Just(Fault::Stall),
        Just(Fault::Expire),
        prop::sample::select(vec![0, 1000, TTL_MS + 1]).prop_map(Fault::Clock),
        Just(Fault::Body(202, "not json".into())),
        Just(Fault::Body(200, r#"{"nextExpectedRanges":[]}"#.into())),
        Just(Fault::Pause),
    ];
    prop_oneof![
        60 => (on, fault),
        1 => prop_oneof![Just(Fault::Abort), Just(Fault::Pause)].prop_map(|f| (On::Sleep, f)),
        1 => Just((On::Put, Fault::Abort)),
        1 => prop::sample::select(vec![500u16, 503, 403]).prop_map(|s| (On::Session, Fault::Status(s, None))),
        1 => prop_oneof![Just(Fault::Network), Just(Fault::Stall), Just(Fault::Status(503, Some(100)))]
            .prop_map(|f| (On::Committed, f)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn random_faults_end_done_or_documented(
        faults in prop::collection::vec(any_fault(), 0..30),
        max_attempts in 1u32..40,
        max_session_restarts in 0u32..4,
        client_error_retries in 0u32..4,
        len in prop::sample::select(vec![1usize, 1000, CHUNK as usize, CHUNK as usize * 2 + 7]),
    ) {
        let retry = RetryPolicy { max_attempts, max_session_restarts, client_error_retries, ..RetryPolicy::default() };
        let data = &data()[..len];
        let o = drive(data, retry, faults.clone());
        prop_assert!(o.engine.attempts() <= max_attempts);
        match &o.result {
            Ok(item) => {
                prop_assert_eq!(o.model.committed.as_deref(), Some(data));
                prop_assert_eq!(o.engine.acknowledged(), len as u64);
                prop_assert!(verify_hash(item, &QuickXorHash::hash(data)).is_ok());
            }
            Err(f) => {
                let has = |p: &dyn Fn(&(On, Fault)) -> bool| faults.iter().any(p);
                let allowed = match f.code {
                    FailureCode::RetriesExhausted | FailureCode::Expired => true,
                    FailureCode::ClientError => has(&|(_, f)| matches!(f, Fault::Status(..) | Fault::Lost(..))),
                    FailureCode::Conflict => has(&|(_, f)| matches!(f, Fault::Status(409, _) | Fault::Lost(409, _))),
                    FailureCode::Protocol => has(&|(_, f)| matches!(f, Fault::Body(..))),
                    FailureCode::Aborted => has(&|(_, f)| *f == Fault::Abort),
                    FailureCode::SessionFailed => has(&|(on, _)| *on == On::Session),
                    FailureCode::Integrity | FailureCode::InvalidOption => false,
                };
                prop_assert!(allowed, "undocumented failure {:?} for {:?}", f, faults);
            }
        }
    }
}

/// Faults that enough retries always get through (no 409, no endless 4xx, no malformed bodies).
fn recoverable_fault() -> impl Strategy<Value = (On, Fault)> {
    let statuses = prop::sample::select(vec![401u16, 404, 408, 416, 429, 500, 502, 503, 504]);
    let on = prop::sample::select(vec![On::Put, On::Get, On::Any, On::Sleep]);
    let fault = prop_oneof![
        (statuses.clone(), prop::option::of(0u64..5000)).prop_map(|(s, r)| Fault::Status(s, r)),
        (statuses, prop::option::of(0u64..5000)).prop_map(|(s, r)| Fault::Lost(s, r)),
        Just(Fault::Lost(400, None)),
        Just(Fault::LostNetwork),
        Just(Fault::Network),
        Just(Fault::Stall),
        Just(Fault::Expire),
        prop::sample::select(vec![0, 1000, TTL_MS + 1]).prop_map(Fault::Clock),
        Just(Fault::Pause),
    ];
    let session = prop_oneof![Just(Fault::Network), Just(Fault::Stall), Just(Fault::Status(503, Some(1000)))];
    let committed = prop_oneof![Just(Fault::Network), Just(Fault::Stall), Just(Fault::Status(500, None))];
    prop_oneof![
        8 => (on, fault),
        1 => session.prop_map(|f| (On::Session, f)),
        1 => committed.prop_map(|f| (On::Committed, f)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn recoverable_faults_always_complete(skip in 0usize..4, faults in prop::collection::vec(recoverable_fault(), 0..12)) {
        // `skip` clean PUTs first, so the faults also reach the last fragment.
        let faults = with(pass(skip), &faults);
        let retry = RetryPolicy { max_attempts: 100, max_session_restarts: 12, ..RetryPolicy::default() };
        let data = &data()[..CHUNK as usize * 3 + 11];
        let o = drive(data, retry, faults.clone());
        prop_assert!(o.result.is_ok(), "{:?} for {:?}", o.result, faults);
        prop_assert_eq!(o.model.committed.as_deref(), Some(data));
        prop_assert_eq!(o.model.commits, 1, "committed more than once for {:?}", faults);
    }
}
