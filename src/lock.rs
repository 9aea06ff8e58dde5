//! The project's lock, `.orch/supervisor.lock`: an flock held by the one live supervisor for its
//! whole life. The file is opened without truncation, locked, then filled with who holds it, so
//! a loser of the race never clobbers the winner's record.

use std::fs::File;
use std::io::{self, Write};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::model::Pid;
use crate::paths::ProjectPaths;
use crate::safe_fs::{self, Access};

pub(crate) struct Lock {
    _file: Flock<File>,
}

/// What the lock file says about its holder.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub(crate) pid: Pid,
    pub(crate) socket: String,
    pub(crate) version: String,
    pub(crate) started_at: String,
}

impl Lock {
    /// The lock, or None when another supervisor holds it.
    pub(crate) fn try_acquire(paths: &ProjectPaths) -> io::Result<Option<Lock>> {
        // Opened close-on-exec, so services never inherit the lock.
        let file = paths.create_dirs()?.open("supervisor.lock", Access::ReadWrite)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(e.into()),
        };
        let holder = Holder {
            pid: crate::sys::linux::own_pid(),
            socket: paths.socket().display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        file.set_len(0)?;
        file.write_all(&serde_json::to_vec(&holder)?)?;
        Ok(Some(Lock { _file: file }))
    }

    /// Who holds the lock, as recorded; None when unreadable.
    pub(crate) fn holder(paths: &ProjectPaths) -> Option<Holder> {
        serde_json::from_slice(&safe_fs::read(&paths.lock()).ok()?).ok()
    }
}

/// The pid of the process that holds the project's lock now, read from /proc/locks (so it is
/// the lock itself that says, not a file someone may have left behind); None when nobody holds
/// it. Where /proc/locks cannot be read, the lock file's record is taken if its pid is alive.
pub(crate) fn holder_pid(paths: &ProjectPaths) -> Option<Pid> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(paths.lock()).ok()?;
    match std::fs::read_to_string("/proc/locks") {
        Ok(locks) => flock_holder(&locks, meta.dev(), meta.ino()),
        Err(_) => Lock::holder(paths).map(|h| h.pid).filter(|pid| crate::sys::linux::pid_exists(*pid)),
    }
}

/// The pid holding an flock on the file `(dev, ino)`, from the text of /proc/locks: lines such
/// as `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF` (a `->` line is a waiter, not a
/// holder).
fn flock_holder(locks: &str, dev: u64, ino: u64) -> Option<Pid> {
    let device = format!("{:02x}:{:02x}:{ino}", nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, file, ..] if *file == device => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_read_from_proc_locks() {
        let locks = "1: POSIX  ADVISORY  WRITE 77 fd:01:99 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 5151 fd:01:1234567 0 EOF\n";
        let dev = nix::sys::stat::makedev(0xfd, 0x01);
        assert_eq!(flock_holder(locks, dev, 1_234_567), Pid::new(4242));
        assert_eq!(flock_holder(locks, dev, 99), None, "a POSIX lock is not ours");
        assert_eq!(flock_holder(locks, dev, 1), None);
    }

    #[test]
    fn a_held_lock_names_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ProjectPaths::new(dir.path());
        assert_eq!(holder_pid(&paths), None);
        let lock = Lock::try_acquire(&paths).unwrap().expect("the lock");
        assert_eq!(holder_pid(&paths), Some(crate::sys::linux::own_pid()));
        drop(lock);
        assert_eq!(holder_pid(&paths), None);
    }
}
