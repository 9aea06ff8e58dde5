//! `orch check`: validate the manifest and print the start order, level by level.

use clap::Args;

use super::{CliError, Global, display_path, load_manifest};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print {"valid": true, "file": …, "levels": [[…], …]} instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &Global, args: CheckArgs) -> Result<Exit, CliError> {
    let loaded = load_manifest(global)?;
    let file = display_path(&loaded.spec.file);
    let levels = loaded.graph.levels();
    if args.json {
        let out = serde_json::json!({ "valid": true, "file": file, "levels": levels });
        println!("{out}");
        return Ok(Exit::Success);
    }
    let count = loaded.spec.services.len();
    let plural = if count == 1 { "" } else { "s" };
    println!("{file} is valid: {count} service{plural}");
    println!("start order:");
    for (i, level) in levels.iter().enumerate() {
        println!("  {}. {}", i + 1, level.join(", "));
    }
    Ok(Exit::Success)
}
