//! The project's lock, `.orch/supervisor.lock`: an flock held by the one live supervisor for its
//! whole life. The file is opened without truncation, locked, then filled with who holds it, so
//! a loser of the race never clobbers the winner's record.

use std::fs::File;
use std::io::{self, Write};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::paths::ProjectPaths;
use crate::safe_fs::{self, Access};

pub struct Lock {
    _file: Flock<File>,
}

/// What the lock file says about its holder.
#[derive(Debug, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub socket: String,
    pub version: String,
    pub started_at: String,
}

impl Lock {
    /// The lock, or None when another supervisor holds it.
    pub fn try_acquire(paths: &ProjectPaths) -> io::Result<Option<Lock>> {
        // Opened close-on-exec, so services never inherit the lock.
        let file = paths.create_dirs()?.open("supervisor.lock", Access::ReadWrite)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(e.into()),
        };
        let holder = Holder {
            pid: std::process::id(),
            socket: paths.socket().display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        file.set_len(0)?;
        file.write_all(&serde_json::to_vec(&holder)?)?;
        Ok(Some(Lock { _file: file }))
    }

    /// Who holds the lock, as recorded; None when unreadable.
    pub fn holder(paths: &ProjectPaths) -> Option<Holder> {
        serde_json::from_slice(&safe_fs::read(&paths.lock()).ok()?).ok()
    }
}
