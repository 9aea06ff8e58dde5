//! Closing the gap between the manifest and what runs: load the manifest the client names,
//! plan against the services as they are (see `crate::plan`), and carry the plan out — on
//! `up`, on `up --dry-run` (plan only), and when a watched file changes.

use std::collections::HashMap;
use std::path::PathBuf;

use indexmap::IndexMap;

use super::core::{Msg, Supervisor};
use super::machine::Input;
use super::service::Svc;
use super::watch::Watch;
use crate::ipc::{Origin, Refusal};
use crate::manifest::{self, LoadOptions, Loaded, PortPicker};
use crate::model::Phase;
use crate::plan::{self, Action, Force, Observed, Plan, Reason, config_hash};
use crate::ports;
use crate::state::Desired;

/// Which services a plan may restart.
pub(super) enum Scope<'a> {
    /// `up SVC…`: these (all when empty) and what they depend on.
    Targets(&'a [String]),
    /// `restart SVC…`: as `Targets`, but the named services only take their new configuration,
    /// as the restart that follows restarts them (a rolling one, each in its turn).
    Restart(&'a [String]),
    /// `scale`: these only (none when empty).
    Exactly(&'a [String]),
    /// A reload: every service.
    All,
}

impl Supervisor {
    /// The manifest the client named, loaded with the client's environment and the replicas
    /// asked for meanwhile.
    pub(super) fn load_spec(&self, origin: &Origin) -> Result<Option<Loaded>, Refusal> {
        self.load_spec_with(origin, &self.scale)
    }

    /// The manifest the client named, with these numbers of replicas over its `scale`.
    pub(super) fn load_spec_with(
        &self,
        origin: &Origin,
        scale: &IndexMap<String, u32>,
    ) -> Result<Option<Loaded>, Refusal> {
        let Some(file) = &origin.manifest else { return Ok(None) };
        let options = LoadOptions::new(origin.env.clone(), self.paths.root.clone())
            .with_ports(self.port_picker())
            .with_scale(scale.clone());
        let loaded = manifest::load(file, &options).map_err(|problems| Refusal::bad_manifest(&problems))?;
        for name in loaded.spec.services.keys() {
            if self.services.get(name).is_some_and(|s| s.adhoc.is_some()) {
                return Err(Refusal::conflict(format!(
                    "`{name}` is an ad-hoc service; stop it before the manifest can use the name"
                )));
            }
        }
        Ok(Some(loaded))
    }

    /// Ports for `port = "auto"`: a running service keeps its own; any other gets its recorded
    /// port back while that is free, else a new one from the user's registry.
    fn port_picker(&self) -> PortPicker {
        let recorded: HashMap<String, (u16, bool)> = self
            .services
            .iter()
            .filter_map(|(name, s)| s.config.port_number().map(|p| (name.clone(), (p, s.phase().has_process()))))
            .collect();
        let root = self.project_id.clone();
        Box::new(move |service: &str| match recorded.get(service) {
            Some((port, true)) => *port,
            other => {
                let owner = format!("{root}#{service}");
                ports::Registry::for_user().allocate(&owner, other.map(|(p, _)| *p)).unwrap_or_else(|e| {
                    say!("orch: the port registry failed ({e}); taking any free port");
                    ports::any_free()
                })
            }
        })
    }

    /// The manifest's services as they run now, for the planner.
    pub(super) fn observed(&self) -> IndexMap<String, Observed> {
        let up = |s: &Svc| {
            s.desired == Desired::Up
                && !matches!(s.phase(), Phase::Stopped | Phase::Failed | Phase::Fatal | Phase::Blocked)
        };
        self.services
            .iter()
            .filter(|(_, s)| s.adhoc.is_none() && !s.removed)
            .map(|(n, s)| (n.clone(), Observed { config: (!s.unrecorded).then(|| s.config.clone()), up: up(s) }))
            .collect()
    }

    pub(super) fn plan_for(&self, loaded: &Loaded, force: &Force) -> Plan {
        plan::plan(&loaded.spec.services, &loaded.graph, &self.observed(), force)
    }

    /// Takes the loaded manifest as the desired state and carries out the plan within `scope`.
    /// Returns the steps that changed something, for the record.
    pub(super) fn apply(&mut self, loaded: Loaded, plan: &Plan, scope: Scope) -> Vec<String> {
        let in_scope: Vec<String> = match scope {
            Scope::All | Scope::Targets([]) | Scope::Restart([]) => loaded.graph.start_order(),
            Scope::Targets(names) | Scope::Restart(names) => {
                loaded.graph.with_dependencies(names.iter().map(String::as_str))
            }
            Scope::Exactly(names) => names.to_vec(),
        };
        let reload = matches!(scope, Scope::All);
        let mut done = Vec::new();
        for step in &plan.steps {
            let name = step.service.as_str();
            let config = loaded.spec.services.get(name);
            match (step.action, config) {
                (Action::Stop, _) => {
                    if let Some(svc) = self.services.get_mut(name) {
                        svc.removed = true;
                        svc.desired = Desired::Down;
                    }
                }
                (Action::Keep, Some(config)) => {
                    // The same process; only what does not shape it (depends_on) may differ.
                    if let Some(svc) = self.services.get_mut(name) {
                        svc.config = config.clone();
                    }
                    continue;
                }
                (Action::Start, Some(config)) => {
                    let svc = self
                        .services
                        .entry(name.to_owned())
                        .or_insert_with(|| Svc::new(name, config.clone(), config_hash(config), None));
                    svc.set_config(config.clone());
                    if reload && step.reason == Reason::New && config.in_profiles(&self.profiles) {
                        svc.desired = Desired::Up;
                        self.drive(name, Input::StartWanted { by_policy: false });
                    } else if reload {
                        continue;
                    }
                }
                (Action::Restart, Some(config)) => {
                    if !in_scope.iter().any(|n| n == name) {
                        continue;
                    }
                    match (&scope, self.services.get_mut(name)) {
                        (Scope::Restart(named), Some(svc)) if named.is_empty() || named.iter().any(|n| n == name) => {
                            svc.restart_with(config.clone());
                        }
                        _ => self.replace(name, config.clone()),
                    }
                }
                _ => continue,
            }
            done.push(format!("{} {name} ({})", step.action.mark(), step.reason));
        }
        self.spec = Some(loaded.spec);
        self.graph = Some(loaded.graph);
        done
    }

    /// Restarts a service with a new configuration (or starts it, if it is meant to run).
    fn replace(&mut self, name: &str, config: manifest::Service) {
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.set_config(config);
        if svc.phase().has_process() {
            svc.desired = Desired::Up;
            self.drive(name, Input::RestartWanted { by_policy: false });
        } else if svc.desired == Desired::Up {
            self.drive(name, Input::StartWanted { by_policy: false });
        }
    }

    /// A batch of changes to the watched files: reload once they have been quiet for a while.
    pub(super) fn files_changed(&mut self) {
        self.changes += 1;
        let (tx, generation) = (self.tx.clone(), self.changes);
        tokio::spawn(async move {
            tokio::time::sleep(super::watch::QUIET).await;
            let _ = tx.send(Msg::Reload { generation });
        });
    }

    /// A watched file changed: load, plan, apply, and say so. A manifest that does not load
    /// changes nothing; its problem is kept for `ps` until a later save fixes it.
    pub(super) fn reload(&mut self) {
        let Some(origin) = self.origin.clone() else { return };
        if origin.manifest.as_deref().is_some_and(is_empty_file) && self.empty_manifest_at != Some(self.changes) {
            // A save that truncates, then writes, slowed down (a loaded machine, a network
            // folder): the write is on its way, and an empty manifest is no one's intent yet.
            self.empty_manifest_at = Some(self.changes);
            let (tx, generation) = (self.tx.clone(), self.changes);
            tokio::spawn(async move {
                tokio::time::sleep(super::watch::EMPTY_GRACE).await;
                let _ = tx.send(Msg::Reload { generation });
            });
            return;
        }
        match self.load_spec(&origin) {
            Err(refusal) => {
                let problem = refusal.to_string();
                for line in problem.lines() {
                    self.output.say(&format!("reload: {line} (nothing changed)"));
                }
                self.reload_error = Some(problem);
            }
            Ok(Some(loaded)) => {
                self.reload_error = None;
                let plan = self.plan_for(&loaded, &Force::Nothing);
                let files = watched_files(&loaded);
                // The manifest may have just said `watch = false`.
                self.watch_enabled = self.watch_requested && loaded.spec.watch;
                let done = self.apply(loaded, &plan, Scope::All);
                self.watch_files(files);
                for line in &done {
                    self.output.say(&format!("reload: {line}"));
                }
            }
            Ok(None) => {}
        }
    }

    /// Starts, stops or re-aims the watch after a manifest was loaded: once the services it
    /// starts have been spawned (see [`Supervisor::aim_watch`]), as setting up a watch (a
    /// thread, an inotify descriptor, a watch per folder) is no reason for them to wait.
    pub(super) fn watch_files(&mut self, files: Vec<PathBuf>) {
        self.watch_wanted = Some(files);
    }

    /// The watch as the last loaded manifest wants it, when that changed.
    /// The services' file watch and their schedules follow the same manifest, so they are
    /// aimed with it.
    pub(super) fn aim_watch(&mut self) {
        let Some(files) = self.watch_wanted.take() else { return };
        self.aim_source_watch();
        self.aim_schedules();
        if !self.watch_enabled {
            self.watch = None;
            return;
        }
        if self.watch.is_none() {
            match Watch::start(self.tx.clone()) {
                Ok(watch) => self.watch = Some(watch),
                Err(e) => {
                    say!("orch: cannot watch the manifest: {e}");
                    return;
                }
            }
        }
        if let Some(watch) = &mut self.watch {
            watch.set_files(files);
        }
    }
}

/// The files whose change means a reload: the manifest, `.env` beside it, every `env_file`.
pub(super) fn watched_files(loaded: &Loaded) -> Vec<PathBuf> {
    let spec = &loaded.spec;
    let mut files = vec![spec.file.clone(), spec.root.join(".env")];
    files.extend(spec.services.values().filter_map(|s| s.env_file.clone()));
    files
}

fn is_empty_file(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0)
}
