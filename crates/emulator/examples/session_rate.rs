//! createUploadSession benchmark of the emulator alone, with the CPU it spends per request.
//!
//! `cargo run --profile service -p onedrive-emulator --example session_rate [-- LEVELS [LATENCY_MS [REQUESTS]]]`
//! (defaults `1,100,1000`, 0, 3000). The emulator runs on its own 2-worker runtime
//! (threads `emu-rt`) and the load generator on another (`client-rt`), so the CPU time
//! of each side is read per thread from `/proc/self/task` (Linux). Every level prints
//! p50/p99 latency, requests per second, and CPU microseconds per request: the emulator's
//! runtime, its SQLite thread, and the client. The data directory lives on `/dev/shm`
//! when there is one.

use onedrive_emulator::{spawn, EmulatorConfig, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use onedrive_upload_testkit::oauth::{self, ClientCredentials};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(name).enable_all().build()
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let levels: Vec<usize> =
        args.first().map_or("1,100,1000", String::as_str).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let latency = Duration::from_millis(args.get(1).map_or(Ok(0), |a| a.parse())?);
    let requests: usize = args.get(2).map_or(Ok(3000), |a| a.parse())?;
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }?;
    let (emu_rt, client_rt) = (runtime("emu-rt")?, runtime("client-rt")?);
    let config = EmulatorConfig { data_dir: dir.path().to_path_buf(), graph_latency: latency, ..Default::default() };
    let emu = emu_rt.block_on(async { spawn(config, tokio::net::TcpListener::bind("127.0.0.1:0").await?).await })?;
    let base = emu.base_url.clone();
    println!(
        "session_rate: createUploadSession on the emulator alone, L = {} ms, data dir {}",
        latency.as_millis(),
        dir.path().display()
    );
    client_rt.block_on(async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(usize::MAX).build()?;
        let token = login(&http, &base).await?;
        for n in levels {
            round(&http, &base, &token, n, "warm").await?;
            let rounds = requests.div_ceil(n.max(1));
            let cpu_before = thread_cpu();
            let started = Instant::now();
            let mut all = Vec::new();
            for r in 0..rounds {
                all.extend(round(&http, &base, &token, n, &format!("n{n}-r{r}")).await?);
            }
            let secs = started.elapsed().as_secs_f64();
            let cpu = cpu_delta(&cpu_before, &thread_cpu());
            all.sort();
            let count = all.len() as f64;
            let per = |prefix: &str| cpu.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum::<f64>() * 1e6 / count;
            println!(
                "N = {n:>4}  requests {:>5}  p50 {:>7.1} ms  p99 {:>7.1} ms  {:>6.0} req/s  CPU us/request: emulator {:>5.1} (+ sqlite thread {:>4.1}), client {:>5.1}",
                all.len(),
                percentile(&all, 0.50),
                percentile(&all, 0.99),
                count / secs,
                per("emu-rt"),
                per("emulator-sqlit"),
                per("client-rt"),
            );
        }
        Ok::<_, BoxError>(())
    })?;
    emu_rt.block_on(emu.shutdown());
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// N concurrent createUploadSession requests; their latencies.
async fn round(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    tag: &str,
) -> Result<Vec<Duration>, BoxError> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = format!("{base}/v1.0/me/drive/special/approot:/temp/rate/{tag}-{i}.bin:/createUploadSession");
        let (http, token) = (http.clone(), token.to_owned());
        tasks.spawn(async move {
            let started = Instant::now();
            let body = json!({"item": {"@microsoft.graph.conflictBehavior": "rename", "fileSize": 1_048_576}});
            let r = http.post(url).bearer_auth(token).json(&body).send().await?;
            if r.status() != 200 {
                return Err(format!("createUploadSession: {}", r.status()).into());
            }
            r.bytes().await?;
            Ok::<_, BoxError>(started.elapsed())
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(d) = tasks.join_next().await {
        out.push(d??);
    }
    Ok(out)
}

/// CPU seconds so far of every thread of this process, by `tid:name` (from schedstat,
/// nanoseconds on CPU; empty where `/proc` is missing).
fn thread_cpu() -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
        if let Some(ns) = ns {
            out.insert(format!("{}:{}", name.trim(), task.file_name().to_string_lossy()), ns / 1e9);
        }
    }
    out
}

/// CPU seconds spent between two snapshots, per thread name (threads started meanwhile count from 0).
fn cpu_delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> Vec<(String, f64)> {
    after.iter().map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0))).collect()
}

/// Signs in as the dev client; answers the access token.
async fn login(http: &reqwest::Client, base: &str) -> Result<String, BoxError> {
    let client = ClientCredentials { id: DEV_CLIENT_ID, secret: DEV_CLIENT_SECRET };
    Ok(oauth::login(http, base, client).await?.access)
}
