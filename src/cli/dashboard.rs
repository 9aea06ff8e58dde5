//! `orch dashboard`: the project in a local web page (see [`crate::dashboard`]).

use clap::Args;

use super::Global;
use crate::client::ClientError;
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct DashboardArgs {
    /// Listen on this port (on 127.0.0.1 and ::1) instead of a free one
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// Open the page in the desktop's browser
    #[arg(long)]
    pub(crate) open: bool,
    /// Only watch: do not start the project when nothing runs
    #[arg(long)]
    pub(crate) no_up: bool,
}

pub(super) fn run(global: &Global, args: &DashboardArgs) -> Result<Exit, ClientError> {
    let options = crate::dashboard::Options { port: args.port, open: args.open, no_up: args.no_up };
    crate::dashboard::run(&global.place(), &options)
}
