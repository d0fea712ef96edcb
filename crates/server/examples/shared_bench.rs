//! Benchmark of server processes sharing one account through PostgreSQL: one vs two real
//! `onedrive-upload-server` processes (Microsoft mode, `--database-url`), an in-process emulator as
//! identity platform and Graph with latency L, N concurrent `POST /api/cloud/file` spread over the
//! processes. Prints p50/p99, sessions per second and the database statements per session request
//! (from `/healthz`'s `database_queries`: zero while the access token is valid and the per-user
//! limits are off).
//!
//! `scripts/with-postgres.sh cargo run --profile service -p onedrive-upload-server --example shared_bench --
//!  --server-bin target/service/onedrive-upload-server` (build the binary with the same profile first).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use onedrive_emulator::{spawn, ClientRegistration, EmulatorConfig};
use onedrive_upload_server::{JwtIssuer, UserId};

const CLIENT_ID: &str = "bench-app";
const CLIENT_SECRET: &str = "bench-app-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:1/getAToken";
const JWT_SECRET: &str = "shared-bench-jwt-secret-0123456789abcdef";
const ADMIN: &str = "shared-bench-admin-token-0123456789abcdef";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Flags of the benchmark.
#[derive(Parser)]
struct Args {
    /// The server binary to start (build it with the profile being measured).
    #[arg(long, default_value = "target/service/onedrive-upload-server")]
    server_bin: String,
    /// A PostgreSQL where the benchmark may create databases.
    #[arg(long, env = "ODU_TEST_DATABASE_URL")]
    database_url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Session requests measured per row (after a warm-up round of `concurrency`).
    #[arg(long, default_value_t = 3000)]
    requests: usize,
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &str, emulator: &str, database: &str, limits: bool, dir: &std::path::Path) -> Server {
    let limit = if limits { "1000000" } else { "0" };
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--redirect-uri", REDIRECT_URI])
        .args(["--login-url", emulator, "--graph-url", &format!("{emulator}/v1.0")])
        .args(["--jwt-secret", JWT_SECRET, "--admin-token", ADMIN])
        .args(["--database-url", database, "--token-key", KEY, "--database-pool-size", "16"])
        .args(["--sessions-per-minute", limit, "--max-live-sessions", limit])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary (--server-bin)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
    let base = line.trim().strip_prefix("listening on ").expect("listening on").to_owned();
    Server { child, base }
}

/// The operator's login on `server` with the admin token, through the emulator and back.
async fn connect(http: &reqwest::Client, server: &Server) {
    let login = http.get(format!("{}/auth/login", server.base)).bearer_auth(ADMIN).send().await.expect("login");
    assert_eq!(login.status(), 302, "login");
    let cookie = login.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("c").to_owned();
    let authorize = login.headers()["location"].to_str().expect("location").to_owned();
    let back = http.get(authorize).send().await.expect("authorize");
    let back = url::Url::parse(back.headers()["location"].to_str().expect("location")).expect("url");
    let callback = format!("{}{}?{}", server.base, back.path(), back.query().expect("query"));
    let done = http.get(callback).header("cookie", cookie).send().await.expect("callback");
    assert_eq!(done.status(), 200, "callback");
}

async fn health(http: &reqwest::Client, server: &Server) -> serde_json::Value {
    http.get(format!("{}/healthz", server.base)).send().await.expect("healthz").json().await.expect("json")
}

async fn fresh_database(base: &str) -> String {
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.expect("database");
    tokio::spawn(connection);
    let name = format!("odu_bench_{}", hex::encode(rand::random::<[u8; 6]>()));
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let mut url = url::Url::parse(base).expect("url");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// `requests` session requests from `concurrency` clients, round-robin over `bases`.
async fn load(
    http: &reqwest::Client,
    bases: &[String],
    token: &str,
    concurrency: usize,
    requests: usize,
    tag: &str,
) -> (Vec<Duration>, f64) {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (http, bases, token, tag) = (http.clone(), bases.to_vec(), token.to_owned(), tag.to_owned());
        let share = requests / concurrency + usize::from(worker < requests % concurrency);
        tasks.spawn(async move {
            let mut out = Vec::with_capacity(share);
            for i in 0..share {
                let base = &bases[(worker + i) % bases.len()];
                let body = serde_json::json!({"filename": format!("{tag}-{worker}-{i}.bin"), "size": 1_048_576});
                let t = Instant::now();
                let response = http.post(format!("{base}/api/cloud/file")).bearer_auth(&token).json(&body).send().await;
                let response = response.expect("request");
                assert_eq!(response.status(), 200, "session creation failed");
                let _ = response.bytes().await;
                out.push(t.elapsed());
            }
            out
        });
    }
    let mut all = Vec::with_capacity(requests);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("worker"));
    }
    all.sort();
    (all, start.elapsed().as_secs_f64())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("client");
    let token = JwtIssuer::hs256(JWT_SECRET.as_bytes()).issue(&UserId::parse("bench").expect("user"), 3600);
    println!(
        "shared_bench: POST /api/cloud/file, {} clients, {} requests per row, server processes sharing PostgreSQL",
        args.concurrency, args.requests
    );
    for latency_ms in [0u64, 100] {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let emulator = spawn(
            EmulatorConfig {
                data_dir: dir.path().join("emulator"),
                graph_latency: Duration::from_millis(latency_ms),
                clients: vec![ClientRegistration {
                    client_id: CLIENT_ID.into(),
                    client_secret: CLIENT_SECRET.into(),
                    redirect_uris: vec![REDIRECT_URI.into()],
                }],
                ..Default::default()
            },
            listener,
        )
        .await
        .expect("emulator");
        let rows: &[(usize, bool)] =
            if latency_ms == 0 { &[(1, false), (2, false), (2, true)] } else { &[(1, false), (2, false)] };
        for &(processes, limits) in rows {
            let database = fresh_database(&args.database_url).await;
            let servers: Vec<Server> = (0..processes)
                .map(|i| {
                    start(&args.server_bin, &emulator.base_url, &database, limits, &dir.path().join(format!("s{i}")))
                })
                .collect();
            connect(&http, &servers[0]).await;
            for server in &servers {
                while health(&http, server).await["account"] != "connected" {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
            let tag = format!("L{latency_ms}-p{processes}-{limits}");
            load(&http, &bases, &token, args.concurrency, args.concurrency, &format!("warm-{tag}")).await;
            let mut queries = 0;
            for server in &servers {
                queries += health(&http, server).await["database_queries"].as_u64().expect("queries");
            }
            let (latencies, elapsed) = load(&http, &bases, &token, args.concurrency, args.requests, &tag).await;
            let mut after = 0;
            for server in &servers {
                after += health(&http, server).await["database_queries"].as_u64().expect("queries");
            }
            println!(
                "L = {latency_ms:>3} ms  processes {processes}  limits {:<3}  requests {:>5}  p50 {:>7.1} ms  p99 {:>7.1} ms  {:>6.0} sessions/s  {:.2} queries/request",
                if limits { "on" } else { "off" },
                latencies.len(),
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                latencies.len() as f64 / elapsed,
                (after - queries) as f64 / latencies.len() as f64,
            );
        }
        emulator.shutdown().await;
    }
}
