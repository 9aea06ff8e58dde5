//! `plan(desired, observed) -> Plan`: for every service, keep / start / stop / restart, with
//! the reason, in the order to carry them out. Pure: the same inputs give the same plan, so it
//! is tested without processes. The supervisor executes plans on `up`, on a reload of the
//! manifest, and for `up --dry-run`.
//!
//! A service is changed when anything that shapes its process changes: command, cwd, resolved
//! environment (so the contents of `.env` and `env_file`, not just their paths), readiness,
//! restart and stop settings, logs. A change to its `depends_on` alone changes nothing about the
//! process, so it does not restart it. The dependents of a restarted service restart only where
//! their edge says `restart = true`.

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::manifest::Service;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Keep,
    Start,
    Stop,
    Restart,
}

impl Action {
    /// The mark `up --dry-run` prints: `=`, `+`, `-`, `~`.
    pub(crate) fn mark(self) -> char {
        match self {
            Action::Keep => '=',
            Action::Start => '+',
            Action::Stop => '-',
            Action::Restart => '~',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", content = "detail", rename_all = "snake_case")]
pub(crate) enum Reason {
    Unchanged,
    /// Not in what runs (or was recorded) before.
    New,
    /// Known, but not running (stopped, failed, never started).
    NotRunning,
    /// What changed, e.g. `env PORT changed`.
    Changed(Vec<String>),
    /// Its dependency restarts and the edge asks for it.
    DependencyRestarted(String),
    /// `up --force-recreate`.
    Forced,
    /// Runs, but nothing records how it was configured (adopted from the process table).
    Unrecorded,
    /// No longer in the manifest.
    Removed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unchanged => f.write_str("unchanged"),
            Reason::New => f.write_str("new"),
            Reason::NotRunning => f.write_str("not running"),
            Reason::Changed(what) => f.write_str(&what.join(", ")),
            Reason::DependencyRestarted(dep) => write!(f, "{dep} restarts"),
            Reason::Forced => f.write_str("forced"),
            Reason::Unrecorded => f.write_str("configuration not recorded"),
            Reason::Removed => f.write_str("removed"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Step {
    pub(crate) service: String,
    pub(crate) action: Action,
    pub(crate) reason: Reason,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// Stops first (removed services), then every desired service in start order.
    pub(crate) steps: Vec<Step>,
}

impl Plan {
    /// Only the steps that change something.
    #[cfg(test)]
    pub(crate) fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.action != Action::Keep)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.changes().next().is_none()
    }
}

/// What is known about one service that runs or was recorded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Observed {
    /// The configuration it was started with; None when not recorded.
    pub(crate) config: Option<Service>,
    /// It runs, or is meant to (starting, in backoff): anything but stopped or given up.
    pub(crate) up: bool,
}

/// Which services to restart whatever their configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Force {
    #[default]
    Nothing,
    All,
    These(Vec<String>),
}

impl Force {
    fn covers(&self, name: &str) -> bool {
        match self {
            Force::Nothing => false,
            Force::All => true,
            Force::These(names) => names.iter().any(|n| n == name),
        }
    }
}

pub(crate) fn plan(
    desired: &IndexMap<String, Service>,
    graph: &Graph,
    observed: &IndexMap<String, Observed>,
    force: &Force,
) -> Plan {
    let mut steps: Vec<Step> = observed
        .keys()
        .filter(|name| !desired.contains_key(*name))
        .map(|name| Step { service: name.clone(), action: Action::Stop, reason: Reason::Removed })
        .collect();
    let first_desired = steps.len();
    for name in graph.start_order() {
        let Some(config) = desired.get(&name) else { continue };
        let (action, reason) = match observed.get(&name) {
            None => (Action::Start, Reason::New),
            Some(seen) if !seen.up => (Action::Start, Reason::NotRunning),
            Some(_) if force.covers(&name) => (Action::Restart, Reason::Forced),
            Some(Observed { config: None, .. }) => (Action::Restart, Reason::Unrecorded),
            Some(Observed { config: Some(old), .. }) => match changes(old, config) {
                what if what.is_empty() => (Action::Keep, Reason::Unchanged),
                what => (Action::Restart, Reason::Changed(what)),
            },
        };
        steps.push(Step { service: name, action, reason });
    }
    cascade_restarts(&mut steps[first_desired..], desired);
    Plan { steps }
}

/// A kept service restarts with a dependency that restarts, where its edge asks for it. Steps
/// are in start order, so one pass carries a restart down a whole chain.
fn cascade_restarts(steps: &mut [Step], desired: &IndexMap<String, Service>) {
    for i in 0..steps.len() {
        if steps[i].action != Action::Keep {
            continue;
        }
        let Some(config) = desired.get(&steps[i].service) else { continue };
        let trigger = steps[..i].iter().find(|earlier| {
            earlier.action == Action::Restart
                && config.depends_on.get(&earlier.service).is_some_and(|edge| edge.restart)
        });
        if let Some(dep) = trigger.map(|s| s.service.clone()) {
            steps[i].action = Action::Restart;
            steps[i].reason = Reason::DependencyRestarted(dep);
        }
    }
}

/// What differs between two configurations of a service, in words; empty when nothing that
/// shapes its process does (`depends_on` is not looked at).
pub(crate) fn changes(old: &Service, new: &Service) -> Vec<String> {
    let mut what = Vec::new();
    let mut field = |name: &str, differs: bool| {
        if differs {
            what.push(format!("{name} changed"));
        }
    };
    field("cmd", old.cmd != new.cmd);
    field("cwd", old.cwd != new.cwd);
    field("env_file", old.env_file != new.env_file);
    field("ready", old.ready != new.ready);
    field("ready_timeout", old.ready_timeout != new.ready_timeout);
    field("restart", old.restart != new.restart);
    field("max_restarts", old.max_restarts != new.max_restarts);
    field("stop_signal", old.stop_signal != new.stop_signal);
    field("stop_timeout", old.stop_timeout != new.stop_timeout);
    field("oneshot", old.oneshot != new.oneshot);
    field("log", old.log != new.log);
    field("port", old.port != new.port);
    for (key, value) in &new.env {
        match old.env.get(key) {
            None => what.push(format!("env {key} added")),
            Some(before) if before != value => what.push(format!("env {key} changed")),
            Some(_) => {}
        }
    }
    what.extend(old.env.keys().filter(|k| !new.env.contains_key(*k)).map(|k| format!("env {k} removed")));
    what
}

/// A stable hash of what `changes` compares, for the state file.
pub(crate) fn config_hash(config: &Service) -> String {
    let mut hashed = config.clone();
    // Neither what it waits for, nor when a plain `up` takes it in, nor what it watches
    // shapes its process.
    hashed.depends_on.clear();
    hashed.profiles.clear();
    hashed.watch.clear();
    hashed.watch_ignore.clear();
    hashed.schedule = None;
    // A replica is the same process whatever the size of its group, and however its group
    // restarts; its name says which it is.
    hashed.replica = None;
    hashed.rolling = false;
    // Only exports read it.
    hashed.image = None;
    crate::hash::fnv1a_hex(&serde_json::to_vec(&hashed).unwrap_or_default())
}

#[cfg(test)]
mod tests;
