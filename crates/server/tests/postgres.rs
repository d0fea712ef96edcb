//! Several server processes sharing one OneDrive account through PostgreSQL: the real binary twice,
//! in Microsoft mode, with one emulator as identity platform and Graph, over loopback. Needs
//! `ODU_TEST_DATABASE_URL` (scripts/with-postgres.sh starts a throw-away cluster and sets it; each
//! test creates its own database there).

mod live;

use std::time::{Duration, Instant};

use live::{Server, ADMIN, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};
use onedrive_emulator::{spawn, ClientRegistration, EmulatorConfig, RunningEmulator};
use onedrive_upload_server::lease::{Lease, PgLease};
use onedrive_upload_server::sealing::{Sealer, TokenKey};
use serde_json::Value;

/// The `--token-key` of the tests.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The emulator's access-token lifetime: the servers refresh at half of it.
const TOKEN_TTL: Duration = Duration::from_secs(16);

/// A fresh database in the throw-away cluster; answers its URL.
async fn fresh_database() -> String {
    let base = std::env::var("ODU_TEST_DATABASE_URL")
        .expect("ODU_TEST_DATABASE_URL is not set: run these tests through scripts/with-postgres.sh");
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = format!("odu_test_{}", hex::encode(rand::random::<[u8; 6]>()));
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// An emulator with fault injection (its `/_emulator/stats`) and short-lived access tokens.
async fn emulator(dir: &std::path::Path) -> RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = EmulatorConfig {
        data_dir: dir.join("emulator"),
        clients: vec![ClientRegistration {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
        }],
        fault_injection: true,
        access_token_ttl: TOKEN_TTL,
        ..EmulatorConfig::default()
    };
    spawn(config, listener).await.unwrap()
}

/// Refresh grants the emulator served.
async fn refresh_grants(emulator: &RunningEmulator) -> u64 {
    let stats: Value =
        reqwest::get(format!("{}/_emulator/stats", emulator.base_url)).await.unwrap().json().await.unwrap();
    stats["grants"]["refresh_token"].as_u64().unwrap()
}

/// The flags of one of the processes sharing `database`.
fn args(emulator: &RunningEmulator, dir: &std::path::Path, name: &str, database: &str) -> Vec<String> {
    let mut args = live::microsoft_args(&emulator.base_url, &dir.join(name));
    for extra in [
        "--database-url",
        database,
        "--token-key",
        KEY,
        "--admin-token",
        ADMIN,
        "--database-lock-timeout-secs",
        "8",
        "--sessions-per-minute",
        "0",
        "--max-live-sessions",
        "0",
    ] {
        args.push(extra.to_owned());
    }
    args
}

/// Connects the account through `a` (login started there) and `b`'s callback.
async fn connect_across(a: &Server, b: &Server) {
    let login = a.http.get(format!("{}/auth/login", a.base)).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(b.finish_login(login).await, 200, "the callback on B completes the login started on A");
    assert_eq!(b.health().await["account"], "connected");
}

