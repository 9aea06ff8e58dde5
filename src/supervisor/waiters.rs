//! A client waiting on a request (`up`, `down`, `restart`, `start`): it gets an event each time
//! one of its services changes state, and a final outcome once all of them have settled.

use std::collections::HashMap;

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::lifecycle::Phase;
use super::service::Svc;
use crate::ipc::{Event, Outcome, Reply};
use crate::logs::reader;
use crate::paths::ProjectPaths;
use crate::sanitize::strip_controls;

/// How many log lines a failure carries back to the client.
const LAST_LINES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaiterKind {
    /// Settled when every service is up (or failed to come up).
    Up,
    /// Settled when every service is stopped.
    Down,
    /// Settled at once: the client only wants to know the request was taken (`--no-wait`).
    Accepted,
}

pub struct Waiter {
    targets: Vec<String>,
    kind: WaiterKind,
    reply: UnboundedSender<Reply>,
    seen: HashMap<String, Phase>,
}

impl Waiter {
    pub fn new(targets: Vec<String>, kind: WaiterKind, reply: UnboundedSender<Reply>) -> Self {
        Self { targets, kind, reply, seen: HashMap::new() }
    }

    pub fn is_down(&self) -> bool {
        self.kind == WaiterKind::Down
    }

    /// Sends what changed; once every target settled, the outcome. False when the waiter is
    /// done (or its client went away).
    pub fn update(&mut self, services: &IndexMap<String, Svc>, paths: &ProjectPaths) -> bool {
        for name in &self.targets {
            let Some(svc) = services.get(name) else {
                continue;
            };
            if self.seen.get(name) == Some(&svc.phase) {
                continue;
            }
            self.seen.insert(name.clone(), svc.phase);
            let event = Event { service: name.clone(), phase: svc.phase, reason: svc.reason.clone() };
            if self.reply.send(Reply::Event(event)).is_err() {
                return false;
            }
        }
        if !self.settled(services) {
            return true;
        }
        self.finish(services, paths);
        false
    }

    fn settled(&self, services: &IndexMap<String, Svc>) -> bool {
        self.targets.iter().filter_map(|n| services.get(n)).all(|svc| match self.kind {
            WaiterKind::Up => !svc.phase.is_transient(),
            WaiterKind::Down => svc.phase == Phase::Stopped,
            WaiterKind::Accepted => true,
        })
    }

    fn finish(&self, services: &IndexMap<String, Svc>, paths: &ProjectPaths) {
        let outcomes =
            self.targets.iter().filter_map(|n| services.get(n)).map(|svc| outcome(svc, self.kind, paths)).collect();
        let _ = self.reply.send(Reply::Done { outcomes });
    }
}

fn outcome(svc: &Svc, kind: WaiterKind, paths: &ProjectPaths) -> Outcome {
    let failed = match kind {
        WaiterKind::Up => svc.phase.is_failure() || svc.phase == Phase::Stopped,
        WaiterKind::Accepted => svc.phase.is_failure(),
        WaiterKind::Down => false,
    };
    let last_lines = if failed && svc.phase != Phase::Blocked { last_lines(paths, &svc.name) } else { Vec::new() };
    Outcome {
        service: svc.name.clone(),
        phase: svc.phase,
        reason: svc.reason.clone(),
        elapsed_ms: svc.ready_after.map(|d| d.as_millis() as u64),
        last_lines,
    }
}

/// The service's last lines, as the client will print them: without control sequences.
fn last_lines(paths: &ProjectPaths, service: &str) -> Vec<String> {
    let services = [service.to_owned()];
    reader::history(&paths.logs(), &services, None, Some(LAST_LINES))
        .map(|records| records.iter().map(|r| strip_controls(&r.text())).collect())
        .unwrap_or_default()
}
