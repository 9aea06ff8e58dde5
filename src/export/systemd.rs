//! `orch export systemd`: one unit per service, a target that wants them all.

use super::{Export, Project};

/// Which systemd instance the units are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scope {
    User,
    System,
}

pub(crate) fn export(project: &Project, scope: Scope) -> Export {
    let _ = (project, scope);
    Export::default()
}
