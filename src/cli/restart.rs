//! `orch restart [SVC…]`: stop the services, then start them again (all when none named);
//! what they depend on is brought up if it is not. A name that is no service is exit 2, and
//! starts nothing.

use clap::Args;

use super::follow::Follow;
use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;

#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    /// Services to restart; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: RestartArgs) -> Result<Exit, CliError> {
    let session = Session::open_any(global)?;
    let mut conn = match session.connect()? {
        Some(conn) => conn,
        None => {
            // No supervisor to ask: the names are checked here, before one is started for them.
            session.check_known(&args.services)?;
            if session.loaded.is_none() && args.services.is_empty() {
                return Err(CliError::Usage(format!(
                    "nothing to restart: no procs.toml or Procfile in {} and nothing running",
                    session.paths.root.display()
                )));
            }
            session.connect_or_launch()?
        }
    };
    conn.send(Request::Restart { origin: session.origin(), services: args.services.clone() }).map_err(lost)?;
    let follow = Follow { requested: &args.services, expect: Expect::Up, deadline: None, interruptible: false };
    follow.run(&mut conn, Progress::new(&args.services))
}
