//! `orch export systemd`: one unit per service (`orch-<project>-<svc>.service`), a template
//! with one instance per replica for a scaled one, a `.timer` per schedule, and a target that
//! wants them all. Dependencies keep their meaning (`After=` + `Requires=`, `Wants=` for
//! `started`, `PartOf=` for `restart = true`), and so does readiness: a tcp, http or exec check
//! is an `ExecStartPost=orch probe …`, so that systemd starts what is ordered after a service
//! only once the check passed, as orch does.

use super::calendar::on_calendar;
use super::{Export, Project, Unit, Warning, units, whole_seconds as seconds};
use crate::manifest::{Condition, PortSpec, Ready, RestartPolicy, Service};

/// Which systemd instance the units are for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `systemctl --user`: the services run as the user, while the user is logged in (or
    /// from boot, with lingering).
    User,
    /// The system's: the services run as this user (`User=`), from boot.
    System { user: Option<String> },
}

impl Scope {
    fn systemctl(&self) -> &'static str {
        match self {
            Scope::User => "systemctl --user",
            Scope::System { .. } => "sudo systemctl",
        }
    }

    /// Where the unit files go.
    fn unit_dir(&self) -> &'static str {
        match self {
            Scope::User => "~/.config/systemd/user",
            Scope::System { .. } => "/etc/systemd/system",
        }
    }

    fn wanted_by(&self) -> &'static str {
        match self {
            Scope::User => "default.target",
            Scope::System { .. } => "multi-user.target",
        }
    }
}

/// A unit's files, and the units of it the target wants.
struct Written {
    files: Vec<(String, String)>,
    wanted: Vec<String>,
}

/// The unit files, each by its file name (a replica's drop-in in its `.d` folder).
pub(crate) fn export(project: &Project, scope: &Scope) -> Export {
    let (units, empty) = units(project.spec);
    let mut export = Export::default();
    for name in empty {
        export.warnings.push(Warning::new(&name, "scale", "0 replicas: not exported"));
    }
    let mut wanted = Vec::new();
    for unit in &units {
        export.warnings.extend(warnings(unit));
        let written = unit_files(project, scope, unit, &units, &mut export.warnings);
        if unit.service.profiles.is_empty() {
            wanted.extend(written.wanted);
        }
        export.files.extend(written.files);
    }
    let target = format!("{}.target", project.target());
    export.files.push((target.clone(), target_unit(project, scope, &wanted)));
    export.next_steps = vec![
        match scope {
            Scope::User => format!("mkdir -p {dir} && cp -r OUT/. {dir}/", dir = scope.unit_dir()),
            Scope::System { .. } => format!("sudo cp -r OUT/. {}/", scope.unit_dir()),
        },
        format!("{} daemon-reload", scope.systemctl()),
        format!("{} enable --now {target}", scope.systemctl()),
    ];
    if *scope == Scope::User {
        export.next_steps.push("loginctl enable-linger \"$USER\"   # to keep them running after you log out".into());
    }
    export
}

fn target_unit(project: &Project, scope: &Scope, wanted: &[String]) -> String {
    let mut text = format!("[Unit]\nDescription=orch project {}\n", project.name);
    if !wanted.is_empty() {
        text.push_str(&format!("Wants={}\n", wanted.join(" ")));
        text.push_str(&format!("After={}\n", wanted.join(" ")));
    }
    text.push_str(&format!("\n[Install]\nWantedBy={}\n", scope.wanted_by()));
    text
}

