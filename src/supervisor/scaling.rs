//! Replicas while the project is up: `orch scale web=3` and `up --scale web=2` set how many
//! replicas a service runs, over its `scale` in the manifest. The manifest is loaded again with
//! the new numbers, and the plan starts the replicas that are new and stops those left over,
//! as it does for any service added to or removed from the manifest.

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::core::Supervisor;
use super::reconcile::Scope;
use super::waiters::WaiterKind;
use crate::ipc::{Origin, Refusal, Reply};
use crate::manifest::Spec;
use crate::model::names::{MAX_SCALE, group_of};
use crate::plan::{Action, Force, Plan};

impl Supervisor {
    /// The replicas an `up` runs with: its own `--scale` numbers; those an earlier `orch scale`
    /// or `up --scale` set stay for the services this up does not bring up (a plain `up`
    /// brings up everything, so it goes back to the manifest's, as docker compose does).
    pub(super) fn scale_for_up(&self, named: &[String], asked: &IndexMap<String, u32>) -> IndexMap<String, u32> {
        let mut scale = IndexMap::new();
        if !named.is_empty() {
            scale.extend(self.scale.iter().filter(|(group, _)| !named.contains(group)).map(|(g, n)| (g.clone(), *n)));
        }
        scale.extend(asked.iter().map(|(g, n)| (g.clone(), *n)));
        scale
    }

    /// `orch scale`: the manifest again with these numbers of replicas; what is new starts
    /// (with what it depends on), what is left over stops. Answered once all of it settled.
    pub(super) fn scale(
        &mut self,
        origin: &Origin,
        asked: &IndexMap<String, u32>,
        reply: UnboundedSender<Reply>,
    ) -> Result<(), Refusal> {
        let mut scale = self.scale.clone();
        scale.extend(asked.iter().map(|(g, n)| (g.clone(), *n)));
        let Some(loaded) = self.load_spec_with(origin, &scale)? else {
            return Err(Refusal::invalid("no manifest: only the services of a procs.toml or Procfile can be scaled"));
        };
        check_scalable(&loaded.spec, asked)?;
        self.exit_when_stopped = false;
        self.scale = scale;
        self.base_env.clone_from(&origin.env);
        let groups: Vec<String> = asked.keys().cloned().collect();
        let replicas = loaded.spec.expand_groups(&groups);
        let plan = self.plan_for(&loaded, &Force::Nothing);
        let leaving = leaving(&plan);
        for line in self.apply(loaded, &plan, Scope::Exactly(&replicas)) {
            if !line.starts_with(Action::Start.mark()) {
                self.output.say(&format!("scale: {line}"));
            }
        }
        let mut targets = if replicas.is_empty() { Vec::new() } else { self.with_dependencies(&replicas) };
        self.bring_up(&targets, &[]);
        targets.extend(leaving);
        self.wait_for(targets, WaiterKind::Up, true, reply);
        Ok(())
    }
}

/// The services a plan stops for good (removed from the manifest, or scaled away).
pub(super) fn leaving(plan: &Plan) -> Vec<String> {
    plan.steps.iter().filter(|s| s.action == Action::Stop).map(|s| s.service.clone()).collect()
}

/// Every name must be a service of the manifest as written (scaled or not): a replica or an
/// ad-hoc service has no number of replicas of its own. Each number is at most [`MAX_SCALE`].
pub(super) fn check_scalable(spec: &Spec, asked: &IndexMap<String, u32>) -> Result<(), Refusal> {
    let scalable: Vec<&str> = spec
        .groups
        .keys()
        .map(String::as_str)
        .chain(spec.services.iter().filter(|(_, s)| s.replica.is_none()).map(|(n, _)| n.as_str()))
        .collect();
    for (name, &count) in asked {
        if count > MAX_SCALE {
            return Err(Refusal::invalid(format!("{name}={count}: at most {MAX_SCALE} replicas")));
        }
        if !scalable.contains(&name.as_str()) {
            if let Some(group) = group_of(name) {
                return Err(Refusal::invalid(format!("`{name}` is a replica; scale its service: `{group}=N`")));
            }
            return Err(Refusal::unknown_service(name, &scalable));
        }
    }
    Ok(())
}
