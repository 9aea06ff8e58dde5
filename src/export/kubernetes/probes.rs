//! Checks as probes. orch's readiness check is asked until it passes or `ready_timeout` is
//! over; Kubernetes splits that in two: a startupProbe asked every second for `ready_timeout`
//! (after which the container is restarted, as orch gives up on it), then a readinessProbe
//! that keeps the pod out of its Service while it fails. The healthcheck is the livenessProbe.
//! Each attempt of a probe may take 5s, as long as orch gives one (Kubernetes' default is 1s).

use serde_json::{Map, Value, json};

use super::Ctx;
use super::workload::escape;
use crate::export::Unit;
use crate::manifest::{Ready, Service};

/// How often a readiness probe is asked once the pod started: often enough that a dependent
/// waiting for the Service does not wait Kubernetes' default 10s more.
const READINESS_PERIOD: u64 = 5;

/// How long one attempt of a probe may take: orch's, for a check.
const ATTEMPT_TIMEOUT: u64 = 5;

/// The port a service listens on, for its containerPort and Service: `port` (or `PORT` in its
/// env), else the port its tcp or http check connects to (a database's `ready = { tcp = … }`).
pub(super) fn port_of(service: &Service) -> Option<u16> {
    let from_check = |check: &Ready| match check {
        Ready::Tcp(target) => target.rsplit_once(':').and_then(|(_, p)| p.parse().ok()),
        Ready::Http(url) => reqwest::Url::parse(url).ok()?.port_or_known_default(),
        _ => None,
    };
    service
        .port_shown()
        .or_else(|| service.ready.as_ref().and_then(from_check))
        .or_else(|| service.healthcheck.as_ref().and_then(|h| from_check(&h.check())))
}

/// The container's `startupProbe`, `readinessProbe` and `livenessProbe`, those it has.
pub(super) fn probes(ctx: &mut Ctx, unit: &Unit) -> Map<String, Value> {
    let mut out = Map::new();
    let service = unit.service;
    match &service.ready {
        Some(check @ (Ready::Tcp(_) | Ready::Http(_) | Ready::Exec(_))) => {
            if let Some(action) = action(check) {
                let timeout = ctx.seconds(unit, "ready_timeout", service.ready_timeout).max(1);
                out.insert(
                    "startupProbe".into(),
                    with(&action, json!({ "periodSeconds": 1, "failureThreshold": timeout })),
                );
                out.insert("readinessProbe".into(), with(&action, json!({ "periodSeconds": READINESS_PERIOD })));
            }
        }
        Some(check @ (Ready::Log(_) | Ready::Notify(_))) => ctx.warn(
            &unit.name,
            "ready",
            format!("`{check}` has no probe: Kubernetes counts the pod ready once its container runs"),
        ),
        Some(Ready::Delay(_)) | None => {}
    }
    if let Some(probe) = liveness(ctx, unit) {
        out.insert("livenessProbe".into(), probe);
    }
    out
}

/// The healthcheck: `retries` failures `interval` apart restart the container, after
/// `start_period`.
fn liveness(ctx: &mut Ctx, unit: &Unit) -> Option<Value> {
    let health = unit.service.healthcheck.as_ref()?;
    let action = action(&health.check())?;
    let mut timing = json!({
        "periodSeconds": ctx.seconds(unit, "healthcheck.interval", health.interval).max(1),
        "failureThreshold": health.retries.max(1),
    });
    let delay = ctx.seconds(unit, "healthcheck.start_period", health.start_period);
    if delay > 0 {
        timing["initialDelaySeconds"] = json!(delay);
    }
    Some(with(&action, timing))
}

/// A probe: its action, its timing and the time one attempt may take, in one object.
fn with(action: &Map<String, Value>, timing: Value) -> Value {
    let mut probe = action.clone();
    if let Value::Object(timing) = timing {
        probe.extend(timing);
    }
    probe.insert("timeoutSeconds".into(), json!(ATTEMPT_TIMEOUT));
    Value::Object(probe)
}

