//! The listening socket a client hands to the supervisor it launches (see `client::launch`):
//! bound at `h-<client pid>.sock` in the runtime folder, passed as fd [`HANDOFF_FD`], and
//! renamed onto the project's socket once this supervisor holds the lock. Nothing about it is
//! taken on trust: the descriptor must be a listening Unix socket bound at the path given, and
//! that path a handoff name in this project's runtime folder; else the supervisor binds its
//! socket itself, as it would without a client.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{UnixAddr, getsockname, getsockopt, sockopt};

use crate::paths::ProjectPaths;

/// The descriptor the socket is passed as.
pub(crate) const HANDOFF_FD: RawFd = 3;

/// The variable that says a socket was handed over, and as which descriptor.
pub(crate) const LISTEN_FD_VAR: &str = "ORCH_LISTEN_FD";

/// The variable with the path the handed socket is bound at.
pub(crate) const LISTEN_PATH_VAR: &str = "ORCH_LISTEN_PATH";

/// The file name of the socket a client with this pid hands over.
pub(crate) fn handoff_name(client_pid: u32) -> String {
    format!("h-{client_pid}.sock")
}

/// The socket handed over, made the project's socket; None when none was, or it does not pass
/// the checks (what was wrong goes to the supervisor's log).
pub(crate) fn take(paths: &ProjectPaths) -> Option<UnixListener> {
    let (fd, path) = handed()?;
    let checked = check(paths, fd, &path).and_then(|()| adopt(fd));
    let listener = match checked {
        Ok(listener) => listener,
        Err(e) => {
            say!("orch: the socket handed over is not used: {e}");
            return None;
        }
    };
    match std::fs::rename(&path, paths.socket()) {
        Ok(()) => Some(listener),
        Err(e) => {
            say!("orch: cannot move the socket handed over into place: {e}");
            None
        }
    }
}

/// A supervisor that is not needed (another holds the lock) removes the socket it was handed,
/// if it is one of the project's handoff sockets: its client then connects to the one that is.
pub(crate) fn discard(paths: &ProjectPaths) {
    if let Some((fd, path)) = handed()
        && check(paths, fd, &path).is_ok()
    {
        let _ = std::fs::remove_file(path);
    }
}

/// The descriptor and path the environment names.
fn handed() -> Option<(RawFd, PathBuf)> {
    let fd = std::env::var(LISTEN_FD_VAR).ok()?.parse().ok().filter(|fd| *fd == HANDOFF_FD)?;
    Some((fd, PathBuf::from(std::env::var_os(LISTEN_PATH_VAR)?)))
}

/// The descriptor is a listening Unix socket bound at `path`, a handoff name in the project's
/// runtime folder.
fn check(paths: &ProjectPaths, fd: RawFd, path: &Path) -> io::Result<()> {
    let refuse = |why: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_owned()));
    let handoff_named = |name: &str| {
        name.strip_prefix("h-").and_then(|n| n.strip_suffix(".sock")).is_some_and(|pid| pid.parse::<u32>().is_ok())
    };
    let in_place = path.parent() == Some(paths.runtime_dir.as_path())
        && path.file_name().and_then(|n| n.to_str()).is_some_and(handoff_named);
    if !in_place {
        return refuse("its path is not a handoff socket of this project");
    }
    // SAFETY: fstat takes any number (EBADF for one that is not open) and fills `stat`.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `stat` is a valid, writable libc::stat.
    if unsafe { libc::fstat(fd, &raw mut stat) } < 0 {
        return Err(io::Error::last_os_error());
    }
    if stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return refuse("the descriptor is not a socket");
    }
    // SAFETY: fd was just seen open (fstat); it is only borrowed for these calls.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    if !getsockopt(&borrowed, sockopt::AcceptConn)? {
        return refuse("the socket does not listen");
    }
    let bound: UnixAddr = getsockname(fd)?;
    if bound.path() != Some(path) {
        return refuse("the socket is bound elsewhere");
    }
    Ok(())
}

/// Takes the descriptor over, closed at the exec of every service.
fn adopt(fd: RawFd) -> io::Result<UnixListener> {
    // SAFETY: fd is a listening socket (checked) that nothing else in this process owns: it
    // was inherited, and is taken once.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    let listener = UnixListener::from(owned);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    fn project() -> (tempfile::TempDir, ProjectPaths) {
        let root = tempfile::tempdir().unwrap();
        let paths = ProjectPaths::new(root.path());
        paths.create_runtime_dir().unwrap();
        (root, paths)
    }

    #[test]
    fn a_listening_socket_at_a_handoff_path_of_the_project_passes() {
        let (_root, paths) = project();
        let path = paths.runtime_dir.join(handoff_name(1));
        let listener = UnixListener::bind(&path).unwrap();
        assert!(check(&paths, listener.as_raw_fd(), &path).is_ok());
        std::fs::remove_dir_all(&paths.runtime_dir).unwrap();
    }

    #[test]
    fn anything_else_is_refused() {
        let (_root, paths) = project();
        let elsewhere = tempfile::tempdir().unwrap();
        // Bound outside the project's runtime folder, or under another name.
        let outside = elsewhere.path().join(handoff_name(1));
        let listener = UnixListener::bind(&outside).unwrap();
        assert!(check(&paths, listener.as_raw_fd(), &outside).is_err());
        let renamed = paths.runtime_dir.join("orch.sock");
        let other = UnixListener::bind(&renamed).unwrap();
        assert!(check(&paths, other.as_raw_fd(), &renamed).is_err());
        // At the right path, but the descriptor is another socket, or no socket at all.
        let path = paths.runtime_dir.join(handoff_name(2));
        let _real = UnixListener::bind(&path).unwrap();
        assert!(check(&paths, other.as_raw_fd(), &path).is_err(), "bound elsewhere");
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(check(&paths, file.as_raw_fd(), &path).is_err(), "not a socket");
        let (stream, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(check(&paths, stream.as_raw_fd(), &path).is_err(), "not listening");
        assert!(check(&paths, 9999, &path).is_err(), "not open");
        std::fs::remove_dir_all(&paths.runtime_dir).unwrap();
    }
}
