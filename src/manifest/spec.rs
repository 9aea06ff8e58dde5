//! The resolved manifest: every default filled, every environment merged and interpolated,
//! every path absolute. This is what the rest of orch works from; it serialises in the shape of
//! procs.toml for `orch config`.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::command_line::CommandLine;
use super::duration::HumanDuration;
use super::port::PortSpec;
use super::signal::StopSignal;
use super::size::ByteSize;
use crate::model::Phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Toml,
    Procfile,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Spec {
    /// The manifest file.
    #[serde(skip)]
    pub(crate) file: PathBuf,
    /// The project root: the manifest's folder.
    #[serde(skip)]
    pub(crate) root: PathBuf,
    pub(crate) watch: bool,
    /// `.env` and `[env]` merged: what every service gets on top of orch's own environment.
    pub(crate) env: IndexMap<String, String>,
    pub(crate) log: LogConfig,
    /// `[mcp] adhoc`: whether an agent may start commands of its own through `orch mcp`.
    pub(crate) mcp_adhoc: bool,
    pub(crate) services: IndexMap<String, Service>,
    /// The scaled services, by the name the manifest gives them, and their number of replicas
    /// (each replica is in `services`, as `NAME.N`; a group of 0 has none there).
    #[serde(skip)]
    pub(crate) groups: IndexMap<String, u32>,
}

impl Spec {
    /// What `names` stand for: each group name (`web`) is its replicas (none for a group of
    /// 0), anything else stays as asked.
    pub(crate) fn expand_groups(&self, names: &[String]) -> Vec<String> {
        crate::model::names::expand_groups(&self.without_empty_groups(names), self.services.keys().map(String::as_str))
    }

    /// The name the manifest writes a service by: a replica's group's (`web` for `web.2`), or its
    /// own.
    pub(crate) fn written_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.services.get(name).and_then(|s| s.replica.as_ref()).map_or(name, |r| r.group.as_str())
    }

    /// The names but those of groups scaled to 0, which stand for no service.
    pub(crate) fn without_empty_groups(&self, names: &[String]) -> Vec<String> {
        names.iter().filter(|n| self.groups.get(*n) != Some(&0)).cloned().collect()
    }

    /// Every profile some service is in, each once, in the order they first appear.
    pub(crate) fn profiles(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for profile in self.services.values().flat_map(|s| &s.profiles) {
            if !all.contains(profile) {
                all.push(profile.clone());
            }
        }
        all
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Service {
    pub(crate) cmd: CommandLine,
    pub(crate) cwd: PathBuf,
    /// What the service gets on top of orch's own environment, after `.env`, `[env]`,
    /// `env_file` and its own `env` were merged in that order.
    pub(crate) env: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) env_file: Option<PathBuf>,
    pub(crate) depends_on: IndexMap<String, Dependency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ready: Option<Ready>,
    pub(crate) ready_timeout: HumanDuration,
    /// Without a readiness check, how long the process must stay up to count as started.
    #[serde(default = "default_min_uptime")]
    pub(crate) min_uptime: HumanDuration,
    pub(crate) restart: RestartPolicy,
    pub(crate) max_restarts: u32,
    pub(crate) stop_signal: StopSignal,
    pub(crate) stop_timeout: HumanDuration,
    pub(crate) oneshot: bool,
    pub(crate) log: LogConfig,
    /// `port = "auto"` or a number; the port itself is in `env.PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) port: Option<PortSpec>,
    /// The profiles it belongs to; none: it is always part of a plain `up`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) profiles: Vec<String>,
    /// Globs, relative to `cwd`, of the files whose change restarts it (re-runs a oneshot).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) watch: Vec<String>,
    /// Globs of files whose change does not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) watch_ignore: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) healthcheck: Option<Healthcheck>,
    /// A oneshot's cron schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schedule: Option<String>,
    /// Which replica of a scaled service (`scale`) this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) replica: Option<Replica>,
    /// `restart` of its group restarts the replicas one at a time, each once it is ready.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) rolling: bool,
    /// The container image `orch export kubernetes` runs it with (`[services.NAME.export]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
}

/// One of the `scale` processes of a service: `web.2` is index 2 of group `web`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Replica {
    pub(crate) group: String,
    pub(crate) index: u32,
    /// How many replicas the group has now.
    pub(crate) scale: u32,
}

/// A check while the service runs: exactly one of `tcp`, `http`, `exec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Healthcheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tcp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exec: Option<CommandLine>,
    pub(crate) interval: HumanDuration,
    pub(crate) retries: u32,
    pub(crate) start_period: HumanDuration,
}

impl Healthcheck {
    /// The check, as a readiness check of the same kind.
    pub(crate) fn check(&self) -> Ready {
        match (&self.tcp, &self.http, &self.exec) {
            (Some(target), _, _) => Ready::Tcp(target.clone()),
            (_, Some(url), _) => Ready::Http(url.clone()),
            (_, _, Some(cmd)) => Ready::Exec(cmd.clone()),
            _ => Ready::Exec(CommandLine::Shell("false".to_owned())),
        }
    }
}

