//! What /proc says: a process's identity (start time and boot id) and owner, the processes
//! that carry a project's marker, and who listens on a TCP port.

use std::collections::HashSet;
use std::ffi::OsStr;

use procfs::process::Process;

use crate::model::{Identity, Pid};
use crate::sys::{PROJECT_VAR, SERVICE_VAR};

/// The identity of a running process of this user; None when it is gone, a zombie (it has
/// ended; only its parent has not collected it yet), or another user's.
pub(crate) fn identity_of(pid: Pid) -> Option<Identity> {
    let process = Process::new(pid.get()).ok()?;
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

/// Whether a process runs as this user: its real and effective uid are ours.
fn is_own(process: &Process) -> bool {
    process.status().is_ok_and(|status| runs_as_me(&status))
}

fn runs_as_me(status: &procfs::process::Status) -> bool {
    let me = nix::unistd::getuid().as_raw();
    status.ruid == me && status.euid == me
}

/// The owner of a process, when it is not this user: `bob (uid 1001)`.
pub(crate) fn foreign_owner(pid: Pid) -> Option<String> {
    let status = Process::new(pid.get()).ok()?.status().ok()?;
    (!runs_as_me(&status)).then(|| crate::safe_fs::owner_name(status.ruid))
}

pub(crate) fn boot_id() -> String {
    procfs::sys::kernel::random::boot_id().map(|s| s.trim().to_owned()).unwrap_or_default()
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
            Process::new(pid.get()).is_ok_and(|p| {
                p.stat().is_ok_and(|s| s.pgrp != pgid.get())
                    && service_marked(&p, project).is_some_and(|s| s == service)
            })
        })
        .collect()
}

/// The supervisor's children, read straight from the children files that can hold them: the
/// calling thread's (the runtime's, which spawns every service) and the main thread's (the
/// kernel hands orphans to a subreaper's first live thread). One small read each, not a walk
/// of /proc/self/task, as this runs once for every service that stops.
fn own_children() -> Vec<Pid> {
    let pid = nix::unistd::getpid().as_raw();
    let tid = nix::unistd::gettid().as_raw();
    let mut threads = vec![tid];
    if pid != tid {
        threads.push(pid);
    }
    threads
        .into_iter()
        .filter_map(|thread| std::fs::read_to_string(format!("/proc/self/task/{thread}/children")).ok())
        .flat_map(|list| parse_children(&list))
        .collect()
}

/// The pids of a `children` file: decimal numbers separated by spaces. Anything else is skipped.
fn parse_children(list: &str) -> Vec<Pid> {
    list.split_ascii_whitespace().filter_map(|n| n.parse::<Pid>().ok()).collect()
}

/// Every process of this user that carries the project's marker, whatever its service.
/// Another user's process may carry the same marker; it is no service of ours.
pub(crate) fn marked(project: &str) -> Vec<(Pid, String)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(Result::ok)
        .filter(is_own)
        .filter_map(|p| Some((Pid::new(p.pid)?, service_marked(&p, project)?)))
        .collect()
}

/// For a process carrying the project's marker, the service its marker names; None for any
/// other process.
fn service_marked(p: &Process, project: &str) -> Option<String> {
    let env = p.environ().ok()?;
    env.get(OsStr::new(PROJECT_VAR)).filter(|v| *v == project)?;
    Some(env.get(OsStr::new(SERVICE_VAR))?.to_string_lossy().into_owned())
}

/// Whether a group has a member that is not a zombie: one pass over /proc. None when /proc
/// cannot be read.
pub(crate) fn group_has_live_member(pgid: Pid) -> Option<bool> {
    let all = procfs::process::all_processes().ok()?;
    Some(all.filter_map(Result::ok).filter_map(|p| p.stat().ok()).any(|s| s.pgrp == pgid.get() && s.state != 'Z'))
}

/// The live members of a group whose parent is not this process: their exits are never
/// reaped (nor told) here, so a wait for the group watches each through a pidfd.
pub(crate) fn members_not_ours(pgid: Pid) -> Vec<Pid> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let me = own_pid().get();
    all.filter_map(Result::ok)
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.pgrp == pgid.get() && s.state != 'Z' && s.ppid != me)
        .filter_map(|s| Pid::new(s.pid))
        .collect()
}

/// Who listens on a TCP port, when it can be found: `pid 123 (python3)`.
pub(crate) fn port_holder(port: u16) -> Option<String> {
    let inode = listening_inode(port)?;
    for process in procfs::process::all_processes().ok()?.filter_map(Result::ok) {
        let Ok(fds) = process.fd() else { continue };
        let holds = fds.filter_map(Result::ok).any(|fd| match fd.target {
            procfs::process::FDTarget::Socket(i) => i == inode,
            _ => false,
        });
        if holds {
            let name = process.stat().map(|s| s.comm).unwrap_or_default();
            return Some(format!("pid {} ({name})", process.pid));
        }
    }
    None
}

/// The inode of the socket listening on a TCP port (v4 or v6), if one does.
pub(crate) fn listening_inode(port: u16) -> Option<u64> {
    let mut entries = procfs::net::tcp().unwrap_or_default();
    entries.extend(procfs::net::tcp6().unwrap_or_default());
    entries
        .into_iter()
        .find(|e| e.local_address.port() == port && e.state == procfs::net::TcpState::Listen)
        .map(|e| e.inode)
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

    #[test]
    fn children_files_are_parsed_and_garbage_is_skipped() {
        assert_eq!(parse_children("12 345 \n"), [Pid::new(12).unwrap(), Pid::new(345).unwrap()]);
        assert_eq!(parse_children(""), []);
        assert_eq!(parse_children("7 x -3 0 8"), [Pid::new(7).unwrap(), Pid::new(8).unwrap()]);
    }

    #[test]
    fn own_children_finds_a_child_of_this_thread() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = Pid::new(i32::try_from(child.id()).unwrap()).unwrap();
        let found = own_children().contains(&pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found, "the child {pid} is among this process's children");
    }

    #[test]
    fn a_listener_is_found_with_its_holder() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let inode = listening_inode(port);
        assert!(inode.is_some());
        assert!(port_holder(port).is_some_and(|h| h.contains(&std::process::id().to_string())));
        drop(listener);
        // Another test may be handed the same port at once: this socket is what must be gone.
        // A process another test forks this instant holds a copy of it until it execs, so it
        // is given a moment (bounded) to go.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while listening_inode(port) == inode && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_ne!(listening_inode(port), inode);
    }
}
