//! `orch scale NAME=N…`: run N replicas of a service (`NAME.1` … `NAME.N`) while the project is
//! up; 0 stops them all. What is new starts and is waited on; what is left over stops.

use clap::Args;

use super::Global;
use super::follow::{catch_sigint, conclude};
use super::progress::Progress;
use crate::client::follow::{Expect, Wait};
use crate::client::{ClientError, Session, ops};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// Services and their number of replicas, e.g. web=3 worker=0
    #[arg(required = true, value_name = "NAME=N", value_parser = ops::parse_count)]
    pub(crate) counts: Vec<(String, u32)>,
}

pub(super) fn run(global: &Global, args: ScaleArgs) -> Result<Exit, ClientError> {
    let session = Session::open(&global.place())?;
    let scale = args.counts.into_iter().collect();
    let mut progress = Progress::new(&[], Expect::Up).aligned_to(&session.manifest_names());
    let wait = Wait { deadline: None, interrupted: Some(catch_sigint()) };
    let ending = ops::scale(&session, &scale, wait, &mut |n| progress.notice(n))?;
    conclude(ending, &mut progress)
}
