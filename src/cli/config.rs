//! `orch config`: the resolved manifest (env merged, defaults filled, durations normalised), as
//! TOML or, with `--json`, JSON of the same shape.

use clap::Args;

use super::{CliError, Global, load_manifest};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print JSON instead of TOML
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &Global, args: ConfigArgs) -> Result<Exit, CliError> {
    let loaded = load_manifest(global)?;
    let text = if args.json {
        serde_json::to_string_pretty(&loaded.spec).map(|s| s + "\n").map_err(|e| CliError::Failed(e.to_string()))?
    } else {
        toml::to_string(&loaded.spec).map_err(|e| CliError::Failed(e.to_string()))?
    };
    print!("{text}");
    Ok(Exit::Success)
}
