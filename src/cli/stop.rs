//! `orch stop SVC…`: stop services (manifest or ad-hoc) and what depends on them. An ad-hoc
//! service that is stopped is gone: out of `ps`, completions and the supervisor's memory.

use clap::Args;

use super::down;
use super::session::Session;
use super::{CliError, Global};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// Services to stop, with their dependents
    #[arg(required = true)]
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: StopArgs) -> Result<Exit, CliError> {
    let session = Session::open_lenient(global)?;
    down::stop(&session, args.services)
}
