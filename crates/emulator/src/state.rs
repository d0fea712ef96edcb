//! The shared state behind every route: configuration, database, blob directories, live
//! upload sessions, faults and the keys that sign download URLs. Opening it also recovers
//! the sessions of a previous run.

use crate::config::EmulatorConfig;
use crate::error::EmulatorError;
use crate::faults::Faults;
use crate::store::blobs::Blobs;
use crate::store::sessions::{self, SessionState};
use crate::store::{db, items, Db};
use crate::upload::live::LiveSession;
use crate::upload::rate::IngestRate;
use crate::util::{now_ms, random_token};
use onedrive_upload_core::QuickXorHash;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    db: Db,
    blobs: Blobs,
    sessions: RwLock<HashMap<String, Arc<LiveSession>>>,
    faults: Faults,
    drive_id: String,
    root_id: String,
    url_key: Vec<u8>,
    access_tokens: Mutex<HashMap<String, i64>>,
    /// Token grants served: (authorization_code, refresh_token).
    grants: (AtomicU64, AtomicU64),
    ingest_rate: Option<Arc<IngestRate>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("data_dir", &self.inner.config.data_dir).finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the data directory (creating it), and resumes the upload sessions left active
    /// by a previous run: their part files are cut back to the accepted bytes and hashed
    /// once (the only time the emulator re-reads uploaded bytes). Blocking: call it from
    /// a blocking context or before serving.
    pub fn open(config: EmulatorConfig) -> Result<AppState, EmulatorError> {
        crate::store::blobs::create_private_dir(&config.data_dir)?;
        let blobs = Blobs::open(&config.data_dir)?;
        let db = Db::open(&config.data_dir.join("emulator.sqlite3"))?;
        let now = now_ms();
        let (drive_id, root_id, url_key) = db.call_sync(|c| {
            let drive_id = db::meta_or_insert(c, "drive_id", || format!("b!{}", random_token(24)))?;
            let root_id = db::meta_or_insert(c, "root_id", crate::util::new_item_id)?;
            let url_key = db::meta_or_insert(c, "url_key", || random_token(32))?;
            if items::get(c, &root_id)?.is_none() {
                let root = items::ItemRow {
                    parent_id: None,
                    name: "root".into(),
                    id: root_id.clone(),
                    ..items::ItemRow::folder("", "", now)
                };
                items::insert(c, &root)?;
            }
            Ok((drive_id, root_id, url_key))
        })?;
        let rows = db.call_sync(|c| sessions::load_all(c))?;
        let mut live = HashMap::new();
        let mut keep = HashSet::new();
        for (info, mut progress) in rows {
            let mut hash = QuickXorHash::new();
            if progress.state == SessionState::Active {
                let resumed = if progress.expires_ms <= now {
                    Err(SessionState::Expired)
                } else {
                    blobs
                        .truncate_part(&info.id, progress.accepted)
                        .and_then(|()| blobs.hash_prefix(&info.id, progress.accepted))
                        .map_err(|e| {
                            tracing::warn!(session = %info.id, error = %e, "cannot resume upload session");
                            SessionState::Cancelled
                        })
                };
                match resumed {
                    Ok(h) => {
                        hash = h;
                        keep.insert(info.id.clone());
                    }
                    Err(state) => {
                        progress.state = state;
                        blobs.remove_part(&info.id);
                        db.call_sync(|c| sessions::update(c, &info.id, &progress))?;
                    }
                }
            }
            live.insert(info.id.clone(), Arc::new(LiveSession::new(info, progress, hash)));
        }
        blobs.remove_orphan_parts(&keep)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                db,
                blobs,
                sessions: RwLock::new(live),
                faults: Faults::default(),
                drive_id,
                root_id,
                url_key: url_key.into_bytes(),
                access_tokens: Mutex::new(HashMap::new()),
                grants: (AtomicU64::new(0), AtomicU64::new(0)),
                ingest_rate: config.ingest_rate.map(IngestRate::new),
                config,
            }),
        })
    }

    /// Counts a token grant that issued tokens (`refresh`: a refresh-token grant, else an authorization code).
    pub fn count_grant(&self, refresh: bool) {
        let counter = if refresh { &self.inner.grants.1 } else { &self.inner.grants.0 };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Token grants that issued tokens since start: (authorization codes, refresh tokens).
    pub fn grants(&self) -> (u64, u64) {
        (self.inner.grants.0.load(Ordering::Relaxed), self.inner.grants.1.load(Ordering::Relaxed))
    }

    /// The configuration.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// An upload body, read at the configured ingest rate (unchanged without one).
    pub fn rate_limited(&self, body: axum::body::Body) -> axum::body::Body {
        match &self.inner.ingest_rate {
            Some(rate) => rate.limit(body),
            None => body,
        }
    }

    /// The metadata database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The file stores.
    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// Injected faults.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The drive's id.
    pub fn drive_id(&self) -> &str {
        &self.inner.drive_id
    }

    /// The root folder's id.
    pub fn root_id(&self) -> &str {
        &self.inner.root_id
    }

    /// A live session by id.
    pub fn session(&self, id: &str) -> Option<Arc<LiveSession>> {
        self.inner.sessions.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Registers a new session.
    pub fn add_session(&self, session: LiveSession) -> Arc<LiveSession> {
        let session = Arc::new(session);
        self.inner.sessions.write().unwrap_or_else(|p| p.into_inner()).insert(session.info.id.clone(), session.clone());
        session
    }

    /// Every session, oldest first.
    pub fn all_sessions(&self) -> Vec<Arc<LiveSession>> {
        let mut all: Vec<_> = self.inner.sessions.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        all.sort_by(|a, b| (a.info.created_ms, &a.info.id).cmp(&(b.info.created_ms, &b.info.id)));
        all
    }

    /// Stores a session's progress in SQLite.
    pub async fn persist(&self, session: &LiveSession) -> Result<(), EmulatorError> {
        let id = session.info.id.clone();
        let progress = session.progress();
        self.db().call(move |c| sessions::update(c, &id, &progress)).await
    }

    /// Ends an active session (cancel or expiry): state changed, part file removed, persisted.
    /// False if it was not active.
    pub async fn end_session(&self, session: &LiveSession, state: SessionState) -> Result<bool, EmulatorError> {
        {
            let mut live = session.lock();
            if live.progress.state != SessionState::Active || live.committing {
                return Ok(false);
            }
            live.progress.state = state;
        }
        self.blobs().remove_part(&session.info.id);
        self.persist(session).await?;
        Ok(true)
    }

    /// Expires the session if its sliding expiry has passed.
    pub async fn expire_if_due(&self, session: &LiveSession) -> Result<(), EmulatorError> {
        let due = {
            let live = session.lock();
            live.progress.state == SessionState::Active && !live.committing && live.progress.expires_ms <= now_ms()
        };
        if due {
            self.end_session(session, SessionState::Expired).await?;
        }
        Ok(())
    }

    /// Expires every session whose time has come, and forgets (in memory; SQLite keeps
    /// them) sessions that ended more than an hour ago. Run periodically.
    pub async fn sweep(&self) -> Result<(), EmulatorError> {
        let now = now_ms();
        let due: Vec<_> = self
            .inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| {
                let live = s.lock();
                live.progress.state == SessionState::Active && !live.committing && live.progress.expires_ms <= now
            })
            .cloned()
            .collect();
        for session in due {
            self.expire_if_due(&session).await?;
        }
        let horizon = now_ms() - FORGET_ENDED_SESSIONS_MS;
        self.inner.sessions.write().unwrap_or_else(|p| p.into_inner()).retain(|_, s| {
            let live = s.lock();
            live.progress.state == SessionState::Active || live.committing || live.progress.expires_ms > horizon
        });
        Ok(())
    }

    /// Remembers an issued access token's expiry (by digest).
    pub fn cache_access_token(&self, digest: &str, expires_ms: i64) {
        self.inner.access_tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(digest.to_owned(), expires_ms);
    }

    /// A cached access token's expiry.
    pub fn cached_access_token(&self, digest: &str) -> Option<i64> {
        self.inner.access_tokens.lock().unwrap_or_else(|p| p.into_inner()).get(digest).copied()
    }

    /// Revokes every issued token of `kind`: revoked access tokens get Graph's 401
    /// `InvalidAuthenticationToken`, revoked refresh tokens the token endpoint's `invalid_grant`.
    pub async fn revoke_tokens(&self, kind: crate::store::tokens::TokenKind) -> Result<(), EmulatorError> {
        self.db().call(move |c| crate::store::tokens::revoke_all(c, kind)).await?;
        if kind == crate::store::tokens::TokenKind::Access {
            self.inner.access_tokens.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Ok(())
    }

    /// A short-lived, pre-authenticated download URL for an item.
    pub fn download_url(&self, base: &str, item_id: &str) -> String {
        let expires = now_ms() + DOWNLOAD_URL_TTL_MS;
        let payload = format!("{item_id}.{expires}");
        let sig = hex::encode(&crate::util::hmac_sha256(&self.inner.url_key, payload.as_bytes())[..20]);
        format!("{base}/download/{payload}.{sig}")
    }

    /// The item id a download token grants, if it is genuine and unexpired.
    pub fn verify_download(&self, token: &str) -> Option<String> {
        let (payload, sig) = token.rsplit_once('.')?;
        let (item_id, expires) = payload.split_once('.')?;
        let want = hex::encode(&crate::util::hmac_sha256(&self.inner.url_key, payload.as_bytes())[..20]);
        let genuine =
            want.len() == sig.len() && want.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        (genuine && expires.parse::<i64>().ok()? > now_ms()).then(|| item_id.to_owned())
    }
}

/// Ended sessions stay listed (and answer 404) in memory this long after their expiry.
const FORGET_ENDED_SESSIONS_MS: i64 = 3600 * 1000;

/// Lifetime of the URLs `GET .../content` redirects to.
pub const DOWNLOAD_URL_TTL_MS: i64 = 5 * 60 * 1000;
