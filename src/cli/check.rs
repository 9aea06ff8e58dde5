//! `orch check`: validate the manifest and print the start order, level by level.

use clap::Args;

use super::{ClientError, Global, display_path, load_manifest};
use crate::exit::Exit;
use crate::manifest::Problem;
use crate::terminal;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Print {"valid": …, "file": …, "levels": [[…], …], "problems": […]} instead of text
    #[arg(long)]
    pub(crate) json: bool,
}

pub(super) fn run(global: &Global, args: CheckArgs) -> Result<Exit, ClientError> {
    let loaded = match load_manifest(global) {
        Ok(loaded) => loaded,
        // A script asked: it gets the problems as JSON too (people still get them on stderr).
        Err(error) if args.json => {
            let problems = match &error {
                ClientError::Manifest(problems) => problems.0.iter().map(Problem::to_json).collect(),
                other => vec![Problem::error(other.to_string()).to_json()],
            };
            println!("{}", serde_json::json!({ "valid": false, "problems": problems }));
            super::report(&error);
            return Ok(error.exit());
        }
        Err(error) => return Err(error),
    };
    terminal::problems(&loaded.warnings);
    let file = display_path(&loaded.spec.file);
    let levels = loaded.graph.levels();
    if args.json {
        let problems: Vec<_> = loaded.warnings.iter().map(Problem::to_json).collect();
        let profiles = profile_members(&loaded.spec);
        let out = serde_json::json!({
            "valid": true, "file": file, "levels": levels, "profiles": profiles, "problems": problems
        });
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
    let profiles = profile_members(&loaded.spec);
    if !profiles.is_empty() {
        println!("profiles (started by `orch up --profile NAME`):");
        for (profile, services) in &profiles {
            println!("  {profile}: {}", services.join(", "));
        }
    }
    Ok(Exit::Success)
}

/// Each profile and the services in it, in the manifest's order.
fn profile_members(spec: &crate::manifest::Spec) -> indexmap::IndexMap<String, Vec<String>> {
    spec.profiles()
        .into_iter()
        .map(|profile| {
            let members = spec.services.iter().filter(|(_, s)| s.profiles.contains(&profile)).map(|(n, _)| n.clone());
            let members = members.collect();
            (profile, members)
        })
        .collect()
}
