//! How a client finds the project's supervisor, whatever the client's environment: the lock
//! (`.orch/supervisor.lock`) says whether one runs and which pid holds it, and the lock file
//! records the socket that supervisor listens on. Nothing is taken on trust: the socket's
//! folder must be this user's and private, and the peer must be this user's process.
//!
//! "Nothing runs here" is said only when no process holds the lock; a supervisor that holds it
//! but does not answer within the patience given is reported as such.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::client::{ConnectError, Connection, VersionMismatch};
use crate::lock::{self, Lock};
use crate::model::Pid;
use crate::paths::{self, ProjectPaths};

/// How long a supervisor that holds the lock may take to answer a client's hello.
pub(crate) const PATIENCE: Duration = Duration::from_secs(2);

/// What a client found.
pub(crate) enum Found {
    Connected(Connection),
    /// No process holds the project's lock: no supervisor runs.
    NotRunning,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LocateError {
    #[error(
        "the supervisor (pid {pid}) does not answer: it may be stopped (SIGSTOP) or stuck; `kill -CONT {pid}` wakes a stopped one, `kill {pid}` ends it (its services keep running and the next orch command adopts them)"
    )]
    Unresponsive { pid: Pid },
    #[error("{0}")]
    Untrusted(String),
    #[error("the supervisor (pid {pid}) {mismatch}")]
    Version { pid: Pid, mismatch: VersionMismatch },
    #[error("{0}")]
    Protocol(String),
}

/// Finds and connects to the project's supervisor, waiting at most `patience` for one that
/// holds the lock to listen and answer.
pub(crate) fn find(paths: &ProjectPaths, patience: Duration) -> Result<Found, LocateError> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        let Some(pid) = lock::holder_pid(paths) else { return Ok(Found::NotRunning) };
        // A socket whose folder is gone is a supervisor going away (it removes the folder
        // while it still holds the lock): nothing listens there, so look again.
        if let Some(socket) = recorded_socket(paths, pid).filter(|s| s.parent().is_some_and(Path::exists)) {
            check_folder(&socket)?;
            let left = deadline.saturating_duration_since(Instant::now());
            match Connection::connect(&socket, left) {
                Ok(conn) => return Ok(Found::Connected(conn)),
                Err(ConnectError::NoAnswer(_)) => return Err(LocateError::Unresponsive { pid }),
                Err(e @ ConnectError::Stranger { .. }) => return Err(LocateError::Untrusted(e.to_string())),
                Err(ConnectError::Protocol(message)) => return Err(LocateError::Protocol(message)),
                Err(ConnectError::Version(mismatch)) => return Err(LocateError::Version { pid, mismatch }),
                // Not listening yet (it is starting) or any more (it is going away): look again.
                Err(ConnectError::NotListening(_)) => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(LocateError::Unresponsive { pid });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The socket the lock's holder recorded, once the record is its own (a supervisor that has
/// just taken the lock may not have written it yet).
fn recorded_socket(paths: &ProjectPaths, pid: Pid) -> Option<PathBuf> {
    Lock::holder(paths).filter(|h| h.pid == pid).map(|h| PathBuf::from(h.socket))
}

/// The socket's folder must be this user's alone; else the client refuses, naming it.
fn check_folder(socket: &Path) -> Result<(), LocateError> {
    let folder = socket.parent().unwrap_or(Path::new("/"));
    paths::check_private_folder(folder)
        .map_err(|e| LocateError::Untrusted(format!("the supervisor's socket folder is not safe to use: {e}")))
}
