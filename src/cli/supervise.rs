//! `orch __supervise ROOT`: the background supervisor (started by a client, not by people).

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::ClientError;
use crate::exit::Exit;
use crate::lock::Lock;
use crate::paths::ProjectPaths;
use crate::supervisor::{self, output::Output};

#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The project root
    pub root: PathBuf,
}

pub(super) fn run(args: SuperviseArgs) -> Result<Exit, ClientError> {
    let paths = ProjectPaths::new(&args.root);
    let lock = Lock::try_acquire(&paths).map_err(|e| ClientError::Failed(format!("cannot lock the project: {e}")))?;
    let Some(lock) = lock else {
        // Another supervisor holds the lock: it serves the project, this one is not needed.
        crate::supervisor::handoff::discard(&paths);
        return Ok(Exit::Success);
    };
    // Not eprintln!: it panics when the disk is full.
    let _ = writeln!(
        io::stderr(),
        "{} orch supervisor {} started (pid {})",
        now(),
        env!("CARGO_PKG_VERSION"),
        crate::sys::linux::own_pid()
    );
    supervisor::run(&paths, lock, Output::background(&paths), None)
        .map_err(|e| ClientError::Failed(format!("supervisor: {e}")))?;
    let _ = writeln!(io::stderr(), "{} orch supervisor exits: nothing left to supervise", now());
    Ok(Exit::Success)
}

fn now() -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(std::time::SystemTime::now())
}
