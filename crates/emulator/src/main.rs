//! The standalone emulator: `onedrive-emulator --listen 127.0.0.1:8001 --data ./.emulator-data`
//! (add `--tls` for HTTPS, with upload and download URLs on `127.0.0.2`).

use clap::Parser;
use onedrive_emulator::{spawn_with, ClientRegistration, EmulatorConfig, TlsSource};
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
    /// Refuse non-final fragments that are not multiples of 327,680 bytes, and fragments of
    /// exactly 60 MiB ("less than 60 MiB"), as documented.
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
    /// Serve HTTPS with a development CA generated into {data}/tls/ca.pem on first start (reused
    /// afterwards; trust it with NODE_EXTRA_CA_CERTS, curl --cacert, ...).
    #[arg(long, env = "ODU_EMULATOR_TLS", conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Address of the content host: upload, download and sharing URLs point there, on another
    /// host name than the API as with OneDrive (so clients do not send their token to them).
    /// Default: 127.0.0.2 and --listen's port when --listen is on 127.0.0.1; `off`: the API's
    /// own address.
    #[arg(long, env = "ODU_EMULATOR_CONTENT_LISTEN")]
    content_listen: Option<String>,
    /// Base of the upload, download and sharing URLs handed out (behind a proxy, say);
    /// default: the content host's address.
    #[arg(long, env = "ODU_EMULATOR_PUBLIC_URL")]
    public_url: Option<String>,
}

/// The content host's address: given, `off`, or 127.0.0.2 next to a 127.0.0.1 API.
fn content_address(given: Option<&str>, api: std::net::SocketAddr) -> Option<String> {
    match given {
        Some("off") => None,
        Some(addr) => Some(addr.to_owned()),
        None if api.ip() == std::net::Ipv4Addr::LOCALHOST => Some(format!("127.0.0.2:{}", api.port())),
        None => None,
    }
}

fn fail(message: String) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let content_listen = cli.content_listen.clone();
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
        tls: match (cli.tls, &cli.tls_cert, &cli.tls_key) {
            (_, Some(cert), Some(key)) => Some(TlsSource::Files { cert: cert.clone(), key: key.clone() }),
            (true, _, _) => Some(TlsSource::Generated),
            _ => None,
        },
        public_url: cli.public_url.clone(),
    };
    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", cli.listen)));
    let api = listener.local_addr().unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", cli.listen)));
    let content = match content_address(content_listen.as_deref(), api) {
        None => None,
        Some(addr) => Some(
            tokio::net::TcpListener::bind(&addr)
                .await
                .unwrap_or_else(|e| fail(format!("cannot listen on {addr} (content host; --content-listen): {e}"))),
        ),
    };
    let running = spawn_with(config, listener, content).await.unwrap_or_else(|e| fail(format!("cannot start: {e}")));
    println!("listening on {}", running.base_url);
    println!("upload and download URLs on {}", running.content_url);
    if let Some(ca) = &running.ca_cert {
        println!("CA certificate: {}", ca.display());
    }
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
}
