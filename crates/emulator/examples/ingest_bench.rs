//! Ingest benchmark: one upload session, then four concurrent ones, on loopback.
//!
//! `cargo run --release -p onedrive-emulator --example ingest_bench [-- TOTAL_MIB FRAGMENT_MIB RUNS]`
//! (defaults 512, 10, 3). Prints the median MB/s (10^6 bytes per second) of each scenario:
//! "ingest" counts the fragments before the last one (bytes received, written and hashed),
//! "end to end" includes the last fragment's commit (fsync of the whole file). The data
//! directory is a temporary one under `$INGEST_BENCH_DIR` (default: the system temp dir),
//! e.g. `INGEST_BENCH_DIR=/dev/shm` to take the disk out of the measurement;
//! `INGEST_BENCH_SESSIONS=1,4` (the default) lists the concurrency levels to run.

use onedrive_emulator::{spawn, EmulatorConfig, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use onedrive_upload_testkit::oauth::{self, ClientCredentials};
use reqwest::header::CONTENT_RANGE;
use serde_json::{json, Value};
use std::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let total = args.first().copied().unwrap_or(512) << 20;
    let fragment = args.get(1).copied().unwrap_or(10) << 20;
    let runs = args.get(2).copied().unwrap_or(3).max(1);
    let dir = match std::env::var_os("INGEST_BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let emu = spawn(EmulatorConfig { data_dir: dir.path().to_path_buf(), ..Default::default() }, listener).await?;
    let http = oauth::http();
    let token = login(&http, &emu.base_url).await?;
    let chunk = bytes_of(fragment as usize);
    println!(
        "ingest_bench: {} MiB per upload in {} MiB fragments, {runs} runs, data dir {}",
        total >> 20,
        fragment >> 20,
        dir.path().display()
    );
    let hash_started = Instant::now();
    let mut hash = onedrive_upload_core::QuickXorHash::new();
    for _ in 0..(total / fragment).max(1) {
        hash.update(&chunk);
    }
    let hashed = (total / fragment).max(1) * fragment;
    println!(
        "QuickXorHash alone (same thread, no I/O): {:.0} MB/s",
        hashed as f64 / hash_started.elapsed().as_secs_f64() / 1e6
    );
    let scenarios: Vec<usize> = match std::env::var("INGEST_BENCH_SESSIONS") {
        Ok(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        Err(_) => vec![1, 4],
    };
    for sessions in scenarios {
        let (mut rates, mut ingest_rates) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let mut urls = Vec::new();
            for s in 0..sessions {
                urls.push(create(&http, &emu.base_url, &token, &format!("bench-{sessions}-{run}-{s}.bin")).await?);
            }
            let started = Instant::now();
            let tasks: Vec<_> = urls
                .into_iter()
                .map(|url| {
                    let (http, chunk) = (http.clone(), chunk.clone());
                    tokio::spawn(async move { upload(&http, &url, &chunk, total).await })
                })
                .collect();
            let mut ingest_secs = 0f64;
            for t in tasks {
                ingest_secs = ingest_secs.max(t.await??.as_secs_f64());
            }
            let secs = started.elapsed().as_secs_f64();
            let body = (total as f64 * sessions as f64) / 1e6;
            let ingest_body = (total.saturating_sub(fragment).max(1) as f64 * sessions as f64) / 1e6;
            let (rate, ingest_rate) = (body / secs, ingest_body / ingest_secs);
            println!("  {sessions} session(s), run {run}: ingest {ingest_rate:.0} MB/s, end to end {rate:.0} MB/s ({secs:.2} s)");
            rates.push(rate);
            ingest_rates.push(ingest_rate);
        }
        rates.sort_by(f64::total_cmp);
        ingest_rates.sort_by(f64::total_cmp);
        let mid = rates.len() / 2;
        println!(
            "{sessions} session(s): median ingest {:.0} MB/s, end to end {:.0} MB/s (aggregate)",
            ingest_rates[mid], rates[mid]
        );
    }
    emu.shutdown().await;
    Ok(())
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(onedrive_upload_testkit::pattern(n, 1))
}

/// Uploads the whole file; returns how long the fragments before the last one took.
async fn upload(
    http: &reqwest::Client,
    url: &str,
    chunk: &axum::body::Bytes,
    total: u64,
) -> Result<std::time::Duration, BoxError> {
    let started = Instant::now();
    let mut before_last = std::time::Duration::ZERO;
    let mut offset = 0u64;
    while offset < total {
        let len = (chunk.len() as u64).min(total - offset);
        let body = chunk.slice(..len as usize);
        let r = http
            .put(url)
            .header(CONTENT_RANGE, format!("bytes {offset}-{}/{total}", offset + len - 1))
            .body(body)
            .send()
            .await?;
        let last = offset + len == total;
        if last {
            before_last = started.elapsed();
        }
        let want = if last { 201 } else { 202 };
        if r.status().as_u16() != want {
            return Err(format!("PUT at {offset}: {}", r.status()).into());
        }
        r.bytes().await?;
        offset += len;
    }
    Ok(before_last)
}

async fn create(http: &reqwest::Client, base: &str, token: &str, name: &str) -> Result<String, BoxError> {
    let r = http
        .post(format!("{base}/v1.0/me/drive/special/approot:/bench/{name}:/createUploadSession"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await?;
    let v: Value = r.json().await?;
    Ok(v["uploadUrl"].as_str().ok_or("no uploadUrl")?.to_owned())
}

/// Signs in as the dev client; answers the access token.
async fn login(http: &reqwest::Client, base: &str) -> Result<String, BoxError> {
    let client = ClientCredentials { id: DEV_CLIENT_ID, secret: DEV_CLIENT_SECRET };
    Ok(oauth::login(http, base, client).await?.access)
}