fn unit_files(project: &Project, scope: &Scope, unit: &Unit, all: &[Unit], warnings: &mut Vec<Warning>) -> Written {
    let name = project.unit_name(&unit.name);
    let mut files = Vec::new();
    let mut wanted = Vec::new();
    if unit.is_scaled() {
        let shared = shared_env(unit);
        files.push((format!("{name}@.service"), service_unit(project, scope, unit, all, Some(&shared), warnings)));
        for (index, (_, replica)) in (1..).zip(&unit.replicas) {
            let instance = format!("{name}@{index}.service");
            files.push((format!("{instance}.d/orch.conf"), instance_drop_in(project, replica, &shared)));
            wanted.push(instance);
        }
    } else {
        files.push((format!("{name}.service"), service_unit(project, scope, unit, all, None, warnings)));
        wanted.push(format!("{name}.service"));
    }
    if let Some(schedule) = &unit.service.schedule {
        if unit.is_scaled() {
            // A timer starts one unit, not each instance of a template.
            let why = "a timer cannot start the replicas of a scaled oneshot: no timer written";
            warnings.push(Warning::new(&unit.name, "schedule", why));
            return Written { files, wanted: Vec::new() };
        }
        match on_calendar(schedule) {
            Ok(calendar) => {
                files.push((format!("{name}.timer"), timer_unit(project, &unit.name, &calendar)));
                wanted = vec![format!("{name}.timer")];
            }
            Err(why) => {
                warnings.push(Warning::new(&unit.name, "schedule", format!("{why}: no timer written")));
                wanted.clear();
            }
        }
    }
    Written { files, wanted }
}

/// The variables every replica has alike: in the template; the others (`PORT`, `PS`) are in
/// each instance's drop-in.
fn shared_env(unit: &Unit) -> Vec<String> {
    let first = &unit.service.env;
    first
        .iter()
        .filter(|(key, value)| unit.replicas.iter().all(|(_, r)| r.env.get(*key) == Some(*value)))
        .map(|(key, _)| key.clone())
        .collect()
}

/// The `[Unit]`, `[Service]` and `[Install]` of a service; with `shared`, the template of a
/// scaled one, holding only those variables.
fn service_unit(
    project: &Project,
    scope: &Scope,
    unit: &Unit,
    all: &[Unit],
    shared: Option<&[String]>,
    warnings: &mut Vec<Warning>,
) -> String {
    let service = unit.service;
    let described = if shared.is_some() { format!("{}.%i", unit.name) } else { unit.name.clone() };
    let mut text = format!("[Unit]\nDescription=orch {}: {described}\n", project.name);
    text.push_str(&format!("PartOf={}.target\n", project.target()));
    text.push_str(&dependencies(project, unit, all));
    if service.restart != RestartPolicy::No {
        // orch gives up after max_restarts in a row; systemd counts starts in a window.
        text.push_str(&format!("StartLimitIntervalSec=5min\nStartLimitBurst={}\n", service.max_restarts + 1));
    }
    text.push_str("\n[Service]\n");
    text.push_str(&service_kind(project, unit));
    if let Scope::System { user: Some(user) } = scope {
        text.push_str(&format!("User={user}\n"));
    }
    text.push_str(&format!("WorkingDirectory={}\n", quote_path(&service.cwd.display().to_string())));
    // The programs are found on the PATH of the shell that exported, not systemd's own.
    if let Some(line) = project.path.as_deref().and_then(|path| environment("PATH", path)) {
        text.push_str(&line);
    }
    for (key, value) in &service.env {
        if shared.is_some_and(|keys| !keys.contains(key)) {
            continue;
        }
        match environment(key, value) {
            Some(line) => text.push_str(&line),
            None => warnings.push(Warning::new(&unit.name, "env", format!("{key} holds a newline: left out"))),
        }
    }
    text.push_str(&format!("ExecStart={}\n", command_line(&program_and_args(service))));
    text.push_str(&restart(unit, warnings));
    text.push_str(&format!(
        "KillMode=mixed\nKillSignal={}\nTimeoutStopSec={}\n",
        service.stop_signal.0.as_str(),
        seconds(service.stop_timeout.0)
    ));
    if shared.is_none()
        && let Some(post) = ready_post(project, service)
    {
        text.push_str(&post);
    }
    text.push_str(&format!("\n[Install]\nWantedBy={}.target\n", project.target()));
    text
}

