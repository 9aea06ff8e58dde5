//! `rolling = true`: `restart web` of a scaled service restarts its replicas one at a time,
//! each once the one before is up again (ready, or past `min_uptime`), so the group keeps
//! serving; a replica that fails to come back ends the rollout, the rest left as they run.

use std::collections::{HashSet, VecDeque};

use super::core::Supervisor;
use super::machine::Input;
use crate::model::names::split_replica;
use crate::state::Desired;

/// One group's rolling restart: the replica restarting now (and its spawn count when it was
/// asked to), and the replicas after it.
pub(crate) struct Rollout {
    current: String,
    runs_before: u64,
    rest: VecDeque<String>,
}

impl Supervisor {
    /// Of the services a restart names, those to restart now: every one but the replicas of a
    /// rolling group after its first, which wait their turn in a rollout.
    pub(super) fn start_rollouts(&mut self, names: &[String]) -> Vec<String> {
        let mut now = Vec::new();
        let mut queued: Vec<(String, VecDeque<String>)> = Vec::new();
        for name in names {
            let rolling = self.services.get(name).is_some_and(|s| s.config.rolling && s.phase().has_process());
            match split_replica(name).filter(|_| rolling) {
                Some((group, _)) => match queued.iter_mut().find(|(g, _)| g == group) {
                    Some((_, rest)) => rest.push_back(name.clone()),
                    None => {
                        // A rollout of this group already under way is replaced by this one.
                        self.rollouts.retain(|r| split_replica(&r.current).map(|(g, _)| g) != Some(group));
                        queued.push((group.to_owned(), VecDeque::new()));
                        now.push(name.clone());
                    }
                },
                None => now.push(name.clone()),
            }
        }
        for (group, rest) in queued.into_iter().filter(|(_, rest)| !rest.is_empty()) {
            for name in &rest {
                if let Some(svc) = self.services.get_mut(name) {
                    svc.awaits_rollout = true;
                }
            }
            let Some(current) = now.iter().find(|n| split_replica(n).is_some_and(|(g, _)| g == group)).cloned() else {
                continue;
            };
            let runs_before = self.services.get(&current).map_or(0, |s| s.runs);
            self.output.say(&format!("{group}: rolling restart, one replica at a time"));
            self.rollouts.push(Rollout { current, runs_before, rest });
        }
        now
    }

    /// Moves each rollout on once its current replica is up again: the next one restarts.
    /// Returns the services it moved.
    pub(super) fn advance_rollouts(&mut self) -> HashSet<String> {
        let mut moved = HashSet::new();
        let mut rollouts = std::mem::take(&mut self.rollouts);
        rollouts.retain_mut(|rollout| {
            let Some(svc) = self.services.get(&rollout.current) else { return false };
            if svc.runs <= rollout.runs_before || svc.phase().is_transient() {
                return true;
            }
            if !svc.is_settled_up() {
                let left: Vec<&str> = rollout.rest.iter().map(String::as_str).collect();
                self.output.say(&format!(
                    "{}: is {}; the rolling restart stops here ({} not restarted)",
                    rollout.current,
                    svc.phase().as_str(),
                    left.join(", ")
                ));
                for name in rollout.rest.drain(..) {
                    if let Some(svc) = self.services.get_mut(&name) {
                        svc.awaits_rollout = false;
                    }
                    moved.insert(name);
                }
                return false;
            }
            while let Some(next) = rollout.rest.pop_front() {
                let Some(svc) = self.services.get_mut(&next) else { continue };
                svc.awaits_rollout = false;
                moved.insert(next.clone());
                if svc.desired != Desired::Up || !svc.phase().has_process() {
                    continue;
                }
                rollout.runs_before = svc.runs;
                rollout.current.clone_from(&next);
                self.output.notice(&next, "restarting");
                self.drive(&next, Input::RestartWanted { by_policy: false });
                return true;
            }
            false
        });
        rollouts.append(&mut self.rollouts);
        self.rollouts = rollouts;
        moved
    }
}
