//! `orch down [SVC…]`: stop the services and their dependents (all, ad-hoc ones included,
//! when none are named), dependents first; the supervisor exits when nothing is left.

use std::time::Duration;

use clap::Args;

use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::up::follow;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;
use crate::supervisor::lock::Lock;
use crate::supervisor::process;

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
        process::wait_gone(holder.pid as i32, Duration::from_secs(3));
    }
    Ok(exit)
}
