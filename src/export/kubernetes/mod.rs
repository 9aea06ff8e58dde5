//! `orch export kubernetes`: a Deployment (and a Service, for one with a port) per service,
//! Jobs, CronJobs and a ConfigMap, as YAML.
//!
//! One file per service, `<name>.yaml`, holds every object made from it (its ConfigMap, its
//! Secret stub, its workload, its Service), so `kubectl apply -f DIR` takes the whole project
//! and a service left out is one file removed. Each object starts with `---`, so the printed
//! export is one stream `kubectl apply -f -` reads as it is.
//!
//! A dependency is an init container `wait-<dep>` of the dependent's pods: for a Service, a
//! connect to it; for a oneshot it waits to complete (a Job), `kubectl wait` on the Job. That
//! one reads the Job through the API, so its pods run as the ServiceAccount
//! `orch-<project>-waiter`, allowed to read Jobs by a Role and a RoleBinding of the same name,
//! in `rbac.yaml` (written first: a pod cannot be made before its ServiceAccount).
//!
//! A service's name is its objects' name, as a DNS label (see [`names`]): a name that cannot
//! be one, or two services of the same one, is an error.
//!
//! The objects are built as JSON values and written as YAML by [`yaml`], which quotes for
//! the YAML 1.1 readers Kubernetes uses (a plain `on` is a boolean there).

mod env;
mod names;
mod probes;
#[cfg(test)]
mod tests;
mod workload;
mod yaml;

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::{Export, Project, Unit, Warning, dns_label, units};
use crate::manifest::HumanDuration;

/// The image of the containers that wait for a dependency's Service: small, and with `nc`.
const WAIT_IMAGE: &str = "busybox:1.36";

/// The image of the containers that wait for a Job to complete: `kubectl`, of the version
/// whose schemas the export is checked against.
const KUBECTL_IMAGE: &str = "bitnami/kubectl:1.30";

/// The file of the ServiceAccount, Role and RoleBinding those containers run with.
const RBAC_FILE: &str = "rbac.yaml";

/// The manifests; an error naming the first service with no image (`--image NAME=IMAGE`, or
/// `image` in its `[services.NAME.export]` table), or whose name cannot be a Kubernetes name.
pub(crate) fn export(project: &Project, images: &IndexMap<String, String>) -> Result<Export, String> {
    let (units, empty) = units(project.spec);
    names::check(&units)?;
    let images = images_of(&units, images)?;
    let mut ctx = Ctx { project, units: &units, images, warnings: Vec::new() };
    ctx.project_warnings(&empty);
    let mut files = Vec::new();
    for unit in &units {
        let documents = workload::documents(&mut ctx, unit);
        if !documents.is_empty() {
            files.push((format!("{}.yaml", dns_label(&unit.name)), stream(&documents)));
        }
    }
    if units.iter().any(|unit| workload::waits_for_a_job(&ctx, unit)) {
        files.insert(0, (RBAC_FILE.to_owned(), stream(&ctx.waiter_objects())));
    }
    let next_steps = next_steps(&ctx);
    Ok(Export { files, warnings: ctx.warnings, next_steps })
}

/// Each unit's image: `--image` over `[services.NAME.export] image`. Kubernetes runs images,
/// not commands on this machine, so a service with neither cannot be exported; the first one
/// in the manifest's order is named, with both ways to give it one.
fn images_of(units: &[Unit], given: &IndexMap<String, String>) -> Result<IndexMap<String, String>, String> {
    let mut images = IndexMap::new();
    for unit in units {
        let name = &unit.name;
        let image = given.get(name).or(unit.service.image.as_ref()).ok_or_else(|| {
            format!("service `{name}` has no image: pass --image {name}=IMAGE or set image in [services.{name}.export]")
        })?;
        images.insert(name.clone(), image.clone());
    }
    Ok(images)
}

/// Objects as one YAML stream, each after `---`.
fn stream(documents: &[Value]) -> String {
    documents.iter().map(|document| format!("---\n{}", yaml::document(document))).collect()
}

