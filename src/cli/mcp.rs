//! `orch mcp`: a Model Context Protocol server on stdin/stdout for coding agents (see
//! [`crate::mcp`]). Exit 0 when stdin closes.

use clap::Args;

use super::Global;
use crate::client::{ClientError, Session};
use crate::exit::Exit;
use crate::mcp;

#[derive(Debug, Args)]
pub(crate) struct McpArgs {}

pub(super) fn run(global: &Global, _args: McpArgs) -> Result<Exit, ClientError> {
    // A wrong `-C DIR` or `-f FILE` is exit 2 now rather than a server whose every call fails.
    // A folder without a manifest is fine (ad-hoc services), and so is a broken manifest: the
    // agent may be about to fix it, and the tools say what is wrong with it.
    let place = global.place();
    let session = Session::open_lenient(&place)?;
    mcp::serve(place, session.paths.root).map_err(ClientError::Failed)?;
    Ok(Exit::Success)
}
