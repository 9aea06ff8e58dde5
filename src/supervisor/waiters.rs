//! A client waiting on a request (`up`, `down`, `restart`, `start`): it gets an event each time
//! one of its services changes state, and a final outcome once all of them have settled.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::service::Svc;
use crate::ipc::{Event, Outcome, Reply};
use crate::logs::reader;
use crate::model::Phase;
use crate::paths::ProjectPaths;
use crate::sanitize::strip_controls;

/// How many log lines a failure carries back to the client.
const LAST_LINES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaiterKind {
    /// Settled when every service is up (or failed to come up).
    Up,
    /// Settled when every service is stopped.
    Down,
    /// Settled at once: the client only wants to know the request was taken (`--no-wait`).
    Accepted,
}

pub(crate) struct Waiter {
    targets: Vec<String>,
    kind: WaiterKind,
    reply: UnboundedSender<Reply>,
    /// The last event sent for each target.
    seen: HashMap<String, Event>,
    /// The targets that were already up when the request came, with their generation then: if
    /// it is the same at the end, the request did not touch them.
    up_before: HashMap<String, u64>,
    /// The targets that have not settled yet.
    unsettled: HashSet<String>,
    /// The outcomes of targets that stopped for good (and are forgotten before the end).
    left: HashMap<String, Outcome>,
}

impl Waiter {
    pub(crate) fn new(
        targets: Vec<String>,
        kind: WaiterKind,
        reply: UnboundedSender<Reply>,
        services: &IndexMap<String, Svc>,
    ) -> Self {
        let up_before = targets
            .iter()
            .filter_map(|n| services.get(n))
            .filter(|svc| svc.is_settled_up())
            .map(|svc| (svc.name.clone(), svc.generation))
            .collect();
        Self { targets, kind, reply, seen: HashMap::new(), up_before, unsettled: HashSet::new(), left: HashMap::new() }
    }

    pub(crate) fn is_down(&self) -> bool {
        self.kind == WaiterKind::Down
    }

    /// Sends what changed; once every target settled, the outcome. `changed`: the services
    /// that may have changed since the last look (all when None). False when the waiter is done
    /// (or its client went away).
    pub(crate) fn update(
        &mut self,
        services: &IndexMap<String, Svc>,
        paths: &ProjectPaths,
        exiting: bool,
        changed: Option<&HashSet<String>>,
    ) -> bool {
        // The first look is at every target.
        let changed = changed.filter(|_| !self.seen.is_empty());
        let targets: Vec<&String> = match changed {
            Some(changed) => self.targets.iter().filter(|t| changed.contains(*t)).collect(),
            None => self.targets.iter().collect(),
        };
        for name in targets {
            let Some(svc) = services.get(name) else {
                self.unsettled.remove(name);
                continue;
            };
            if self.settles(svc) {
                self.unsettled.remove(name);
                if svc.removed {
                    self.left.insert(name.clone(), Outcome { removed: true, ..outcome(svc, self.kind, paths) });
                }
            } else {
                self.unsettled.insert(name.clone());
            }
            let waiting = svc.waiting();
            let same = self.seen.get(name).is_some_and(|seen| {
                seen.phase == svc.phase() && seen.reason.as_deref() == svc.reason() && seen.waiting == waiting
            });
            if same {
                continue;
            }
            let event =
                Event { service: name.clone(), phase: svc.phase(), reason: svc.reason().map(str::to_owned), waiting };
            self.seen.insert(name.clone(), event.clone());
            if self.reply.send(Reply::Event(event)).is_err() {
                return false;
            }
        }
        if !self.unsettled.is_empty() {
            return true;
        }
        self.finish(services, paths, exiting && self.kind == WaiterKind::Down);
        false
    }

    fn settles(&self, svc: &Svc) -> bool {
        if svc.removed {
            // No longer wanted: it settles once it is stopped, whatever the request.
            return svc.phase() == Phase::Stopped;
        }
        match self.kind {
            // A replica waiting its turn in a rolling restart is not up as asked yet.
            WaiterKind::Up => !svc.awaits_rollout && !svc.is_coming_up(),
            WaiterKind::Down => svc.phase() == Phase::Stopped,
            WaiterKind::Accepted => true,
        }
    }

    fn finish(&self, services: &IndexMap<String, Svc>, paths: &ProjectPaths, exiting: bool) {
        let outcomes = self
            .targets
            .iter()
            .filter_map(|n| match services.get(n) {
                Some(svc) if !svc.removed => {
                    let unchanged = self.up_before.get(&svc.name) == Some(&svc.generation) && svc.is_settled_up();
                    Some(Outcome { unchanged, ..outcome(svc, self.kind, paths) })
                }
                _ => self.left.get(n).cloned(),
            })
            .collect();
        let _ = self.reply.send(Reply::Done { outcomes, exiting });
    }
}

fn outcome(svc: &Svc, kind: WaiterKind, paths: &ProjectPaths) -> Outcome {
    let failed = match kind {
        _ if svc.removed => false,
        WaiterKind::Up => svc.phase().is_failure() || svc.phase() == Phase::Stopped,
        WaiterKind::Accepted => svc.phase().is_failure(),
        WaiterKind::Down => false,
    };
    let last_lines = if failed && svc.phase() != Phase::Blocked { last_lines(paths, svc) } else { Vec::new() };
    Outcome {
        service: svc.name.clone(),
        phase: svc.phase(),
        reason: svc.reason().map(str::to_owned),
        elapsed_ms: svc.unit().ready_after.map(super::service::millis),
        last_lines,
        unchanged: false,
        removed: false,
    }
}

/// The last lines of the service's last attempt (not of the runs before it), as the client will
/// print them: without control sequences.
fn last_lines(paths: &ProjectPaths, svc: &Svc) -> Vec<String> {
    let services = [svc.name.clone()];
    let since = svc.started.map(|(_, at)| at);
    reader::history(&paths.logs(), &services, since, Some(LAST_LINES))
        .map(|records| records.iter().map(|r| strip_controls(&r.text())).collect())
        .unwrap_or_default()
}
