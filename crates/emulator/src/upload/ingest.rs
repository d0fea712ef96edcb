//! Streaming a request body to a file at an offset while hashing it, without ever holding
//! the whole body: frames are gathered into ~1 MiB chunks that go through a bounded channel
//! to a blocking writer thread, which writes them and feeds the QuickXorHash.

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use onedrive_upload_core::QuickXorHash;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Frames are gathered into chunks of about this size.
const WRITE_BUFFER: usize = 1 << 20;
/// Chunks in flight between the socket and the writer.
const CHANNEL_FRAMES: usize = 8;

/// How reading a body ended.
#[derive(Debug)]
pub enum IngestOutcome {
    /// Every expected byte arrived and is written; the hash now covers them.
    Complete(QuickXorHash),
    /// The body ended early or the connection broke: the bytes must be discarded.
    Interrupted,
    /// The caller's byte limit was reached (fault injection): the bytes must be discarded.
    LimitReached,
    /// The disk refused the bytes.
    Failed(io::Error),
}

/// Result of [`ingest`].
#[derive(Debug)]
pub struct Ingest {
    /// Body bytes read from the socket.
    pub received: u64,
    /// How it ended.
    pub outcome: IngestOutcome,
}

/// Reads `body` (expected to be `expected` bytes; `None` = until it ends) into `path` at
/// `offset`, extending `hash`. At most `limit` bytes are read when a limit is given.
pub async fn ingest(
    body: Body,
    path: PathBuf,
    offset: u64,
    expected: Option<u64>,
    hash: QuickXorHash,
    limit: Option<u64>,
) -> Ingest {
    let (tx, rx) = tokio::sync::mpsc::channel::<Option<Bytes>>(CHANNEL_FRAMES);
    let writer = tokio::task::spawn_blocking(move || write_frames(rx, path, offset, hash));
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let mut broken = false;
    let mut limited = false;
    // Small frames are gathered here so the writer thread wakes once per ~1 MiB.
    let mut batch: Vec<u8> = Vec::new();
    while let Some(frame) = stream.next().await {
        let Ok(mut frame) = frame else {
            broken = true;
            break;
        };
        if let Some(limit) = limit {
            if received + frame.len() as u64 >= limit {
                frame.truncate((limit - received) as usize);
                received = limit;
                limited = true;
                break;
            }
        }
        received += frame.len() as u64;
        if expected.is_some_and(|e| received > e) {
            broken = true;
            break;
        }
        let chunk = if batch.is_empty() && frame.len() >= WRITE_BUFFER / 4 {
            frame
        } else {
            if batch.capacity() == 0 {
                batch.reserve_exact(WRITE_BUFFER);
            }
            batch.extend_from_slice(&frame);
            if batch.len() < WRITE_BUFFER - 16 * 1024 {
                continue;
            }
            Bytes::from(std::mem::take(&mut batch))
        };
        if tx.send(Some(chunk)).await.is_err() {
            break; // the writer failed; its error is reported below
        }
    }
    if !broken && !limited && !batch.is_empty() {
        let _ = tx.send(Some(Bytes::from(batch))).await; // a failed writer reports below
    }
    // `None` tells the writer the body is complete; dropping the sender instead (a broken or
    // cut body, or this future dropped with its connection) makes it stop without flushing.
    if !broken && !limited {
        let _ = tx.send(None).await;
    }
    drop(tx);
    let written = match writer.await {
        Ok(result) => result,
        Err(e) => Err(io::Error::other(e)),
    };
    let outcome = if limited {
        IngestOutcome::LimitReached
    } else if broken || expected.is_some_and(|e| e != received) {
        IngestOutcome::Interrupted
    } else {
        match written {
            Err(e) => IngestOutcome::Failed(e),
            Ok((hash, n)) if n == received => IngestOutcome::Complete(hash),
            Ok(_) => IngestOutcome::Interrupted,
        }
    };
    Ingest { received, outcome }
}

fn write_frames(
    mut rx: tokio::sync::mpsc::Receiver<Option<Bytes>>,
    path: PathBuf,
    offset: u64,
    mut hash: QuickXorHash,
) -> io::Result<(QuickXorHash, u64)> {
    // A session's part file is made by its first fragment (offset 0); later fragments
    // need the file their predecessors wrote.
    let mut file = crate::store::blobs::open_private(&path, offset == 0, false)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut written = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Some(chunk)) => {
                hash.update(&chunk);
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            Some(None) => return Ok((hash, written)),
            None => return Err(io::Error::new(io::ErrorKind::Interrupted, "body abandoned")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<Result<Vec<u8>, io::Error>>) -> Body {
        Body::from_stream(futures_util::stream::iter(chunks.into_iter().map(|c| c.map(Bytes::from))))
    }

    #[tokio::test]
    async fn writes_at_offset_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        std::fs::write(&path, b"abc").unwrap();
        let mut prefix = QuickXorHash::new();
        prefix.update(b"abc");
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7) as u8).collect();
        let chunks = data.chunks(70_000).map(|c| Ok(c.to_vec())).collect();
        let r = ingest(body_of(chunks), path.clone(), 3, Some(data.len() as u64), prefix, None).await;
        assert_eq!(r.received, data.len() as u64);
        let IngestOutcome::Complete(hash) = r.outcome else { panic!("{:?}", r.outcome) };
        let mut all = b"abc".to_vec();
        all.extend_from_slice(&data);
        assert_eq!(hash.finalize(), QuickXorHash::hash(&all));
        assert_eq!(std::fs::read(&path).unwrap(), all);
    }

    #[tokio::test]
    async fn broken_short_and_limited_bodies_are_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        std::fs::write(&path, b"").unwrap();
        let broken = body_of(vec![Ok(vec![1; 10]), Err(io::Error::other("reset"))]);
        let r = ingest(broken, path.clone(), 0, Some(20), QuickXorHash::new(), None).await;
        assert!(matches!(r.outcome, IngestOutcome::Interrupted));
        assert_eq!(r.received, 10);
        let short = body_of(vec![Ok(vec![1; 10])]);
        assert!(matches!(
            ingest(short, path.clone(), 0, Some(20), QuickXorHash::new(), None).await.outcome,
            IngestOutcome::Interrupted
        ));
        let limited = body_of(vec![Ok(vec![1; 10]), Ok(vec![2; 10])]);
        let r = ingest(limited, path.clone(), 0, Some(20), QuickXorHash::new(), Some(15)).await;
        assert!(matches!(r.outcome, IngestOutcome::LimitReached));
        assert_eq!(r.received, 15);
        // Only a first fragment (offset 0) may create the file; a later one needs it.
        let missing =
            ingest(body_of(vec![Ok(vec![1])]), dir.path().join("none"), 1, Some(1), QuickXorHash::new(), None).await;
        assert!(matches!(missing.outcome, IngestOutcome::Failed(_)));
        assert!(!dir.path().join("none").exists());
        let first =
            ingest(body_of(vec![Ok(vec![1])]), dir.path().join("new"), 0, Some(1), QuickXorHash::new(), None).await;
        assert!(matches!(first.outcome, IngestOutcome::Complete(_)));
        assert_eq!(std::fs::read(dir.path().join("new")).unwrap(), [1]);
    }
}
