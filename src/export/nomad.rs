//! `orch export nomad`: one Nomad job for the services (raw_exec tasks), and one `periodic`
//! job per schedule, in one HCL file.
//!
//! The mapping, in short:
//! - a long-running service is a group of the service job (`count` from `scale`) with one
//!   raw_exec task; raw_exec has no working directory, so the task runs
//!   `/bin/sh -c 'cd DIR && exec CMD'`;
//! - a oneshot others wait for (`completed`) is a prestart task (`sidecar = false`) in each of
//!   their groups, as Nomad has no order between groups; any other oneshot is a batch job, a
//!   scheduled one a periodic batch job;
//! - a `ready` dependency on a service of another group is a prestart task `wait-for-NAME`
//!   running `orch probe` with that service's check;
//! - http and tcp checks are Nomad service checks (provider `nomad`), a healthcheck's with
//!   `check_restart`; `ready_timeout`, `min_uptime` and `rolling` are the group's `update`;
//! - `port = "auto"` is a dynamic port, `$PORT` being `${NOMAD_PORT_<label>}`.
//!
//! What has no equivalent is a [`Warning`]; see [`Plan::warnings`].

use std::time::Duration;

use super::calendar::five_fields;
use super::hcl::{self, Body, Expr};
use super::{Export, Project, Unit, Warning, dns_label, units};
use crate::manifest::{Condition, Dependency, PortSpec, Ready, RestartPolicy, Service};

/// How often a readiness check runs as a Nomad check (it keeps running once it passed, so not
/// as often as orch polls it while it waits).
const READY_INTERVAL: Duration = Duration::from_secs(5);
/// How long one check may take: orch's own limit for one attempt.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Nomad refuses a check interval under a second.
const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Nomad waits a fixed delay between restarts (orch backs off from 100ms).
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// The window `attempts` counts in: Nomad's own for service jobs.
const RESTART_INTERVAL: Duration = Duration::from_mins(30);
/// A group's disk when the job gives none; the logs of each task must fit under it.
const DEFAULT_DISK_MB: u64 = 300;
/// A deployment's deadline when the job gives none; each allocation's must be shorter.
const DEFAULT_PROGRESS_DEADLINE: Duration = Duration::from_mins(10);
const MIB: u64 = 1024 * 1024;

/// The job file, `<project>.nomad.hcl`.
pub(crate) fn export(project: &Project) -> Export {
    let (units, empty) = units(project.spec);
    let plan = Plan { project, units };
    let mut warnings = project_warnings(&empty);
    for unit in &plan.units {
        warnings.extend(plan.warnings(unit));
    }
    let jobs = plan.jobs();
    let count = jobs.len();
    let file_name = format!("{}.nomad.hcl", project.name);
    let mut head = Body::new();
    head.comment(&header(count));
    let mut file = Body::new();
    for (id, job) in jobs {
        file.block("job", &[&id], job);
    }
    let text = format!("{}\n{}", head.render(), file.render());
    let next_steps = next_steps(project, count);
    Export { files: vec![(file_name, text)], warnings, next_steps }
}

/// What each unit becomes in Nomad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A group of the service job.
    Service,
    /// A prestart task in the group of each unit that waits for it to complete.
    Prestart,
    /// A batch job of its own.
    Batch,
    /// A periodic batch job of its own.
    Periodic,
}

/// How a unit waits for one of its dependencies.
enum Wait {
    /// A prestart task (or, in a prestart task, a first command) running `orch probe`.
    Probe(Probe),
    /// The dependency is a prestart task of the same group.
    Prestart,
    /// Not at all: why, as the warning says it.
    Never(String),
}

/// `orch probe …`, and for an exec check the folder its command runs in (the dependency's).
struct Probe {
    argv: Vec<String>,
    cwd: Option<String>,
}

impl Probe {
    /// The probe as a shell command.
    fn line(&self) -> String {
        match &self.cwd {
            Some(dir) => format!("(cd {} && {})", sh_quote(dir), sh_words(&self.argv)),
            None => sh_words(&self.argv),
        }
    }
}

