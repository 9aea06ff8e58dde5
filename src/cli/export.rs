//! `orch export systemd|nomad|kubernetes`: the project as another engine's files, written
//! under `--out` or printed. Every key the engine has no equivalent for is a warning on
//! stderr naming the service and the key.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use indexmap::IndexMap;

use super::{ClientError, Global, display_path};
use crate::exit::Exit;
use crate::export::systemd::Scope;
use crate::export::{self, Export, Project, Warning};
use crate::manifest::{self, LoadOptions};
use crate::state::State;

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(subcommand)]
    engine: Engine,
    /// The orch the exported files run `orch probe` with (default: this one)
    #[arg(long, value_name = "PATH", global = true)]
    orch_path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Engine {
    /// One systemd unit per service, and a target that wants them all
    Systemd {
        /// Units for the user's systemd (`systemctl --user`; the default)
        #[arg(long, conflicts_with = "system")]
        user: bool,
        /// Units for the system's systemd
        #[arg(long)]
        system: bool,
        /// Write the files into this folder (default: print them)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// A Nomad job (raw_exec tasks) and a periodic job per schedule
    Nomad {
        /// Write the job into this file (default: print it)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Deployments, Services, Jobs, CronJobs and a ConfigMap
    Kubernetes {
        /// The image of a service, e.g. web=ghcr.io/acme/web:1.4 (over its `export.image`)
        #[arg(long = "image", value_name = "NAME=IMAGE", value_parser = parse_image)]
        images: Vec<(String, String)>,
        /// Write the files into this folder (default: print them)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

pub(super) fn run(global: &Global, args: ExportArgs) -> Result<Exit, ClientError> {
    let (loaded, root) = load(global)?;
    crate::terminal::problems(&loaded.warnings);
    let orch = match args.orch_path {
        Some(path) => absolute(&path)?,
        None => std::env::current_exe().map_err(|e| ClientError::Failed(format!("cannot find this orch: {e}")))?,
    };
    let path = std::env::var("PATH").ok().filter(|p| !p.is_empty());
    let project = Project { name: export::project_name(&root), spec: &loaded.spec, orch, path };
    // What the install steps call the output when it was printed rather than written.
    let unwritten = if matches!(args.engine, Engine::Nomad { .. }) { "FILE" } else { "DIR" };
    let (export, out) = export_for(args.engine, &project)?;
    warn(&export.warnings);
    let written = match &out {
        None => {
            print_files(&export);
            unwritten.to_owned()
        }
        Some(out) => write_files(&export, out)?,
    };
    if !export.next_steps.is_empty() {
        let how = if out.is_none() { format!(" (with --out {unwritten})") } else { String::new() };
        eprintln!("\nto install them{how}:");
        for step in &export.next_steps {
            eprintln!("  {}", step.replace("OUT", &written));
        }
    }
    Ok(Exit::Success)
}

/// The engine's files, and where they go.
fn export_for(engine: Engine, project: &Project) -> Result<(Export, Option<Out>), ClientError> {
    Ok(match engine {
        Engine::Systemd { system, out, .. } => {
            let scope = if system { Scope::System { user: invoking_user() } } else { Scope::User };
            (export::systemd::export(project, &scope), out.map(Out::Dir))
        }
        Engine::Nomad { out } => (export::nomad::export(project), out.map(Out::File)),
        Engine::Kubernetes { images, out } => {
            let images: IndexMap<String, String> = images.into_iter().collect();
            if let Some(name) = images.keys().find(|n| !has_unit(project, n)) {
                return Err(ClientError::Usage(format!("--image {name}=…: no service named `{name}`")));
            }
            (export::kubernetes::export(project, &images).map_err(ClientError::Usage)?, out.map(Out::Dir))
        }
    })
}

/// Who the system's units run as: the user behind `sudo`, else the one running orch (root
/// itself stays root: no `User=`).
fn invoking_user() -> Option<String> {
    let sudo = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty() && u != "root");
    sudo.or_else(|| {
        let uid = nix::unistd::getuid();
        (!uid.is_root()).then(|| nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name)).flatten()
    })
}

/// The manifest, with each `port = "auto"` at the port it has now (state.json's), else a free one.
fn load(global: &Global) -> Result<(manifest::Loaded, PathBuf), ClientError> {
    let loaded = super::load_manifest_with(global, |root| {
        let state = State::load(&crate::paths::ProjectPaths::new(root).state()).ok().flatten();
        let recorded: IndexMap<String, u16> = state
            .map(|s| s.services.into_iter().filter_map(|(name, r)| Some((name, r.config?.port_number()?))).collect())
            .unwrap_or_default();
        let ports = move |service: &str| recorded.get(service).copied().unwrap_or_else(crate::ports::any_free);
        LoadOptions::from_process().with_ports(Box::new(ports))
    })?;
    let root = loaded.spec.root.clone();
    Ok((loaded, root))
}

fn has_unit(project: &Project, name: &str) -> bool {
    project.spec.services.contains_key(name) || project.spec.groups.contains_key(name)
}

enum Out {
    Dir(PathBuf),
    File(PathBuf),
}

/// One file as it is; several, each after a `# ==> NAME <==` line (as `tail` heads files).
fn print_files(export: &Export) {
    let [(_, text)] = export.files.as_slice() else {
        for (index, (name, text)) in export.files.iter().enumerate() {
            let gap = if index == 0 { "" } else { "\n" };
            print!("{gap}# ==> {name} <==\n{text}");
        }
        return;
    };
    print!("{text}");
}

/// Writes the files, and returns where, as the user would write it.
fn write_files(export: &Export, out: &Out) -> Result<String, ClientError> {
    let failed = |path: &Path, e: std::io::Error| ClientError::Failed(format!("cannot write {}: {e}", path.display()));
    let (written, place) = match out {
        Out::File(path) => {
            let text: String = export.files.iter().map(|(_, t)| t.as_str()).collect();
            std::fs::write(path, text).map_err(|e| failed(path, e))?;
            (vec![path.clone()], path)
        }
        Out::Dir(dir) => {
            let mut written = Vec::new();
            for (name, text) in &export.files {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| failed(parent, e))?;
                }
                std::fs::write(&path, text).map_err(|e| failed(&path, e))?;
                written.push(path);
            }
            (written, dir)
        }
    };
    for path in written {
        eprintln!("wrote {}", display_path(&path));
    }
    Ok(display_path(place))
}

fn warn(warnings: &[Warning]) {
    let color = crate::terminal::stderr_color();
    for warning in warnings {
        let label = crate::terminal::paint("warning:", crate::terminal::Tone::Busy, color);
        eprintln!("{label} {warning}");
    }
}

fn absolute(path: &Path) -> Result<PathBuf, ClientError> {
    std::path::absolute(path).map_err(|e| ClientError::Usage(format!("--orch-path {}: {e}", path.display())))
}

/// `web=ghcr.io/acme/web:1.4` as a service and its image.
fn parse_image(text: &str) -> Result<(String, String), String> {
    let (name, image) = text.split_once('=').ok_or_else(|| format!("`{text}` is not NAME=IMAGE"))?;
    let (name, image) = (name.trim(), image.trim());
    if !crate::model::names::is_valid_name(name) || image.is_empty() || image.chars().any(char::is_whitespace) {
        return Err(format!("`{text}` is not NAME=IMAGE (e.g. web=ghcr.io/acme/web:1.4)"));
    }
    Ok((name.to_owned(), image.to_owned()))
}
