//! Per-user limits on upload-session creation: a rate (sessions per minute) and a number of live
//! sessions, so that one user cannot spend the whole site's Graph budget (every user shares one
//! account, and Graph throttles per app and user).
//!
//! The counters sit behind [`LimitStore`] so that several server processes can later share them
//! in a database (a row per creation: user, when, live until); [`MemoryLimitStore`] keeps them in
//! this process. A session counts as live until Graph's `expirationDateTime`, at most
//! [`MAX_LIVE_SPAN`] after its creation. The server does not see uploads finish, so when a user
//! reaches the live limit, [`release_finished`] asks Graph about that user's sessions (a `GET` on
//! each upload URL: 404 once the upload is complete, cancelled or expired) and forgets the
//! finished ones before refusing.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The rate window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Longest time a created session counts as live.
pub const MAX_LIVE_SPAN: Duration = Duration::from_secs(15 * 60);

/// The configured limits (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Creations per user per minute.
    pub per_minute: u32,
    /// Live sessions per user.
    pub max_live: u32,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits { per_minute: 60, max_live: 20 }
    }
}

/// An admitted creation; hand it back to [`LimitStore::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The user it counts for.
    pub user: String,
    /// Its id in the store (0: nothing was counted, no limit being on).
    pub id: u64,
}

/// Which limit refused a creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Creations per minute.
    Rate,
    /// Live sessions.
    Live,
}

/// A refused creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The limit that was hit.
    pub limit: Limit,
    /// When a retry can succeed (whole seconds, at least 1).
    pub retry_after: Duration,
    /// Which limit was hit, for the user.
    pub message: String,
}

/// The future a [`LimitStore`] answers with (a database round trip, or an immediate answer).
pub type LimitFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the counters live: this process's memory ([`MemoryLimitStore`]), or later a database
/// shared by several servers (a row per creation: id, user, created at, live until).
pub trait LimitStore: Send + Sync + 'static {
    /// Admits one creation by `user` at `now` and counts it (as a live session too when `live`),
    /// or says when to retry. Refused attempts are not counted.
    fn admit<'a>(
        &'a self,
        user: &'a str,
        now: SystemTime,
        live: bool,
        limits: &'a SessionLimits,
    ) -> LimitFuture<'a, Result<Admission, Refused>>;
    /// Settles an admitted creation: live until `until` with its upload URL, or not live at all
    /// (`None`: it failed).
    fn settle<'a>(&'a self, admission: &'a Admission, until: Option<(SystemTime, String)>) -> LimitFuture<'a, ()>;
    /// The live sessions of `user` at `now` with their upload URLs (pre-authenticated: keep them private).
    fn live_sessions<'a>(&'a self, user: &'a str, now: SystemTime) -> LimitFuture<'a, Vec<(u64, String)>>;
    /// Forgets sessions of `user` that are finished.
    fn forget<'a>(&'a self, user: &'a str, ids: &'a [u64]) -> LimitFuture<'a, ()>;
}

/// An admission not settled yet: dropped unsettled (the request was cancelled), it is settled as
/// failed, so that its slot is not held for nothing.
pub struct Pending {
    store: Arc<dyn LimitStore>,
    admission: Option<Admission>,
}

impl Pending {
    /// Wraps an admission of `store`.
    pub fn new(store: Arc<dyn LimitStore>, admission: Admission) -> Self {
        Pending { store, admission: Some(admission) }
    }