/// Waits (10 s at most) until `server` reports the account `connected`.
async fn wait_connected(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.health().await["account"] != "connected" {
        assert!(Instant::now() < deadline, "never saw the account connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_item(server: &Server, id: &str) -> u16 {
    let url = format!("{}/api/cloud/file/{id}", server.base);
    server.http.get(url).bearer_auth(live::token("alice")).send().await.unwrap().status().as_u16()
}

/// Connected through A's login and B's callback; 400 requests over both at the access token's
/// expiry make exactly one refresh; no query per request while the token is valid; the tokens in
/// the database are sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_account_and_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path()).await;
    let database = fresh_database().await;
    let a = Server::start(&args(&emulator, dir.path(), "a", &database), false);
    let b = Server::start(&args(&emulator, dir.path(), "b", &database), false);
    connect_across(&a, &b).await;
    wait_connected(&a).await;
    let connected_at = Instant::now();
    let item = live::upload(&a, "alice", "shared.txt", b"one account, two servers").await;
    let id = item["id"].as_str().unwrap().to_owned();
    assert_eq!(get_item(&b, &id).await, 200);

    // While the token is valid: no database statement per request.
    let queries = |h: Value| h["database_queries"].as_u64().unwrap();
    let (qa, qb) = (queries(a.health().await), queries(b.health().await));
    for i in 0..10 {
        assert_eq!(get_item(&a, &id).await, 200);
        assert_eq!(get_item(&b, &id).await, 200);
        for server in [&a, &b] {
            let session = server
                .http
                .post(format!("{}/api/cloud/file", server.base))
                .bearer_auth(live::token("alice"))
                .json(&serde_json::json!({"filename": format!("s{i}.bin"), "size": 10}))
                .send()
                .await
                .unwrap();
            assert_eq!(session.status(), 200, "session request");
        }
    }
    assert_eq!(
        (queries(a.health().await), queries(b.health().await)),
        (qa, qb),
        "zero queries per request (limits off)"
    );

    // At the token's expiry (refreshed half-way through its life): 400 requests over both.
    assert_eq!(refresh_grants(&emulator).await, 0);
    tokio::time::sleep((TOKEN_TTL / 2 + Duration::from_millis(300)).saturating_sub(connected_at.elapsed())).await;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..400 {
        let (http, base, id) = (a.http.clone(), if i % 2 == 0 { &a.base } else { &b.base }.clone(), id.clone());
        requests.spawn(async move {
            let url = format!("{base}/api/cloud/file/{id}");
            http.get(url).bearer_auth(live::token("alice")).send().await.map(|r| r.status().as_u16())
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = requests.join_next().await {
        statuses.push(done.unwrap().unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 200), "every request served: {statuses:?}");
    assert_eq!(refresh_grants(&emulator).await, 1, "exactly one refresh grant for both processes");
    assert_eq!(a.health().await["status"], "ok");
    assert_eq!(b.health().await["status"], "ok");

    // The token row: sealed; the key opens it, another key does not.
    let (client, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let sealed: Vec<u8> = client.query_one("SELECT tokens FROM odu_account WHERE id = 1", &[]).await.unwrap().get(0);
    assert!(serde_json::from_slice::<Value>(&sealed).is_err(), "not readable as JSON");
    assert!(!sealed.windows(3).any(|w| w == b"M.C" || w == b"EwB"), "no token in clear");
    let sealer = Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]);
    let (plain, _) = sealer.open("odu-account-tokens", &sealed).unwrap();
    let tokens: Value = serde_json::from_slice(&plain).unwrap();
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("M.C"), "the key opens it");
    let other = TokenKey::parse("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    assert!(Sealer::new(other, vec![]).open("odu-account-tokens", &sealed).is_err(), "another key does not");
}

/// A process SIGKILLed while it holds the refresh lock loses it: the other refreshes and serves
/// well within the lock timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_killed_holding_the_refresh_lock_loses_it() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path()).await;
    let database = fresh_database().await;
    let slow = [("ODU_TEST_REFRESH_LOCK_DELAY_MS", "60000")];
    let a = Server::start_with_env(&args(&emulator, dir.path(), "a", &database), false, &slow);
    let b = Server::start(&args(&emulator, dir.path(), "b", &database), false);
    connect_across(&b, &b).await;
    wait_connected(&a).await;
    let connected_at = Instant::now();
    let item = live::upload(&b, "alice", "survivor.txt", b"still here").await;
    let id = item["id"].as_str().unwrap().to_owned();
    tokio::time::sleep((TOKEN_TTL / 2 + Duration::from_millis(300)).saturating_sub(connected_at.elapsed())).await;

    // A starts the refresh and stops inside the lock; then it is killed there.
    let from = a.log().len();
    let (http, url) = (a.http.clone(), format!("{}/api/cloud/file/{id}", a.base));
    let stuck = tokio::spawn(async move { http.get(url).bearer_auth(live::token("alice")).send().await });
    a.wait_log("test hook: holding the refresh lock", from).await;
    assert_eq!(refresh_grants(&emulator).await, 0, "A holds the lock but has not refreshed");
    let killed = std::process::Command::new("kill").args(["-KILL", &a.pid().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(stuck.await.unwrap().is_err(), "A's request dies with A");

    let started = Instant::now();
    assert_eq!(get_item(&b, &id).await, 200, "B refreshes and serves");
    assert!(started.elapsed() < Duration::from_secs(8), "within the lock timeout: {:?}", started.elapsed());
    assert_eq!(refresh_grants(&emulator).await, 1);
    assert_eq!(get_item(&b, &id).await, 200);
}

/// A lease asked once per period by two holders is granted once per period.
#[tokio::test]
async fn a_lease_is_granted_to_one_process_per_period() {
    use onedrive_upload_server::database::{Database, DatabaseSettings};
    let url = fresh_database().await;
    let settings = DatabaseSettings {
        url,
        sealer: Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]),
        lock_timeout: Duration::from_secs(5),
        pool_size: 2,
    };
    let (one, two) = tokio::join!(Database::connect(&settings), Database::connect(&settings));
    let (one, two) = (PgLease::new(std::sync::Arc::new(one.unwrap())), PgLease::new(std::sync::Arc::new(two.unwrap())));
    let period = Duration::from_millis(400);
    let mut granted = Vec::new();
    for _ in 0..5 {
        let (x, y) = tokio::join!(one.try_acquire("sweep", period), two.try_acquire("sweep", period));
        granted.push(u8::from(x.unwrap()) + u8::from(y.unwrap()));
        tokio::time::sleep(period + Duration::from_millis(50)).await;
    }
    assert_eq!(granted, [1, 1, 1, 1, 1], "one holder per period");
    assert!(one.try_acquire("other", period).await.unwrap(), "leases are named");
    assert!(!two.try_acquire("other", period).await.unwrap());
}

/// The per-user session counters in the database count for every process: rate, live sessions,
/// settling, finished sessions forgotten.
#[tokio::test]
async fn session_limits_are_shared_between_processes() {
    use onedrive_upload_server::database::{Database, DatabaseSettings};
    use onedrive_upload_server::limits::{Limit, LimitStore, SessionLimits};
    use onedrive_upload_server::limits_pg::PgLimitStore;
    use std::time::SystemTime;
    let settings = DatabaseSettings {
        url: fresh_database().await,
        sealer: Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]),
        lock_timeout: Duration::from_secs(5),
        pool_size: 2,
    };
    let one = PgLimitStore::new(std::sync::Arc::new(Database::connect(&settings).await.unwrap()));
    let two = PgLimitStore::new(std::sync::Arc::new(Database::connect(&settings).await.unwrap()));
    let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs);

    let rate = SessionLimits { per_minute: 2, max_live: 0 };
    one.admit("alice", at(0), false, &rate).await.unwrap();
    two.admit("alice", at(1), false, &rate).await.unwrap();
    let refused = one.admit("alice", at(10), false, &rate).await.unwrap_err();
    assert_eq!((refused.limit, refused.retry_after), (Limit::Rate, Duration::from_secs(50)));
    assert!(two.admit("bob", at(10), false, &rate).await.is_ok(), "per user");
    assert!(two.admit("alice", at(60), false, &rate).await.is_ok(), "the oldest left the window");

    let live = SessionLimits { per_minute: 0, max_live: 2 };
    let a = one.admit("carol", at(0), true, &live).await.unwrap();
    let b = two.admit("carol", at(0), true, &live).await.unwrap();
    assert_eq!(one.admit("carol", at(1), true, &live).await.unwrap_err().limit, Limit::Live);
    one.settle(&a, None).await;
    let c = two.admit("carol", at(2), true, &live).await.unwrap();
    one.settle(&b, Some((at(100), "http://x/b".into()))).await;
    two.settle(&c, Some((at(100_000), "http://x/c".into()))).await;
    assert_eq!(one.admit("carol", at(3), true, &live).await.unwrap_err().retry_after, Duration::from_secs(97));
    let sessions = two.live_sessions("carol", at(3)).await;
    assert_eq!(sessions.iter().map(|(_, u)| u.as_str()).collect::<Vec<_>>(), ["http://x/b", "http://x/c"]);
    one.forget("carol", &[c.id]).await;
    assert!(two.admit("carol", at(4), true, &live).await.is_ok(), "a finished session frees its slot");
}

