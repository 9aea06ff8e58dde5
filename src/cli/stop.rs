//! `orch stop SVC…`: stop services (manifest or ad-hoc) and what depends on them. An ad-hoc
//! service that is stopped is gone: out of `ps`, completions and the supervisor's memory.

use clap::Args;

use super::{Global, down};
use crate::client::{ClientError, Session};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// Services to stop, with their dependents
    #[arg(required = true)]
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: StopArgs) -> Result<Exit, ClientError> {
    let session = Session::open_lenient(&global.place())?;
    down::stop(&session, &args.services)
}