/// `Type=`, and what goes with it.
fn service_kind(project: &Project, unit: &Unit) -> String {
    let service = unit.service;
    if service.oneshot {
        // A oneshot others wait for stays active once done (orch's `completed`); a scheduled one
        // must not, or its timer could not start it again.
        let remain = if service.schedule.is_none() { "RemainAfterExit=yes\n" } else { "" };
        return format!("Type=oneshot\n{remain}TimeoutStartSec=infinity\n");
    }
    match &service.ready {
        // orch takes READY=1 from any process of the service (a `sh -c`, `npm start`'s child).
        Some(Ready::Notify(_)) => {
            format!("Type=notify\nNotifyAccess=all\nTimeoutStartSec={}\n", seconds(service.ready_timeout.0))
        }
        Some(check) if project.probe_argv(check, service.ready_timeout).is_some() => {
            // The probe gives up at ready_timeout, a little before systemd would.
            format!("Type=exec\nTimeoutStartSec={}\n", seconds(service.ready_timeout.0) + 5)
        }
        _ => "Type=exec\n".to_owned(),
    }
}

/// `ExecStartPost=` that waits for readiness, for the checks a probe can make (and a delay).
fn ready_post(project: &Project, service: &Service) -> Option<String> {
    if service.oneshot {
        return None;
    }
    let check = service.ready.as_ref()?;
    if let Ready::Delay(delay) = check {
        return Some(format!("ExecStartPost=/bin/sleep {}\n", delay.0.as_secs_f64()));
    }
    let argv = project.probe_argv(check, service.ready_timeout)?;
    Some(format!("ExecStartPost={}\n", command_line(&argv)))
}

/// A replica's own variables and readiness probe.
fn instance_drop_in(project: &Project, replica: &Service, shared: &[String]) -> String {
    let mut text = "[Service]\n".to_owned();
    for (key, value) in replica.env.iter().filter(|(k, _)| !shared.contains(k)) {
        text.push_str(&environment(key, value).unwrap_or_default());
    }
    text.push_str(&ready_post(project, replica).unwrap_or_default());
    text
}

/// `After=`, `Requires=`, `Wants=` and `PartOf=` from `depends_on`, each unit of a scaled
/// dependency by its instance.
fn dependencies(project: &Project, unit: &Unit, all: &[Unit]) -> String {
    let (mut after, mut requires, mut wants, mut part_of) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, dependency) in &unit.depends_on {
        let instances = instances_of(project, name, all);
        after.extend(instances.iter().cloned());
        match dependency.condition {
            Condition::Started => wants.extend(instances.iter().cloned()),
            Condition::Ready | Condition::Completed => requires.extend(instances.iter().cloned()),
        }
        if dependency.restart {
            part_of.extend(instances);
        }
    }
    let mut text = String::new();
    for (key, names) in [("After", after), ("Requires", requires), ("Wants", wants), ("PartOf", part_of)] {
        if !names.is_empty() {
            text.push_str(&format!("{key}={}\n", names.join(" ")));
        }
    }
    text
}

fn instances_of(project: &Project, name: &str, all: &[Unit]) -> Vec<String> {
    let unit_name = project.unit_name(name);
    match all.iter().find(|u| u.name == name) {
        Some(unit) if unit.is_scaled() => (1..=unit.count()).map(|i| format!("{unit_name}@{i}.service")).collect(),
        _ => vec![format!("{unit_name}.service")],
    }
}

/// `Restart=` from the policy.
fn restart(unit: &Unit, warnings: &mut Vec<Warning>) -> String {
    let policy = match (unit.service.restart, unit.service.oneshot) {
        (RestartPolicy::No, _) => return "Restart=no\n".to_owned(),
        (RestartPolicy::Always, true) => {
            warnings.push(Warning::new(&unit.name, "restart", "\"always\" on a oneshot is on-failure in systemd"));
            "on-failure"
        }
        (RestartPolicy::Always, false) => "always",
        (RestartPolicy::OnFailure, _) => "on-failure",
    };
    format!("Restart={policy}\nRestartSec=1s\n")
}

