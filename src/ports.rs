//! TCP ports for services: `port = "auto"` picks a free one on 127.0.0.1 and keeps it (across
//! restarts, reloads, and `down` then `up`) for as long as it stays free; `port = 8080` pins
//! one. A registry shared by all of this user's projects (`<runtime dir>/orch/ports.json`,
//! under an flock) makes sure two projects are never given the same port.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

/// Whether a port on 127.0.0.1 can be bound now.
pub(crate) fn is_free(port: u16) -> bool {
    bound(port).is_ok()
}

/// A port the kernel calls free now (no registry: for previews such as `orch config`).
pub(crate) fn any_free() -> u16 {
    bound(0).map_or(0, |(_, port)| port)
}

/// A TCP socket bound to 127.0.0.1:`port` (0: any free one), and its port, that never listens:
/// orch only asks whether a service could bind the port, so at no moment does it accept a
/// connection. SO_REUSEADDR, as servers set it, so a port with connections in TIME_WAIT counts
/// as free, as it is for them; one that something listens on does not.
fn bound(port: u16) -> io::Result<(OwnedFd, u16)> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, bind, getsockname, setsockopt, socket, sockopt,
    };
    let socket = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&socket, sockopt::ReuseAddr, &true)?;
    bind(socket.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, port))?;
    let address: SockaddrIn = getsockname(socket.as_raw_fd())?;
    Ok((socket, address.port()))
}

pub(crate) struct Registry {
    path: PathBuf,
}

impl Registry {
    /// This user's registry, beside the projects' socket folders.
    pub(crate) fn for_user() -> Self {
        Self { path: crate::paths::runtime_base().join("ports.json") }
    }

    /// A port for `owner` (`<project root>#<service>`): `preferred` if it is still free and no
    /// other owner holds it, else a new free one; recorded as the owner's.
    pub(crate) fn allocate(&self, owner: &str, preferred: Option<u16>) -> io::Result<u16> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.path.with_extension("lock"))?;
        let _lock = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        let mut held = self.read();
        let free_for_owner =
            |port: u16, held: &BTreeMap<u16, String>| held.get(&port).is_none_or(|o| o == owner) && is_free(port);
        let port = match preferred.filter(|p| free_for_owner(*p, &held)) {
            Some(port) => port,
            None => (0..100)
                .map(|_| any_free())
                .find(|p| *p != 0 && free_for_owner(*p, &held))
                .ok_or_else(|| io::Error::other("no free port found"))?,
        };
        held.retain(|_, o| o != owner);
        held.insert(port, owner.to_owned());
        self.write(&held)?;
        Ok(port)
    }

    fn read(&self) -> BTreeMap<u16, String> {
        std::fs::read(&self.path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    fn write(&self, held: &BTreeMap<u16, String>) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let file = File::create(&tmp)?;
        serde_json::to_writer(&file, held)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// Who listens on a port, when it can be found: `pid 123 (python3)`.
pub(crate) fn holder_of(port: u16) -> Option<String> {
    crate::sys::linux::port_holder(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_held_by_one_owner_is_not_given_to_another() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry { path: dir.path().join("ports.json") };
        let a = registry.allocate("/p1#web", None).unwrap();
        assert_eq!(registry.allocate("/p1#web", Some(a)).unwrap(), a, "kept while free");
        let b = registry.allocate("/p2#web", Some(a)).unwrap();
        assert_ne!(a, b, "another project never gets it");
        let listener = std::net::TcpListener::bind(("127.0.0.1", a)).unwrap();
        let moved = registry.allocate("/p1#web", Some(a)).unwrap();
        assert_ne!(moved, a, "a port taken by someone else is given up");
        assert!(holder_of(a).is_some_and(|h| h.contains(&std::process::id().to_string())));
        drop(listener);
    }

    #[test]
    fn the_free_port_check_never_listens() {
        let (socket, port) = bound(0).unwrap();
        assert_ne!(port, 0);
        // Bound, so no one else gets the port meanwhile, but not listening: nothing connects,
        // and the kernel lists no listener on it.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        assert_eq!(crate::sys::linux::listening_inode(port), None);
        drop(socket);
        assert!(is_free(port));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(!is_free(port), "a port something listens on is not free");
        drop(listener);
    }
}
