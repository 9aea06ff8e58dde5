//! The supervisor as a child subreaper: it reaps every child, and its orphaned descendants
//! that come back to it, tells whoever waits on a pid how it ended, and wakes whoever waits for
//! a process group to empty.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid as NixPid;
use tokio::sync::{oneshot, watch};

use crate::model::{Pid, ProcessExit};

/// Makes this process the reaper of its orphaned descendants, so double-forked grandchildren
/// come back to it instead of to init.
pub(crate) fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Reaps every child of the supervisor, and tells whoever waits on a pid how it ended.
/// Grandchildren that were reparented to the supervisor are reaped too, and forgotten.
pub(crate) struct Reaper {
    inner: Mutex<ReaperInner>,
    /// Counts the batches of children reaped: a wait for a group to empty looks again at each.
    reaped: watch::Sender<u64>,
}

impl Default for Reaper {
    fn default() -> Self {
        Self { inner: Mutex::default(), reaped: watch::Sender::new(0) }
    }
}

#[derive(Default)]
struct ReaperInner {
    waiting: HashMap<Pid, oneshot::Sender<ProcessExit>>,
    /// Exits of pids nobody waited on yet (a child that died before `watch`); bounded, since
    /// most are grandchildren nobody will ever ask about.
    unclaimed: HashMap<Pid, ProcessExit>,
}

const MAX_UNCLAIMED: usize = 4096;

impl Reaper {
    /// A receiver that gets the pid's exit; call right after spawning it.
    pub(crate) fn watch(&self, pid: Pid) -> oneshot::Receiver<ProcessExit> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.unclaimed.remove(&pid) {
            Some(exit) => drop(tx.send(exit)),
            None => drop(inner.waiting.insert(pid, tx)),
        }
        rx
    }

    /// Changes each time children were reaped.
    pub(crate) fn reaped(&self) -> watch::Receiver<u64> {
        self.reaped.subscribe()
    }

    /// Collects every child that has ended, without blocking.
    pub(crate) fn reap(&self) {
        let mut any = false;
        loop {
            let (pid, exit) = match waitpid(NixPid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, ProcessExit::Code(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, ProcessExit::Signal(sig as i32)),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            };
            any = true;
            let Some(pid) = Pid::new(pid.as_raw()) else { continue };
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            match inner.waiting.remove(&pid) {
                Some(tx) => drop(tx.send(exit)),
                None => {
                    if inner.unclaimed.len() >= MAX_UNCLAIMED {
                        inner.unclaimed.clear();
                    }
                    inner.unclaimed.insert(pid, exit);
                }
            }
        }
        if any {
            self.reaped.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Reaps on every SIGCHLD, forever.
    pub(crate) async fn run(self: Arc<Self>) -> io::Result<()> {
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
        loop {
            self.reap();
            sigchld.recv().await;
        }
    }
}
