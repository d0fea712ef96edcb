//! File bytes on disk: `sessions/{id}.part` while uploading, `blobs/{name}` once committed.
//! Commits fsync the data and the directory before the item becomes visible.

use onedrive_upload_core::QuickXorHash;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Mode of every file the emulator writes (uploaded bytes are private to its user).
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and parents) if missing and makes it 0700, whatever the umask.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Opens a file for writing, creating it 0600 when `create` (the mode of an existing file is kept).
pub fn open_private(path: &Path, create: bool, create_new: bool) -> io::Result<File> {
    OpenOptions::new().write(true).create(create).create_new(create_new).truncate(false).mode(FILE_MODE).open(path)
}

/// The two data directories.
#[derive(Debug, Clone)]
pub struct Blobs {
    blobs: PathBuf,
    parts: PathBuf,
}

impl Blobs {
    /// Creates `data_dir/blobs` and `data_dir/sessions` (0700) if missing.
    pub fn open(data_dir: &Path) -> io::Result<Blobs> {
        let blobs = data_dir.join("blobs");
        let parts = data_dir.join("sessions");
        create_private_dir(&blobs)?;
        create_private_dir(&parts)?;
        Ok(Blobs { blobs, parts })
    }

    /// Where a session's bytes accumulate.
    pub fn part_path(&self, session_id: &str) -> PathBuf {
        self.parts.join(format!("{session_id}.part"))
    }

    /// Where a committed file's bytes live.
    pub fn blob_path(&self, blob: &str) -> PathBuf {
        self.blobs.join(blob)
    }

    /// Creates an empty part file (simple uploads; sessions get theirs from the first
    /// fragment, so creating a session touches no file).
    pub fn create_part(&self, session_id: &str) -> io::Result<()> {
        open_private(&self.part_path(session_id), false, true).map(drop)
    }

    /// Removes a session's part file (missing is fine).
    pub fn remove_part(&self, session_id: &str) {
        remove_quietly(&self.part_path(session_id));
    }

    /// Removes a committed blob (missing is fine).
    pub fn remove_blob(&self, blob: &str) {
        remove_quietly(&self.blob_path(blob));
    }

    /// Cuts a part file back to the accepted prefix (bytes of interrupted fragments). A
    /// session with nothing accepted may have no part file yet: that is fine.
    pub fn truncate_part(&self, session_id: &str, accepted: u64) -> io::Result<()> {
        match OpenOptions::new().write(true).open(self.part_path(session_id)) {
            Ok(file) => file.set_len(accepted),
            Err(e) if e.kind() == io::ErrorKind::NotFound && accepted == 0 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes a complete part file durable and moves it to `blobs/{blob}`.
    pub fn commit_part(&self, session_id: &str, total: u64, blob: &str) -> io::Result<()> {
        let part = self.part_path(session_id);
        let file = OpenOptions::new().write(true).open(&part)?;
        file.set_len(total)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&part, self.blob_path(blob))?;
        sync_dir(&self.blobs)
    }

    /// Writes a complete file straight to `blobs/{blob}` durably (simple upload of small bodies).
    pub fn write_blob(&self, blob: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.parts.join(format!("{blob}.simple"));
        let mut file = open_private(&tmp, true, false)?;
        file.set_len(0)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, self.blob_path(blob))?;
        sync_dir(&self.blobs)
    }

    /// Part files on disk whose session id is not in `keep` (left by a crash): removed.
    pub fn remove_orphan_parts(&self, keep: &std::collections::HashSet<String>) -> io::Result<()> {
        for entry in std::fs::read_dir(&self.parts)? {
            let path = entry?.path();
            let stem = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".part"));
            if stem.is_none_or(|id| !keep.contains(id)) {
                remove_quietly(&path);
            }
        }
        Ok(())
    }

    /// Hashes the first `len` bytes of a part file. Used once per session when the
    /// emulator restarts (the hash state of a live session is otherwise kept in memory).
    pub fn hash_prefix(&self, session_id: &str, len: u64) -> io::Result<QuickXorHash> {
        let mut hash = QuickXorHash::new();
        if len == 0 {
            return Ok(hash);
        }
        let mut file = File::open(self.part_path(session_id))?.take(len);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        if hash.len() != len {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "part file shorter than its accepted bytes"));
        }
        Ok(hash)
    }
}

fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove file");
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
