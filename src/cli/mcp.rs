//! `orch mcp`: a Model Context Protocol server on stdin/stdout for coding agents (see
//! [`crate::mcp`]). Exit 0 when stdin closes.

use clap::Args;

use super::Global;
use crate::client::{ClientError, Session};
use crate::exit::Exit;
use crate::mcp;

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// Do not let the agent start commands of its own (ad-hoc services), only the manifest's
    /// services; `[mcp] adhoc = false` in procs.toml says the same for every agent
    #[arg(long)]
    pub(crate) no_adhoc: bool,
}

pub(super) fn run(global: &Global, args: McpArgs) -> Result<Exit, ClientError> {
    // A wrong `-C DIR` or `-f FILE` is exit 2 now rather than a server whose every call fails.
    // A folder without a manifest is fine (ad-hoc services), and so is a broken manifest: the
    // agent may be about to fix it, and the tools say what is wrong with it.
    let place = global.place();
    let session = Session::open_lenient(&place)?;
    // The manifest may forbid them too; read when the server starts (a broken one forbids
    // nothing it cannot be read to say).
    let manifest_allows = session.loaded.as_ref().is_none_or(|loaded| loaded.spec.mcp_adhoc);
    mcp::serve(place, session.paths.root, !args.no_adhoc && manifest_allows).map_err(ClientError::Failed)?;
    Ok(Exit::Success)
}
