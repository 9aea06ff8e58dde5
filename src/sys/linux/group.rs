//! Process groups and single processes: signal them, ask whether they are still there, and be
//! woken when one ends — by the reaper for the supervisor's own children, through a pidfd for
//! a process it did not start.

use std::future::poll_fn;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::Poll;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid as NixPid;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

use super::procfs::{is_alive, members_not_ours};
use crate::model::{Identity, Pid};
use crate::sys::{GroupWaker, OsFuture};

fn nix_pid(pid: Pid) -> NixPid {
    NixPid::from_raw(pid.get())
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

/// Whether any process is left in a group, zombies included.
pub(crate) fn group_alive(pgid: Pid) -> bool {
    !matches!(killpg(nix_pid(pgid), None), Err(Errno::ESRCH))
}

/// Whether a process with this pid exists (of any user that we may signal).
pub(crate) fn pid_exists(pid: Pid) -> bool {
    kill(nix_pid(pid), None).is_ok()
}

/// The process group a process is in, when it still exists.
pub(crate) fn group_of(pid: Pid) -> Option<Pid> {
    nix::unistd::getpgid(Some(nix_pid(pid))).ok().and_then(|g| Pid::new(g.as_raw()))
}

/// A pidfd for a process, readable once it has ended; None where the kernel has no pidfds
/// (before 5.3) or the process is gone. It refers to this very process: a reused pid cannot
/// fool it.
fn pidfd(pid: Pid) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.get(), 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `owned` is a valid open fd, owned by the AsyncFd until it is dropped.
    unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }.ok()
}

/// Resolves when a process that is not our child has ended: through a pidfd where the kernel
/// has them, else by looking every 50 ms.
pub(crate) async fn wait_not_child(identity: Identity) {
    if let Some(pidfd) = pidfd(identity.pid) {
        // Opened before this look, so an exit in between still makes it readable.
        if is_alive(&identity) {
            let _ = pidfd.readable().await;
        }
        return;
    }
    while is_alive(&identity) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Woken by every reap of the supervisor's children, and by the end of each member of the
/// group that is not its child (an adopted service's processes), through their pidfds.
pub(crate) struct Waker {
    reaped: watch::Receiver<u64>,
    pidfds: Vec<AsyncFd<OwnedFd>>,
}

impl Waker {
    /// The pidfds are opened once, for the members there are now: the wait is for those to
    /// end, and a process that joins the group later wakes it only through the fallback timer.
    pub(crate) fn new(mut reaped: watch::Receiver<u64>, pgid: Pid) -> Self {
        reaped.mark_unchanged();
        let pidfds = members_not_ours(pgid).into_iter().filter_map(pidfd).collect();
        Self { reaped, pidfds }
    }
}

impl GroupWaker for Waker {
    fn changed(&mut self) -> OsFuture<'_> {
        Box::pin(async move {
            let Self { reaped, pidfds } = self;
            let ended = poll_fn(|cx| {
                // A pidfd stays readable once its process ended: it is dropped once it woke us.
                match pidfds.iter().position(|fd| fd.poll_read_ready(cx).is_ready()) {
                    Some(i) => {
                        pidfds.swap_remove(i);
                        Poll::Ready(())
                    }
                    None => Poll::Pending,
                }
            });
            tokio::select! {
                changed = reaped.changed() => {
                    if changed.is_err() {
                        // The reaper is gone; only the fallback timer can wake the wait now.
                        std::future::pending::<()>().await;
                    }
                }
                () = ended => {}
            }
        })
    }
}
