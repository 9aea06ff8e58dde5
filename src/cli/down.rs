//! `orch down [SVC…]`: stop the services and their dependents (all, ad-hoc ones included,
//! when none are named), dependents first; the supervisor exits when nothing is left.

use clap::Args;

use super::progress::Progress;
use super::session::{Session, lost};
use super::up::follow;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Services to stop (with their dependents); all when none are named
    pub services: Vec<String>,
}

pub fn run(global: &Global, args: DownArgs) -> Result<Exit, CliError> {
    let session = Session::open_any(global)?;
    stop(&session, args.services)
}

/// Sends a Down for these services and shows it through.
pub fn stop(session: &Session, services: Vec<String>) -> Result<Exit, CliError> {
    let Some(mut conn) = session.connect() else {
        eprintln!(
            "orch: nothing is running here (no supervisor for {})",
            session.paths.root.display()
        );
        return Ok(Exit::Success);
    };
    conn.send(Request::Down {
        services: services.clone(),
    })
    .map_err(lost)?;
    follow(&mut conn, Progress::new(&services), true, None)
}
