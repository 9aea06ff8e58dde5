//! Starting the project's supervisor: `orch __supervise ROOT` re-executed in a session of
//! its own, detached from the client, its output in `.orch/supervisor.log`.

use std::io;
use std::process::Stdio;

use crate::paths::ProjectPaths;
use crate::supervisor::SUPERVISOR_VAR;

/// Starts `orch __supervise` for the project: a new session, stdin from /dev/null, output to
/// `.orch/supervisor.log`. It takes the lock itself; if another one won the race it just exits.
pub(super) fn launch(paths: &ProjectPaths) -> io::Result<()> {
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
    // It outlives a command-line client, and is reparented when that exits. A long-lived
    // client (`orch mcp`) reaps it when it ends, so no supervisor it started stays a zombie.
    let mut child = cmd.spawn()?;
    std::thread::spawn(move || child.wait());
    Ok(())
}
