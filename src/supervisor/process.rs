//! The only place that touches the OS for services: spawn in a new session, signal a whole
//! process group, reap every child (the supervisor is a child subreaper), and read a process's
//! identity (start time and boot id) and its group's cpu and memory from /proc.
//!
//! Pids cross in and out of here as [`Pid`]s: every number the kernel or /proc gives is
//! checked to be one where it is read.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid as NixPid;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe::Receiver;
use tokio::sync::oneshot;

use crate::model::{Identity, Pid, ProcessExit};

/// Set on every child so that its processes can be told apart in /proc, even after they left
/// the service's process group, and after the supervisor itself died.
pub(crate) const PROJECT_VAR: &str = "ORCH_PROJECT";
pub(crate) const SERVICE_VAR: &str = "ORCH_SERVICE";

/// What to run.
pub(crate) struct SpawnRequest<'a> {
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

/// The identity of a running process of this user; None when it is gone, a zombie (it has
/// ended; only its parent has not collected it yet), or another user's: orch never takes over,
/// waits on or signals a process of another uid, whatever a record or marker says.
pub(crate) fn identity_of(pid: Pid) -> Option<Identity> {
    let process = procfs::process::Process::new(pid.get()).ok()?;
    let stat = process.stat().ok()?;
    if stat.state == 'Z' || !is_own(&process) {
        return None;
    }
    Some(Identity { pid, start_time: stat.starttime, boot_id: boot_id() })
}

/// The process still runs, is the same one (not a reused pid), and is this user's.
pub(crate) fn is_alive(identity: &Identity) -> bool {
    identity_of(identity.pid).is_some_and(|now| identity.is_same_process(&now))
}

/// This process's pid.
pub(crate) fn own_pid() -> Pid {
    Pid::new(nix::unistd::getpid().as_raw()).expect("getpid(2) returns a positive pid")
}

/// The process group a process is in, when it still exists.
pub(crate) fn group_of(pid: Pid) -> Option<Pid> {
    nix::unistd::getpgid(Some(nix_pid(pid))).ok().and_then(|g| Pid::new(g.as_raw()))
}

fn nix_pid(pid: Pid) -> NixPid {
    NixPid::from_raw(pid.get())
}

/// Whether a process runs as this user: its real and effective uid are ours.
fn is_own(process: &procfs::process::Process) -> bool {
    process.status().is_ok_and(|status| runs_as_me(&status))
}

fn runs_as_me(status: &procfs::process::Status) -> bool {
    let me = nix::unistd::getuid().as_raw();
    status.ruid == me && status.euid == me
}

/// The owner of a process, when it is not this user: `bob (uid 1001)`.
pub(crate) fn foreign_owner(pid: Pid) -> Option<String> {
    let status = procfs::process::Process::new(pid.get()).ok()?.status().ok()?;
    (!runs_as_me(&status)).then(|| crate::safe_fs::owner_name(status.ruid))
}

pub(crate) fn boot_id() -> String {
    procfs::sys::kernel::random::boot_id().map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// Where a child keeps its own copy of its output pipes' read ends (see `spawn`): at fd 200 or
/// above when the limit allows, so it never takes a number a program expects (3 for socket
/// activation); else at the lowest free fd above 2, so a low `ulimit -n` still starts it.
const KEEPER_FD_PREFERRED: i32 = 200;
const KEEPER_FD_LOWEST: i32 = 3;

/// The soft limit on open files the supervisor was started with, as the user set it: given
/// back to every child (see [`raise_fd_limit`]).
static USER_FD_LIMIT: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Raises this process's soft limit on open files to its hard limit, as most servers do: a
/// supervisor holds a few descriptors per service. Children get the user's own limit back, as
/// systemd gives its services theirs (a program using select() breaks above 1024).
pub(crate) fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return };
    USER_FD_LIMIT.get_or_init(|| (soft, hard));
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
}

/// The supervisor's limit on open files now, for what it says when it runs out.
pub(crate) fn fd_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft)
}

