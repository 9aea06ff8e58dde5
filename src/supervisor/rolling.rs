//! `rolling = true`: `restart web` of a scaled service restarts its replicas one at a time,
//! each once the one before is up again (ready, or past `min_uptime`), so the group keeps
//! serving; a replica that fails to come back ends the rollout, the rest left as they run.

use std::collections::{HashSet, VecDeque};

use super::core::Supervisor;
use super::machine::Input;
use crate::model::names::group_of;
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
        // Per rolling group: the replica that restarts first, and those after it.
        let mut queued: Vec<(String, String, VecDeque<String>)> = Vec::new();
        for name in names {
            let rolling = self.services.get(name).is_some_and(|s| s.rolls() && s.phase().has_process());
            let Some(group) = group_of(name).filter(|_| rolling) else {
                now.push(name.clone());
                continue;
            };
            match queued.iter_mut().find(|(g, _, _)| g == group) {
                Some((_, _, rest)) => rest.push_back(name.clone()),
                None => {
                    // A rollout of this group already under way is replaced by this one.
                    let (old, kept): (Vec<Rollout>, Vec<Rollout>) = std::mem::take(&mut self.rollouts)
                        .into_iter()
                        .partition(|r| group_of(&r.current) == Some(group));
                    self.rollouts = kept;
                    for rollout in old {
                        self.end_rollout(rollout);
                    }
                    queued.push((group.to_owned(), name.clone(), VecDeque::new()));
                    now.push(name.clone());
                }
            }
        }
        for (group, current, rest) in queued.into_iter().filter(|(_, _, rest)| !rest.is_empty()) {
            for name in &rest {
                if let Some(svc) = self.services.get_mut(name) {
                    svc.awaits_rollout = true;
                }
            }
            let runs_before = self.services.get(&current).map_or(0, |s| s.runs);
            self.output.say(&format!("{group}: rolling restart, one replica at a time"));
            self.rollouts.push(Rollout { current, runs_before, rest });
        }
        now
    }

    /// Moves each rollout on once its current replica is up again: the next one restarts.
    /// Returns the services it moved (those no longer waiting their turn too).
    pub(super) fn advance_rollouts(&mut self) -> HashSet<String> {
        let mut moved = HashSet::new();
        for mut rollout in std::mem::take(&mut self.rollouts) {
            let current = self.services.get(&rollout.current);
            // Stopped, removed or forgotten meanwhile: nobody wants the rollout any more.
            let dropped = current.is_none_or(|s| s.desired != Desired::Up || s.removed);
            if !dropped && current.is_some_and(|s| s.runs <= rollout.runs_before || s.is_coming_up()) {
                self.rollouts.push(rollout);
                continue;
            }
            if !dropped && current.is_some_and(|s| !s.is_settled_up()) {
                let phase = current.map(|s| s.phase().as_str()).unwrap_or_default();
                let left: Vec<&str> = rollout.rest.iter().map(String::as_str).collect();
                let group = group_of(&rollout.current).unwrap_or(&rollout.current);
                self.output.say(&format!(
                    "{group}: rolling restart stopped at {} ({phase}); not restarted: {}",
                    rollout.current,
                    left.join(", ")
                ));
            } else if !dropped && self.restart_next(&mut rollout, &mut moved) {
                self.rollouts.push(rollout);
                continue;
            }
            moved.extend(rollout.rest.iter().cloned());
            self.end_rollout(rollout);
        }
        moved
    }

    /// Restarts the next replica of the rollout that still runs; false when none is left.
    fn restart_next(&mut self, rollout: &mut Rollout, moved: &mut HashSet<String>) -> bool {
        while let Some(next) = rollout.rest.pop_front() {
            let Some(svc) = self.services.get_mut(&next) else { continue };
            svc.awaits_rollout = false;
            svc.take_turn();
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
    }

    /// A rollout that ends early: its replicas no longer wait their turn, and keep the
    /// configuration they run with (so a later `up` still sees what changed).
    fn end_rollout(&mut self, rollout: Rollout) {
        for name in rollout.rest {
            if let Some(svc) = self.services.get_mut(&name) {
                svc.awaits_rollout = false;
                svc.config_in_turn = None;
            }
        }
    }
}