impl Service {
    /// A service running `cmd` in `cwd`, with every other key at its default (restart
    /// on failure, as a long-running service of procs.toml).
    pub(crate) fn new(cmd: CommandLine, cwd: PathBuf) -> Self {
        Service {
            cmd,
            cwd,
            env: IndexMap::new(),
            env_file: None,
            depends_on: IndexMap::new(),
            ready: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            min_uptime: DEFAULT_MIN_UPTIME,
            restart: RestartPolicy::OnFailure,
            max_restarts: DEFAULT_MAX_RESTARTS,
            stop_signal: StopSignal::default(),
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            oneshot: false,
            log: LogConfig::default(),
            port: None,
            profiles: Vec::new(),
            watch: Vec::new(),
            watch_ignore: Vec::new(),
            healthcheck: None,
            schedule: None,
            replica: None,
            rolling: false,
            image: None,
        }
    }

    /// Whether a plain `up` with these profiles active takes it in (a scheduled oneshot runs
    /// on its schedule, not at the `up`).
    pub(crate) fn in_profiles(&self, active: &[String]) -> bool {
        self.schedule.is_none() && (self.profiles.is_empty() || self.profiles.iter().any(|p| active.contains(p)))
    }

    /// The service's port, when it has a `port` key.
    pub(crate) fn port_number(&self) -> Option<u16> {
        self.port?;
        self.env.get("PORT")?.parse().ok()
    }

    /// The port to show for it: its `port`, or the `PORT` its environment gives it (a Procfile
    /// service's, as foreman numbers them, or one set in procs.toml).
    pub(crate) fn port_shown(&self) -> Option<u16> {
        self.port_number().or_else(|| self.env.get("PORT")?.parse().ok())
    }

