//! The objects a service becomes: a Deployment (and a Service, with a port) for a
//! long-running one, a Job for a oneshot, a CronJob for a schedule.
//!
//! A dependency is an init container of the dependent's pods, `wait-<dep>`: a connect to
//! the dependency's Service (it routes only to ready pods), or, for a oneshot it waits to
//! complete (`migrate`), `kubectl wait --for=condition=complete job/migrate`. The Job runs
//! once, as orch runs a oneshot once, however many times the dependent's pods start.

use serde_json::{Map, Value, json};

use super::names::WAIT_PREFIX;
use super::{Ctx, KUBECTL_IMAGE, WAIT_IMAGE, env, probes};
use crate::export::calendar::five_fields;
use crate::export::{Unit, dns_label};
use crate::manifest::{CommandLine, Condition, PortSpec, RestartPolicy, Service};

/// How long a pod waits for a Job it depends on when the oneshot has no `ready_timeout` of
/// its own: a migration may take minutes. After it the init container fails, and is run again.
const JOB_WAIT: u64 = 600;

/// What a service becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    Job,
    CronJob,
    /// A schedule with no five-field form (a seconds field other than `0`): nothing, and a
    /// warning.
    Unscheduled,
}

fn kind(unit: &Unit) -> Kind {
    let service = unit.service;
    match &service.schedule {
        Some(cron) if five_fields(cron).is_err() => Kind::Unscheduled,
        Some(_) => Kind::CronJob,
        None if service.oneshot => Kind::Job,
        None => Kind::Deployment,
    }
}

/// Whether the unit has files: all but a schedule Kubernetes cannot say.
pub(super) fn is_exported(unit: &Unit) -> bool {
    kind(unit) != Kind::Unscheduled
}

/// The Job a dependency is, when the unit waits for it to complete.
fn awaited_job<'a>(ctx: &Ctx<'a>, name: &str, condition: Condition) -> Option<&'a Unit<'a>> {
    let units: &'a [Unit<'a>] = ctx.units;
    units
        .iter()
        .find(|u| u.name == name)
        .filter(|target| condition == Condition::Completed && kind(target) == Kind::Job)
}

/// Whether the unit's pods wait for a Job (and so run as the ServiceAccount that may read it).
pub(super) fn waits_for_a_job(ctx: &Ctx, unit: &Unit) -> bool {
    is_exported(unit) && unit.depends_on.iter().any(|(name, d)| awaited_job(ctx, name, d.condition).is_some())
}