/// Whether an error means this process has run out of file descriptors (or the system has).
pub(crate) fn out_of_fds(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Spawns a child in a new session (so it leads its own process group), stdin from /dev/null.
///
/// The child's stdout and stderr are pipes. The child also keeps a read end of each (never
/// read): so if the supervisor dies, the child's writes do not die of SIGPIPE — they wait,
/// once the pipe is full, until a new supervisor adopts the child and opens the pipe again
/// through /proc/<pid>/fd/1.
pub(crate) fn spawn(req: &SpawnRequest) -> io::Result<Spawned> {
    let (program, args) =
        req.argv.split_first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .current_dir(req.cwd)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))))
        .stdin(Stdio::null());
    let pipes = if req.capture {
        let (out_read, out_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let (err_read, err_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        cmd.stdout(Stdio::from(out_write)).stderr(Stdio::from(err_write));
        Some((out_read, err_read))
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        None
    };
    let keep: Vec<i32> = pipes.iter().flat_map(|(o, e)| [o.as_raw_fd(), e.as_raw_fd()]).collect();
    let user_limit = USER_FD_LIMIT.get().copied();
    // SAFETY: setsid, fcntl and setrlimit are async-signal-safe and touch no memory of the
    // parent but `keep` and `user_limit`, which are only read.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(io::Error::from)?;
            // Under the supervisor's limit still: until the exec, the child holds all of the
            // supervisor's descriptors too.
            for fd in &keep {
                // F_DUPFD (not F_DUPFD_CLOEXEC): the copy survives the exec.
                if libc::fcntl(*fd, libc::F_DUPFD, KEEPER_FD_PREFERRED) < 0
                    && libc::fcntl(*fd, libc::F_DUPFD, KEEPER_FD_LOWEST) < 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some((soft, hard)) = user_limit {
                let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = Pid::try_from(child.id()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    // Dropping std's Child neither waits nor kills: the Reaper (waitpid(-1)) reaps the pid.
    drop(child);
    let (stdout, stderr) = match pipes {
        Some((out, err)) => (Some(Receiver::from_owned_fd(out)?), Some(Receiver::from_owned_fd(err)?)),
        None => (None, None),
    };
    let identity = identity_of(pid).unwrap_or(Identity { pid, start_time: 0, boot_id: boot_id() });
    Ok(Spawned { identity, stdout, stderr })
}

/// Opens the pipes a process writes its stdout (fd 1) and stderr (fd 2) to, for an adopted
/// process whose previous reader was a supervisor that died. Each pipe once, and only pipes.
pub(crate) fn reopen_output(pid: Pid) -> Vec<(i32, Receiver)> {
    let mut seen = HashSet::new();
    let mut pipes = Vec::new();
    for fd in [1, 2] {
        let path = format!("/proc/{pid}/fd/{fd}");
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if !meta.file_type().is_fifo() || !seen.insert(meta.ino()) {
            continue;
        }
        let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path);
        if let Ok(pipe) = file.and_then(|f| Receiver::from_owned_fd(OwnedFd::from(f))) {
            pipes.push((fd, pipe));
        }
    }
    pipes
}

/// Resolves when a process that is not our child has ended: through a pidfd where the kernel
/// has them, else by looking every 50 ms.
pub(crate) async fn wait_not_child(identity: &Identity) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, identity.pid.get(), 0) };
    if let Ok(fd) = i32::try_from(fd)
        && fd >= 0
    {
        // SAFETY: the kernel just returned this fd to us; nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `owned` is a valid open fd, owned by the AsyncFd until it is dropped.
        if let Ok(pidfd) = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) } {
            // Readable once the process has exited; the pidfd refers to this very process, so
            // a reused pid cannot fool it.
            if is_alive(identity) {
                let _ = pidfd.readable().await;
            }
            return;
        }
    }
    while is_alive(identity) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sends a signal to every process of a group. A group that is already gone is not an error.