    /// [`LimitStore::settle`].
    pub async fn settle(mut self, until: Option<(SystemTime, String)>) {
        if let Some(admission) = self.admission.take() {
            self.store.settle(&admission, until).await;
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let (Some(admission), Ok(runtime)) = (self.admission.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            runtime.spawn(async move { store.settle(&admission, None).await });
        }
    }
}

/// Asks Graph about `user`'s live sessions (concurrently, 5 s at most each) and forgets those whose
/// upload URL answers 404 (complete, cancelled or expired); answers how many were forgotten.
pub async fn release_finished(store: &dyn LimitStore, http: &reqwest::Client, user: &str) -> usize {
    let mut probes = tokio::task::JoinSet::new();
    for (id, url) in store.live_sessions(user, SystemTime::now()).await {
        let request = http.get(url).timeout(Duration::from_secs(5));
        probes.spawn(async move { (id, request.send().await.map(|r| r.status())) });
    }
    let mut finished = Vec::new();
    while let Some(done) = probes.join_next().await {
        if let Ok((id, Ok(status))) = done {
            if status == reqwest::StatusCode::NOT_FOUND {
                finished.push(id);
            }
        }
    }
    store.forget(user, &finished).await;
    finished.len()
}

#[derive(Default)]
struct Counters {
    created: VecDeque<SystemTime>,
    /// (id, live until, upload URL once known).
    live: Vec<(u64, SystemTime, Option<String>)>,
}

impl Counters {
    fn prune(&mut self, now: SystemTime) {
        while self.created.front().is_some_and(|t| *t + WINDOW <= now) {
            self.created.pop_front();
        }
        self.live.retain(|(_, until, _)| *until > now);
    }
}

/// The counters in this process's memory.
#[derive(Default)]
pub struct MemoryLimitStore {
    users: Mutex<(u64, HashMap<String, Counters>)>,
}

/// Whole seconds until `later`, at least 1.
fn secs_until(now: SystemTime, later: SystemTime) -> Duration {
    let d = later.duration_since(now).unwrap_or_default();
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(Duration::from_secs(1))
}

impl LimitStore for MemoryLimitStore {
    fn admit<'a>(
        &'a self,
        user: &'a str,
        now: SystemTime,
        live: bool,
        limits: &'a SessionLimits,
    ) -> LimitFuture<'a, Result<Admission, Refused>> {
        Box::pin(std::future::ready(self.admit_now(user, now, live, limits)))
    }

    fn settle<'a>(&'a self, admission: &'a Admission, until: Option<(SystemTime, String)>) -> LimitFuture<'a, ()> {
        self.settle_now(admission, until);
        Box::pin(std::future::ready(()))
    }

    fn live_sessions<'a>(&'a self, user: &'a str, now: SystemTime) -> LimitFuture<'a, Vec<(u64, String)>> {
        let mut guard = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let live = match guard.1.get_mut(user) {
            Some(counters) => {
                counters.prune(now);
                counters.live.iter().filter_map(|(id, _, url)| Some((*id, url.clone()?))).collect()
            }
            None => Vec::new(),
        };
        Box::pin(std::future::ready(live))
    }

    fn forget<'a>(&'a self, user: &'a str, ids: &'a [u64]) -> LimitFuture<'a, ()> {
        if let Some(counters) = self.users.lock().unwrap_or_else(|e| e.into_inner()).1.get_mut(user) {
            counters.live.retain(|(id, _, _)| !ids.contains(id));
        }
        Box::pin(std::future::ready(()))
    }
}

impl MemoryLimitStore {
    /// [`LimitStore::admit`], synchronously.
    pub fn admit_now(
        &self,
        user: &str,
        now: SystemTime,
        live: bool,
        limits: &SessionLimits,
    ) -> Result<Admission, Refused> {
        if limits.per_minute == 0 && limits.max_live == 0 {
            // No limit to enforce: nothing counted, no lock taken (id 0 is never a counted one's).
            return Ok(Admission { user: user.to_owned(), id: 0 });
        }
        let mut guard = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let (next_id, users) = &mut *guard;
        if users.len() > 10_000 {
            users.retain(|_, c| {
                c.prune(now);
                !c.created.is_empty() || !c.live.is_empty()
            });
        }
        if !users.contains_key(user) {
            users.insert(user.to_owned(), Counters::default());
        }
        let counters = users.get_mut(user).expect("inserted above");
        counters.prune(now);
        if limits.per_minute > 0 && counters.created.len() >= limits.per_minute as usize {
            let oldest = counters.created.front().copied().unwrap_or(now);
            return Err(Refused {
                limit: Limit::Rate,
                retry_after: secs_until(now, oldest + WINDOW),
                message: format!("at most {} uploads may be started per minute", limits.per_minute),
            });
        }
        if live && limits.max_live > 0 && counters.live.len() >= limits.max_live as usize {
            let first_end = counters.live.iter().map(|(_, until, _)| *until).min().unwrap_or(now);
            return Err(Refused {
                limit: Limit::Live,
                retry_after: secs_until(now, first_end),
                message: format!("at most {} uploads may be in progress at once", limits.max_live),
            });
        }
        *next_id += 1;
        // Only what a limit reads is counted: with one of them off, its list stays empty.
        if limits.per_minute > 0 {
            counters.created.push_back(now);
        }
        if live && limits.max_live > 0 {
            counters.live.push((*next_id, now + MAX_LIVE_SPAN, None));
        }
        Ok(Admission { user: user.to_owned(), id: *next_id })
    }

