//! `orch restart [SVC…]`: stop the services, then start them again (all when none named);
//! what they depend on is brought up if it is not. A name that is no service is exit 2, and
//! starts nothing.

use clap::Args;

use super::Global;
use super::follow::conclude;
use super::progress::Progress;
use crate::client::follow::{Expect, Wait};
use crate::client::{ClientError, Session, ops};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    /// Services to restart; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: RestartArgs) -> Result<Exit, ClientError> {
    let session = Session::open_any(&global.place())?;
    let mut progress = Progress::new(&args.services, Expect::Up);
    let ending = ops::restart(&session, &args.services, Wait::default(), &mut |n| progress.notice(n))?;
    conclude(ending, &mut progress)
}
