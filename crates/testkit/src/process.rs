//! A binary under test started with its stdout piped, read until its `listening on URL` line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A started child process and the URL it announced; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct ListeningChild {
    /// The process.
    pub child: Child,
    /// The URL of its `listening on URL` line, without a trailing slash.
    pub url: String,
}

impl ListeningChild {
    /// Spawns `command` (stdout piped, stderr discarded unless the command set it) and reads
    /// stdout until a `listening on URL` line; panics if the process ends first.
    pub fn spawn(command: &mut Command) -> ListeningChild {
        Self::spawn_with(command, |_| {})
    }

    /// [`ListeningChild::spawn`], calling `started` on the child before its stdout is read (to
    /// take a piped stderr and drain it on a thread, say).
    pub fn spawn_with(command: &mut Command, started: impl FnOnce(&mut Child)) -> ListeningChild {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("the binary starts");
        started(&mut child);
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let url = loop {
            let Some(line) = lines.next().map(|l| l.expect("stdout is UTF-8")) else {
                let status = child.wait().expect("wait for the child");
                panic!("the binary exited ({status}) without a `listening on` line");
            };
            if let Some(rest) = line.trim().strip_prefix("listening on ") {
                break rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_owned();
            }
        };
        ListeningChild { child, url }
    }

    /// Sends SIGTERM and waits; answers whether the process exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        self.child.wait().expect("wait for the child").success()
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL, as a crash) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ListeningChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
