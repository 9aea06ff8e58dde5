//! An ad-hoc service (`orch start NAME -- CMD…`): a service the manifest does not know, given
//! in the manifest's own terms, and turned into a [`Service`] with the manifest's defaults.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::command_line::CommandLine;
use super::duration::HumanDuration;
use super::environment::is_valid_env_key;
use super::spec::{DEFAULT_READY_TIMEOUT, Ready, RestartPolicy, Service};

/// An ad-hoc service: a command the manifest does not know, kept until `down` or `stop`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Adhoc {
    pub(crate) name: String,
    /// One argument runs as a procs.toml string `cmd` does (under `sh -c`); more are argv.
    pub(crate) cmd: CommandLine,
    pub(crate) cwd: PathBuf,
    #[serde(default)]
    pub(crate) env: Vec<(String, String)>,
    #[serde(default)]
    pub(crate) ready: Option<Ready>,
    /// How long `ready` may take (the manifest's default when None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ready_timeout: Option<HumanDuration>,
    #[serde(default)]
    pub(crate) restart: Option<RestartPolicy>,
}

impl Adhoc {
    /// The service it stands for: the project's `.env` and `[env]` under its own variables,
    /// no restart unless asked, and the manifest's defaults for the rest.
    pub(crate) fn to_service(&self, project_env: &IndexMap<String, String>) -> Service {
        let mut env = project_env.clone();
        env.extend(self.env.iter().cloned());
        Service {
            env,
            ready: self.ready.clone(),
            ready_timeout: self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            restart: self.restart.unwrap_or(RestartPolicy::No),
            ..Service::new(self.cmd.clone(), self.cwd.clone())
        }
    }

    /// What in its command or variables could change what execve sees: a key that is no
    /// variable name (`SNEAK=HOME`), a NUL anywhere. A client checks this too; the supervisor
    /// does not take it on trust.
    pub(crate) fn problem(&self) -> Option<String> {
        if let Some((key, _)) = self.env.iter().find(|(key, _)| !is_valid_env_key(key)) {
            return Some(format!(
                "`{}` is not a variable name (letters, digits, `_` and `.`, not starting with a digit)",
                key.escape_debug()
            ));
        }
        if let Some((key, _)) = self.env.iter().find(|(_, value)| value.contains('\0')) {
            return Some(format!("the value of `{key}` holds a NUL byte"));
        }
        let argv = self.cmd.argv();
        argv.iter().any(|arg| arg.contains('\0')).then(|| "the command holds a NUL byte".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adhoc(cmd: CommandLine, env: &[(&str, &str)]) -> Adhoc {
        Adhoc {
            name: "api".into(),
            cmd,
            cwd: PathBuf::from("/p"),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ready: None,
            ready_timeout: None,
            restart: None,
        }
    }

    #[test]
    fn its_variables_go_over_the_projects_and_it_is_not_restarted() {
        let project: IndexMap<String, String> = [("A".into(), "project".into()), ("B".into(), "b".into())].into();
        let service = adhoc(CommandLine::Shell("x".into()), &[("A", "own")]).to_service(&project);
        assert_eq!((service.env["A"].as_str(), service.env["B"].as_str()), ("own", "b"));
        assert_eq!((service.restart, service.ready_timeout), (RestartPolicy::No, DEFAULT_READY_TIMEOUT));
    }

    #[test]
    fn what_execve_would_read_otherwise_is_a_problem() {
        assert_eq!(adhoc(CommandLine::Shell("x".into()), &[("OK_1", "v")]).problem(), None);
        assert!(
            adhoc(CommandLine::Shell("x".into()), &[("SNEAK=HOME", "v")]).problem().unwrap().contains("SNEAK=HOME")
        );
        assert!(adhoc(CommandLine::Shell("x".into()), &[("A", "a\0b")]).problem().unwrap().contains("`A`"));
        let argv = CommandLine::Argv(vec!["x".into(), "a\0b".into()]);
        assert_eq!(adhoc(argv, &[]).problem().as_deref(), Some("the command holds a NUL byte"));
    }
}
