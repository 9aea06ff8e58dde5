//! What the export tests share: the two projects the golden files are made from, loaded the
//! same way on every machine (no environment of the host, auto ports counted from 4001, the
//! project's folder shown as /srv/app).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Export, Project};
use crate::manifest::{BaseEnv, LoadOptions, Spec, load};

/// The example project of the README (`examples/web`).
pub(super) const EXAMPLE: &str = "examples/web/procs.toml";
/// Every key orch knows.
pub(super) const EVERY_KEY: &str = "procs.toml.example";

/// Where the golden files show the project: the same on every machine.
pub(super) const ROOT: &str = "/srv/app";
pub(super) const ORCH: &str = "/usr/local/bin/orch";

/// The manifest at `path` (relative to this repository), as an export sees it.
pub(super) fn spec(path: &str) -> Spec {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let next = std::sync::atomic::AtomicU16::new(4001);
    let options = LoadOptions::new(BaseEnv::default(), PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .with_ports(Box::new(move |_| next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
    match load(&file, &options) {
        Ok(loaded) => loaded.spec,
        Err(problems) => panic!("{path} does not load: {problems:?}"),
    }
}

/// The project named `app`, probing with [`ORCH`].
pub(super) fn project(spec: &Spec) -> Project<'_> {
    Project {
        name: "app".to_owned(),
        spec,
        orch: PathBuf::from(ORCH),
        path: Some("/usr/local/bin:/usr/bin:/bin".into()),
    }
}

/// Every file of the export after a `==> NAME <==` line, then the warnings and the next
/// steps, with the project's folder shown as [`ROOT`].
pub(super) fn shown(export: &Export, spec: &Spec) -> String {
    let mut text = String::new();
    for (name, body) in &export.files {
        text.push_str(&format!("==> {name} <==\n{body}\n"));
    }
    text.push_str("==> warnings <==\n");
    for warning in &export.warnings {
        text.push_str(&format!("{warning}\n"));
    }
    if !export.next_steps.is_empty() {
        text.push_str("==> then <==\n");
        for step in &export.next_steps {
            text.push_str(&format!("{step}\n"));
        }
    }
    let root = spec.root.display().to_string();
    text.replace(&root, ROOT)
}

/// `program`, finding what .ci/run installs into target/pip-validators (python-hcl2,
/// kubernetes-validate) as well as what the system has.
pub(super) fn validator(program: &str) -> Command {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-validators");
    let before = |var: &str, ours: &Path| match std::env::var(var) {
        Ok(theirs) if !theirs.is_empty() => format!("{}:{theirs}", ours.display()),
        _ => ours.display().to_string(),
    };
    let mut command = Command::new(program);
    command.env("PYTHONPATH", before("PYTHONPATH", &ours)).env("PATH", before("PATH", &ours.join("bin")));
    command
}
