//! Where a service can be reached: the TCP ports its processes listen on, read from /proc (the
//! sockets each member of its process group holds, matched against the kernel's listening
//! sockets). For an agent that started `python -m http.server` and needs to know where it went,
//! or a service that picked a port of its own. Only this user's processes can be looked into;
//! anything unreadable is skipped, never an error.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use procfs::net::TcpState;
use procfs::process::{FDTarget, all_processes};

use crate::model::Pid;

/// The listening TCP ports of each of these process groups (keyed by its leader's pid).
pub(crate) fn listening(groups: &[Pid]) -> BTreeMap<Pid, Vec<u16>> {
    if groups.is_empty() {
        return BTreeMap::new();
    }
    let listeners = listening_inodes();
    let wanted: HashSet<i32> = groups.iter().map(|p| p.get()).collect();
    let mut found: BTreeMap<Pid, BTreeSet<u16>> = BTreeMap::new();
    let Ok(processes) = all_processes() else { return BTreeMap::new() };
    for process in processes.filter_map(Result::ok) {
        let Some(group) = process.stat().ok().map(|s| s.pgrp).filter(|g| wanted.contains(g)) else { continue };
        let Some(group) = Pid::new(group) else { continue };
        let Ok(fds) = process.fd() else { continue };
        for fd in fds.filter_map(Result::ok) {
            if let FDTarget::Socket(inode) = fd.target
                && let Some(port) = listeners.get(&inode)
            {
                found.entry(group).or_default().insert(*port);
            }
        }
    }
    found.into_iter().map(|(group, ports)| (group, ports.into_iter().collect())).collect()
}

/// Socket inode → local port of every listening TCP socket (IPv4 and IPv6).
fn listening_inodes() -> HashMap<u64, u16> {
    let v4 = procfs::net::tcp().unwrap_or_default();
    let v6 = procfs::net::tcp6().unwrap_or_default();
    v4.into_iter()
        .chain(v6)
        .filter(|entry| entry.state == TcpState::Listen)
        .map(|entry| (entry.inode, entry.local_address.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_of_this_process_is_found_by_its_group() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let group = Pid::new(nix::unistd::getpgrp().as_raw()).unwrap();
        let found = listening(&[group]);
        assert!(found.get(&group).is_some_and(|ports| ports.contains(&port)), "{found:?}");
        assert!(listening(&[]).is_empty());
    }
}