/// The unit's objects in the order `kubectl apply` wants them: its ConfigMap and Secret
/// first, then its workload, then its Service.
pub(super) fn documents(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    let kind = kind(unit);
    warnings(ctx, unit, kind);
    if kind == Kind::Unscheduled {
        return Vec::new();
    }
    let mut documents = env::objects(ctx, unit);
    match kind {
        Kind::Deployment => documents.push(deployment(ctx, unit)),
        Kind::Job => documents.push(job(ctx, unit)),
        Kind::CronJob => documents.push(cron_job(ctx, unit)),
        Kind::Unscheduled => {}
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

/// orch skips a run while the last one still runs: `concurrencyPolicy: Forbid`. The schedule
/// in cron's five fields (a `0` seconds field dropped).
fn cron_job(ctx: &mut Ctx, unit: &Unit) -> Value {
    let label = dns_label(&unit.name);
    let schedule = unit.service.schedule.as_deref().and_then(|cron| five_fields(cron).ok()).unwrap_or_default();
    let spec = json!({
        "schedule": schedule,
        "concurrencyPolicy": "Forbid",
        "jobTemplate": { "spec": job_spec(ctx, unit) },
    });
    json!({ "apiVersion": "batch/v1", "kind": "CronJob", "metadata": ctx.metadata(&label, unit), "spec": spec })
}

/// A oneshot's `restart`: "no" runs it once (`backoffLimit: 0`), else it is retried on
/// failure up to `max_restarts` times. A scaled one runs its `scale` pods at once, and is
/// complete when each has succeeded.
fn job_spec(ctx: &mut Ctx, unit: &Unit) -> Value {
    let service = unit.service;
    let (policy, retries) = match service.restart {
        RestartPolicy::No => ("Never", 0),
        RestartPolicy::OnFailure | RestartPolicy::Always => ("OnFailure", service.max_restarts),
    };
    let mut spec = json!({ "backoffLimit": retries });
    if unit.is_scaled() {
        spec["parallelism"] = json!(unit.count());
        spec["completions"] = json!(unit.count());
    }
    spec["template"] = pod(ctx, unit, Some(policy));
    spec
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

/// A pod template: the waits for its dependencies (and the ServiceAccount that may read a
/// Job it waits for), its container, the stop timeout.
fn pod(ctx: &mut Ctx, unit: &Unit, restart_policy: Option<&str>) -> Value {
    let mut spec = Map::new();
    if waits_for_a_job(ctx, unit) {
        spec.insert("serviceAccountName".into(), json!(ctx.waiter_name()));
    }
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

/// Kubernetes expands `$(VAR)` in a command (a container's, an exec probe's) and makes `$$`
/// one `$`; orch runs the command as written, so each `$` before `(` or `$` is doubled to stay
/// as it is.
pub(super) fn escape(word: &str) -> String {
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
/// on, and for each Job it waits to complete.
fn init_containers(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    let units = ctx.units;
    let mut out = Vec::new();
    for (name, dependency) in &unit.depends_on {
        let Some(target) = units.iter().find(|u| &u.name == name) else { continue };
        if dependency.restart {
            let message =
                format!("restart = true on `{name}`: Kubernetes does not restart this pod when `{name}` restarts");
            ctx.warn(&unit.name, "depends_on", message);
        }
        if awaited_job(ctx, name, dependency.condition).is_some() {
            out.push(wait_for_job(ctx, target));
        } else if let Some(port) = probes::port_of(target.service).filter(|_| kind(target) == Kind::Deployment) {
            if dependency.condition == Condition::Started {
                let message = format!("`{name}` started: the pod waits for its Service to take connections (ready)");
                ctx.warn(&unit.name, "depends_on", message);
            }
            out.push(wait(target, port));
        } else {
            let message = format!("`{name}` has no Service to wait for (no port): the pod starts without waiting");
            ctx.warn(&unit.name, "depends_on", message);
        }
    }
    out
}

/// A wait for a dependency's Service to take connections. A Service sends them only to ready
/// pods, so a connect succeeds once the dependency passed its readinessProbe.
fn wait(target: &Unit, port: u16) -> Value {
    let host = dns_label(&target.name);
    let script = format!("until nc -z {host} {port}; do echo waiting for {host}:{port}; sleep 1; done");
    json!({ "name": format!("{WAIT_PREFIX}{host}"), "image": WAIT_IMAGE, "command": ["sh", "-c", script] })
}

/// A wait for a Job to complete: for the oneshot's `ready_timeout` when it has one of its own,
/// else [`JOB_WAIT`]. It reads the Job through the API, as the pod's ServiceAccount.
fn wait_for_job(ctx: &mut Ctx, target: &Unit) -> Value {
    let job = dns_label(&target.name);
    let timeout = if target.service.ready_timeout == defaults().ready_timeout {
        JOB_WAIT
    } else {
        ctx.seconds(target, "ready_timeout", target.service.ready_timeout).max(1)
    };
    let command =
        ["kubectl", "wait", "--for=condition=complete", &format!("--timeout={timeout}s"), &format!("job/{job}")];
    json!({ "name": format!("{WAIT_PREFIX}{job}"), "image": KUBECTL_IMAGE, "command": command })
}

/// procs.toml's defaults: a key at its default was not written, and says nothing to warn of.
fn defaults() -> Service {
    Service::new(CommandLine::Argv(Vec::new()), std::path::PathBuf::new())
}

/// The keys of a service that Kubernetes has no equivalent for, or that change meaning.
fn warnings(ctx: &mut Ctx, unit: &Unit, kind: Kind) {
    let service = unit.service;
    let name = unit.name.as_str();
    if let Some(cron) = &service.schedule {
        match five_fields(cron) {
            Err(why) => {
                ctx.warn(name, "schedule", format!("{why}: no CronJob (it is not exported)"));
                return;
            }
            Ok(_) => ctx.warn(
                name,
                "schedule",
                "runs in the cluster's time zone (UTC unless spec.timeZone is set), not this machine's",
            ),
        }
    }
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
        Kind::Job => {
            job_warnings(ctx, unit);
            awaited_warnings(ctx, unit);
        }
        Kind::CronJob => job_warnings(ctx, unit),
        Kind::Unscheduled => {}
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

/// A Job others wait for runs once, not at each start of their pods: as orch runs a oneshot.
fn awaited_warnings(ctx: &mut Ctx, unit: &Unit) {
    let dependents: Vec<String> = ctx
        .units
        .iter()
        .filter(|u| is_exported(u) && u.depends_on.get(&unit.name).is_some_and(|d| d.condition == Condition::Completed))
        .map(|u| format!("`{}`", u.name))
        .collect();
    if dependents.is_empty() {
        return;
    }
    let job = dns_label(&unit.name);
    let waits = if dependents.len() == 1 { "waits" } else { "wait" };
    let message = format!(
        "a Job, which {} {waits} for to complete (kubectl wait, as ServiceAccount `{}`): it runs once, when \
         kubectl apply creates it, not each time a dependent's pod starts; kubectl apply cannot change it: \
         kubectl delete job {job} to run it again or apply an edit; the files it writes stay in its own pod",
        dependents.join(", "),
        ctx.waiter_name(),
    );
    ctx.warn(&unit.name, "oneshot", message);
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
