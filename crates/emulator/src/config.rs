//! The emulator's configuration: one struct, every field documented, sensible dev defaults.

use std::path::PathBuf;
use std::time::Duration;

/// The built-in development client's id and secret (see [`ClientRegistration::dev`]), defined in core.
pub use onedrive_upload_core::dev_client::{DEV_CLIENT_ID, DEV_CLIENT_SECRET};

/// Everything the emulator can be told at start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Directory holding `emulator.sqlite3` (metadata), `blobs/` (file contents) and
    /// `sessions/` (bytes of upload sessions in progress). Created if missing.
    pub data_dir: PathBuf,
    /// Application name: the app folder (`special/approot`) is `/Apps/{app_name}`.
    pub app_name: String,
    /// Sliding lifetime of an upload session: set at creation, renewed by every accepted fragment.
    pub session_ttl: Duration,
    /// Refuse (400) a non-final fragment whose length is not a multiple of 327,680 bytes, and
    /// (413) a fragment of exactly 60 MiB, as Microsoft documents. Off by default: the servers
    /// accept the former, Microsoft's SDKs send the latter.
    pub strict_fragment_alignment: bool,
    /// Use `fail` when a createUploadSession names no conflict behaviour, as Microsoft's docs
    /// say. Off by default: the servers replace the existing file.
    pub default_conflict_behavior_fail: bool,
    /// Serve the `/_emulator` fault-injection control API (tests only).
    pub fault_injection: bool,
    /// Fixed delay added to every Graph route (`/v1.0/...`), for benchmarks.
    pub graph_latency: Duration,
    /// Upload bodies (fragment PUTs, simple uploads) of all sessions together are read at most
    /// this many bytes per second: a real network's rate instead of loopback speed. Benchmarks
    /// only; `None` (the default) reads as fast as they come.
    pub ingest_rate: Option<u64>,
    /// Lifetime of the access tokens the token endpoint issues.
    pub access_token_ttl: Duration,
    /// Registered OAuth clients. Defaults to the dev client only.
    pub clients: Vec<ClientRegistration>,
    /// Serve HTTPS instead of plain HTTP, with this certificate. `None`: plain HTTP.
    pub tls: Option<TlsSource>,
    /// Base of the upload, download and sharing URLs the emulator hands out
    /// (`https://127.0.0.2:8001`), without a trailing slash. `None`: the content listener's
    /// address when there is one (see [`crate::spawn_with`]), else the `Host` the request came to.
    pub public_url: Option<String>,
}

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// A development CA generated into `{data_dir}/tls/ca.pem` on first start (and reused),
    /// and a server certificate it signs at every start for loopback and the hosts in use.
    Generated,
    /// A PEM certificate chain and a PEM private key.
    Files {
        /// The certificate chain, server certificate first.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            data_dir: PathBuf::from(".emulator-data"),
            app_name: "onedrive-upload".to_owned(),
            session_ttl: Duration::from_secs(15 * 60),
            strict_fragment_alignment: false,
            default_conflict_behavior_fail: false,
            fault_injection: false,
            graph_latency: Duration::ZERO,
            ingest_rate: None,
            access_token_ttl: Duration::from_secs(3600),
            clients: vec![ClientRegistration::dev()],
            tls: None,
            public_url: None,
        }
    }
}

/// An application registered with the emulated identity platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`; empty for a public client (then none is asked for).
    pub client_secret: String,
    /// Accepted `redirect_uri`s. An entry whose port is `*` (`http://127.0.0.1:*/`) accepts any
    /// port and any path under the entry's path; other entries must match exactly.
    pub redirect_uris: Vec<String>,
}

impl ClientRegistration {
    /// The development client: id `onedrive-upload-dev`, secret `dev-secret`, and any
    /// `http://127.0.0.1:{port}/...` or `http://localhost:{port}/...` redirect URI.
    pub fn dev() -> Self {
        ClientRegistration {
            client_id: DEV_CLIENT_ID.to_owned(),
            client_secret: DEV_CLIENT_SECRET.to_owned(),
            redirect_uris: vec!["http://127.0.0.1:*/".to_owned(), "http://localhost:*/".to_owned()],
        }
    }

    /// Parses the CLI form `id:secret:redirect` (the redirect URI may itself contain colons).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.splitn(3, ':');
        let (Some(id), Some(secret), Some(redirect)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("expected id:secret:redirect_uri, got {spec:?}"));
        };
        if id.is_empty() || redirect.is_empty() {
            return Err(format!("client id and redirect URI must not be empty in {spec:?}"));
        }
        Ok(ClientRegistration {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
            redirect_uris: vec![redirect.to_owned()],
        })
    }

    /// Whether `uri` is one of this client's redirect URIs.
    pub fn accepts_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|pattern| redirect_matches(pattern, uri))
    }
}

fn redirect_matches(pattern: &str, uri: &str) -> bool {
    if !pattern.contains(":*") {
        return pattern == uri;
    }
    let (Ok(p), Ok(u)) = (url::Url::parse(&pattern.replace(":*", "")), url::Url::parse(uri)) else {
        return false;
    };
    p.scheme() == u.scheme()
        && p.host_str() == u.host_str()
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none()
        && u.path().starts_with(p.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_client_accepts_loopback_any_port() {
        let dev = ClientRegistration::dev();
        assert!(dev.accepts_redirect("http://127.0.0.1:8080/getAToken"));
        assert!(dev.accepts_redirect("http://localhost:1/"));
        assert!(!dev.accepts_redirect("https://127.0.0.1:8080/getAToken"));
        assert!(!dev.accepts_redirect("http://evil.example/getAToken"));
        assert!(!dev.accepts_redirect("http://127.0.0.1.evil.example:80/"));
        assert!(!dev.accepts_redirect("http://user@127.0.0.1:80/"));
        assert!(!dev.accepts_redirect("not a url"));
    }

    #[test]
    fn exact_redirects_and_cli_parse() {
        let c = ClientRegistration::parse("app:s3cret:https://site.example/cb").unwrap();
        assert_eq!(c.client_secret, "s3cret");
        assert!(c.accepts_redirect("https://site.example/cb"));
        assert!(!c.accepts_redirect("https://site.example/cb2"));
        assert!(ClientRegistration::parse("app:secret").is_err());
        assert!(ClientRegistration::parse(":s:https://x").is_err());
        let public = ClientRegistration::parse("spa::http://localhost:3000/").unwrap();
        assert!(public.client_secret.is_empty());
    }
}
