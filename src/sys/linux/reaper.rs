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
    /// Exits of pids nobody waited on yet (a child that died before `watch`), each with the
    /// count of exits told before it; bounded, since most are grandchildren nobody will ever
    /// ask about.
    unclaimed: HashMap<Pid, (u64, ProcessExit)>,
    /// How many exits were told so far.
    told: u64,
}

const MAX_UNCLAIMED: usize = 4096;

impl Reaper {
    /// A receiver that gets the pid's exit; call right after spawning it.
    pub(crate) fn watch(&self, pid: Pid) -> oneshot::Receiver<ProcessExit> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.unclaimed.remove(&pid) {
            Some((_, exit)) => drop(tx.send(exit)),
            None => drop(inner.waiting.insert(pid, tx)),
        }
        rx
    }

    /// A mark to take before spawning, for [`Reaper::forget_before`].
    pub(crate) fn mark(&self) -> u64 {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).told
    }

    /// Forgets an unclaimed exit of `pid` told before `mark`: it was another process's, an
    /// orphan reaped before the pid was given to the child just spawned. Kept, it would end
    /// that child's wait the moment it began.
    pub(crate) fn forget_before(&self, pid: Pid, mark: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.unclaimed.get(&pid).is_some_and(|(at, _)| *at < mark) {
            inner.unclaimed.remove(&pid);
        }
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
            if let Some(pid) = Pid::new(pid.as_raw()) {
                self.tell(pid, exit);
            }
        }
        if any {
            self.reaped.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Hands an exit to whoever waits on the pid, or keeps it for a `watch` to come.
    fn tell(&self, pid: Pid, exit: ProcessExit) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let at = inner.told;
        inner.told += 1;
        match inner.waiting.remove(&pid) {
            Some(tx) => drop(tx.send(exit)),
            None => {
                if inner.unclaimed.len() >= MAX_UNCLAIMED {
                    inner.unclaimed.clear();
                }
                inner.unclaimed.insert(pid, (at, exit));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(raw: i32) -> Pid {
        Pid::new(raw).unwrap()
    }

    #[test]
    fn an_exit_before_the_watch_is_handed_over() {
        let reaper = Reaper::default();
        let mark = reaper.mark();
        reaper.tell(pid(700), ProcessExit::Code(3));
        reaper.forget_before(pid(700), mark);
        assert_eq!(reaper.watch(pid(700)).try_recv().ok(), Some(ProcessExit::Code(3)));
    }

    #[test]
    fn an_orphans_exit_is_not_handed_to_a_new_child_with_its_pid() {
        let reaper = Reaper::default();
        reaper.tell(pid(700), ProcessExit::Signal(9));
        let mark = reaper.mark();
        // The child spawned now was given pid 700 again.
        reaper.forget_before(pid(700), mark);
        let mut rx = reaper.watch(pid(700));
        assert!(rx.try_recv().is_err(), "the child's wait is still open");
        reaper.tell(pid(700), ProcessExit::Code(0));
        assert_eq!(rx.try_recv().ok(), Some(ProcessExit::Code(0)));
    }
}
