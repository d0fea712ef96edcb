//! The token file: written 0600 through a temporary file and a rename, always the newest tokens,
//! one write at a time, retried with backoff after a failure (meanwhile the server is degraded).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// First wait before retrying a failed token-file write; it doubles up to [`PERSIST_RETRY_MAX`].
pub const PERSIST_RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between two token-file write attempts.
pub const PERSIST_RETRY_MAX: Duration = Duration::from_secs(30);

/// Writes the token file: always the latest content, one write at a time, retried after a failure.
pub(crate) struct Persister {
    file: PathBuf,
    /// (version, content) of the newest tokens; `None` content: the file must not exist.
    latest: Mutex<(u64, Option<Vec<u8>>)>,
    /// The version on disk.
    written: AtomicU64,
    /// Serialises writes, so that an older content never replaces a newer one.
    write_lock: tokio::sync::Mutex<()>,
    /// Why the file is behind memory, while it is.
    failure: Mutex<Option<String>>,
    retrying: AtomicBool,
}

impl Persister {
    /// A persister of `file` (nothing written yet).
    pub(crate) fn new(file: PathBuf) -> Self {
        Persister {
            file,
            latest: Mutex::new((0, None)),
            written: AtomicU64::new(0),
            write_lock: tokio::sync::Mutex::new(()),
            failure: Mutex::new(None),
            retrying: AtomicBool::new(false),
        }
    }

    /// The token file's path.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// Why the file lags behind memory, while it does.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records `content` as the newest and writes it (or removes the file for `None`).
    pub(crate) async fn save(self: &Arc<Self>, content: Option<Vec<u8>>) {
        {
            let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            latest.0 += 1;
            latest.1 = content;
        }
        if !self.flush().await {
            self.spawn_retry();
        }
    }

    /// Writes the newest content if it is not on disk yet; `true` when the file is up to date.
    async fn flush(&self) -> bool {
        let _write = self.write_lock.lock().await;
        let (version, content) = self.latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if self.written.load(Ordering::Acquire) >= version {
            return true;
        }
        let result = match &content {
            Some(bytes) => write_private(&self.file, bytes).await,
            None => match tokio::fs::remove_file(&self.file).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        };
        match result {
            Ok(()) => {
                self.written.store(version, Ordering::Release);
                if self.failure.lock().unwrap_or_else(|e| e.into_inner()).take().is_some() {
                    tracing::info!(file = %self.file.display(), "token file written again; no longer degraded");
                }
                true
            }
            Err(e) => {
                let reason = format!("cannot write the token file {}: {e}", self.file.display());
                tracing::error!(
                    %reason,
                    "the OneDrive tokens are only in memory: serving on, retrying the write"
                );
                *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                false
            }
        }
    }

    /// Retries [`Persister::flush`] with backoff until the file is up to date (one task at a time).
    fn spawn_retry(self: &Arc<Self>) {
        if self.retrying.swap(true, Ordering::AcqRel) {
            return;
        }
        // Weak: the retries end with the token manager.
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut wait = PERSIST_RETRY_FIRST;
            let this = loop {
                tokio::time::sleep(wait).await;
                let Some(this) = weak.upgrade() else { return };
                if this.flush().await {
                    break this;
                }
                wait = (wait * 2).min(PERSIST_RETRY_MAX);
            };
            this.retrying.store(false, Ordering::Release);
            // A save that failed while this task was finishing may have found `retrying` set.
            if this.failure.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                this.spawn_retry();
            }
        });
    }
}

/// Creates `dir` (and its parents) if missing, and makes it 0700 whatever the umask.
pub async fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).await?;
    tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await
}

/// Writes `bytes` to `path` atomically: a fresh 0600 temporary file in the same directory, fsync, rename.
/// The directory is created 0700 if missing.
pub async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if tokio::fs::metadata(dir).await.is_err() {
        create_private_dir(dir).await?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("tokens");
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let result = async {
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn private_write_is_0600_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokens.json");
        write_private(&path, b"one").await.unwrap();
        write_private(&path, b"two").await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }
}
