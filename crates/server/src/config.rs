//! Command-line flags and environment variables of `onedrive-upload-server` (clap), and what they turn into.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, ValueEnum};

use crate::limits::SessionLimits;
use crate::tokens::OAuthSettings;
use crate::users::{Authenticator, JwtAuthenticator, JwtIssuer};
use crate::{Mode, Options};

/// The embedded emulator's built-in client id and secret (defined in core, shared with the emulator).
pub use onedrive_upload_core::dev_client::{DEV_CLIENT_ID, DEV_CLIENT_SECRET};
/// Largest `--jwt-leeway-secs` accepted.
pub const MAX_JWT_LEEWAY_SECS: u64 = 300;
/// Feature folders used in `--dev` when none are configured.
pub const DEV_FOLDERS: &[&str] = &["salon-photos", "documents"];

/// Signature algorithm of the site's user JWTs when a public key is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ES256")]
    Es256,
}

/// Holds a OneDrive account's tokens, issues upload sessions to the site's users and organises their files.
///
/// With no Microsoft credentials it runs an embedded OneDrive emulator on its own loopback port and
/// connects to it by itself. With --client-id (and --redirect-uri) it talks to Microsoft Graph.
#[derive(Debug, Clone, Parser)]
#[command(name = "onedrive-upload-server", version)]
pub struct Config {
    /// Address to listen on (port 0 picks a free one); the line `listening on http://ADDR` is printed when ready.
    #[arg(long, env = "ODU_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Directory for the token file and the embedded emulator's storage.
    #[arg(long, env = "ODU_DATA_DIR", default_value = "./.data")]
    pub data_dir: PathBuf,
    /// Azure app (client) id; setting it switches from the embedded emulator to Microsoft.
    #[arg(long, env = "ODU_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Azure app client secret.
    #[arg(long, env = "ODU_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Redirect URI registered for the Azure app, e.g. https://example.com/getAToken (required with --client-id).
    #[arg(long, env = "ODU_REDIRECT_URI")]
    pub redirect_uri: Option<String>,
    /// Tenant: common, organizations, consumers or a tenant id.
    #[arg(long, env = "ODU_TENANT", default_value = "common")]
    pub tenant: String,
    /// Microsoft Graph base URL.
    #[arg(long, env = "ODU_GRAPH_URL", default_value = "https://graph.microsoft.com/v1.0")]
    pub graph_url: String,
    /// Identity platform base URL (the tenant and /oauth2/v2.0/... are appended).
    #[arg(long, env = "ODU_LOGIN_URL", default_value = "https://login.microsoftonline.com")]
    pub login_url: String,
    /// OAuth scopes, space-separated.
    #[arg(long, env = "ODU_SCOPES", default_value = "offline_access Files.ReadWrite.All")]
    pub scopes: String,
    /// Path of the OAuth callback route [default: the path of --redirect-uri, else /getAToken].
    #[arg(long, env = "ODU_CALLBACK_PATH")]
    pub callback_path: Option<String>,
    /// HS256 shared secret of the user JWTs issued by the site's main backend (random per start in --dev).
    #[arg(long, env = "ODU_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM file with the public key of the user JWTs (instead of --jwt-secret).
    #[arg(long, env = "ODU_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// Algorithm of --jwt-public-key.
    #[arg(long, env = "ODU_JWT_ALGORITHM", value_enum, default_value = "RS256")]
    pub jwt_algorithm: JwtAlgorithm,
    /// Required `iss` of user JWTs (not checked when unset).
    #[arg(long, env = "ODU_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` of user JWTs (not checked when unset).
    #[arg(long, env = "ODU_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated on the `exp` and `nbf` of user JWTs, in seconds (at most 300).
    #[arg(long, env = "ODU_JWT_LEEWAY_SECS", default_value_t = 5)]
    pub jwt_leeway_secs: u64,
    /// Secret an operator's automation sends as `Authorization: Bearer ...` to /auth/login and
    /// /auth/disconnect (at least 32 bytes). Without it, connecting needs the one-time connect URL
    /// the server logs, and switching accounts needs a restart without the token file.
    #[arg(long, env = "ODU_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Upload sessions one user may create per minute (429 beyond; 0: no limit).
    #[arg(long, env = "ODU_SESSIONS_PER_MINUTE", default_value_t = 60)]
    pub sessions_per_minute: u32,
    /// Upload sessions one user may have live at once (429 beyond; 0: no limit).
    #[arg(long, env = "ODU_MAX_LIVE_SESSIONS", default_value_t = 20)]
    pub max_live_sessions: u32,
    /// Demo mode: GET /dev/token?user=NAME and GET /dev/info, CORS for loopback origins. Loopback --listen only.
    #[arg(long, env = "ODU_DEV", value_parser = BoolishValueParser::new())]
    pub dev: bool,
    /// Feature folder files may be moved to (repeatable, or comma-separated in the env var)
    /// [default in --dev: salon-photos, documents].
    #[arg(long = "folder", env = "ODU_FOLDERS", value_delimiter = ',')]
    pub folders: Vec<String>,
    /// Largest file size accepted for an upload, in bytes (larger: 413).
    #[arg(long, env = "ODU_MAX_FILE_SIZE", default_value_t = 250 * 1024 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ODU_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Front-end origin allowed by CORS, e.g. https://example.com (repeatable, or comma-separated in the env var).
    #[arg(long = "allow-origin", env = "ODU_ALLOW_ORIGINS", value_delimiter = ',')]
    pub allow_origins: Vec<String>,
    /// Serve this directory (the demo page, www/) at /.
    #[arg(long, env = "ODU_WWW")]
    pub www: Option<PathBuf>,
    /// Serve this directory (wasm-pack's pkg/) at /pkg/.
    #[arg(long, env = "ODU_PKG")]
    pub pkg: Option<PathBuf>,
    /// Enable the embedded emulator's fault-injection control API (/_emulator/...).
    #[arg(long, env = "ODU_EMULATOR_FAULT_INJECTION", value_parser = BoolishValueParser::new())]
    pub emulator_fault_injection: bool,
    /// Latency added by the embedded emulator to every Graph call, in milliseconds (benchmarks).
    #[arg(long, env = "ODU_EMULATOR_LATENCY_MS", default_value_t = 0)]
    pub emulator_latency_ms: u64,
    /// The embedded emulator reads upload bodies of all sessions together at most this many MB/s
    /// (10^6 bytes per second), like a real network (benchmarks); 0 = as fast as they come.
    #[arg(long, env = "ODU_EMULATOR_INGEST_RATE_MBPS", default_value_t = 0)]
    pub emulator_ingest_rate_mbps: u64,
    /// Refresh the access token this many seconds before it expires.
    #[arg(long, env = "ODU_REFRESH_MARGIN_SECS", default_value_t = 300)]
    pub refresh_margin_secs: u64,
    /// Delete uploads never moved out of temp/ once older than this (`7d`, `12h`, `30m`, `90s`; `0` disables).
    #[arg(long, env = "ODU_TEMP_RETENTION", default_value = "7d", value_parser = parse_retention)]
    pub temp_retention: Duration,
    /// Several processes sharing one account through PostgreSQL.
    #[command(flatten)]
    pub database: crate::config_database::DatabaseArgs,
}

