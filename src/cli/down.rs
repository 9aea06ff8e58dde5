//! `orch down [SVC…]`: stop the services and their dependents (all, ad-hoc ones included,
//! when none are named), dependents first; the supervisor exits when nothing is left, and
//! `down` returns once it has (see [`crate::client::ops::down`]).

use clap::Args;

use super::Global;
use super::follow::conclude;
use super::progress::Progress;
use crate::client::follow::{Expect, Wait};
use crate::client::ops::{self, Down};
use crate::client::{ClientError, Session};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Services to stop (with their dependents); all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: DownArgs) -> Result<Exit, ClientError> {
    let session = Session::open_lenient(&global.place())?;
    stop(&session, &args.services)
}

/// Stops these services (all when none) and shows it through.
pub(super) fn stop(session: &Session, services: &[String]) -> Result<Exit, ClientError> {
    let mut progress = Progress::new(services, Expect::Stopped);
    match ops::down(session, services, Wait::default(), &mut |n| progress.notice(n))? {
        Down::NotRunning => {
            match services {
                [] => eprintln!("orch: nothing is running here ({})", session.paths.root.display()),
                names => eprintln!("orch: not running: {}", names.join(", ")),
            }
            Ok(Exit::Success)
        }
        Down::Followed(ending) => conclude(ending, &mut progress),
    }
}
