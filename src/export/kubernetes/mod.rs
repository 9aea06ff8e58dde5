//! `orch export kubernetes`: a Deployment (and a Service, for one with a port) per service,
//! Jobs, CronJobs and a ConfigMap, as YAML.
//!
//! One file per service, `<name>.yaml`, holds every object made from it (its ConfigMap, its
//! Secret stub, its workload, its Service), so `kubectl apply -f DIR` takes the whole project
//! and a service left out is one file removed. Each object starts with `---`, so the printed
//! export is one stream `kubectl apply -f -` reads as it is.
//!
//! The objects are built as JSON values and written as YAML by [`yaml`], which quotes for
//! the YAML 1.1 readers Kubernetes uses (a plain `on` is a boolean there).

mod env;
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

/// The manifests; an error naming the first service with no image (`--image NAME=IMAGE`, or
/// `image` in its `[services.NAME.export]` table).
pub(crate) fn export(project: &Project, images: &IndexMap<String, String>) -> Result<Export, String> {
    let (units, empty) = units(project.spec);
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
/// then apply them.
fn next_steps(ctx: &Ctx) -> Vec<String> {
    let mut steps = Vec::new();
    let secrets: Vec<String> =
        ctx.units.iter().filter(|u| env::has_secrets(u)).map(|u| format!("`{}`", ctx.secret_name(u))).collect();
    if !secrets.is_empty() {
        steps.push(format!("fill in the empty values of the Secret stubs {}", secrets.join(", ")));
    }
    steps.push("kubectl apply -f <folder>".to_owned());
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
    /// A warning about a service's key; the same one twice (two dependents of one oneshot
    /// make the same init container) is said once.
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

    fn project_warnings(&mut self, empty: &[String]) {
        if self.project.spec.watch {
            self.warn_project(
                "watch",
                "Kubernetes does not reload procs.toml: run orch export again and kubectl apply after an edit",
            );
        }
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
