//! Starting the project's supervisor: `orch __supervise ROOT` re-executed in a session of
//! its own, detached from the client, its output in `.orch/supervisor.log`.
//!
//! The client binds the supervisor's listening socket itself and hands it over (as socket
//! activation does): it connects at once, its hello waits in the socket's backlog until the
//! supervisor serves it, and no connect is ever retried while the supervisor starts.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::paths::ProjectPaths;
use crate::supervisor::SUPERVISOR_VAR;
use crate::supervisor::handoff::{HANDOFF_FD, LISTEN_FD_VAR, LISTEN_PATH_VAR, handoff_name};

/// A listening socket made for a supervisor about to be launched, and the client's connection
/// to it, made before the launch.
pub(super) struct Handoff {
    listener: UnixListener,
    path: PathBuf,
    stream: UnixStream,
}

impl Handoff {
    /// Binds `<runtime dir>/h-<pid>.sock` (0600, in the 0700 runtime folder) and connects to it.
    pub(super) fn bind(paths: &ProjectPaths) -> io::Result<Self> {
        let path = paths.runtime_dir.join(handoff_name(std::process::id()));
        crate::safe_fs::remove_stale(&path)?;
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let stream = UnixStream::connect(&path)?;
        Ok(Self { listener, path, stream })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, once the socket is the launched supervisor's alone: if it exits without
    /// serving (another one won the lock), the connection ends rather than wait for ever.
    pub(super) fn into_stream(self) -> UnixStream {
        self.stream
    }
}

/// Starts `orch __supervise` for the project: a new session, stdin from /dev/null, output to
/// `.orch/supervisor.log`, and the `handoff` socket to listen on when given. It takes the lock
/// itself; if another one won the race it just exits.
pub(super) fn launch(paths: &ProjectPaths, handoff: Option<&Handoff>) -> io::Result<()> {
    let dir = paths.create_dirs()?;
    // A planted lock is refused here, with its reason, not later in the supervisor's log.
    dir.open("supervisor.lock", crate::safe_fs::Access::ReadWrite)?;
    let log = dir.open("supervisor.log", crate::safe_fs::Access::Append)?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__supervise")
        .arg(&paths.root)
        .current_dir(&paths.root)
        .env(SUPERVISOR_VAR, &paths.root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    crate::sys::linux::detach(&mut cmd);
    if let Some(handoff) = handoff {
        cmd.env(LISTEN_FD_VAR, HANDOFF_FD.to_string()).env(LISTEN_PATH_VAR, &handoff.path);
        pass_fd(&mut cmd, handoff.listener.as_raw_fd());
    }
    // It outlives a command-line client, and is reparented when that exits. A long-lived
    // client (`orch mcp`) reaps it when it ends, so no supervisor it started stays a zombie.
    let mut child = cmd.spawn()?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Gives the child `fd` as [`HANDOFF_FD`], open across its exec. Registered after `detach`,
/// which marks every inherited descriptor close-on-exec.
fn pass_fd(cmd: &mut std::process::Command, fd: RawFd) {
    // SAFETY: dup2 and fcntl are async-signal-safe and touch no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            let passed = if fd == HANDOFF_FD { libc::fcntl(fd, libc::F_SETFD, 0) } else { libc::dup2(fd, HANDOFF_FD) };
            if passed < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
