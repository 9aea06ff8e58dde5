//! The operating system behind one trait, [`Os`]: every process the supervisor starts, signals,
//! waits on or reads about in /proc goes through it. [`linux::Linux`] is the real one; the
//! tests' [`fake::Fake`] hands out pids, plays exits and records every signal, so supervisor
//! paths (a stop that times out, a cleanup of escaped processes) run without a process.
//!
//! Pids cross in and out of here as [`Pid`]s: every number the kernel or /proc gives is
//! checked to be one where it is read.

pub(crate) mod linux;

#[cfg(test)]
pub(crate) mod fake;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;

pub(crate) use nix::sys::signal::Signal;
use tokio::net::unix::pipe::Receiver;
use tokio::sync::oneshot;

use crate::model::{Identity, Pid, ProcessExit};

/// Set on every child so that its processes can be told apart in /proc, even after they left
/// the service's process group, and after the supervisor itself died.
pub(crate) const PROJECT_VAR: &str = "ORCH_PROJECT";
pub(crate) const SERVICE_VAR: &str = "ORCH_SERVICE";

/// A future the OS hands back, boxed so that [`Os`] stays object-safe.
pub(crate) type OsFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What the supervisor asks of the operating system for its services' processes.
pub(crate) trait Os: Send + Sync {
    /// Spawns a child in a new session (so it leads its own process group), stdin from
    /// /dev/null, with exactly the given environment.
    fn spawn(&self, request: &SpawnRequest) -> io::Result<Spawned>;

    /// A receiver that gets how a child ended; call right after spawning it.
    fn watch_exit(&self, pid: Pid) -> oneshot::Receiver<ProcessExit>;

    /// Resolves when a process that is not our child (an adopted one) has ended.
    fn wait_not_child(&self, identity: &Identity) -> OsFuture<'static>;

    /// Something that wakes whoever waits for a group to empty: each time a process may have
    /// left it. Take it before looking at the group, so no exit falls in between.
    fn group_waker(&self, pgid: Pid) -> Box<dyn GroupWaker>;

    /// Sends a signal to every process of a group. A group that is already gone is not an error.
    fn signal_group(&self, pgid: Pid, signal: Signal) -> io::Result<()>;

    /// Sends a signal to one process; one that is gone is ignored.
    fn signal_process(&self, pid: Pid, signal: Signal);

    /// Whether any process is left in a group. Cheap, but a zombie counts until its parent
    /// reaps it — quickly for the supervisor's own children, maybe never for an adopted one's.
    fn group_alive(&self, pgid: Pid) -> bool;

    /// Whether a group has a member that is not a zombie (a pass over /proc).
    fn group_has_live_member(&self, pgid: Pid) -> bool;

    /// The process group a process is in, when it still exists.
    fn group_of(&self, pid: Pid) -> Option<Pid>;

    /// The identity of a running process of this user; None when it is gone, a zombie, or
    /// another user's: orch never takes over, waits on or signals a process of another uid.
    fn identity_of(&self, pid: Pid) -> Option<Identity>;

    /// The process still runs, is the same one (not a reused pid), and is this user's.
    fn is_alive(&self, identity: &Identity) -> bool {
        self.identity_of(identity.pid).is_some_and(|now| identity.is_same_process(&now))
    }

    /// The owner of a process, when it is not this user: `bob (uid 1001)`.
    fn foreign_owner(&self, pid: Pid) -> Option<String>;

    /// This process's pid.
    fn own_pid(&self) -> Pid;

    /// Processes that carry a service's marker but are no longer in its process group (what a
    /// daemonising child leaves behind), less the group leaders the supervisor knows.
    fn escaped(&self, project: &str, service: &str, pgid: Pid, leaders: &HashSet<Pid>) -> Vec<Pid>;

    /// Every process of this user that carries the project's marker, with its service.
    fn marked(&self, project: &str) -> Vec<(Pid, String)>;

    /// CPU time and resident memory summed over the processes of each group.
    fn group_usage(&self, pgids: &[Pid]) -> HashMap<Pid, Usage>;

    /// Opens again the pipes an adopted process writes its stdout (fd 1) and stderr (fd 2) to.
    fn reopen_output(&self, pid: Pid) -> Vec<(i32, Receiver)>;

    /// The supervisor's limit on open files now, for what it says when it runs out.
    fn fd_limit(&self) -> u64;
}

/// Wakes a wait for a process group to empty (see [`Os::group_waker`]).
pub(crate) trait GroupWaker: Send {
    /// Resolves when a process may have left the group since the last call.
    fn changed(&mut self) -> OsFuture<'_>;
}

/// What to run.
pub(crate) struct SpawnRequest<'a> {
    /// The file to exec: a path, or a name std looks up along the child's PATH.
    pub(crate) program: &'a Path,
    /// What the program is told it was run as: `argv[0]` and its arguments.
    pub(crate) argv: &'a [String],
    pub(crate) cwd: &'a Path,
    /// The whole environment of the child (nothing else is inherited).
    pub(crate) env: &'a [(String, String)],
    /// Pipes for stdout and stderr (else both go to /dev/null).
    pub(crate) capture: bool,
}

/// A spawned child: the leader of its own session and process group.
pub(crate) struct Spawned {
    pub(crate) identity: Identity,
    pub(crate) stdout: Option<Receiver>,
    pub(crate) stderr: Option<Receiver>,
}

/// CPU time and resident memory summed over the processes of a group.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Usage {
    /// User + system time, in seconds.
    pub(crate) cpu_secs: f64,
    pub(crate) rss_bytes: u64,
}

/// Whether an error means this process has run out of file descriptors (or the system has).
pub(crate) fn out_of_fds(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}
