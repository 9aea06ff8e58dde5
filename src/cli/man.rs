//! `orch man`: the man page (roff), from the same command-line model as `--help`.

use clap::{Args, CommandFactory};

use super::{Cli, ClientError, Global};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct ManArgs {}

pub(super) fn run(_global: &Global, _args: ManArgs) -> Result<Exit, ClientError> {
    let man = clap_mangen::Man::new(Cli::command());
    man.render(&mut std::io::stdout().lock())
        .map_err(|e| ClientError::Failed(format!("cannot write the man page: {e}")))?;
    Ok(Exit::Success)
}