/// A `--temp-retention` value: `0`, or a whole number followed by `d`, `h`, `m` or `s`.
pub fn parse_retention(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("`{value}` is not a duration like 7d, 12h, 30m, 90s or 0");
    let split = value.len().checked_sub(1).filter(|&i| value.is_char_boundary(i)).ok_or_else(bad)?;
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => None,
    };
    secs.map(Duration::from_secs).ok_or_else(bad)
}

impl Config {
    /// Microsoft when a client id is configured, else the embedded emulator.
    pub fn mode(&self) -> Mode {
        if self.client_id.is_some() {
            Mode::Microsoft
        } else {
            Mode::Embedded
        }
    }

    /// Refuses contradictory or unsafe settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.dev && !self.listen.ip().is_loopback() {
            return Err(format!("--dev is only allowed on a loopback address, not {}", self.listen));
        }
        if self.mode() == Mode::Microsoft && self.redirect_uri.is_none() {
            return Err("--client-id needs --redirect-uri (the callback URL registered for the app)".into());
        }
        if self.mode() == Mode::Embedded && (self.client_secret.is_some() || self.redirect_uri.is_some()) {
            return Err("--client-secret/--redirect-uri need --client-id".into());
        }
        if self.jwt_secret.is_some() && self.jwt_public_key.is_some() {
            return Err("give either --jwt-secret or --jwt-public-key, not both".into());
        }
        if self.dev && self.jwt_public_key.is_some() {
            return Err("--dev issues HS256 tokens: use --jwt-secret (or nothing) instead of --jwt-public-key".into());
        }
        if !self.dev && self.jwt_secret.is_none() && self.jwt_public_key.is_none() {
            return Err(
                "users cannot be authenticated: give --jwt-secret or --jwt-public-key (or --dev for a demo)".into()
            );
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err("--jwt-secret must be at least 32 bytes".into());
        }
        if self.admin_token.as_ref().is_some_and(|s| s.len() < 32) {
            return Err("--admin-token must be at least 32 bytes".into());
        }
        if self.database.database_url.is_some() && self.mode() == Mode::Embedded {
            return Err("--database-url shares a Microsoft account between processes: it needs --client-id".into());
        }
        self.database.settings()?;
        if self.jwt_leeway_secs > MAX_JWT_LEEWAY_SECS {
            return Err(format!("--jwt-leeway-secs may be at most {MAX_JWT_LEEWAY_SECS}"));
        }
        Ok(())
    }

    /// The callback route's path.
    pub fn callback_path(&self) -> String {
        if let Some(p) = &self.callback_path {
            return p.clone();
        }
        self.redirect_uri
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.path().to_owned())
            .filter(|p| p.len() > 1)
            .unwrap_or_else(|| "/getAToken".into())
    }

    /// The feature folders (the dev defaults when none are configured in --dev).
    pub fn folders(&self) -> Vec<String> {
        if self.folders.is_empty() && self.dev {
            DEV_FOLDERS.iter().map(|s| s.to_string()).collect()
        } else {
            self.folders.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
        }
    }

    /// The user authenticator, and in --dev the issuer of `/dev/token` (same secret).
    pub fn authenticator(&self) -> Result<(Arc<dyn Authenticator>, Option<JwtIssuer>), String> {
        let mut auth = if let Some(path) = &self.jwt_public_key {
            let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let alg = match self.jwt_algorithm {
                JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
                JwtAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            };
            JwtAuthenticator::from_pem(alg, &pem)?
        } else {
            let secret = match &self.jwt_secret {
                Some(s) => s.as_bytes().to_vec(),
                None => rand::random::<[u8; 32]>().to_vec(),
            };
            let auth = JwtAuthenticator::hs256(&secret);
            if self.dev {
                let auth = self.with_claims(auth);
                return Ok((Arc::new(auth), Some(JwtIssuer::hs256(&secret))));
            }
            auth
        };
        auth = self.with_claims(auth);
        Ok((Arc::new(auth), None))
    }

    fn with_claims(&self, mut auth: JwtAuthenticator) -> JwtAuthenticator {
        auth = auth.with_leeway(self.jwt_leeway_secs);
        if let Some(iss) = &self.jwt_issuer {
            auth = auth.with_issuer(iss);
        }
        if let Some(aud) = &self.jwt_audience {
            auth = auth.with_audience(aud);
        }
        auth
    }

    /// The OAuth settings: Microsoft's, or the emulator's dev client with a loopback redirect to `local`.
    pub fn oauth(&self, emulator_url: Option<&str>, local: SocketAddr) -> OAuthSettings {
        let scopes = self.scopes.split_whitespace().map(str::to_owned).collect();
        match (self.mode(), emulator_url) {
            (Mode::Embedded, Some(base)) => OAuthSettings {
                client_id: DEV_CLIENT_ID.into(),
                client_secret: Some(DEV_CLIENT_SECRET.into()),
                authorize_url: format!("{base}/common/oauth2/v2.0/authorize"),
                token_url: format!("{base}/common/oauth2/v2.0/token"),
                redirect_uri: format!("http://127.0.0.1:{}{}", local.port(), self.callback_path()),
                scopes,
            },
            _ => {
                let login = format!("{}/{}/oauth2/v2.0", self.login_url.trim_end_matches('/'), self.tenant);
                OAuthSettings {
                    client_id: self.client_id.clone().unwrap_or_default(),
                    client_secret: self.client_secret.clone(),
                    authorize_url: format!("{login}/authorize"),
                    token_url: format!("{login}/token"),
                    redirect_uri: self.redirect_uri.clone().unwrap_or_default(),
                    scopes,
                }
            }
        }
    }

    /// The library options and the authenticator for a server bound to `local` (with the emulator at
    /// `emulator_url` in embedded mode). The dev issuer and the authenticator share one secret.
    pub fn build(
        &self,
        emulator_url: Option<&str>,
        local: SocketAddr,
    ) -> Result<(Options, Arc<dyn Authenticator>), String> {
        let (authenticator, dev_issuer) = self.authenticator()?;
        let (graph_url, token_file) = match emulator_url {
            Some(base) => (format!("{base}/v1.0"), self.data_dir.join("tokens-embedded.json")),
            None => (self.graph_url.clone(), self.data_dir.join("tokens.json")),
        };
        let options = Options {
            mode: self.mode(),
            graph_url,
            emulator_url: emulator_url.map(str::to_owned),
            fault_injection: self.emulator_fault_injection && emulator_url.is_some(),
            oauth: self.oauth(emulator_url, local),
            token_file,
            refresh_margin: Duration::from_secs(self.refresh_margin_secs),
            callback_path: self.callback_path(),
            folders: self.folders(),
            max_file_size: self.max_file_size,
            max_body_bytes: self.max_body_bytes,
            allowed_origins: self.allow_origins.clone(),
            www: self.www.clone(),
            pkg: self.pkg.clone(),
            dev_issuer,
            admin_token: self.admin_token.as_deref().map(crate::oauth::AdminToken::new),
            session_limits: SessionLimits { per_minute: self.sessions_per_minute, max_live: self.max_live_sessions },
            temp_retention: self.temp_retention,
        };
        Ok((options, authenticator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_values() {
        let ok = [("0", 0), ("7d", 604_800), ("12h", 43_200), ("30m", 1_800), ("90s", 90), (" 1d ", 86_400)];
        for (v, secs) in ok {
            assert_eq!(parse_retention(v), Ok(Duration::from_secs(secs)), "{v}");
        }
        for bad in ["", "7", "d", "-1d", "1w", "1.5h", "99999999999999999999d", "é"] {
            assert!(parse_retention(bad).is_err(), "{bad}");
        }
        assert_eq!(Config::parse_from(["t"]).temp_retention, Duration::from_secs(7 * 86_400));
        assert_eq!(Config::parse_from(["t", "--temp-retention", "0"]).temp_retention, Duration::ZERO);
    }

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("onedrive-upload-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_embedded_and_need_dev_or_a_key() {
        let c = parse(&[]);
        assert_eq!(c.mode(), Mode::Embedded);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
        assert!(c.validate().is_err());
        let dev = parse(&["--dev", "--listen", "127.0.0.1:0"]);
        assert!(dev.validate().is_ok());
        assert_eq!(dev.folders(), vec!["salon-photos", "documents"]);
        assert_eq!(dev.callback_path(), "/getAToken");
    }

    #[test]
    fn refusals() {
        assert!(parse(&["--dev", "--listen", "0.0.0.0:8000"]).validate().is_err());
        assert!(parse(&["--client-id", "x", "--jwt-secret", &"k".repeat(32)]).validate().is_err());
        assert!(parse(&["--jwt-secret", "short"]).validate().is_err());
        assert!(parse(&["--client-secret", "s", "--dev"]).validate().is_err());
        assert!(parse(&["--dev", "--admin-token", "short"]).validate().is_err());
        assert!(parse(&["--dev", "--jwt-leeway-secs", "301"]).validate().is_err());
        assert!(parse(&["--dev", "--admin-token", &"a".repeat(32)]).validate().is_ok());
    }

    #[test]
    fn microsoft_settings() {
        let c = parse(&[
            "--client-id",
            "abc",
            "--client-secret",
            "s",
            "--redirect-uri",
            "https://example.com/auth/cb",
            "--tenant",
            "consumers",
            "--jwt-secret",
            &"k".repeat(32),
            "--folder",
            "a",
            "--folder",
            "b",
        ]);
        c.validate().unwrap();
        assert_eq!(c.mode(), Mode::Microsoft);
        assert_eq!(c.callback_path(), "/auth/cb");
        let (o, _) = c.build(None, "127.0.0.1:1".parse().unwrap()).unwrap();
        assert_eq!(o.oauth.authorize_url, "https://login.microsoftonline.com/consumers/oauth2/v2.0/authorize");
        assert_eq!(o.oauth.scopes, vec!["offline_access", "Files.ReadWrite.All"]);
        assert_eq!(o.graph_url, "https://graph.microsoft.com/v1.0");
        assert_eq!(o.folders, vec!["a", "b"]);
        assert!(o.dev_issuer.is_none());
    }
}
