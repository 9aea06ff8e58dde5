//! `orch config`: the resolved manifest (env merged, defaults filled, durations and paths
//! normalised), as TOML or, with `--json`, JSON of the same shape.

use clap::Args;

use super::{ClientError, Global, load_manifest};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// Print JSON instead of TOML
    #[arg(long)]
    pub(crate) json: bool,
}

pub(super) fn run(global: &Global, args: ConfigArgs) -> Result<Exit, ClientError> {
    let loaded = load_manifest(global)?;
    crate::terminal::problems(&loaded.warnings);
    let text = if args.json {
        serde_json::to_string_pretty(&loaded.spec).map(|s| s + "\n").map_err(|e| ClientError::Failed(e.to_string()))?
    } else {
        let mut value = toml::Value::try_from(&loaded.spec).map_err(|e| ClientError::Failed(e.to_string()))?;
        drop_empty_tables(&mut value);
        toml::to_string(&value).map_err(|e| ClientError::Failed(e.to_string()))?
    };
    print!("{text}");
    Ok(Exit::Success)
}

/// An empty `[services.web.env]` says nothing a reader needs; JSON keeps every key, for scripts.
fn drop_empty_tables(value: &mut toml::Value) {
    if let toml::Value::Table(table) = value {
        table.iter_mut().for_each(|(_, v)| drop_empty_tables(v));
        table.retain(|_, v| !matches!(v, toml::Value::Table(t) if t.is_empty()));
    }
}
