//! [`LimitStore`] in the shared PostgreSQL database: a row per session creation (user, created,
//! live until, sealed upload URL), so that every server process counts the same sessions. One
//! user's admissions are serialised by a transaction-scoped advisory lock on the user's name.
//! With both limits off nothing is counted and no query is sent.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::database::Database;
use crate::limits::{Admission, Limit, LimitFuture, LimitStore, Refused, SessionLimits, MAX_LIVE_SPAN, WINDOW};

/// What upload URLs are sealed for (associated data).
const PURPOSE: &str = "odu-upload-url";

/// The counters in PostgreSQL.
pub struct PgLimitStore {
    db: Arc<Database>,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whole seconds from `now_ms` to `later_ms`, at least 1.
fn secs_until(now_ms: i64, later_ms: i64) -> Duration {
    Duration::from_secs(((later_ms - now_ms).max(0) as u64).div_ceil(1000)).max(Duration::from_secs(1))
}

impl PgLimitStore {
    /// Counters in `db`.
    pub fn new(db: Arc<Database>) -> Self {
        PgLimitStore { db }
    }

    async fn admit_in_db(
        &self,
        user: &str,
        now: SystemTime,
        live: bool,
        limits: &SessionLimits,
    ) -> Result<Result<Admission, Refused>, tokio_postgres::Error> {
        let Ok(mut client) = self.db.client().await else { return Ok(Err(unavailable_refusal())) };
        let now_ms = ms(now);
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&user]).await?;
        tx.execute(
            "DELETE FROM odu_session WHERE user_id = $1 AND created_ms <= $2 AND (live_until_ms IS NULL OR live_until_ms <= $3)",
            &[&user, &(now_ms - WINDOW.as_millis() as i64), &now_ms],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT count(*) FILTER (WHERE created_ms > $2), min(created_ms) FILTER (WHERE created_ms > $2),
                        count(*) FILTER (WHERE live_until_ms > $3), min(live_until_ms) FILTER (WHERE live_until_ms > $3)
                 FROM odu_session WHERE user_id = $1",
                &[&user, &(now_ms - WINDOW.as_millis() as i64), &now_ms],
            )
            .await?;
        self.db.count(5);
        let (created, oldest, live_now, first_end): (i64, Option<i64>, i64, Option<i64>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if limits.per_minute > 0 && created >= i64::from(limits.per_minute) {
            return Ok(Err(Refused {
                limit: Limit::Rate,
                retry_after: secs_until(now_ms, oldest.unwrap_or(now_ms) + WINDOW.as_millis() as i64),
                message: format!("at most {} uploads may be started per minute", limits.per_minute),
            }));
        }
        if live && limits.max_live > 0 && live_now >= i64::from(limits.max_live) {
            return Ok(Err(Refused {
                limit: Limit::Live,
                retry_after: secs_until(now_ms, first_end.unwrap_or(now_ms)),
                message: format!("at most {} uploads may be in progress at once", limits.max_live),
            }));
        }
        let until = live.then(|| now_ms + MAX_LIVE_SPAN.as_millis() as i64);
        let row = tx
            .query_one(
                "INSERT INTO odu_session (user_id, created_ms, live_until_ms) VALUES ($1, $2, $3) RETURNING id",
                &[&user, &now_ms, &until],
            )
            .await?;
        tx.commit().await?;
        let id: i64 = row.get(0);
        Ok(Ok(Admission { user: user.to_owned(), id: id as u64 }))
    }
}

/// The answer while the database cannot count: refuse, briefly (failing open would lift the limits).
fn unavailable_refusal() -> Refused {
    Refused {
        limit: Limit::Rate,
        retry_after: Duration::from_secs(1),
        message: "the upload counters are unavailable right now; retry in a moment".into(),
    }
}

impl LimitStore for PgLimitStore {
    fn admit<'a>(
        &'a self,
        user: &'a str,
        now: SystemTime,
        live: bool,
        limits: &'a SessionLimits,
    ) -> LimitFuture<'a, Result<Admission, Refused>> {
        Box::pin(async move {
            if limits.per_minute == 0 && limits.max_live == 0 {
                // No limit to enforce: no row, no query (id 0 is never a row's).
                return Ok(Admission { user: user.to_owned(), id: 0 });
            }
            self.admit_in_db(user, now, live, limits).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "database: cannot count the user's sessions");
                Err(unavailable_refusal())
            })
        })
    }

    fn settle<'a>(&'a self, admission: &'a Admission, until: Option<(SystemTime, String)>) -> LimitFuture<'a, ()> {
        Box::pin(async move {
            if admission.id == 0 {
                return;
            }
            let Ok(client) = self.db.client().await else { return };
            self.db.count(1);
            let id = admission.id as i64;
            let result = match until {
                None => client.execute("UPDATE odu_session SET live_until_ms = NULL WHERE id = $1", &[&id]).await,
                Some((until, url)) => {
                    let sealed = self.db.sealer().seal(PURPOSE, url.as_bytes());
                    client
                        .execute(
                            "UPDATE odu_session SET live_until_ms = least(live_until_ms, $2), upload_url = $3
                             WHERE id = $1",
                            &[&id, &ms(until), &sealed],
                        )
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "database: cannot settle a session count");
            }
        })
    }

    fn live_sessions<'a>(&'a self, user: &'a str, now: SystemTime) -> LimitFuture<'a, Vec<(u64, String)>> {
        Box::pin(async move {
            let Ok(client) = self.db.client().await else { return Vec::new() };
            self.db.count(1);
            let rows = client
                .query(
                    "SELECT id, upload_url FROM odu_session
                     WHERE user_id = $1 AND live_until_ms > $2 AND upload_url IS NOT NULL ORDER BY id",
                    &[&user, &ms(now)],
                )
                .await
                .unwrap_or_default();
            rows.iter()
                .filter_map(|r| {
                    let (id, sealed): (i64, Vec<u8>) = (r.get(0), r.get(1));
                    let (url, _) = self.db.sealer().open(PURPOSE, &sealed).ok()?;
                    Some((id as u64, String::from_utf8(url).ok()?))
                })
                .collect()
        })
    }

    fn forget<'a>(&'a self, user: &'a str, ids: &'a [u64]) -> LimitFuture<'a, ()> {
        Box::pin(async move {
            if ids.is_empty() {
                return;
            }
            let Ok(client) = self.db.client().await else { return };
            self.db.count(1);
            let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
            if let Err(e) = client
                .execute(
                    "UPDATE odu_session SET live_until_ms = NULL WHERE user_id = $1 AND id = ANY($2)",
                    &[&user, &ids],
                )
                .await
            {
                tracing::error!(error = %e, "database: cannot forget finished sessions");
            }
        })
    }
}
