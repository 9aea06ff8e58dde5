//! `orch restart [SVC…]`: stop the services, then start them again (all when none named);
//! what they depend on is brought up if it is not.

use clap::Args;

use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::up::follow;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Services to restart; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub services: Vec<String>,
}

pub fn run(global: &Global, args: RestartArgs) -> Result<Exit, CliError> {
    let session = Session::open_any(global)?;
    let mut conn = session.connect_or_launch()?;
    conn.send(Request::Restart { origin: session.origin(), services: args.services.clone() }).map_err(lost)?;
    follow(&mut conn, Progress::new(&args.services), Expect::Up, None)
}
