//! `orch mcp`: a Model Context Protocol server on stdin/stdout for coding agents.

use clap::Args;

use super::{CliError, Global};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct McpArgs {}

pub fn run(_global: &Global, _args: McpArgs) -> Result<Exit, CliError> {
    Err(CliError::Failed("orch mcp is not built yet".into()))
}
