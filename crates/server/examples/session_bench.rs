//! Benchmark of session issuing: embedded emulator with Graph latency L, N concurrent `POST /api/cloud/file`.
//!
//! `cargo run --release -p onedrive-upload-server --example session_bench`
//! Prints p50/p99 latency and requests per second for L = 100 ms and 0 ms, N = 1, 100, 1000.
//! Target: p99 <= 1.5 x L at N = 1000 with L = 100 ms.
//! Each row is followed by a baseline row: the same requests sent straight to the emulator's
//! createUploadSession (with the account's token), i.e. what the server adds is the difference.

use std::time::{Duration, Instant};

use clap::Parser;
use onedrive_emulator::{spawn, EmulatorConfig};
use onedrive_upload_server::config::Config;
use onedrive_upload_server::embedded::connect_account;
use onedrive_upload_server::{app, AppState, UserId};

/// Rounds of N concurrent requests measured (after one warm-up round).
fn rounds(n: usize) -> usize {
    match n {
        1 => 100,
        100 => 10,
        _ => 3,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Where the requests go.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// `POST {server}/api/cloud/file`.
    Server(&'a str),
    /// `POST {emulator}/v1.0/me/drive/special/approot:/temp/bench/{name}:/createUploadSession`.
    Emulator(&'a str),
}

async fn round(client: &reqwest::Client, target: Target<'_>, token: &str, n: usize, tag: &str) -> Vec<Duration> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let name = format!("{tag}-{i}.bin");
        let (url, body) = match target {
            Target::Server(base) => {
                (format!("{base}/api/cloud/file"), serde_json::json!({"filename": name, "size": 1_048_576}))
            }
            Target::Emulator(base) => (
                format!("{base}/v1.0/me/drive/special/approot:/temp/direct/{name}:/createUploadSession"),
                serde_json::json!({"item": {"@microsoft.graph.conflictBehavior": "rename", "fileSize": 1_048_576}}),
            ),
        };
        let (client, token) = (client.clone(), token.to_owned());
        tasks.spawn(async move {
            let start = Instant::now();
            let response = client.post(url).bearer_auth(token).json(&body).send().await.expect("request");
            assert_eq!(response.status(), 200, "session creation failed");
            let _ = response.bytes().await;
            start.elapsed()
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(d) = tasks.join_next().await {
        out.push(d.expect("task"));
    }
    out
}

#[tokio::main]
async fn main() {
    println!("session_bench: POST /api/cloud/file through the server to the embedded emulator (loopback)");
    for latency_ms in [100u64, 0] {
        // The emulator stands in for Graph: keep its storage in memory when the system offers a
        // tmpfs, so that inode allocation for session part files does not dominate the figures.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir");
        let emulator_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let emulator = spawn(
            EmulatorConfig {
                data_dir: dir.path().join("emulator"),
                graph_latency: Duration::from_millis(latency_ms),
                ..Default::default()
            },
            emulator_listener,
        )
        .await
        .expect("emulator");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let local = listener.local_addr().expect("addr");
        let data_dir = dir.path().to_string_lossy().into_owned();
        // One bench user creates many sessions: the per-user session limits are off.
        let config = Config::parse_from([
            "session_bench",
            "--dev",
            "--listen",
            &local.to_string(),
            "--data-dir",
            &data_dir,
            "--sessions-per-minute",
            "0",
            "--max-live-sessions",
            "0",
        ]);
        let (options, authenticator) = config.build(Some(&emulator.base_url), local).expect("options");
        let issuer = options.dev_issuer.clone().expect("dev issuer");
        let state = AppState::new(options, authenticator).expect("state");
        connect_account(&state).await.expect("connect");
        let state_tokens = state.tokens().clone();
        let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
        let user_token = issuer.issue(&UserId::parse("bench").expect("user"), 3600);
        let graph_token = state_tokens.access_token().await.expect("graph token");
        let server_url = format!("http://{local}");
        for n in [1usize, 100, 1000] {
            for (label, target, token) in [
                ("server  ", Target::Server(&server_url), &user_token),
                ("emulator", Target::Emulator(&emulator.base_url), &graph_token),
            ] {
                let client = reqwest::Client::builder().pool_max_idle_per_host(n).build().expect("client");
                round(&client, target, token, n, &format!("warm-{n}")).await;
                let mut all = Vec::new();
                let start = Instant::now();
                for r in 0..rounds(n) {
                    all.extend(round(&client, target, token, n, &format!("L{latency_ms}-n{n}-r{r}")).await);
                }
                let elapsed = start.elapsed().as_secs_f64();
                all.sort();
                println!(
                    "{label} L = {latency_ms:>3} ms  N = {n:>4}  requests {:>5}  p50 {:>7.1} ms  p99 {:>7.1} ms  {:>7.0} req/s",
                    all.len(),
                    percentile(&all, 0.50),
                    percentile(&all, 0.99),
                    all.len() as f64 / elapsed
                );
            }
        }
        server.abort();
        emulator.shutdown().await;
    }
}