/// With both limits off the store sends no statement.
#[tokio::test]
async fn no_limits_no_queries() {
    use onedrive_upload_server::database::{Database, DatabaseSettings};
    use onedrive_upload_server::limits::{LimitStore, SessionLimits};
    use onedrive_upload_server::limits_pg::PgLimitStore;
    let settings = DatabaseSettings {
        url: fresh_database().await,
        sealer: Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]),
        lock_timeout: Duration::from_secs(5),
        pool_size: 2,
    };
    let db = std::sync::Arc::new(Database::connect(&settings).await.unwrap());
    let store = PgLimitStore::new(db.clone());
    let before = db.queries();
    let off = SessionLimits { per_minute: 0, max_live: 0 };
    for _ in 0..10 {
        let admission = store.admit("alice", std::time::SystemTime::now(), true, &off).await.unwrap();
        store.settle(&admission, None).await;
    }
    assert_eq!(db.queries(), before);
    let on = SessionLimits { per_minute: 100, max_live: 100 };
    store.admit("alice", std::time::SystemTime::now(), true, &on).await.unwrap();
    assert!(db.queries() > before, "counted when a limit is on");
}

/// A refresh lock held elsewhere is waited for at most the lock timeout (then 503); dropping an
/// uncommitted lock frees it.
#[tokio::test]
async fn the_refresh_lock_wait_is_bounded() {
    use onedrive_upload_server::database::{Database, DatabaseSettings};
    use onedrive_upload_server::ApiError;
    let settings = DatabaseSettings {
        url: fresh_database().await,
        sealer: Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]),
        lock_timeout: Duration::from_secs(1),
        pool_size: 2,
    };
    let one = Database::connect(&settings).await.unwrap();
    let two = Database::connect(&settings).await.unwrap();
    let held = one.lock_account().await.unwrap();
    let started = Instant::now();
    let waited = two.lock_account().await;
    assert!(matches!(waited, Err(ApiError::Unavailable { .. })), "503 after the lock timeout");
    assert!(started.elapsed() >= Duration::from_millis(900) && started.elapsed() < Duration::from_secs(5));
    drop(held);
    let started = Instant::now();
    let again = two.lock_account().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(900), "a dropped lock is free at once");
    assert_eq!(again.row.status, "not_connected");
}

