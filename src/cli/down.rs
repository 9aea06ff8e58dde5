//! `orch down [SVC…]`: stop the services and their dependents (all, ad-hoc ones included,
//! when none are named), dependents first; the supervisor exits when nothing is left.

use std::time::{Duration, Instant};

use clap::Args;

use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::up::follow;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;
use crate::supervisor::lock::Lock;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Services to stop (with their dependents); all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub services: Vec<String>,
}

pub fn run(global: &Global, args: DownArgs) -> Result<Exit, CliError> {
    let session = Session::open_lenient(global)?;
    stop(&session, args.services)
}

/// Sends a Down for these services and shows it through.
pub fn stop(session: &Session, services: Vec<String>) -> Result<Exit, CliError> {
    let Some(mut conn) = session.connect() else {
        eprintln!("orch: nothing is running here (no supervisor for {})", session.paths.root.display());
        return Ok(Exit::Success);
    };
    // After a full down the supervisor exits; wait for that too, so that nothing of the
    // project runs once `down` returns.
    let supervisor = if services.is_empty() { Lock::holder(&session.paths) } else { None };
    conn.send(Request::Down { services: services.clone() }).map_err(lost)?;
    let exit = follow(&mut conn, Progress::new(&services), Expect::Stopped, None)?;
    if let Some(holder) = supervisor {
        wait_gone(holder.pid as i32, Duration::from_secs(3));
    }
    Ok(exit)
}

/// Waits until a process has exited (gone, or a zombie waiting for its parent).
fn wait_gone(pid: i32, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let state = procfs::process::Process::new(pid).and_then(|p| p.stat()).map(|s| s.state);
        if !matches!(state, Ok(state) if state != 'Z') {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
