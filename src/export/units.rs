//! The manifest as an engine sees it: one unit per service as written, a scaled one with its
//! replicas (engines scale a unit themselves: a systemd template, Nomad's `count`, a
//! Deployment's `replicas`), and dependencies between units rather than between replicas.

use indexmap::IndexMap;

use crate::manifest::{Dependency, Service, Spec};
use crate::model::names::group_of;

/// A service of the manifest as written.
pub(crate) struct Unit<'a> {
    /// Its name in procs.toml (`web`, not `web.1`).
    pub(crate) name: String,
    /// Its configuration (the first replica's, for a scaled one).
    pub(crate) service: &'a Service,
    /// Its replicas in order (`web.1`, …), each with its own configuration (`PORT`, `PS`);
    /// empty when it is not scaled.
    pub(crate) replicas: Vec<(&'a str, &'a Service)>,
    /// What it depends on, by unit name, each once.
    pub(crate) depends_on: IndexMap<String, Dependency>,
}

impl Unit<'_> {
    /// How many processes it runs: its `scale`, or 1.
    pub(crate) fn count(&self) -> usize {
        if self.replicas.is_empty() { 1 } else { self.replicas.len() }
    }

    pub(crate) fn is_scaled(&self) -> bool {
        !self.replicas.is_empty()
    }
}

/// The units in the manifest's order. A service scaled to 0 has no configuration left to
/// export: it is among the names returned second.
pub(crate) fn units(spec: &Spec) -> (Vec<Unit<'_>>, Vec<String>) {
    let mut units: Vec<Unit> = Vec::new();
    for (name, service) in &spec.services {
        let group = service.replica.as_ref().map(|r| r.group.as_str());
        let depends_on = dependencies(service);
        match group {
            Some(group) => match units.iter_mut().find(|u| u.name == group) {
                Some(unit) => unit.replicas.push((name, service)),
                None => {
                    units.push(Unit { name: group.to_owned(), service, replicas: vec![(name, service)], depends_on });
                }
            },
            None => units.push(Unit { name: name.clone(), service, replicas: Vec::new(), depends_on }),
        }
    }
    let empty = spec.groups.iter().filter(|(_, n)| **n == 0).map(|(g, _)| g.clone()).collect();
    (units, empty)
}

/// A service's dependencies by unit: `web.1` and `web.2` are `web`.
fn dependencies(service: &Service) -> IndexMap<String, Dependency> {
    let mut out = IndexMap::new();
    for (name, dependency) in &service.depends_on {
        let unit = group_of(name).unwrap_or(name);
        out.entry(unit.to_owned()).or_insert(*dependency);
    }
    out
}