    /// [`LimitStore::settle`], synchronously.
    pub fn settle_now(&self, admission: &Admission, until: Option<(SystemTime, String)>) {
        if admission.id == 0 {
            return;
        }
        let mut guard = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(counters) = guard.1.get_mut(&admission.user) else { return };
        // `live` is in admission order (ids increase, removals keep the order).
        let Ok(index) = counters.live.binary_search_by_key(&admission.id, |(id, _, _)| *id) else { return };
        match until {
            None => {
                counters.live.remove(index);
            }
            Some((until, url)) => {
                let entry = &mut counters.live[index];
                entry.1 = entry.1.min(until);
                entry.2 = Some(url);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a future that is ready at once (the in-memory store's).
    fn futures_ready<T>(future: LimitFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[tokio::test]
    async fn a_cancelled_creation_frees_its_slot() {
        let store: Arc<dyn LimitStore> = Arc::new(MemoryLimitStore::default());
        let limits = SessionLimits { per_minute: 0, max_live: 1 };
        let admission = store.admit("alice", at(0), true, &limits).await.unwrap();
        drop(Pending::new(store.clone(), admission));
        tokio::task::yield_now().await;
        let again = store.admit("alice", at(1), true, &limits).await.unwrap();
        Pending::new(store.clone(), again).settle(Some((at(100), "http://x/a".into()))).await;
        assert_eq!(store.admit("alice", at(2), true, &limits).await.unwrap_err().limit, Limit::Live);
    }

    #[test]
    fn rate_per_minute_per_user() {
        let store = MemoryLimitStore::default();
        let limits = SessionLimits { per_minute: 3, max_live: 0 };
        for i in 0..3 {
            store.admit_now("alice", at(i), true, &limits).unwrap();
        }
        let refused = store.admit_now("alice", at(10), true, &limits).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(50));
        assert!(store.admit_now("bob", at(10), true, &limits).is_ok(), "per user");
        assert!(store.admit_now("alice", at(60), false, &limits).is_ok(), "the oldest left the window");
    }

    #[test]
    fn live_sessions_end_at_expiry_or_failure() {
        let store = MemoryLimitStore::default();
        let limits = SessionLimits { per_minute: 0, max_live: 2 };
        let a = store.admit_now("alice", at(0), true, &limits).unwrap();
        let b = store.admit_now("alice", at(0), true, &limits).unwrap();
        assert!(store.admit_now("alice", at(1), false, &limits).is_ok(), "empty files are not live sessions");
        let refused = store.admit_now("alice", at(1), true, &limits).unwrap_err();
        assert_eq!(refused.retry_after, MAX_LIVE_SPAN - Duration::from_secs(1));
        store.settle_now(&a, None);
        let c = store.admit_now("alice", at(2), true, &limits).unwrap();
        store.settle_now(&b, Some((at(100), "http://x/b".into())));
        store.settle_now(&c, Some((at(100_000), "http://x/c".into())));
        assert_eq!(store.admit_now("alice", at(3), true, &limits).unwrap_err().retry_after, Duration::from_secs(97));
        assert_eq!(store.admit_now("alice", at(3), true, &limits).unwrap_err().limit, Limit::Live);
        let live = futures_ready(store.live_sessions("alice", at(3)));
        assert_eq!(live.iter().map(|(_, u)| u.as_str()).collect::<Vec<_>>(), ["http://x/b", "http://x/c"]);
        futures_ready(store.forget("alice", &[c.id]));
        assert!(store.admit_now("alice", at(4), true, &limits).is_ok(), "a finished session frees its slot");
        assert!(store.admit_now("alice", at(100), true, &limits).is_ok());
        let unlimited = SessionLimits { per_minute: 0, max_live: 0 };
        for _ in 0..100 {
            store.admit_now("carol", at(5), true, &unlimited).unwrap();
        }
    }

    #[test]
    fn only_what_a_limit_reads_is_kept() {
        let store = MemoryLimitStore::default();
        let held = |user: &str| {
            let guard = store.users.lock().unwrap();
            guard.1.get(user).map(|c| (c.created.len(), c.live.len()))
        };
        let unlimited = SessionLimits { per_minute: 0, max_live: 0 };
        for _ in 0..1000 {
            let a = store.admit_now("carol", at(5), true, &unlimited).unwrap();
            store.settle_now(&a, Some((at(500), "http://x/c".into())));
        }
        assert_eq!(held("carol"), None, "no limit: nothing kept");
        let rate_only = SessionLimits { per_minute: 1000, max_live: 0 };
        let live_only = SessionLimits { per_minute: 0, max_live: 1000 };
        for _ in 0..10 {
            store.admit_now("dave", at(5), true, &rate_only).unwrap();
            store.admit_now("erin", at(5), true, &live_only).unwrap();
        }
        assert_eq!((held("dave"), held("erin")), (Some((10, 0)), Some((0, 10))));
    }

    #[test]
    fn settling_finds_its_own_entry_among_many() {
        let store = MemoryLimitStore::default();
        let limits = SessionLimits { per_minute: 0, max_live: 100 };
        let all: Vec<Admission> = (0..50).map(|_| store.admit_now("alice", at(0), true, &limits).unwrap()).collect();
        for a in all.iter().step_by(2) {
            store.settle_now(a, None);
        }
        for (i, a) in all.iter().enumerate().skip(1).step_by(2) {
            store.settle_now(a, Some((at(100), format!("http://x/{i}"))));
        }
        let live = futures_ready(store.live_sessions("alice", at(1)));
        let want: Vec<(u64, String)> =
            all.iter().enumerate().skip(1).step_by(2).map(|(i, a)| (a.id, format!("http://x/{i}"))).collect();
        assert_eq!(live, want);
    }
}
