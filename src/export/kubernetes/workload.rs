//! The objects a service becomes: a Deployment (and a Service, with a port) for a
//! long-running one, a Job for a oneshot, a CronJob for a schedule. A oneshot others wait to
//! complete (`migrate`) runs as an init container of each of them instead, the common
//! Kubernetes idiom: an init container cannot watch a Job without RBAC, and a Job beside the
//! init containers would run it twice.

use serde_json::{Map, Value, json};

use super::{Ctx, WAIT_IMAGE, env, probes};
use crate::export::{Unit, dns_label};
use crate::manifest::{CommandLine, Condition, PortSpec, RestartPolicy, Service};

/// What a service becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    Job,
    CronJob,
    /// A oneshot others depend on to complete: an init container of each of them.
    Init,
}

fn kind(ctx: &Ctx, unit: &Unit) -> Kind {
    let service = unit.service;
    if service.schedule.is_some() {
        Kind::CronJob
    } else if service.oneshot && is_awaited(ctx, &unit.name) {
        Kind::Init
    } else if service.oneshot {
        Kind::Job
    } else {
        Kind::Deployment
    }
}

/// Whether some service waits for this one to complete.
fn is_awaited(ctx: &Ctx, name: &str) -> bool {
    ctx.units.iter().any(|u| u.depends_on.get(name).is_some_and(|d| d.condition == Condition::Completed))
}

/// The unit's objects in the order `kubectl apply` wants them: its ConfigMap and Secret
/// first, then its workload, then its Service.
pub(super) fn documents(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    let kind = kind(ctx, unit);
    warnings(ctx, unit, kind);
    let mut documents = env::objects(ctx, unit);
    match kind {
        Kind::Deployment => documents.push(deployment(ctx, unit)),
        Kind::Job => documents.push(job(ctx, unit)),
        Kind::CronJob => documents.push(cron_job(ctx, unit)),
        Kind::Init => {}
    }
    if kind == Kind::Deployment
        && let Some(port) = probes::port_of(unit.service)
    {
        documents.push(service(ctx, unit, port));
    }
    documents
}

fn deployment(ctx: &mut Ctx, unit: &Unit) -> Value {
    let label = dns_label(&unit.name);
    let mut spec = json!({
        "replicas": unit.count(),
        "selector": { "matchLabels": ctx.labels(unit) },
    });
    if unit.service.rolling {
        // orch's rolling restart: one replica at a time, the next once it is ready.
        spec["strategy"] = json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 0, "maxUnavailable": 1 } });
    }
    if let Some(seconds) = min_ready(ctx, unit) {
        spec["minReadySeconds"] = json!(seconds);
    }
    spec["template"] = pod(ctx, unit, None);
    json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ctx.metadata(&label, unit), "spec": spec })
}

/// With no check to probe, how long the pod must run to count as up: `min_uptime` (or a
/// `delay` check's delay), as the Deployment's `minReadySeconds`.
fn min_ready(ctx: &mut Ctx, unit: &Unit) -> Option<u64> {
    let (key, duration) = match &unit.service.ready {
        None => ("min_uptime", unit.service.min_uptime),
        Some(crate::manifest::Ready::Delay(delay)) => ("ready", *delay),
        Some(_) => return None,
    };
    let seconds = ctx.seconds(unit, key, duration);
    (seconds > 0).then_some(seconds)
}

fn job(ctx: &mut Ctx, unit: &Unit) -> Value {
    let label = dns_label(&unit.name);
    json!({ "apiVersion": "batch/v1", "kind": "Job", "metadata": ctx.metadata(&label, unit), "spec": job_spec(ctx, unit) })
}

/// orch skips a run while the last one still runs: `concurrencyPolicy: Forbid`.
fn cron_job(ctx: &mut Ctx, unit: &Unit) -> Value {
    let label = dns_label(&unit.name);
    let schedule = unit.service.schedule.clone().unwrap_or_default();
    let spec = json!({
        "schedule": schedule,
        "concurrencyPolicy": "Forbid",
        "jobTemplate": { "spec": job_spec(ctx, unit) },
    });
    json!({ "apiVersion": "batch/v1", "kind": "CronJob", "metadata": ctx.metadata(&label, unit), "spec": spec })
}

/// A oneshot's `restart`: "no" runs it once (`backoffLimit: 0`), else it is retried on
/// failure up to `max_restarts` times.
fn job_spec(ctx: &mut Ctx, unit: &Unit) -> Value {
    let service = unit.service;
    let (policy, retries) = match service.restart {
        RestartPolicy::No => ("Never", 0),
        RestartPolicy::OnFailure | RestartPolicy::Always => ("OnFailure", service.max_restarts),
    };
    json!({ "backoffLimit": retries, "template": pod(ctx, unit, Some(policy)) })
}

fn service(ctx: &Ctx, unit: &Unit, port: u16) -> Value {
    let label = dns_label(&unit.name);
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(&label, unit),
        "spec": {
            "selector": ctx.labels(unit),
            "ports": [{ "port": port, "targetPort": port }],
        },
    })
}

