//! `orch schema`: the JSON Schema of procs.toml, generated from the types the parser reads it
//! with (also committed as `procs.schema.json`, for editors).

use clap::Args;

use super::{ClientError, Global};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {}

pub(super) fn run(_global: &Global, _args: SchemaArgs) -> Result<Exit, ClientError> {
    let text =
        serde_json::to_string_pretty(&crate::manifest::schema()).map_err(|e| ClientError::Failed(e.to_string()))?;
    println!("{text}");
    Ok(Exit::Success)
}