/// The connect URL one process logs works on another, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_code_logged_by_one_process_works_on_another_once() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path()).await;
    let database = fresh_database().await;
    let a = Server::start(&args(&emulator, dir.path(), "a", &database), false);
    let b = Server::start(&args(&emulator, dir.path(), "b", &database), false);
    let code = a.connect_code(0).await;
    let login = b.http.get(format!("{}/auth/login?connect={code}", b.base)).send().await.unwrap();
    assert_eq!(login.status(), 302, "B accepts the code A logged");
    let again = a.http.get(format!("{}/auth/login?connect={code}", a.base)).send().await.unwrap();
    assert_eq!(again.status(), 401, "single use across processes");
    assert_eq!(b.finish_login(login).await, 200);
    wait_connected(&a).await;
}

/// The schema is versioned: a database migrated by a newer server is refused.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    use onedrive_upload_server::database::{Database, DatabaseSettings, SCHEMA_VERSION};
    let settings = DatabaseSettings {
        url: fresh_database().await,
        sealer: Sealer::new(TokenKey::parse(KEY).unwrap(), vec![]),
        lock_timeout: Duration::from_secs(5),
        pool_size: 2,
    };
    drop(Database::connect(&settings).await.unwrap());
    let (client, connection) = tokio_postgres::connect(&settings.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let version: i32 = client.query_one("SELECT version FROM odu_schema_version", &[]).await.unwrap().get(0);
    assert_eq!(version, SCHEMA_VERSION);
    drop(Database::connect(&settings).await.unwrap());
    client.execute("UPDATE odu_schema_version SET version = version + 1", &[]).await.unwrap();
    let refused = Database::connect(&settings).await.unwrap_err();
    assert!(refused.contains("newer than this server"), "{refused}");
}

/// The temp-retention sweep runs where the lease is: while another holder keeps the
/// `temp-retention` lease, neither process removes an expired upload; once it is released, one
/// of them removes it, and only one logs the removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_temp_sweep_runs_on_the_lease_holder_only() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path()).await;
    let database = fresh_database().await;
    let with_sweep = |name: &str| {
        let mut args = args(&emulator, dir.path(), name, &database);
        args.extend(["--temp-retention".to_owned(), "2s".to_owned()]);
        args
    };
    let a = Server::start(&with_sweep("a"), false);
    let b = Server::start(&with_sweep("b"), false);
    connect_across(&a, &b).await;
    wait_connected(&a).await;

    // Someone else holds the lease for a long time.
    let (client, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let far = i64::MAX / 2;
    client
        .execute(
            "INSERT INTO odu_lease (name, holder, until_ms) VALUES ('temp-retention', 'elsewhere', $1)
             ON CONFLICT (name) DO UPDATE SET holder = 'elsewhere', until_ms = $1",
            &[&far],
        )
        .await
        .unwrap();
    let item = live::upload(&a, "alice", "left-in-temp.bin", b"never moved").await;
    let id = item["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(get_item(&a, &id).await, 200, "past its retention, but nobody here holds the lease");

    // Released: one of the two sweeps it within a few periods.
    client.execute("UPDATE odu_lease SET until_ms = 0 WHERE name = 'temp-retention'", &[]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while get_item(&b, &id).await != 404 {
        assert!(Instant::now() < deadline, "the expired upload was never swept");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let holder: String =
        client.query_one("SELECT holder FROM odu_lease WHERE name = 'temp-retention'", &[]).await.unwrap().get(0);
    assert_ne!(holder, "elsewhere", "a server took the lease over");
    let removals = |s: &Server| s.log().matches("temp retention: removed").count();
    assert_eq!(removals(&a) + removals(&b), 1, "removed once: {}\n{}", a.log(), b.log());
}
