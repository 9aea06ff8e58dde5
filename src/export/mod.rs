//! `orch export`: the project as another engine's files (systemd units, a Nomad job,
//! Kubernetes manifests). Each engine's writer is a pure function of the loaded manifest, so
//! its output is the same for the same procs.toml and can be snapshot-tested.
//!
//! An export is lossy where the engine has no equivalent of a key. Such a key is never dropped
//! in silence: it is a [`Warning`] naming the service and the key, printed on stderr, as
//! podman's quadlet generator does.

pub(crate) mod calendar;
mod hcl;
pub(crate) mod kubernetes;
pub(crate) mod nomad;
pub(crate) mod systemd;
#[cfg(test)]
mod tests;
mod units;

use std::path::PathBuf;

pub(crate) use units::{Unit, units};

use crate::manifest::{HumanDuration, Ready, Spec};

/// What every export is made from.
pub(crate) struct Project<'a> {
    /// A name for the project in the engine's namespace (`orch-<name>-web.service`): the
    /// root folder's name, made of letters, digits and `-`.
    pub(crate) name: String,
    pub(crate) spec: &'a Spec,
    /// The orch binary the exported files run `orch probe` with (an absolute path).
    pub(crate) orch: PathBuf,
    /// The PATH the services find their programs on (the exporting shell's), for the engines
    /// that would otherwise give them their own.
    pub(crate) path: Option<String>,
}

/// The files of an export, each by its name (relative to `--out`), and what did not map.
#[derive(Debug, Default)]
pub(crate) struct Export {
    pub(crate) files: Vec<(String, String)>,
    pub(crate) warnings: Vec<Warning>,
    /// What to run afterwards (`systemctl --user daemon-reload`, …), to print.
    pub(crate) next_steps: Vec<String>,
}

/// A key with no equivalent in the engine, or one that changed meaning on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Warning {
    pub(crate) service: Option<String>,
    pub(crate) key: String,
    pub(crate) message: String,
}

impl Warning {
    pub(crate) fn new(service: &str, key: &str, message: impl Into<String>) -> Self {
        Self { service: Some(service.to_owned()), key: key.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.service {
            Some(service) => write!(f, "service `{service}`: `{}`: {}", self.key, self.message),
            None => write!(f, "`{}`: {}", self.key, self.message),
        }
    }
}

impl Project<'_> {
    /// The engine's name for a unit of this project: `orch-<project>-<unit>`.
    pub(crate) fn unit_name(&self, unit: &str) -> String {
        format!("orch-{}-{unit}", self.name)
    }

    /// The name of the whole project in the engine: `orch-<project>`.
    pub(crate) fn target(&self) -> String {
        format!("orch-{}", self.name)
    }

    /// `orch probe --timeout 60s tcp 127.0.0.1:5432`: the check as a command, for an engine
    /// that cannot run it itself. None for the checks only a supervisor can make (`log`,
    /// `notify`, `delay`).
    pub(crate) fn probe_argv(&self, check: &Ready, timeout: HumanDuration) -> Option<Vec<String>> {
        probe_argv(&self.orch.display().to_string(), check, timeout)
    }
}

/// `ORCH probe --timeout T KIND TARGET…`, with `orch` as the program.
pub(crate) fn probe_argv(orch: &str, check: &Ready, timeout: HumanDuration) -> Option<Vec<String>> {
    let mut argv = vec![orch.to_owned(), "probe".to_owned(), "--timeout".to_owned(), timeout.to_string()];
    match check {
        Ready::Tcp(target) => argv.extend(["tcp".to_owned(), target.clone()]),
        // orch's checks speak plain http (they are of local services): an https one has no probe.
        Ready::Http(url) if url.starts_with("https:") => return None,
        Ready::Http(url) => argv.extend(["http".to_owned(), url.clone()]),
        Ready::Exec(cmd) => {
            argv.extend(["exec".to_owned(), "--".to_owned()]);
            match cmd.argv().as_slice() {
                // `orch probe exec WORD` reads one word as a shell line: one the shell would
                // split or expand (`/opt/my tool/check`) stays one program this way.
                [program] if !program.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) => {
                    argv.extend(["sh".into(), "-c".into(), "exec \"$0\"".into(), program.clone()]);
                }
                words => argv.extend(words.iter().cloned()),
            }
        }
        Ready::Log(_) | Ready::Delay(_) | Ready::Notify(_) => return None,
    }
    Some(argv)
}

/// A duration in the whole seconds unit files count, rounded up (a 250ms wait is 1s, not none).
pub(crate) fn whole_seconds(duration: std::time::Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// A project name as engines accept it in unit, job and object names: lowercase letters,
/// digits and `-`, not empty, at most 40 characters.
pub(crate) fn project_name(root: &std::path::Path) -> String {
    let folder = root.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name: String = folder.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let name = name.trim_matches('-').chars().take(40).collect::<String>().trim_end_matches('-').to_owned();
    if name.is_empty() { "project".to_owned() } else { name }
}

/// A service name as a DNS label (Kubernetes objects, Nomad services): `_` becomes `-`,
/// lowercase.
pub(crate) fn dns_label(name: &str) -> String {
    name.chars().map(|c| if c == '_' || c == '.' { '-' } else { c.to_ascii_lowercase() }).collect()
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn project_names_are_plain() {
        let name = |p: &str| project_name(std::path::Path::new(p));
        assert_eq!(name("/srv/My App"), "my-app");
        assert_eq!(name("/srv/web"), "web");
        assert_eq!(name("/"), "project");
        assert_eq!(name("/x/__"), "project");
        assert_eq!(dns_label("my_web"), "my-web");
    }

    #[test]
    fn probes_as_commands() {
        let timeout = HumanDuration::from_secs(60);
        let tcp = probe_argv("/usr/bin/orch", &Ready::Tcp("127.0.0.1:5432".into()), timeout).unwrap();
        assert_eq!(tcp, ["/usr/bin/orch", "probe", "--timeout", "1m", "tcp", "127.0.0.1:5432"]);
        let exec = Ready::Exec(crate::manifest::CommandLine::Argv(vec!["pg_isready".into()]));
        assert_eq!(probe_argv("orch", &exec, timeout).unwrap()[4..], ["exec", "--", "pg_isready"]);
        assert_eq!(probe_argv("orch", &Ready::Log("x".into()), timeout), None);
        assert_eq!(probe_argv("orch", &Ready::Http("https://x/".into()), timeout), None);
        let one = Ready::Exec(crate::manifest::CommandLine::Argv(vec!["/opt/my tool/check".into()]));
        assert_eq!(
            probe_argv("orch", &one, timeout).unwrap()[4..],
            ["exec", "--", "sh", "-c", "exec \"$0\"", "/opt/my tool/check"]
        );
    }
}
