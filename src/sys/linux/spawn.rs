//! Starting a service's process: in a new session, with pipes for its output that outlive the
//! supervisor, and with the user's own limit on open files; and opening those pipes again for
//! a process a new supervisor adopts.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::OnceLock;

use nix::fcntl::OFlag;
use tokio::net::unix::pipe::Receiver;

use super::procfs::{boot_id, identity_of};
use crate::model::{Identity, Pid};
use crate::sys::{SpawnRequest, Spawned};

/// Where a child keeps its own copy of its output pipes' read ends (see `spawn`): at fd 200 or
/// above when the limit allows, so it never takes a number a program expects (3 for socket
/// activation); else at the lowest free fd above 2, so a low `ulimit -n` still starts it.
const KEEPER_FD_PREFERRED: i32 = 200;
const KEEPER_FD_LOWEST: i32 = 3;

/// The soft limit on open files the supervisor was started with, as the user set it: given
/// back to every child (see [`raise_fd_limit`]).
static USER_FD_LIMIT: OnceLock<(u64, u64)> = OnceLock::new();

/// Raises this process's soft limit on open files to its hard limit, as most servers do: a
/// supervisor holds a few descriptors per service. Children get the user's own limit back, as
/// systemd gives its services theirs (a program using select() breaks above 1024).
pub(crate) fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return };
    USER_FD_LIMIT.get_or_init(|| (soft, hard));
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
}

/// The supervisor's limit on open files now.
pub(crate) fn fd_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft)
}

/// Spawns a child in a new session (so it leads its own process group), stdin from /dev/null.
///
/// The child's stdout and stderr are pipes. The child also keeps a read end of each (never
/// read): so if the supervisor dies, the child's writes do not die of SIGPIPE — they wait,
/// once the pipe is full, until a new supervisor adopts the child and opens the pipe again
/// through /proc/<pid>/fd/1.
pub(crate) fn spawn(req: &SpawnRequest) -> io::Result<Spawned> {
    let (arg0, args) =
        req.argv.split_first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = std::process::Command::new(req.program);
    cmd.arg0(arg0)
        .args(args)
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