    /// Where it serves http, as far as orch knows: its http readiness check's URL.
    pub(crate) fn http_url(&self) -> Option<String> {
        match &self.ready {
            Some(Ready::Http(url)) => Some(url.clone()),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Condition {
    /// The dependency was spawned.
    Started,
    /// The dependency passed its readiness check (or runs, when it has none).
    Ready,
    /// The dependency, a oneshot, exited 0.
    Completed,
}

impl Condition {
    /// Whether a dependency in `phase` lets its dependent start.
    pub(crate) fn is_met_by(self, phase: Phase) -> bool {
        match self {
            Condition::Started => phase.is_started(),
            Condition::Ready => phase.is_ready(),
            Condition::Completed => phase == Phase::Completed,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Dependency {
    pub(crate) condition: Condition,
    /// Restart this service whenever the dependency restarts.
    pub(crate) restart: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RestartPolicy {
    No,
    OnFailure,
    Always,
}

/// A readiness check: a table with exactly one of these keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Ready {
    /// A TCP connect to `host:port` succeeds.
    Tcp(String),
    /// A GET of the URL answers 2xx.
    Http(String),
    /// The command exits 0.
    Exec(CommandLine),
    /// A line of the service's output matches the regex.
    Log(String),
    /// This much time has passed since the spawn.
    Delay(HumanDuration),
    /// The service sent `READY=1` on `$NOTIFY_SOCKET` (systemd's `Type=notify`). Always true.
    Notify(bool),
}

/// How a check reads in `ps` and in messages: `tcp 127.0.0.1:5432`.
impl std::fmt::Display for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ready::Tcp(t) => write!(f, "tcp {t}"),
            Ready::Http(u) => write!(f, "http {u}"),
            Ready::Exec(c) => write!(f, "exec {c}"),
            Ready::Log(r) => write!(f, "log /{r}/"),
            Ready::Delay(d) => write!(f, "delay {d}"),
            Ready::Notify(_) => f.write_str("notify"),
        }
    }
}

impl Ready {
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Ready::Tcp(_) => "tcp",
            Ready::Http(_) => "http",
            Ready::Exec(_) => "exec",
            Ready::Log(_) => "log",
            Ready::Delay(_) => "delay",
            Ready::Notify(_) => "notify",
        }
    }

    /// A check as given on the command line: `tcp:HOST:PORT`, `http:URL` (or the URL alone),
    /// `log:REGEX`, `exec:CMD`, `delay:DUR` or `notify`; its target is checked at once, as in
    /// the manifest, so a typo is an error now rather than a minute of waiting.
    pub(crate) fn parse_flag(text: &str) -> Result<Ready, String> {
        if text == "notify" {
            return Ok(Ready::Notify(true));
        }
        let bad = || {
            format!(
                "`{text}` is not a readiness check; write tcp:HOST:PORT, http:URL, log:REGEX, exec:CMD, delay:DUR or notify"
            )
        };
        let ready = if text.starts_with("http://") || text.starts_with("https://") {
            Ready::Http(text.to_owned())
        } else {
            let (kind, target) = text.split_once(':').filter(|(_, t)| !t.is_empty()).ok_or_else(bad)?;
            match kind {
                "tcp" => Ready::Tcp(target.to_owned()),
                "http" | "https" => Ready::Http(target.to_owned()),
                "log" => Ready::Log(target.to_owned()),
                "exec" => Ready::Exec(CommandLine::Shell(target.to_owned())),
                "delay" => HumanDuration::parse(target).map(Ready::Delay)?,
                _ => return Err(bad()),
            }
        };
        match ready.target_problem() {
            Some((message, help)) => Err(format!("{message}; {help}")),
            None => Ok(ready),
        }
    }

    /// What is wrong with the check's target, and how to write it, or None: `host:port` for
    /// tcp, an http(s) URL with a host, a regex that compiles.
    pub(crate) fn target_problem(&self) -> Option<(String, &'static str)> {
        match self {
            Ready::Tcp(target) => {
                let valid = target
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
                (!valid)
                    .then(|| (format!("tcp target `{target}` is not host:port"), "write it like \"127.0.0.1:5432\""))
            }
            Ready::Http(url) => {
                let valid = reqwest::Url::parse(url).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
                });
                (!valid).then(|| {
                    (
                        format!("http target `{url}` is not an http:// or https:// URL"),
                        "write it like \"http://127.0.0.1:8080/health\"",
                    )
                })
            }
            Ready::Log(pattern) => regex::Regex::new(pattern).err().map(|e| {
                let detail = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                (format!("log pattern `{pattern}` is not a valid regex: {detail}"), "see the regex crate's syntax")
            }),
            Ready::Notify(false) => {
                Some(("`notify = false` is not a check".to_owned(), "remove `ready`, or write notify = true"))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert!(Condition::Started.is_met_by(Phase::Starting));
        assert!(!Condition::Ready.is_met_by(Phase::Starting));
        assert!(Condition::Ready.is_met_by(Phase::Running));
        assert!(Condition::Completed.is_met_by(Phase::Completed));
        assert!(!Condition::Completed.is_met_by(Phase::Ready));
    }

    #[test]
    fn ready_flags() {
        assert_eq!(Ready::parse_flag("tcp:127.0.0.1:3000"), Ok(Ready::Tcp("127.0.0.1:3000".into())));
        assert_eq!(Ready::parse_flag("http://127.0.0.1/x"), Ok(Ready::Http("http://127.0.0.1/x".into())));
        assert_eq!(Ready::parse_flag("log:listening on \\d+"), Ok(Ready::Log("listening on \\d+".into())));
        assert_eq!(Ready::parse_flag("exec:test -f x"), Ok(Ready::Exec(CommandLine::Shell("test -f x".into()))));
        assert_eq!(Ready::parse_flag("delay:2s"), Ok(Ready::Delay(HumanDuration::from_secs(2))));
        assert_eq!(Ready::parse_flag("notify"), Ok(Ready::Notify(true)));
        assert!(Ready::parse_flag("tcp:").is_err());
        assert!(Ready::parse_flag("ping:x").is_err());
        assert!(Ready::parse_flag("log:(").is_err());
    }

    /// Issue 10: `--ready http:URL`, as documented, became `http:http://…` and waited a minute.
    #[test]
    fn http_flags_with_and_without_the_kind() {
        let url = "http://127.0.0.1:8080/health";
        assert_eq!(Ready::parse_flag(&format!("http:{url}")), Ok(Ready::Http(url.into())));
        assert_eq!(Ready::parse_flag(url), Ok(Ready::Http(url.into())));
        assert_eq!(Ready::parse_flag("https://x.test/"), Ok(Ready::Http("https://x.test/".into())));
        assert_eq!(Ready::parse_flag("https:https://x.test/"), Ok(Ready::Http("https://x.test/".into())));
    }

    #[test]
    fn bad_targets_are_errors_at_once() {
        for flag in [
            "tcp:localhost",
            "tcp:127.0.0.1:http",
            "tcp::80",
            "tcp:x:0",
            "tcp:x:70000",
            "http:127.0.0.1:8080",
            "http:http://",
            "delay:soon",
        ] {
            let error = Ready::parse_flag(flag).unwrap_err();
            assert!(error.contains("; "), "{flag}: {error}");
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct LogConfig {
    pub(crate) max_size: ByteSize,
    pub(crate) keep: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { max_size: ByteSize(50_000_000), keep: 5 }
    }
}

pub(crate) const DEFAULT_READY_TIMEOUT: HumanDuration = HumanDuration::from_secs(60);
pub(crate) const DEFAULT_HEALTH_INTERVAL: HumanDuration = HumanDuration::from_secs(10);
pub(crate) const DEFAULT_HEALTH_RETRIES: u32 = 3;
pub(crate) const DEFAULT_MIN_UPTIME: HumanDuration = HumanDuration::from_secs(1);
pub(crate) const DEFAULT_STOP_TIMEOUT: HumanDuration = HumanDuration::from_secs(10);
pub(crate) const DEFAULT_MAX_RESTARTS: u32 = 5;

/// For state files written before `min_uptime` existed.
fn default_min_uptime() -> HumanDuration {
    DEFAULT_MIN_UPTIME
}
