//! `orch mcp`: a Model Context Protocol server on stdin/stdout for coding agents (see
//! [`crate::mcp`]). Exit 0 when stdin closes.

use clap::Args;

use super::session::Session;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::mcp::{self, Place};

#[derive(Debug, Args)]
pub(crate) struct McpArgs {}

pub(super) fn run(global: &Global, _args: McpArgs) -> Result<Exit, CliError> {
    // A wrong `-C DIR` or `-f FILE` is exit 2 now rather than a server whose every call fails.
    // A folder without a manifest is fine (ad-hoc services), and so is a broken manifest: the
    // agent may be about to fix it, and the tools say what is wrong with it.
    let session = Session::open_lenient(global)?;
    let place = Place { file: global.file.clone(), directory: global.directory.clone() };
    mcp::serve(place, session.paths.root).map_err(CliError::Failed)?;
    Ok(Exit::Success)
}