/// A schedule's timer, stopped with the project's target as its services are.
fn timer_unit(project: &Project, name: &str, calendar: &str) -> String {
    format!(
        "[Unit]\nDescription=orch schedule of {name}\nPartOf={}.target\n\n[Timer]\nOnCalendar={calendar}\n\n\
         [Install]\nWantedBy=timers.target\n",
        project.target()
    )
}

/// The keys of a service with no systemd equivalent, or another meaning there.
fn warnings(unit: &Unit) -> Vec<Warning> {
    let service = unit.service;
    let mut out = Vec::new();
    let mut warn = |key: &str, message: &str| out.push(Warning::new(&unit.name, key, message));
    if service.healthcheck.is_some() {
        warn("healthcheck", "systemd has no health probe: not exported");
    }
    if !service.watch.is_empty() {
        warn("watch", "systemd does not restart on file changes: not exported");
    }
    if !service.profiles.is_empty() {
        warn("profiles", "not wanted by the target: start it with systemctl start");
    }
    if matches!(service.ready, Some(Ready::Log(_))) {
        warn("ready", "a log check cannot be probed: systemd counts it started once it runs");
    }
    if service.port == Some(PortSpec::Auto) {
        let port = service.env.get("PORT").map_or("one", String::as_str);
        warn("port", &format!("\"auto\" is frozen to {port}, the port it has now"));
    }
    if service.env_file.is_some() {
        warn("env_file", "its variables are written into the unit as they are now");
    }
    if service.oneshot && service.ready.is_some() {
        warn("ready", "a oneshot is done when it exits: its readiness check is not exported");
    }
    if service.log != crate::manifest::LogConfig::default() {
        warn("log", "journald keeps the output: its rotation is journald's");
    }
    if service.rolling {
        warn("rolling", "systemd restarts the instances of a template together");
    }
    if service.ready.is_none() && !service.oneshot && service.min_uptime != crate::manifest::DEFAULT_MIN_UPTIME {
        warn("min_uptime", "systemd counts a service started once it runs");
    }
    out
}

/// The program and arguments of the service's command, the program made absolute where systemd
/// needs it to be (a relative path such as `./bin/server` is the service's folder's).
fn program_and_args(service: &Service) -> Vec<String> {
    let mut argv = service.cmd.argv();
    if let Some(program) = argv.first_mut() {
        if program == "sh" {
            "/bin/sh".clone_into(program);
        } else if program.contains('/') && !program.starts_with('/') {
            *program = service.cwd.join(&*program).display().to_string();
        }
    }
    argv
}

/// A command line as systemd reads it: each word quoted where it must be, `%` and `$` doubled so
/// that systemd expands neither (the shell of `sh -c` still sees its `$PORT`).
fn command_line(argv: &[String]) -> String {
    argv.iter().map(|word| quote_word(word)).collect::<Vec<_>>().join(" ")
}

pub(crate) fn quote_word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty() && !escaped.contains(|c: char| c.is_whitespace() || "\"'\\;".contains(c));
    if plain {
        return escaped;
    }
    let inner = escaped.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\t', "\\t");
    format!("\"{inner}\"")
}

/// A path as `WorkingDirectory=` reads it: as it is (spaces and all), `%` doubled.
pub(crate) fn quote_path(path: &str) -> String {
    path.replace('%', "%%")
}

/// `Environment="KEY=value"`, or None for a value systemd cannot hold (a newline).
pub(crate) fn environment(key: &str, value: &str) -> Option<String> {
    if value.contains(['\n', '\r']) {
        return None;
    }
    let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    Some(format!("Environment=\"{key}={value}\"\n"))
}

#[cfg(test)]
mod tests;