pub(crate) fn signal_group(pgid: Pid, signal: Signal) -> io::Result<()> {
    match killpg(nix_pid(pgid), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn signal_process(pid: Pid, signal: Signal) {
    let _ = kill(nix_pid(pid), signal);
}

/// Whether any process is left in a group. Cheap, but a zombie counts until its parent reaps
/// it — quickly for the supervisor's own children, maybe never for an adopted process's.
pub(crate) fn group_alive(pgid: Pid) -> bool {
    !matches!(killpg(nix_pid(pgid), None), Err(Errno::ESRCH))
}

/// Whether a group has a member that is not a zombie: one pass over /proc.
pub(crate) fn group_has_live_member(pgid: Pid) -> bool {
    let Ok(all) = procfs::process::all_processes() else { return group_alive(pgid) };
    all.filter_map(Result::ok).filter_map(|p| p.stat().ok()).any(|s| s.pgrp == pgid.get() && s.state != 'Z')
}

/// Makes this process the reaper of its orphaned descendants, so double-forked grandchildren
/// come back to it instead of to init.
pub(crate) fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Reaps every child of the supervisor, and tells whoever waits on a pid how it ended.
/// Grandchildren that were reparented to the supervisor are reaped too, and forgotten.
#[derive(Default)]
pub(crate) struct Reaper {
    inner: Mutex<ReaperInner>,
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

    /// Collects every child that has ended, without blocking.
    pub(crate) fn reap(&self) {
        loop {
            let (pid, exit) = match waitpid(NixPid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, ProcessExit::Code(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, ProcessExit::Signal(sig as i32)),
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
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
    }

    /// Reaps on every SIGCHLD, forever.
    pub(crate) async fn run(self: std::sync::Arc<Self>) -> io::Result<()> {
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
        loop {
            self.reap();
            sigchld.recv().await;
        }
    }
}

/// Processes that carry a service's marker but are no longer in its process group: what a
/// daemonising child (`setsid` + double fork) leaves behind. Such an orphan is reparented to
/// the supervisor (a subreaper), so only the supervisor's own children are looked at, less the
/// group leaders it knows (`leaders`): one small read in the common case where there is none.
pub(crate) fn escaped(project: &str, service: &str, pgid: Pid, leaders: &HashSet<Pid>) -> Vec<Pid> {
    own_children()
        .into_iter()
        .filter(|pid| !leaders.contains(pid))
        .filter(|pid| {
            procfs::process::Process::new(pid.get())
                .is_ok_and(|p| p.stat().is_ok_and(|s| s.pgrp != pgid.get()) && has_marker(&p, project, Some(service)))
        })
        .collect()
}

/// The children of every thread of this process.
fn own_children() -> Vec<Pid> {
    let Ok(me) = procfs::process::Process::myself() else {
        return Vec::new();
    };
    let Ok(tasks) = me.tasks() else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| t.children().ok())
        .flatten()
        .filter_map(|pid| Pid::try_from(pid).ok())
        .collect()
}

/// Every process of this user that carries the project's marker, whatever its service.
/// Another user's process may carry the same marker; it is no service of ours.
pub(crate) fn marked(project: &str) -> Vec<(Pid, String)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(Result::ok)
        .filter(is_own)
        .filter_map(|p| {
            let env = p.environ().ok()?;
            let same_project = env.get(OsStr::new(PROJECT_VAR)).is_some_and(|v| v == project);
            let service = env.get(OsStr::new(SERVICE_VAR))?.to_string_lossy().into_owned();
            same_project.then_some((Pid::new(p.pid)?, service))
        })
        .collect()
}

fn has_marker(p: &procfs::process::Process, project: &str, service: Option<&str>) -> bool {
    let Ok(env) = p.environ() else { return false };
    let project_ok = env.get(OsStr::new(PROJECT_VAR)).is_some_and(|v| v == project);
    let service_ok = service.is_none_or(|s| env.get(OsStr::new(SERVICE_VAR)).is_some_and(|v| v == s));
    project_ok && service_ok
}

/// CPU time and resident memory summed over the processes of each group.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Usage {
    /// User + system time, in seconds.
    pub(crate) cpu_secs: f64,
    pub(crate) rss_bytes: u64,
}

/// One pass over /proc for all the groups asked about.
pub(crate) fn group_usage(pgids: &[Pid]) -> HashMap<Pid, Usage> {
    let mut usage: HashMap<Pid, Usage> = HashMap::new();
    let Ok(all) = procfs::process::all_processes() else {
        return usage;
    };
    let ticks = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    for stat in all.filter_map(Result::ok).filter_map(|p| p.stat().ok()) {
        let Some(pgid) = pgids.iter().find(|p| p.get() == stat.pgrp) else { continue };
        let u = usage.entry(*pgid).or_default();
        u.cpu_secs += (stat.utime + stat.stime) as f64 / ticks;
        u.rss_bytes += stat.rss * page;
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_of_self_is_alive_and_a_changed_start_time_is_not() {
        let me = identity_of(own_pid()).expect("own identity");
        assert!(is_alive(&me));
        let other = Identity { start_time: me.start_time + 1, ..me.clone() };
        assert!(!is_alive(&other));
        let rebooted = Identity { boot_id: "another boot".into(), ..me };
        assert!(!is_alive(&rebooted));
    }
}
