//! A service's environment as Kubernetes objects: a ConfigMap its containers take with
//! `envFrom`, and, for the names that look secret, a Secret stub with empty values. A value
//! from procs.toml or .env never goes into a file that is likely to be committed.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::{Ctx, probes};
use crate::export::{Unit, dns_label};
use crate::secrets::looks_secret;

/// The variables the ConfigMap holds, and the names the Secret holds. A replica's `PS`
/// (`worker.1`) is neither: every pod of a Deployment has the same environment, so `PS` is
/// the pod's name instead (see [`downward`]).
fn split(unit: &Unit) -> (IndexMap<String, String>, Vec<String>) {
    let mut plain = IndexMap::new();
    let mut secret = Vec::new();
    for (name, value) in &unit.service.env {
        if unit.is_scaled() && name == "PS" {
            continue;
        }
        if looks_secret(name) {
            secret.push(name.clone());
        } else {
            plain.insert(name.clone(), value.clone());
        }
    }
    (plain, secret)
}

pub(super) fn has_secrets(unit: &Unit) -> bool {
    !split(unit).1.is_empty()
}

/// The unit's ConfigMap and Secret stub, those it needs.
pub(super) fn objects(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    let (plain, secret) = split(unit);
    let mut objects = Vec::new();
    if !plain.is_empty() {
        let name = ctx.config_map_name(unit);
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": ctx.metadata(&name, unit),
            "data": plain,
        }));
    }
    if !secret.is_empty() {
        let name = ctx.secret_name(unit);
        let names: Vec<String> = secret.iter().map(|n| format!("`{n}`")).collect();
        ctx.warn(
            &unit.name,
            "env",
            format!(
                "{} look secret: they are in Secret `{name}` with empty values (procs.toml's are left out); fill them in",
                names.join(", ")
            ),
        );
        let empty: Map<String, Value> = secret.into_iter().map(|n| (n, json!(""))).collect();
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": ctx.metadata(&name, unit),
            "type": "Opaque",
            "stringData": empty,
        }));
    }
    objects
}

/// The container's `envFrom`: the ConfigMap and the Secret it has.
pub(super) fn env_from(ctx: &Ctx, unit: &Unit) -> Vec<Value> {
    let (plain, secret) = split(unit);
    let mut refs = Vec::new();
    if !plain.is_empty() {
        refs.push(json!({ "configMapRef": { "name": ctx.config_map_name(unit) } }));
    }
    if !secret.is_empty() {
        refs.push(json!({ "secretRef": { "name": ctx.secret_name(unit) } }));
    }
    refs
}

/// A replica's `PS` as the pod's name (Kubernetes' downward API), with a warning, as
/// `worker.1` has no meaning among a Deployment's pods.
pub(super) fn downward(ctx: &mut Ctx, unit: &Unit) -> Vec<Value> {
    if !unit.is_scaled() || !unit.service.env.contains_key("PS") {
        return Vec::new();
    }
    let name = &unit.name;
    ctx.warn(name, "scale", format!("replicas are pods: $PS is the pod's name, not {name}.1, {name}.2, …"));
    vec![json!({ "name": "PS", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })]
}

/// A variable that points at another service on 127.0.0.1 (`DATABASE_URL`): in a pod that
/// address is the pod itself. Said once for a variable of `[env]`, which every service has.
pub(super) fn localhost_warnings(ctx: &mut Ctx) {
    let ports: Vec<(String, u16)> = ctx
        .units
        .iter()
        .filter(|u| !u.service.oneshot)
        .filter_map(|u| Some((u.name.clone(), probes::port_of(u.service)?)))
        .collect();
    let global = ctx.project.spec.env.clone();
    for unit in ctx.units {
        for (name, value) in &unit.service.env {
            let Some((target, port)) = ports.iter().find(|(t, p)| *t != unit.name && points_at(value, *p)) else {
                continue;
            };
            let message = format!(
                "`{name}` points at 127.0.0.1:{port}, in a pod the pod itself: point it at the Service, {}:{port}",
                dns_label(target)
            );
            if global.get(name) == Some(value) {
                ctx.warn_project(&format!("env.{name}"), message);
            } else {
                ctx.warn(&unit.name, &format!("env.{name}"), message);
            }
        }
    }
}

fn points_at(value: &str, port: u16) -> bool {
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        let at = format!("{host}:{port}");
        value.match_indices(&at).any(|(i, _)| !value[i + at.len()..].starts_with(|c: char| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pointing_at_a_port_of_this_machine() {
        assert!(points_at("postgres://127.0.0.1:5432/app", 5432));
        assert!(points_at("http://localhost:8077", 8077));
        assert!(!points_at("http://127.0.0.1:80770", 8077));
        assert!(!points_at("http://db:5432", 5432));
    }
}
