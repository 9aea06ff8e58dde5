//! The real [`Os`]: Linux, through nix, libc and /proc. One concern per file: starting a
//! process ([`spawn`]), reaping children ([`reaper`]), groups and signals ([`group`]), what
//! /proc says ([`procfs`]), finding a command's file ([`program`]), and launching the supervisor detached ([`detach`]).
//!
//! The free functions are for the client side too (`orch up` asks whether a recorded process
//! still runs, before any supervisor exists).

mod detach;
mod group;
mod procfs;
mod program;
mod reaper;
mod spawn;
mod stat_files;

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::unix::pipe::Receiver;
use tokio::sync::oneshot;

pub(crate) use self::detach::detach;
pub(crate) use self::group::pid_exists;
#[cfg(test)]
pub(crate) use self::procfs::listening_inode;
pub(crate) use self::procfs::{is_alive, marked, own_pid, port_holder};
pub(crate) use self::program::find_program;
use self::reaper::Reaper;
use self::stat_files::StatFiles;
use super::{GroupWaker, Os, OsFuture, Signal, SpawnRequest, Spawned, Usage};
use crate::model::{Identity, Pid, ProcessExit};

/// Linux, with this process as the subreaper of everything it starts.
pub(crate) struct Linux {
    reaper: Arc<Reaper>,
    stat_files: Mutex<StatFiles>,
}

impl Linux {
    /// Makes this process a child subreaper, raises its limit on open files, and starts
    /// reaping (on the current tokio runtime). Once per supervisor.
    pub(crate) fn start() -> io::Result<Arc<Self>> {
        reaper::become_subreaper()?;
        spawn::raise_fd_limit();
        fix_mmap_threshold();
        let reaper = Arc::new(Reaper::default());
        tokio::spawn(reaper.clone().run());
        Ok(Arc::new(Self { reaper, stat_files: Mutex::new(StatFiles::within(spawn::fd_limit())) }))
    }
}

/// Pins glibc's mmap threshold at its default. Left dynamic, glibc raises it to the size of the
/// largest mmapped block freed — the state file's serialization buffer is one (128 KiB with 100
/// services) — and from then on every log pump's 128 KiB record buffer comes from the heap and
/// stays resident: the supervisor's RSS with 100 services doubled (11 → 22 MiB) depending on
/// whether the first save came before or after the pumps' first read.
fn fix_mmap_threshold() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a parameter of the allocator, under glibc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

impl Os for Linux {
    fn spawn(&self, request: &SpawnRequest) -> io::Result<Spawned> {
        let mark = self.reaper.mark();
        let spawned = spawn::spawn(request)?;
        self.reaper.forget_before(spawned.identity.pid, mark);
        Ok(spawned)
    }

    fn watch_exit(&self, pid: Pid) -> oneshot::Receiver<ProcessExit> {
        self.reaper.watch(pid)
    }

    fn wait_not_child(&self, identity: &Identity) -> OsFuture<'static> {
        Box::pin(group::wait_not_child(identity.clone()))
    }

    fn group_waker(&self, pgid: Pid) -> Box<dyn GroupWaker> {
        Box::new(group::Waker::new(self.reaper.reaped(), pgid))
    }

    fn signal_group(&self, pgid: Pid, signal: Signal) -> io::Result<()> {
        group::signal_group(pgid, signal)
    }

    fn signal_process(&self, pid: Pid, signal: Signal) {
        group::signal_process(pid, signal);
    }

    fn group_alive(&self, pgid: Pid) -> bool {
        group::group_alive(pgid)
    }

    fn group_has_live_member(&self, pgid: Pid) -> bool {
        procfs::group_has_live_member(pgid).unwrap_or_else(|| group::group_alive(pgid))
    }

    fn group_of(&self, pid: Pid) -> Option<Pid> {
        group::group_of(pid)
    }

    fn identity_of(&self, pid: Pid) -> Option<Identity> {
        procfs::identity_of(pid)
    }

    fn foreign_owner(&self, pid: Pid) -> Option<String> {
        procfs::foreign_owner(pid)
    }

    fn own_pid(&self) -> Pid {
        procfs::own_pid()
    }

    fn escaped(&self, project: &str, service: &str, pgid: Pid, leaders: &HashSet<Pid>) -> Vec<Pid> {
        procfs::escaped(project, service, pgid, leaders)
    }

    fn marked(&self, project: &str) -> Vec<(Pid, String)> {
        procfs::marked(project)
    }

    fn group_usage(&self, pgids: &[Pid]) -> HashMap<Pid, Usage> {
        self.stat_files.lock().unwrap_or_else(PoisonError::into_inner).group_usage(pgids)
    }

    fn reopen_output(&self, pid: Pid) -> Vec<(i32, Receiver)> {
        spawn::reopen_output(pid)
    }

    fn fd_limit(&self) -> u64 {
        spawn::fd_limit()
    }
}
