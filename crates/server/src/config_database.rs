//! The flags of the shared PostgreSQL store (several server processes, one account), flattened
//! into the server's [`Config`](crate::config::Config).

use std::time::Duration;

use clap::Args;

use crate::database::DatabaseSettings;
use crate::sealing::{Sealer, TokenKey};

/// Several server processes sharing one account through PostgreSQL.
#[derive(Debug, Clone, Default, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL (postgres://user:password@host:port/db, or ...?host=/socket/dir): the tokens,
    /// pending logins, per-user session counters and background-job leases live there, shared by
    /// every server process given the same URL (Microsoft mode only). Without it: the token file.
    #[arg(long, env = "ODU_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Key sealing the tokens in the database: 32 bytes in base64 (`openssl rand -base64 32`);
    /// required with --database-url, the same for every process.
    #[arg(long, env = "ODU_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<String>,
    /// Previous token keys, still accepted for reading while the key is rotated (repeatable, or
    /// comma-separated in the env var); every write seals with --token-key.
    #[arg(long = "token-key-old", env = "ODU_TOKEN_KEY_OLD", value_delimiter = ',', hide_env_values = true)]
    pub token_key_old: Vec<String>,
    /// Longest wait, in seconds, for another process's token refresh (or any row lock) before a 503.
    #[arg(long, env = "ODU_DATABASE_LOCK_TIMEOUT_SECS", default_value_t = 15)]
    pub database_lock_timeout_secs: u64,
    /// Connections each process keeps to the database at most.
    #[arg(long, env = "ODU_DATABASE_POOL_SIZE", default_value_t = 8)]
    pub database_pool_size: usize,
}

impl DatabaseArgs {
    /// The validated settings, `None` without --database-url.
    pub fn settings(&self) -> Result<Option<DatabaseSettings>, String> {
        let Some(url) = &self.database_url else {
            if self.token_key.is_some() || !self.token_key_old.is_empty() {
                return Err("--token-key/--token-key-old need --database-url".into());
            }
            return Ok(None);
        };
        let key = self.token_key.as_deref().ok_or(
            "--database-url needs --token-key (32 bytes in base64, e.g. from `openssl rand -base64 32`): \
             the tokens are sealed in the database",
        )?;
        let current = TokenKey::parse(key).map_err(|e| format!("--token-key: {e}"))?;
        let old = self
            .token_key_old
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| TokenKey::parse(k).map_err(|e| format!("--token-key-old: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if !(1..=600).contains(&self.database_lock_timeout_secs) {
            return Err("--database-lock-timeout-secs must be between 1 and 600".into());
        }
        Ok(Some(DatabaseSettings {
            url: url.clone(),
            sealer: Sealer::new(current, old),
            lock_timeout: Duration::from_secs(self.database_lock_timeout_secs),
            pool_size: self.database_pool_size,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_flags_are_validated() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let none = DatabaseArgs::default();
        assert!(none.settings().unwrap().is_none());
        let url = Some("postgres://u@localhost/db".to_owned());
        let no_key = DatabaseArgs { database_url: url.clone(), database_lock_timeout_secs: 15, ..Default::default() };
        assert!(no_key.settings().unwrap_err().contains("--token-key"));
        let ok = DatabaseArgs { token_key: Some(key.into()), ..no_key.clone() };
        assert_eq!(ok.settings().unwrap().unwrap().lock_timeout, Duration::from_secs(15));
        let bad_old = DatabaseArgs { token_key_old: vec!["short".into()], ..ok.clone() };
        assert!(bad_old.settings().unwrap_err().contains("--token-key-old"));
        let key_alone = DatabaseArgs { token_key: Some(key.into()), ..Default::default() };
        assert!(key_alone.settings().unwrap_err().contains("need --database-url"));
    }
}