/// A pod template: the waits for its dependencies, its container, the stop timeout.
fn pod(ctx: &mut Ctx, unit: &Unit, restart_policy: Option<&str>) -> Value {
    let mut spec = Map::new();
    let init = init_containers(ctx, unit);
    if !init.is_empty() {
        spec.insert("initContainers".into(), Value::Array(init));
    }
    let mut main = container(ctx, unit);
    if restart_policy.is_none() {
        main.extend(ports(ctx, unit));
        main.extend(probes::probes(ctx, unit));
    }
    spec.insert("containers".into(), json!([main]));
    if let Some(policy) = restart_policy {
        spec.insert("restartPolicy".into(), json!(policy));
    }
    let grace = ctx.seconds(unit, "stop_timeout", unit.service.stop_timeout);
    spec.insert("terminationGracePeriodSeconds".into(), json!(grace));
    json!({ "metadata": { "labels": ctx.labels(unit) }, "spec": spec })
}

/// The unit's own container: its image, its command, its environment.
fn container(ctx: &mut Ctx, unit: &Unit) -> Map<String, Value> {
    let mut container = Map::new();
    container.insert("name".into(), json!(dns_label(&unit.name)));
    container.insert("image".into(), json!(ctx.images.get(&unit.name).cloned().unwrap_or_default()));
    // The whole argv as `command`: it replaces the image's ENTRYPOINT and CMD both, as the
    // service ran it.
    let argv: Vec<String> = unit.service.cmd.argv().iter().map(|word| escape(word)).collect();
    container.insert("command".into(), json!(argv));
    let env_from = env::env_from(ctx, unit);
    if !env_from.is_empty() {
        container.insert("envFrom".into(), Value::Array(env_from));
    }
    let downward = env::downward(ctx, unit);
    if !downward.is_empty() {
        container.insert("env".into(), Value::Array(downward));
    }
    container
}

/// Kubernetes expands `$(VAR)` in a command and makes `$$` one `$`; orch runs the command as
/// written, so each `$` before `(` or `$` is doubled to stay as it is.
fn escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('(' | '$')) {
            out.push('$');
        }
    }
    out
}

/// `containerPort`: the port orch gives it (an auto port as it was chosen, now fixed). The
/// replicas of a scaled service each had their own; each pod has its own address, so the
/// first replica's serves for all.
fn ports(ctx: &mut Ctx, unit: &Unit) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(port) = probes::port_of(unit.service) else { return out };
    if unit.service.port == Some(PortSpec::Auto) {
        ctx.warn(&unit.name, "port", format!("\"auto\" is fixed at {port}, the port orch chose"));
    }
    if unit.replicas.iter().any(|(_, s)| probes::port_of(s) != Some(port)) {
        ctx.warn(
            &unit.name,
            "port",
            format!("every pod listens on {port} (the first replica's): each has its own address"),
        );
    }
    out.insert("ports".into(), json!([{ "containerPort": port }]));
    out
}

/// The unit's dependencies as init containers, in order: a wait for each Service it depends
/// on, and each oneshot it waits to complete run in place (after its own dependencies).
fn init_containers(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    let mut out = Vec::new();
    add_dependencies(ctx, unit, &mut out);
    out
}

fn add_dependencies(ctx: &mut Ctx, unit: &Unit, out: &mut Vec<Value>) {
    let units = ctx.units;
    for (name, dependency) in &unit.depends_on {
        let Some(target) = units.iter().find(|u| &u.name == name) else { continue };
        if dependency.restart {
            let message =
                format!("restart = true on `{name}`: Kubernetes does not restart this pod when `{name}` restarts");
            ctx.warn(&unit.name, "depends_on", message);
        }
        if kind(ctx, target) == Kind::Init {
            add_dependencies(ctx, target, out);
            let run = Value::Object(container(ctx, target));
            push_once(out, run);
        } else if let Some(port) = probes::port_of(target.service).filter(|_| kind(ctx, target) == Kind::Deployment) {
            if dependency.condition == Condition::Started {
                let message = format!("`{name}` started: the pod waits for its Service to take connections (ready)");
                ctx.warn(&unit.name, "depends_on", message);
            }
            push_once(out, wait(target, port));
        } else {
            let message = format!("`{name}` has no Service to wait for (no port): the pod starts without waiting");
            ctx.warn(&unit.name, "depends_on", message);
        }
    }
}

fn push_once(out: &mut Vec<Value>, container: Value) {
    if !out.iter().any(|c| c["name"] == container["name"]) {
        out.push(container);
    }
}

/// A wait for a dependency's Service to take connections. A Service sends them only to ready
/// pods, so a connect succeeds once the dependency passed its readinessProbe.
fn wait(target: &Unit, port: u16) -> Value {
    let host = dns_label(&target.name);
    let script = format!("until nc -z {host} {port}; do echo waiting for {host}:{port}; sleep 1; done");
    json!({ "name": format!("wait-{host}"), "image": WAIT_IMAGE, "command": ["sh", "-c", script] })
}

