//! The database thread: runs queued queries on the one SQLite connection, committing the
//! jobs that queued up together in one transaction (group commit), and answers each
//! caller only once its writes are committed.

use crate::error::EmulatorError;
use rusqlite::Connection;
use std::sync::{mpsc, Mutex};

/// Most jobs run in one transaction: bounds the wait of the first one for the last.
const MAX_BATCH: usize = 64;

/// A query for the database thread.
pub(crate) trait Job: Send {
    /// Runs it (on the database thread, possibly inside a batch transaction).
    fn run(&mut self, conn: &mut Connection);
    /// Answers the caller; `lost` says why writes it reported done did not commit.
    fn deliver(self: Box<Self>, lost: Option<&str>);
}

/// A job made of a closure and the channel its result goes back on.
pub(crate) struct Call<T, F> {
    f: Option<F>,
    out: Option<Result<T, EmulatorError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, EmulatorError>>,
}

impl<T, F> Call<T, F> {
    /// Wraps `f`; its result goes to `reply`.
    pub(crate) fn new(f: F, reply: tokio::sync::oneshot::Sender<Result<T, EmulatorError>>) -> Self {
        Call { f: Some(f), out: None, reply }
    }
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut Connection) -> Result<T, EmulatorError> + Send,
{
    fn run(&mut self, conn: &mut Connection) {
        if let Some(f) = self.f.take() {
            self.out = Some(f(conn));
        }
    }

    fn deliver(self: Box<Self>, lost: Option<&str>) {
        let out = match (self.out, lost) {
            (Some(Ok(_)), Some(why)) => Some(Err(EmulatorError::Io(std::io::Error::other(why.to_owned())))),
            (out, _) => out,
        };
        // No result: the job panicked. Dropping the sender tells the caller.
        if let Some(out) = out {
            let _ = self.reply.send(out);
        }
    }
}

/// Runs jobs until every sender is gone. Jobs queued together share one transaction
/// (`BEGIN` .. `COMMIT`): one WAL commit and one round of file locks for all of them. A job
/// that needs its own atomicity uses [`super::db::Atomic`] (a savepoint, which nests). The
/// lock is held while a batch runs (so `call_sync` can interleave between batches), and
/// callers are answered after it is released.
pub(crate) fn run_jobs(conn: &Mutex<Connection>, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let done = if batch.len() == 1 {
            let mut job = batch.remove(0);
            run_one(&mut guard, job.as_mut());
            vec![(job, None)]
        } else {
            run_batch(&mut guard, batch)
        };
        drop(guard);
        for (job, lost) in done {
            job.deliver(lost.as_deref());
        }
    }
}

fn run_one(conn: &mut Connection, job: &mut dyn Job) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn))).is_err() {
        tracing::error!("a database job panicked");
    }
}

fn sql(conn: &Connection, statement: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(statement)?.execute([]).map(drop)
}

type Done = Vec<(Box<dyn Job>, Option<String>)>;

fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) -> Done {
    const ROLLED_BACK: &str = "the database rolled the transaction back";
    let mut done: Done = Vec::with_capacity(batch.len());
    // `done[open..]` ran inside the transaction now open (if `in_tx`).
    let mut open = 0;
    let mut in_tx = sql(conn, "BEGIN").is_ok();
    for mut job in batch {
        run_one(conn, job.as_mut());
        if in_tx && conn.is_autocommit() {
            // SQLite ended the transaction itself (I/O error, full disk): the writes of
            // this job and of the ones before it in the transaction are gone.
            for (_, lost) in &mut done[open..] {
                *lost = Some(ROLLED_BACK.to_owned());
            }
            done.push((job, Some(ROLLED_BACK.to_owned())));
            open = done.len();
            in_tx = sql(conn, "BEGIN").is_ok();
            continue;
        }
        done.push((job, None));
    }
    if in_tx {
        if let Err(e) = sql(conn, "COMMIT") {
            tracing::warn!(error = %e, "batch commit failed");
            let _ = sql(conn, "ROLLBACK");
            for (_, lost) in &mut done[open..] {
                *lost = Some(format!("the database could not commit: {e}"));
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Atomic;

    type Reply = tokio::sync::oneshot::Receiver<Result<i64, EmulatorError>>;

    fn job(f: impl FnOnce(&mut Connection) -> Result<i64, EmulatorError> + Send + 'static) -> (Box<dyn Job>, Reply) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Box::new(Call::new(f, tx)), rx)
    }

    fn count(c: &Connection) -> Result<i64, EmulatorError> {
        Ok(c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?)
    }

    #[test]
    fn a_batch_commits_once_and_keeps_each_jobs_atomicity() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)").unwrap();
        let (a, mut ra) = job(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])? as i64));
        // Atomic: its first insert is undone when the second fails.
        let (b, mut rb) = job(|c| {
            let tx = Atomic::begin(c)?;
            tx.execute("INSERT INTO t VALUES (2)", [])?;
            tx.execute("INSERT INTO t VALUES (1)", [])?;
            tx.commit()?;
            Ok(0)
        });
        let (p, mut rp) = job(|_| panic!("job bug"));
        let (d, mut rd) = job(|c| count(c));
        let done = run_batch(&mut conn, vec![a, b, p, d]);
        assert!(conn.is_autocommit(), "the batch transaction is closed");
        for (job, lost) in done {
            assert!(lost.is_none());
            job.deliver(None);
        }
        assert_eq!(ra.try_recv().unwrap().unwrap(), 1);
        assert!(rb.try_recv().unwrap().is_err());
        assert!(rp.try_recv().is_err(), "a panicked job answers nothing (its caller sees the thread error)");
        assert_eq!(rd.try_recv().unwrap().unwrap(), 1, "later jobs see earlier writes");
        assert_eq!(count(&conn).unwrap(), 1);
    }

    #[test]
    fn writes_reported_done_are_failed_when_the_commit_fails() {
        let (a, mut ra) = job(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])? as i64));
        // `lost` turns a success into an error; errors stay errors.
        let (b, mut rb) = job(|_| Err(EmulatorError::item_not_found()));
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        for (mut j, lost) in [(a, Some("commit failed")), (b, Some("commit failed"))] {
            j.run(&mut conn);
            j.deliver(lost);
        }
        assert!(ra.try_recv().unwrap().is_err());
        assert!(matches!(rb.try_recv().unwrap(), Err(EmulatorError::Graph(_))));
    }
}