/// `tcpSocket`, `httpGet` or `exec`. The probe runs against the pod, so a check of 127.0.0.1
/// (as every check in procs.toml is) leaves `host` out; another host is kept. An exec
/// probe's command keeps its `$` as a container's does (the kubelet expands `$(VAR)` in both).
fn action(check: &Ready) -> Option<Map<String, Value>> {
    let mut action = Map::new();
    match check {
        Ready::Tcp(target) => {
            let (host, port) = target.rsplit_once(':')?;
            let mut socket = json!({ "port": port.parse::<u16>().ok()? });
            if !is_local(host) {
                socket["host"] = json!(host);
            }
            action.insert("tcpSocket".into(), socket);
        }
        Ready::Http(url) => {
            action.insert("httpGet".into(), http_get(url)?);
        }
        Ready::Exec(cmd) => {
            let argv: Vec<String> = cmd.argv().iter().map(|word| escape(word)).collect();
            action.insert("exec".into(), json!({ "command": argv }));
        }
        Ready::Log(_) | Ready::Delay(_) | Ready::Notify(_) => return None,
    }
    Some(action)
}

fn http_get(url: &str) -> Option<Value> {
    let url = reqwest::Url::parse(url).ok()?;
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut get = json!({ "path": path, "port": url.port_or_known_default()? });
    let host = url.host_str().unwrap_or_default();
    if !is_local(host) {
        get["host"] = json!(host);
    }
    if url.scheme() == "https" {
        get["scheme"] = json!("HTTPS");
    }
    Some(get)
}

fn is_local(host: &str) -> bool {
    matches!(host.trim_start_matches('[').trim_end_matches(']'), "127.0.0.1" | "localhost" | "0.0.0.0" | "::1" | "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::CommandLine;

    #[test]
    fn checks_as_probe_actions() {
        let tcp = action(&Ready::Tcp("127.0.0.1:5432".into())).unwrap();
        assert_eq!(Value::Object(tcp), json!({ "tcpSocket": { "port": 5432 } }));
        let http = action(&Ready::Http("https://example.test/health?full=1".into())).unwrap();
        let expected = json!({ "path": "/health?full=1", "port": 443, "host": "example.test", "scheme": "HTTPS" });
        assert_eq!(http["httpGet"], expected);
        let local = action(&Ready::Http("http://localhost:8080/".into())).unwrap();
        assert_eq!(local["httpGet"], json!({ "path": "/", "port": 8080 }));
        let exec = action(&Ready::Exec(CommandLine::Argv(vec!["pg_isready".into()]))).unwrap();
        assert_eq!(exec["exec"], json!({ "command": ["pg_isready"] }));
        assert!(action(&Ready::Log("up".into())).is_none());
    }

    /// The kubelet expands `$(VAR)` in an exec probe's command as in a container's.
    #[test]
    fn exec_probes_keep_their_dollars() {
        let check = Ready::Exec(CommandLine::Argv(vec!["sh".into(), "-c".into(), "test $(cat /ready) = $$".into()]));
        let exec = action(&check).unwrap();
        assert_eq!(exec["exec"], json!({ "command": ["sh", "-c", "test $$(cat /ready) = $$$"] }));
    }

    #[test]
    fn every_probe_may_take_five_seconds() {
        let tcp = action(&Ready::Tcp("127.0.0.1:5432".into())).unwrap();
        let probe = with(&tcp, json!({ "periodSeconds": 1 }));
        assert_eq!(probe, json!({ "tcpSocket": { "port": 5432 }, "periodSeconds": 1, "timeoutSeconds": 5 }));
    }

    #[test]
    fn ports_from_the_checks() {
        let mut db = Service::new(CommandLine::Shell("postgres".into()), "/".into());
        assert_eq!(port_of(&db), None);
        db.ready = Some(Ready::Tcp("127.0.0.1:5432".into()));
        assert_eq!(port_of(&db), Some(5432));
        db.env.insert("PORT".into(), "6000".into());
        assert_eq!(port_of(&db), Some(6000), "PORT first");
    }
}