/// procs.toml's defaults: a key at its default was not written, and says nothing to warn of.
fn defaults() -> Service {
    Service::new(CommandLine::Argv(Vec::new()), std::path::PathBuf::new())
}

/// The keys of a service that Kubernetes has no equivalent for, or that change meaning.
fn warnings(ctx: &mut Ctx, unit: &Unit, kind: Kind) {
    let service = unit.service;
    let name = unit.name.as_str();
    if !service.watch.is_empty() {
        ctx.warn(name, "watch", "no equivalent: a new image and kubectl apply (or a tool such as Tilt) restart it");
    }
    if !service.profiles.is_empty() {
        ctx.warn(
            name,
            "profiles",
            "Kubernetes has no profiles: it is exported with the rest; leave its file out to not run it",
        );
    }
    if service.log != ctx.project.spec.log {
        ctx.warn(name, "log", "the kubelet rotates container logs by its own settings (containerLogMaxSize)");
    }
    if service.cwd != ctx.project.spec.root {
        let cwd = service.cwd.display();
        ctx.warn(
            name,
            "cwd",
            format!("`{cwd}` is a folder of this machine: the container runs in its image's WORKDIR"),
        );
    }
    if service.stop_signal != defaults().stop_signal {
        let signal = service.stop_signal;
        ctx.warn(name, "stop_signal", format!("Kubernetes stops with SIGTERM: set STOPSIGNAL {signal} in the image"));
    }
    match kind {
        Kind::Deployment => deployment_warnings(ctx, unit),
        Kind::Job | Kind::CronJob => job_warnings(ctx, unit),
        Kind::Init => init_warnings(ctx, unit),
    }
    if let Some(schedule) = &service.schedule {
        schedule_warnings(ctx, name, schedule);
    }
}

fn deployment_warnings(ctx: &mut Ctx, unit: &Unit) {
    let service = unit.service;
    if service.restart == RestartPolicy::No {
        ctx.warn(&unit.name, "restart", "\"no\": a Deployment restarts its container whenever it exits");
    }
    if service.max_restarts != defaults().max_restarts {
        ctx.warn(
            &unit.name,
            "max_restarts",
            "no equivalent: Kubernetes restarts a crashing container with a growing delay, without end",
        );
    }
}

fn job_warnings(ctx: &mut Ctx, unit: &Unit) {
    let service = unit.service;
    if service.restart == RestartPolicy::Always {
        ctx.warn(
            &unit.name,
            "restart",
            "\"always\": a Job is not run again after it succeeds; it is retried on failure",
        );
    }
    one_run_warnings(ctx, unit);
}

fn init_warnings(ctx: &mut Ctx, unit: &Unit) {
    let dependents: Vec<String> = ctx
        .units
        .iter()
        .filter(|u| u.depends_on.get(&unit.name).is_some_and(|d| d.condition == Condition::Completed))
        .map(|u| format!("`{}`", u.name))
        .collect();
    let message = format!(
        "runs as an init container of {} each time one of its pods starts, not once: it must be safe to run again; \
         the files it writes stay in its own container (share an emptyDir volume if the service reads them)",
        dependents.join(", ")
    );
    ctx.warn(&unit.name, "oneshot", message);
    if unit.service.restart != RestartPolicy::No || unit.service.max_restarts != defaults().max_restarts {
        ctx.warn(&unit.name, "restart", "an init container that fails is retried with its pod, without end");
    }
    one_run_warnings(ctx, unit);
}

/// A run to completion has no readiness or health to probe.
fn one_run_warnings(ctx: &mut Ctx, unit: &Unit) {
    if unit.service.ready.is_some() {
        ctx.warn(&unit.name, "ready", "a run to completion has no readiness probe");
    }
    if unit.service.healthcheck.is_some() {
        ctx.warn(&unit.name, "healthcheck", "a run to completion has no liveness probe");
    }
}

/// orch reads a schedule in this machine's time zone, and with an optional seconds field.
fn schedule_warnings(ctx: &mut Ctx, name: &str, schedule: &str) {
    let fields = schedule.split_whitespace().count();
    if !schedule.starts_with('@') && fields != 5 {
        ctx.warn(
            name,
            "schedule",
            format!("`{schedule}` has {fields} fields: a CronJob's has 5 (no seconds, no year)"),
        );
    }
    ctx.warn(name, "schedule", "runs in the cluster's time zone (UTC unless spec.timeZone is set), not this machine's");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn commands_keep_their_dollars() {
        assert_eq!(escape("exec server $PORT"), "exec server $PORT");
        assert_eq!(escape("echo $(date) $$"), "echo $$(date) $$$", "Kubernetes reads `$$$` as `$$`");
        assert_eq!(escape("cost: 5$"), "cost: 5$");
    }
}
