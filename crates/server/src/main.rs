//! The `onedrive-upload-server` binary: flags -> embedded emulator or Microsoft -> serve until Ctrl-C / SIGTERM.

use std::io::Write;

use clap::Parser;
use onedrive_upload_server::config::Config;
use onedrive_upload_server::{app, database, embedded, oauth, AppState, Mode};
use tracing_subscriber::EnvFilter;

/// mimalloc's per-thread heaps: the system allocator's arena lock was a tenth of the server's CPU
/// under load (BENCHMARKS.md, "Server CPU").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    // Logs go to stderr; stdout carries only the `listening on` line.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::parse();
    if let Err(e) = run(config).await {
        tracing::error!("{e}");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), String> {
    config.validate()?;
    onedrive_upload_server::tokens::create_private_dir(&config.data_dir)
        .await
        .map_err(|e| format!("cannot create the data directory {}: {e}", config.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let (emulator, client) = match config.mode() {
        Mode::Embedded => {
            // The server registers itself at its emulator, with this very server's callback URL.
            let client = embedded::own_client(&format!("http://127.0.0.1:{}{}", local.port(), config.callback_path()));
            (Some(embedded::spawn_emulator(&config, client.clone()).await?), Some(client))
        }
        Mode::Microsoft => (None, None),
    };
    let emulator_url = emulator.as_ref().map(|e| e.base_url.clone());
    let (mut options, authenticator) = config.build(emulator_url.as_deref(), local)?;
    if let Some(client) = client {
        options.oauth.client_id = client.client_id;
        options.oauth.client_secret = Some(client.client_secret);
    }
    let (state, sync) = match config.database.settings()? {
        Some(settings) => {
            let db = std::sync::Arc::new(database::Database::connect(&settings).await?);
            let state = AppState::with_database(options, authenticator, db)?;
            state.tokens().sync().await.map_err(|e| format!("cannot read the account from the database: {e}"))?;
            tracing::info!(account = state.tokens().status().as_str(), "sharing the account through the database");
            let sync = state.tokens().spawn_sync();
            (state, Some(sync))
        }
        None => (AppState::new(options, authenticator)?, None),
    };
    if emulator.is_some() {
        embedded::connect_account(&state)
            .await
            .map_err(|e| format!("could not connect to the embedded emulator: {e}"))?;
        tracing::info!(emulator = emulator_url.as_deref().unwrap_or(""), "embedded OneDrive emulator connected");
    }
    // While the account is not connected, the log carries a one-time connect URL for the operator.
    oauth::announce_connect_url(&state).await;
    let announcer = oauth::spawn_connect_announcer(state.clone());
    let sweeper = onedrive_upload_server::sweep::spawn(state.clone(), state.options().temp_retention);
    let router = app(state);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())?;
    announcer.abort();
    if let Some(sync) = sync {
        sync.abort();
    }
    tracing::info!("shutting down");
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }

    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
