//! The standalone emulator: `onedrive-emulator --listen 127.0.0.1:8001 --data ./.emulator-data`.

use clap::Parser;
use onedrive_emulator::{spawn, ClientRegistration, EmulatorConfig};
use std::path::PathBuf;
use std::time::Duration;

/// A local Microsoft Graph + identity platform for OneDrive uploads, on real disk storage.
#[derive(Debug, Parser)]
#[command(name = "onedrive-emulator", version, about)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ODU_EMULATOR_LISTEN", default_value = "127.0.0.1:8001")]
    listen: String,
    /// Data directory (SQLite metadata, blobs, upload parts); created if missing.
    #[arg(long, env = "ODU_EMULATOR_DATA", default_value = ".emulator-data")]
    data: PathBuf,
    /// App folder name: special/approot is /Apps/{app-name}.
    #[arg(long, default_value = "onedrive-upload")]
    app_name: String,
    /// Sliding upload-session lifetime in seconds (renewed by every accepted fragment).
    #[arg(long, default_value_t = 900)]
    session_ttl_secs: u64,
    /// Refuse non-final fragments that are not multiples of 327,680 bytes (as documented).
    #[arg(long)]
    strict_fragments: bool,
    /// Default to conflictBehavior `fail` as Microsoft documents (servers replace).
    #[arg(long)]
    doc_default_conflict_fail: bool,
    /// Serve the /_emulator fault-injection control API (tests only).
    #[arg(long)]
    fault_injection: bool,
    /// Fixed delay in milliseconds added to every Graph route (benchmarks).
    #[arg(long, default_value_t = 0)]
    graph_latency_ms: u64,
    /// Read upload bodies of all sessions together at most this many MB/s (10^6 bytes per second),
    /// like a real network (benchmarks); 0 = as fast as they come.
    #[arg(long, default_value_t = 0)]
    ingest_rate_mbps: u64,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    access_token_ttl_secs: u64,
    /// Register an OAuth client as id:secret:redirect_uri (repeatable; secret may be empty).
    /// The dev client (onedrive-upload-dev / dev-secret, any loopback redirect) is always registered.
    #[arg(long = "client", value_parser = ClientRegistration::parse)]
    clients: Vec<ClientRegistration>,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut clients = vec![ClientRegistration::dev()];
    clients.extend(cli.clients);
    let config = EmulatorConfig {
        data_dir: cli.data,
        app_name: cli.app_name,
        session_ttl: Duration::from_secs(cli.session_ttl_secs),
        strict_fragment_alignment: cli.strict_fragments,
        default_conflict_behavior_fail: cli.doc_default_conflict_fail,
        fault_injection: cli.fault_injection,
        graph_latency: Duration::from_millis(cli.graph_latency_ms),
        ingest_rate: (cli.ingest_rate_mbps > 0).then(|| cli.ingest_rate_mbps.saturating_mul(1_000_000)),
        access_token_ttl: Duration::from_secs(cli.access_token_ttl_secs),
        clients,
    };
    let listener = match tokio::net::TcpListener::bind(&cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", cli.listen);
            std::process::exit(1);
        }
    };
    let running = match spawn(config, listener).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on {}", running.base_url);
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
}