/// A port of a group: the service's own (`PORT`), or one a check connects to.
struct Port {
    label: String,
    number: u16,
    /// Nomad picks it (`port = "auto"`, or replicas that each have their own).
    dynamic: bool,
}

/// An http or tcp check, as Nomad makes it against a service's address and port.
#[derive(Clone, PartialEq, Eq)]
struct Check {
    /// `ready` or `health`.
    name: &'static str,
    kind: &'static str,
    host: String,
    port: u16,
    /// An http check's path (and query), and whether it is https.
    path: Option<(String, bool)>,
    interval: Duration,
    /// A health check's `check_restart`: its retries and start period.
    restart: Option<(u32, Duration)>,
}

struct Plan<'a> {
    project: &'a Project<'a>,
    units: Vec<Unit<'a>>,
}

impl<'a> Plan<'a> {
    fn unit(&self, name: &str) -> Option<&Unit<'a>> {
        self.units.iter().find(|u| u.name == name)
    }

    fn role(&self, unit: &Unit) -> Role {
        let service = unit.service;
        if !service.oneshot {
            Role::Service
        } else if service.schedule.is_some() {
            Role::Periodic
        } else if self
            .units
            .iter()
            .any(|u| u.depends_on.get(&unit.name).is_some_and(|d| d.condition == Condition::Completed))
        {
            Role::Prestart
        } else {
            Role::Batch
        }
    }

    /// The service job (when there are long-running services), then a job per other oneshot,
    /// in the manifest's order, each by its ID.
    fn jobs(&self) -> Vec<(String, Body)> {
        let mut jobs = Vec::new();
        let services: Vec<&Unit> = self.units.iter().filter(|u| self.role(u) == Role::Service).collect();
        if !services.is_empty() {
            let mut job = job_head("service");
            for unit in services {
                job.block("group", &[&unit.name], self.group(unit, Role::Service));
            }
            jobs.push((self.job_id(), job));
        }
        for unit in &self.units {
            let role = self.role(unit);
            if !matches!(role, Role::Batch | Role::Periodic) {
                continue;
            }
            let mut job = job_head("batch");
            if let Some(cron) = &unit.service.schedule {
                // A schedule with no five-field form is warned about, and not run at all.
                let Ok(cron) = five_fields(cron) else { continue };
                job.block("periodic", &[], periodic(&cron));
            }
            job.block("group", &[&unit.name], self.group(unit, role));
            jobs.push((self.project.unit_name(&dns_label(&unit.name)), job));
        }
        jobs
    }

    fn job_id(&self) -> String {
        format!("orch-{}", self.project.name)
    }

    fn group(&self, unit: &Unit, role: Role) -> Body {
        let ports = ports(unit);
        let mut group = Body::new();
        group.attr("count", count(unit, role));
        if !ports.is_empty() {
            group.block("network", &[], network(&ports));
        }
        if role == Role::Service {
            group.block("update", &[], update(unit));
        }
        // orch gives up on a service after max_restarts, and never runs a oneshot twice on its
        // own: Nomad's default would place it again, for ever.
        group.block("reschedule", &[], no_reschedule());
        let prestarts = self.prestarts(unit);
        let disk = std::iter::once(unit).chain(prestarts.iter().copied()).map(|u| log_usage_mb(u.service)).max();
        if let Some(usage) = disk.filter(|usage| *usage >= DEFAULT_DISK_MB) {
            let mut ephemeral = Body::new();
            ephemeral.attr("size", (usage / 100 + 1) * 100);
            group.block("ephemeral_disk", &[], ephemeral);
        }
        for (dependency, probe) in self.probes(unit) {
            group.block("task", &[&format!("wait-for-{dependency}")], wait_task(&probe));
        }
        for prestart in prestarts {
            group.block("task", &[&prestart.name], self.task(prestart, Role::Prestart, &[]));
        }
        group.block("task", &[&unit.name], self.task(unit, role, &ports));
        group
    }

    /// `scale`, or 0 for a service in a profile: in the job, not running until scaled up.
    fn task(&self, unit: &Unit, role: Role, ports: &[Port]) -> Body {
        let service = unit.service;
        let mut task = Body::new();
        task.attr("driver", "raw_exec")
            .attr("kill_signal", service.stop_signal.to_string())
            .attr("kill_timeout", go_duration(service.stop_timeout.0));
        if role == Role::Prestart {
            task.block("lifecycle", &[], prestart());
        }
        let probes: Vec<Probe> = if role == Role::Prestart {
            self.probes(unit).into_iter().map(|(_, probe)| probe).collect()
        } else {
            Vec::new()
        };
        let mut config = Body::new();
        config.attr("command", "/bin/sh").attr("args", vec!["-c".to_owned(), script(&probes, service)]);
        task.block("config", &[], config);
        env(&mut task, unit, ports);
        task.block("restart", &[], restart(service));
        task.block("logs", &[], logs(service));
        if role == Role::Service {
            for body in self.services(unit, ports) {
                task.block("service", &[], body);
            }
        }
        task
    }

    /// The service registrations of a unit: one per address its checks connect to.
    fn services(&self, unit: &Unit, ports: &[Port]) -> Vec<Body> {
        let checks = checks(unit.service);
        let base = self.project.unit_name(&dns_label(&unit.name));
        let mut targets: Vec<(&str, u16)> = Vec::new();
        for check in &checks {
            if !targets.contains(&(check.host.as_str(), check.port)) {
                targets.push((check.host.as_str(), check.port));
            }
        }
        let services = targets.iter().enumerate().map(|(index, (host, port))| {
            let mine: Vec<&Check> = checks.iter().filter(|c| c.host == *host && c.port == *port).collect();
            let name = if index == 0 { base.clone() } else { format!("{base}-{}", mine[0].name) };
            let label = ports.iter().find(|p| p.number == *port).map_or_else(String::new, |p| p.label.clone());
            let mut body = Body::new();
            body.attr("provider", "nomad").attr("name", name).attr("port", label).attr("address", *host);
            for check in mine {
                body.block("check", &[], check_block(check));
            }
            body
        });
        services.collect()
    }

    /// The `orch probe` commands a unit runs before it starts, by dependency.
    fn probes(&self, unit: &Unit) -> Vec<(String, Probe)> {
        let waits = unit.depends_on.iter().map(|(name, dependency)| (name, self.wait(unit, name, *dependency)));
        waits
            .filter_map(|(name, wait)| if let Wait::Probe(probe) = wait { Some((name.clone(), probe)) } else { None })
            .collect()
    }

    /// The oneshots that run as prestart tasks in a unit's group: those it waits to complete,
    /// and theirs, each once, the ones they wait for first.
    fn prestarts(&self, unit: &Unit) -> Vec<&Unit<'a>> {
        let mut found: Vec<&Unit<'a>> = Vec::new();
        self.collect_prestarts(unit, &mut found);
        found
    }

    fn collect_prestarts<'s>(&'s self, unit: &Unit, found: &mut Vec<&'s Unit<'a>>) {
        for (name, dependency) in &unit.depends_on {
            let Some(dep) = self.unit(name) else { continue };
            let is_prestart = dependency.condition == Condition::Completed && self.role(dep) == Role::Prestart;
            if is_prestart && !found.iter().any(|u| u.name == dep.name) {
                self.collect_prestarts(dep, found);
                if !found.iter().any(|u| u.name == dep.name) {
                    found.push(dep);
                }
            }
        }
    }

    /// How `unit` waits for `name`: the one decision both the job and the warnings follow.
    fn wait(&self, unit: &Unit, name: &str, dependency: Dependency) -> Wait {
        let Some(dep) = self.unit(name) else {
            return Wait::Never(format!("`{name}` is scaled to 0, so it is not in the job"));
        };
        match (dependency.condition, self.role(dep)) {
            (Condition::Started, _) => Wait::Never(format!(
                "Nomad has no start order between groups: `{}` may start before `{name}`",
                unit.name
            )),
            (Condition::Completed, Role::Prestart) if self.role(unit) == Role::Prestart => Wait::Never(format!(
                "Nomad runs a group's prestart tasks side by side: `{name}` runs next to `{}`, not before it",
                unit.name
            )),
            (Condition::Completed, Role::Prestart) => Wait::Prestart,
            (Condition::Completed, Role::Periodic) => Wait::Never(format!(
                "`{name}` runs on its schedule, in a job of its own: `{}` does not wait for it",
                unit.name
            )),
            _ => probe(self.project, dep, &unit.name),
        }
    }

    /// Every key of a unit that does not map, or maps with another meaning.
    fn warnings(&self, unit: &Unit) -> Vec<Warning> {
        let role = self.role(unit);
        let mut out: Vec<(String, String)> = Vec::new();
        let service = unit.service;
        if !service.watch.is_empty() {
            out.push(("watch".into(), "Nomad does not restart a task when its files change".into()));
        }
        if !service.profiles.is_empty() {
            out.push(("profiles".into(), self.profiles_message(unit, role)));
        }
        out.extend(check_warnings(service, role));
        if role == Role::Service && service.ready_timeout.0 <= min_healthy(service) {
            let message = "Nomad's healthy_deadline must be longer than min_healthy_time: it is the two added up";
            out.push(("ready_timeout".into(), message.into()));
        }
        if role != Role::Service && service.restart == RestartPolicy::Always {
            out.push(("restart".into(), "Nomad never reruns a batch task that exited 0, only one that failed".into()));
        }
        out.extend(port_warnings(unit));
        out.extend(self.env_warnings(unit));
        if let Some(Err(why)) = service.schedule.as_deref().map(five_fields) {
            out.push(("schedule".into(), format!("{why} (Nomad reads a sixth field as the year): no periodic job")));
        }
        if service.image.is_some() {
            out.push((
                "export.image".into(),
                "raw_exec runs the command on the host: the image is for `orch export kubernetes`".into(),
            ));
        }
        for (name, dependency) in &unit.depends_on {
            if let Wait::Never(why) = self.wait(unit, name, *dependency) {
                out.push((format!("depends_on.{name}"), why));
            }
            if dependency.restart {
                out.push((
                    format!("depends_on.{name}.restart"),
                    format!("Nomad does not restart `{}` when `{name}` restarts", unit.name),
                ));
            }
        }
        out.into_iter().map(|(key, message)| Warning::new(&unit.name, &key, message)).collect()
    }

    fn profiles_message(&self, unit: &Unit, role: Role) -> String {
        if role == Role::Service {
            format!(
                "Nomad has no profiles: the group is in the job with count = 0; `nomad job scale {} {} {}` starts it",
                self.job_id(),
                unit.name,
                unit.count()
            )
        } else {
            "Nomad has no profiles: it is in the export like the others".into()
        }
    }

    /// An environment value that holds another unit's port, which Nomad picks at run time.
    fn env_warnings(&self, unit: &Unit) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for other in self.units.iter().filter(|o| o.name != unit.name) {
            let Some(own) = ports(other).into_iter().next().filter(|p| p.dynamic) else { continue };
            let numbers = replica_ports(other);
            for (key, value) in &unit.service.env {
                if let Some(number) = numbers.iter().find(|n| mentions(value, **n)) {
                    out.push((
                        format!("env.{key}"),
                        format!(
                            "holds `{}`'s port {number}, which Nomad picks at run time (NOMAD_PORT_{} in its group)",
                            other.name, own.label
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// `scale`, or 0 for a service in a profile: in the job, not running until scaled up.
fn count(unit: &Unit, role: Role) -> usize {
    if role == Role::Service && !unit.service.profiles.is_empty() { 0 } else { unit.count() }
}

/// The project-wide keys that do not map.
fn project_warnings(empty: &[String]) -> Vec<Warning> {
    empty.iter().map(|name| Warning::new(name, "scale", "scaled to 0: not in the job")).collect()
}

/// The warnings of a unit's `ready` and `healthcheck`.
fn check_warnings(service: &Service, role: Role) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let script = "a Nomad service check is http or tcp (a script check needs Consul)";
    match (&service.ready, role) {
        (None, _) | (Some(Ready::Tcp(_) | Ready::Http(_) | Ready::Delay(_)), Role::Service) => {}
        (Some(_), Role::Prestart | Role::Batch | Role::Periodic) => {
            out.push(("ready".into(), "a oneshot is done when it exits 0: Nomad does not check it".into()));
        }
        (Some(Ready::Exec(_)), Role::Service) => out.push((
            "ready".into(),
            format!("{script}: not a check; a dependent in another group still waits for it with `orch probe`"),
        )),
        (Some(Ready::Log(_)), Role::Service) => out.push((
            "ready".into(),
            format!("Nomad has no check of a task's output: the group is healthy once its task ran for min_healthy_time ({})", service.min_uptime),
        )),
        (Some(Ready::Notify(_)), Role::Service) => out.push((
            "ready".into(),
            format!("Nomad has no notify socket: the group is healthy once its task ran for min_healthy_time ({})", service.min_uptime),
        )),
    }
    if let Some(health) = &service.healthcheck {
        if role != Role::Service {
            out.push(("healthcheck".into(), "Nomad checks only the services of a service job".into()));
        } else if health.exec.is_some() {
            out.push(("healthcheck".into(), format!("{script}: not exported")));
        } else if health.interval.0 < MIN_CHECK_INTERVAL {
            out.push((
                "healthcheck.interval".into(),
                "Nomad checks at most once a second: the check's interval is 1s".into(),
            ));
        }
    }
    out
}

/// The warning of a scaled unit whose replicas each have their own port, and of its `$PS`.
fn port_warnings(unit: &Unit) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(own) = ports(unit).first().filter(|p| p.dynamic)
        && unit.is_scaled()
        && unit.service.port != Some(PortSpec::Auto)
    {
        let key = if unit.service.port.is_some() { "port" } else { "env.PORT" };
        let message = format!(
            "Nomad gives each allocation of a group the same static port: each replica gets a dynamic one instead ($PORT is NOMAD_PORT_{})",
            own.label
        );
        out.push((key.into(), message));
    }
    if unit.is_scaled() && unit.service.env.contains_key("PS") {
        let last = unit.count().saturating_sub(1);
        let message = format!("Nomad numbers allocations from 0: $PS is {0}.0 to {0}.{last}", unit.name);
        out.push(("env.PS".into(), message));
    }
    out
}

/// The probe a dependent runs for `dep`: its readiness check (or else its health check) as
/// `orch probe`, which gives up after `dep`'s ready_timeout.
fn probe(project: &Project, dep: &Unit, dependent: &str) -> Wait {
    let service = dep.service;
    let probed = |r: &Ready| matches!(r, Ready::Tcp(_) | Ready::Http(_) | Ready::Exec(_));
    let check = service.ready.clone().filter(probed).or_else(|| health_check(service));
    let name = &dep.name;
    let Some(check) = check else {
        return Wait::Never(format!(
            "Nomad has no start order between groups, and `{name}` has no check `orch probe` can make: `{dependent}` may start before it is ready"
        ));
    };
    let dynamic = ports(dep).into_iter().find(|p| p.dynamic).map(|p| p.number);
    if dynamic.is_some() && target(&check).is_some_and(|(_, _, port, _)| Some(port) == dynamic) {
        return Wait::Never(format!(
            "Nomad picks `{name}`'s port at run time, so `orch probe` cannot reach it: `{dependent}` may start before it is ready"
        ));
    }
    let cwd = matches!(check, Ready::Exec(_)).then(|| service.cwd.display().to_string());
    match project.probe_argv(&check, service.ready_timeout) {
        Some(argv) => Wait::Probe(Probe { argv, cwd }),
        None => Wait::Never(format!(
            "`{name}` has no check `orch probe` can make: `{dependent}` may start before it is ready"
        )),
    }
}

/// A service's healthcheck as a check.
fn health_check(service: &Service) -> Option<Ready> {
    let health = service.healthcheck.as_ref()?;
    Some(health.check())
}

/// The group's ports: the service's own first (`PORT`, labelled after the checks on it: http,
/// tcp, or port), then a static one for each other port a check connects to.
fn ports(unit: &Unit) -> Vec<Port> {
    let service = unit.service;
    let checks = checks(service);
    let mut out: Vec<Port> = Vec::new();
    if let Some(number) = service.port_shown() {
        let kind = checks.iter().find(|c| c.port == number).map_or("port", |c| c.kind);
        let numbers = replica_ports(unit);
        let dynamic = service.port == Some(PortSpec::Auto) || numbers.windows(2).any(|w| w[0] != w[1]);
        out.push(Port { label: kind.to_owned(), number, dynamic });
    }
    for check in &checks {
        if !out.iter().any(|p| p.number == check.port) {
            out.push(Port { label: format!("{}_{}", check.kind, check.port), number: check.port, dynamic: false });
        }
    }
    out
}

/// The own port of each replica (or of the service).
fn replica_ports(unit: &Unit) -> Vec<u16> {
    if unit.is_scaled() {
        unit.replicas.iter().filter_map(|(_, s)| s.port_shown()).collect()
    } else {
        unit.service.port_shown().into_iter().collect()
    }
}

/// A service's http and tcp checks: its readiness check, then its health check (one check when
/// they are the same).
fn checks(service: &Service) -> Vec<Check> {
    let mut out = Vec::new();
    let health = service.healthcheck.as_ref();
    let same = health.is_some_and(|h| service.ready.as_ref() == Some(&h.check()));
    if let Some((kind, host, port, path)) = service.ready.as_ref().filter(|_| !same).and_then(target) {
        out.push(Check { name: "ready", kind, host, port, path, interval: READY_INTERVAL, restart: None });
    }
    if let Some(health) = health
        && let Some((kind, host, port, path)) = target(&health.check())
    {
        let interval = health.interval.0.max(MIN_CHECK_INTERVAL);
        let restart = Some((health.retries, health.start_period.0));
        out.push(Check { name: "health", kind, host, port, path, interval, restart });
    }
    out
}

/// A check's kind, host, port, and an http check's path and whether it is https.
type Target = (&'static str, String, u16, Option<(String, bool)>);

/// Where an http or tcp check connects: its kind, host, port, and an http check's path and
/// whether it is https.
fn target(check: &Ready) -> Option<Target> {
    match check {
        Ready::Tcp(target) => {
            let (host, port) = target.rsplit_once(':')?;
            Some(("tcp", unbracket(host), port.parse().ok()?, None))
        }
        Ready::Http(url) => {
            let url = reqwest::Url::parse(url).ok()?;
            let host = unbracket(url.host_str()?);
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            Some(("http", host, url.port_or_known_default()?, Some((path, url.scheme() == "https"))))
        }
        _ => None,
    }
}

/// An IPv6 host without the brackets of a URL.
fn unbracket(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_owned()
}

/// Whether `text` holds `port` as a number of its own (not inside a longer one).
fn mentions(text: &str, port: u16) -> bool {
    let port = port.to_string();
    text.match_indices(&port).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + port.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn job_head(kind: &str) -> Body {
    let mut job = Body::new();
    job.attr("type", kind).attr("datacenters", vec!["*".to_owned()]);
    job
}

/// The schedule, in the local time orch runs it in, never two runs at once.
fn periodic(cron: &str) -> Body {
    let mut periodic = Body::new();
    periodic.attr("crons", vec![cron.to_owned()]).attr("prohibit_overlap", true).attr("time_zone", "Local");
    periodic
}

fn network(ports: &[Port]) -> Body {
    let mut network = Body::new();
    for port in ports {
        let mut body = Body::new();
        if !port.dynamic {
            body.attr("static", u32::from(port.number));
        }
        network.block("port", &[&port.label], body);
    }
    network
}

/// How a deployment judges the group: healthy once ready (its checks pass, or it ran
/// `min_uptime`, or the `delay` of its readiness) within `ready_timeout`; one replica at a time
/// when `rolling`, else all at once.
fn update(unit: &Unit) -> Body {
    let service = unit.service;
    let min_healthy = min_healthy(service);
    let mut deadline = service.ready_timeout.0;
    if deadline <= min_healthy {
        deadline = min_healthy + service.ready_timeout.0;
    }
    let mut update = Body::new();
    update
        .attr("max_parallel", if service.rolling { 1 } else { unit.count() })
        .attr("min_healthy_time", go_duration(min_healthy))
        .attr("healthy_deadline", go_duration(deadline));
    if deadline >= DEFAULT_PROGRESS_DEADLINE {
        update.attr("progress_deadline", go_duration(deadline + DEFAULT_PROGRESS_DEADLINE));
    }
    update
}

/// How long a task must run to count as healthy: its `delay` readiness, or its min_uptime.
fn min_healthy(service: &Service) -> Duration {
    match service.ready {
        Some(Ready::Delay(delay)) => delay.0,
        _ => service.min_uptime.0,
    }
}

/// A oneshot runs once: Nomad does not place it again after it failed.
fn no_reschedule() -> Body {
    let mut reschedule = Body::new();
    reschedule.attr("attempts", 0_u32).attr("unlimited", false);
    reschedule
}

fn prestart() -> Body {
    let mut lifecycle = Body::new();
    lifecycle.attr("hook", "prestart").attr("sidecar", false);
    lifecycle
}

/// A prestart task that waits for a service of another group: `orch probe` gives up after the
/// service's ready_timeout, and then the allocation fails, as orch's dependent would.
fn wait_task(probe: &Probe) -> Body {
    let mut task = Body::new();
    task.attr("driver", "raw_exec");
    task.block("lifecycle", &[], prestart());
    let mut config = Body::new();
    match (&probe.cwd, probe.argv.split_first()) {
        (None, Some((program, args))) => config.attr("command", program.as_str()).attr("args", args.to_vec()),
        (cwd, _) => {
            let cd = cwd.as_ref().map_or_else(String::new, |dir| format!("cd {} && ", sh_quote(dir)));
            let line = format!("{cd}exec {}", sh_words(&probe.argv));
            config.attr("command", "/bin/sh").attr("args", vec!["-c".to_owned(), line])
        }
    };
    task.block("config", &[], config);
    let mut restart = Body::new();
    restart.attr("attempts", 0_u32).attr("mode", "fail");
    task.block("restart", &[], restart);
    task
}

/// The shell line of a task: its probes, then `cd` to its folder and `exec` of its command
/// (raw_exec has no working directory of its own). A command string of plain words is run as
/// those words, as orch runs it, rather than under a second shell.
fn script(probes: &[Probe], service: &Service) -> String {
    let mut steps: Vec<String> = probes.iter().map(Probe::line).collect();
    steps.push(format!("cd {}", sh_quote(&service.cwd.display().to_string())));
    let argv = service.cmd.words().unwrap_or_else(|| service.cmd.argv());
    steps.push(format!("exec {}", sh_words(&argv)));
    steps.join(" && ")
}

fn sh_words(argv: &[String]) -> String {
    argv.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ")
}

/// A word for `sh`: as it is when it holds nothing the shell reads, else in single quotes.
fn sh_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The task's environment: the service's, `PORT` being Nomad's dynamic port and a replica's
/// `PS` its allocation's index. Keys that are no HCL identifier make it an `env = {…}` map.
fn env(task: &mut Body, unit: &Unit, ports: &[Port]) {
    let dynamic = ports.first().filter(|p| p.dynamic && unit.service.port_shown() == Some(p.number));
    let entries: Vec<(String, Expr)> = unit
        .service
        .env
        .iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), dynamic) {
                ("PORT", Some(port)) => hcl::template("", &format!("NOMAD_PORT_{}", port.label)),
                ("PS", _) if unit.is_scaled() => hcl::template(&format!("{}.", unit.name), "NOMAD_ALLOC_INDEX"),
                _ => Expr::Str(value.clone()),
            };
            (key.clone(), value)
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    if entries.iter().all(|(key, _)| hcl::is_identifier(key)) {
        let mut env = Body::new();
        for (key, value) in entries {
            env.attr(&key, value);
        }
        task.block("env", &[], env);
    } else {
        task.attr("env", Expr::Object(entries));
    }
}

/// orch's restart policy: up to `max_restarts` (none for `restart = "no"`), then the task fails.
fn restart(service: &Service) -> Body {
    let attempts = if service.restart == RestartPolicy::No { 0 } else { service.max_restarts };
    let mut restart = Body::new();
    restart.attr("attempts", attempts);
    if attempts > 0 {
        let interval = RESTART_INTERVAL.max(RESTART_DELAY * attempts);
        restart.attr("interval", go_duration(interval)).attr("delay", go_duration(RESTART_DELAY));
    }
    restart.attr("mode", "fail");
    restart
}

/// orch's rotation: `keep` old files and the current one, each of `max_size` (in whole MiB).
fn logs(service: &Service) -> Body {
    let (files, size) = log_files(service);
    let mut logs = Body::new();
    logs.attr("max_files", files).attr("max_file_size", size);
    logs
}

fn log_files(service: &Service) -> (u64, u64) {
    let files = u64::from(service.log.keep) + 1;
    let size = service.log.max_size.0.div_ceil(MIB).max(1);
    (files, size)
}

fn log_usage_mb(service: &Service) -> u64 {
    let (files, size) = log_files(service);
    files * size
}

fn check_block(check: &Check) -> Body {
    let mut body = Body::new();
    body.attr("name", check.name).attr("type", check.kind);
    if let Some((path, https)) = &check.path {
        if *https {
            body.attr("protocol", "https");
        }
        body.attr("path", path.as_str());
    }
    let timeout = CHECK_TIMEOUT.min(check.interval);
    body.attr("interval", go_duration(check.interval)).attr("timeout", go_duration(timeout));
    if let Some((limit, grace)) = check.restart {
        let mut restart = Body::new();
        restart.attr("limit", limit).attr("grace", go_duration(grace));
        body.block("check_restart", &[], restart);
    }
    body
}

/// A duration as Go writes it (`1m30s`, `250ms`), which is what Nomad reads.
fn go_duration(duration: Duration) -> String {
    if duration.subsec_millis() != 0 {
        return format!("{}ms", duration.as_millis());
    }
    let secs = duration.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut text = String::new();
    for (n, unit) in [(hours, "h"), (minutes, "m"), (seconds, "s")] {
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
        }
    }
    if text.is_empty() { "0s".to_owned() } else { text }
}

/// What the file says about itself, above the jobs.
fn header(jobs: usize) -> String {
    let mut text = String::from(
        "Made by `orch export nomad` from procs.toml: export again rather than edit it.\n\
         \n\
         Every task runs with the raw_exec driver (enable it on the clients), as\n\
         `/bin/sh -c 'cd DIR && exec CMD'`: raw_exec has no working directory. Nomad restarts a\n\
         service's task however it exits, and reads `${…}` in args and env at run time.\n\
         Nomad has no order between groups: a group waits for a service of another one with a\n\
         prestart task running `orch probe`, and a oneshot it waits to complete is a prestart\n\
         task of its own group (so it runs once per allocation). Any other oneshot is a batch\n\
         job, a scheduled one a periodic job.\n\
         The probes, checks and env reach other services where procs.toml says they are\n\
         (127.0.0.1 and their ports): keep the groups on one client (a constraint), or point\n\
         them at Nomad's service addresses.",
    );
    if jobs > 1 {
        text.push_str(&format!(
            "\n\nThis file holds {jobs} jobs and `nomad job run` reads one per file: split it at each `job` line."
        ));
    }
    text
}

/// What to run with the file (`OUT`, which the command line names as written).
fn next_steps(project: &Project, jobs: usize) -> Vec<String> {
    if jobs <= 1 {
        return vec!["nomad job run OUT".to_owned()];
    }
    let name = &project.name;
    vec![
        format!(
            "csplit --quiet --elide-empty-files --prefix={name}- --suffix-format=%02d.nomad.hcl OUT '%^job %' '/^job /' '{{*}}'"
        ),
        format!("for job in {name}-*.nomad.hcl; do nomad job run \"$job\"; done"),
    ]
}

#[cfg(test)]
mod tests;