/// What to do with the files: fill in the Secret stubs (orch never writes a secret's value out),
/// then apply them. `OUT` is where the files are: the CLI puts the folder there.
fn next_steps(ctx: &Ctx) -> Vec<String> {
    let mut steps = Vec::new();
    let secrets: Vec<String> = ctx
        .units
        .iter()
        .filter(|u| workload::is_exported(u) && env::has_secrets(u))
        .map(|u| format!("`{}`", ctx.secret_name(u)))
        .collect();
    if !secrets.is_empty() {
        steps.push(format!("fill in the empty values of the Secret stubs {}", secrets.join(", ")));
    }
    steps.push("kubectl apply -f OUT/".to_owned());
    steps
}

/// What every part of the export reads, and the warnings it collects.
struct Ctx<'a> {
    project: &'a Project<'a>,
    units: &'a [Unit<'a>],
    /// Each unit's image, by unit name.
    images: IndexMap<String, String>,
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    /// A warning about a service's key; the same one twice (two dependents of one Job round
    /// its `ready_timeout` alike) is said once.
    fn warn(&mut self, service: &str, key: &str, message: impl Into<String>) {
        let warning = Warning::new(service, key, message);
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// A warning about the project as a whole (a top-level key).
    fn warn_project(&mut self, key: &str, message: impl Into<String>) {
        let warning = Warning { service: None, key: key.to_owned(), message: message.into() };
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// What the project's own keys lose. Not `watch`: it is on by default, and nobody reads
    /// a cluster that does not reload procs.toml as a loss.
    fn project_warnings(&mut self, empty: &[String]) {
        if self.project.spec.log != crate::manifest::LogConfig::default() {
            self.warn_project("log", "the kubelet rotates container logs by its own settings (containerLogMaxSize)");
        }
        for name in empty {
            self.warn(name, "scale", "scale = 0: not exported (a Deployment of 0 replicas has nothing to run)");
        }
        env::localhost_warnings(self);
    }

    /// The labels of every object made from the unit; its pods are selected by them.
    fn labels(&self, unit: &Unit) -> Value {
        json!({
            "app.kubernetes.io/name": dns_label(&unit.name),
            "app.kubernetes.io/part-of": format!("orch-{}", self.project.name),
        })
    }

    fn metadata(&self, name: &str, unit: &Unit) -> Value {
        json!({ "name": name, "labels": self.labels(unit) })
    }

    /// `orch-<project>-waiter`: the ServiceAccount (and its Role and RoleBinding) of the pods
    /// that wait for a Job.
    fn waiter_name(&self) -> String {
        self.project.unit_name("waiter")
    }

    /// The ServiceAccount of the pods that wait for a Job, a Role that reads Jobs (what
    /// `kubectl wait` does: get, then list and watch), and the RoleBinding of the two. The
    /// binding's subject has no namespace: it is the namespace the files are applied to.
    fn waiter_objects(&self) -> Vec<Value> {
        let name = self.waiter_name();
        let metadata = json!({ "name": name, "labels": { "app.kubernetes.io/part-of": self.project.target() } });
        vec![
            json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata }),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": metadata,
                "rules": [{ "apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"] }],
            }),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name },
                "subjects": [{ "kind": "ServiceAccount", "name": name }],
            }),
        ]
    }

    /// `orch-<project>-<name>-env`: prefixed, as it is no DNS name anyone types.
    fn config_map_name(&self, unit: &Unit) -> String {
        format!("{}-env", self.project.unit_name(&dns_label(&unit.name)))
    }

    fn secret_name(&self, unit: &Unit) -> String {
        format!("{}-secret", self.project.unit_name(&dns_label(&unit.name)))
    }

    /// A duration in the whole seconds Kubernetes counts, rounded up (a 250ms wait is 1s, not
    /// none), with a warning when that changed it.
    fn seconds(&mut self, unit: &Unit, key: &str, duration: HumanDuration) -> u64 {
        let whole = super::whole_seconds(duration.0);
        if Duration::from_secs(whole) != duration.0 {
            self.warn(
                &unit.name,
                key,
                format!("{duration} is rounded up to {whole}s: Kubernetes counts whole seconds"),
            );
        }
        whole
    }
}
