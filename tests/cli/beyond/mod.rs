//! Beyond one laptop: `orch probe`, `orch export` to systemd, Nomad and Kubernetes, and
//! `orch boot`.

mod boot;
mod kubernetes;
mod nomad;
mod probe;
mod systemd;
mod validators;

/// The name exports give a temp project: its folder's, as `orch export` makes it.
pub fn project_name(project: &crate::support::Project) -> String {
    name_of(&project.path())
}

/// The name exports give the project in `root`.
pub fn name_of(root: &std::path::Path) -> String {
    let folder = root.file_name().unwrap().to_string_lossy().to_lowercase();
    let name: String = folder.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    name.trim_matches('-').chars().take(40).collect::<String>().trim_end_matches('-').to_owned()
}
