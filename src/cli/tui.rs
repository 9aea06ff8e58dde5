//! `orch tui`: the project at a glance in the terminal (see [`crate::tui`]).

use clap::Args;

use super::Global;
use crate::client::ClientError;
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct TuiArgs {
    /// Only watch: do not start the project when nothing runs
    #[arg(long)]
    pub(crate) no_up: bool,
    /// Capture the mouse (the wheel scrolls; the terminal's own text selection then needs shift)
    #[arg(long)]
    pub(crate) mouse: bool,
}

pub(super) fn run(global: &Global, args: &TuiArgs) -> Result<Exit, ClientError> {
    crate::tui::run(&global.place(), &crate::tui::Options::new(args.no_up, args.mouse))
}
