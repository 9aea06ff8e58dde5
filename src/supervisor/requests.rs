//! The supervisor's answers to clients' requests: `up`, `down`, `restart`, ad-hoc starts, `ps`.

use std::time::Instant;

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::core::Supervisor;
use super::machine::Input;
use super::reconcile::{Scope, watched_files};
use super::service::Svc;
use super::waiters::{Waiter, WaiterKind};
use crate::ipc::{Origin, Refusal, Reply, Request};
use crate::manifest::{Adhoc, Spec};
use crate::model::{Phase, Pid};
use crate::plan::{Action, Force, config_hash};
use crate::state::Desired;

/// An `up` request's parts.
pub(super) struct Up {
    origin: Origin,
    services: Vec<String>,
    wait: bool,
    force: Option<Vec<String>>,
    watch: bool,
    dry_run: bool,
    profiles: Vec<String>,
    scale: IndexMap<String, u32>,
}

impl Supervisor {
    pub(super) fn request(&mut self, request: Request, reply: UnboundedSender<Reply>) {
        // What is wanted may change: the next `advance` looks at every service.
        self.full_scan = true;
        let result = match request {
            Request::Hello => {
                let version = env!("CARGO_PKG_VERSION").to_owned();
                let _ = reply.send(Reply::Hello { pid: self.os.own_pid(), version });
                return;
            }
            Request::Ps { services } => {
                let answer = match self.expand_request(&services, self.spec.as_ref()) {
                    Some(services) => self.ps(&services),
                    None => Reply::Ps { services: Vec::new(), notes: self.notes() },
                };
                let _ = reply.send(answer);
                return;
            }
            // Served by the socket (see subscribers.rs), never queued here.
            Request::Subscribe { .. } => return,
            Request::Up { origin, services, wait, force, watch, dry_run, profiles, scale } => {
                self.up(Up { origin, services, wait, force, watch, dry_run, profiles, scale }, reply.clone())
            }
            Request::Scale { origin, scale } => self.scale(&origin, &scale, reply.clone()),
            Request::Down { services } => self.down(&services, reply.clone()),
            Request::Restart { origin, services } => self.restart(origin, &services, reply.clone()),
            Request::StartAdhoc { origin, adhoc, replace } => self.start_adhoc(origin, adhoc, replace, reply.clone()),
        };
        if let Err(refusal) = result {
            let _ = reply.send(refusal.into_reply());
        }
    }

    /// Every name must be a service the supervisor knows (or, with `also`, one of those).
    pub(super) fn check_names(&self, names: &[String], also: &[&String]) -> Result<(), Refusal> {
        let known = |name: &String| self.services.contains_key(name) || also.contains(&name);
        match names.iter().find(|n| !known(n)) {
            Some(name) => {
                let mut all: Vec<&str> = also.iter().map(|s| s.as_str()).collect();
                let more: Vec<&str> = self.services.keys().map(String::as_str).filter(|n| !all.contains(n)).collect();
                all.extend(more);
                Err(Refusal::unknown_service(name, &all))
            }
            None => Ok(()),
        }
    }

    /// Brings the named services (all when none) and their dependencies in line with the
    /// manifest: what changed restarts, what is new or not running starts.
    pub(super) fn up(&mut self, mut up: Up, reply: UnboundedSender<Reply>) -> Result<(), Refusal> {
        let scale = self.scale_for_up(&up.services, &up.scale);
        let Some(loaded) = self.load_spec_with(&up.origin, &scale)? else {
            return Err(Refusal::invalid("no manifest to bring up"));
        };
        super::scaling::check_scalable(&loaded.spec, &up.scale)?;
        // `up db --scale web=2` brings web's two replicas up too: the number was asked for to run.
        if !up.services.is_empty() {
            up.services.extend(up.scale.keys().filter(|g| !up.services.contains(g)).cloned().collect::<Vec<_>>());
        }
        // Nothing named (a plain `up`) is everything; a group of no replicas named is nothing.
        let named = !up.services.is_empty();
        up.services = loaded.spec.expand_groups(&up.services);
        if let Some(name) = up.services.iter().find(|n| !loaded.spec.services.contains_key(*n)) {
            let known: Vec<&str> = loaded.spec.services.keys().map(String::as_str).collect();
            return Err(Refusal::unknown_service(name, &known));
        }
        let force = match up.force {
            None => Force::Nothing,
            Some(names) if names.is_empty() => Force::All,
            Some(names) => Force::These(loaded.spec.expand_groups(&names)),
        };
        let plan = self.plan_for(&loaded, &force);
        if up.dry_run {
            let _ = reply.send(Reply::Plan(plan));
            return Ok(());
        }
        self.scale = scale;
        self.exit_when_stopped = false;
        self.watch_requested = up.watch;
        self.watch_enabled = up.watch && loaded.spec.watch;
        self.base_env.clone_from(&up.origin.env);
        self.origin = Some(up.origin);
        self.reload_error = None;
        let files = watched_files(&loaded);
        let leaving = super::scaling::leaving(&plan);
        let scope = if named && up.services.is_empty() { Scope::Exactly(&[]) } else { Scope::Targets(&up.services) };
        // What it starts says so itself (`web: started`); what it restarts or stops, and why, here.
        for line in self.apply(loaded, &plan, scope) {
            if !line.starts_with(Action::Start.mark()) {
                self.output.say(&format!("up: {line}"));
            }
        }
        self.watch_files(files);
        self.profiles = up.profiles;
        self.scheduling = true;
        let roots = if named { up.services.clone() } else { self.up_roots() };
        // (No roots: every service is in a profile not active. `with_dependencies` of none is all.)
        let mut targets = if roots.is_empty() { Vec::new() } else { self.with_dependencies(&roots) };
        self.bring_up(&targets, &up.services);
        targets.extend(leaving);
        self.wait_for(targets, WaiterKind::Up, up.wait, reply);
        Ok(())
    }

    /// Wants the targets up, and starts those that are not; a oneshot that already did its
    /// work runs again only when it is `explicit`ly named.
    pub(super) fn bring_up(&mut self, targets: &[String], explicit: &[String]) {
        for name in targets {
            let Some(svc) = self.services.get_mut(name) else { continue };
            svc.desired = Desired::Up;
            let rerun = match svc.phase() {
                Phase::Stopped | Phase::Failed | Phase::Fatal | Phase::Blocked => true,
                Phase::Completed => explicit.contains(name),
                _ => false,
            };
            if rerun {
                self.drive(name, Input::StartWanted { by_policy: false });
            }
        }
    }

    /// The names of a request with each group name (`web`) made its replicas, those of the
    /// manifest `spec` and those still running; None when names were given and they all stand
    /// for no service (groups of no replicas): nothing to do.
    fn expand_request(&self, names: &[String], spec: Option<&Spec>) -> Option<Vec<String>> {
        let asked = spec.map_or_else(|| names.to_vec(), |s| s.without_empty_groups(names));
        let of_manifest = spec.into_iter().flat_map(|s| s.services.keys());
        let known = self.services.keys().chain(of_manifest).map(String::as_str);
        let expanded = crate::model::names::expand_groups(&asked, known);
        (names.is_empty() || !expanded.is_empty()).then_some(expanded)
    }

    pub(super) fn down(&mut self, names: &[String], reply: UnboundedSender<Reply>) -> Result<(), Refusal> {
        let Some(names) = &self.expand_request(names, self.spec.as_ref()) else {
            self.wait_for(Vec::new(), WaiterKind::Down, true, reply);
            return Ok(());
        };
        let manifest: Vec<&String> = self.spec.iter().flat_map(|s| s.services.keys()).collect();
        self.check_names(names, &manifest)?;
        let targets = if names.is_empty() {
            self.exit_when_stopped = true;
            let mut all = self.start_order();
            all.reverse();
            all
        } else {
            self.with_dependents(names)
        };
        self.mark_down(&targets);
        self.wait_for(targets, WaiterKind::Down, true, reply);
        Ok(())
    }

    pub(super) fn restart(
        &mut self,
        origin: Origin,
        names: &[String],
        reply: UnboundedSender<Reply>,
    ) -> Result<(), Refusal> {
        let loaded = self.load_spec(&origin)?;
        // The groups as the manifest has them now (a replica it just gained is one of them).
        let Some(names) = &self.expand_request(names, loaded.as_ref().map_or(self.spec.as_ref(), |l| Some(&l.spec)))
        else {
            self.wait_for(Vec::new(), WaiterKind::Up, true, reply);
            return Ok(());
        };
        let manifest: Vec<&String> = loaded.iter().flat_map(|l| l.spec.services.keys()).collect();
        self.check_names(names, &manifest)?;
        self.exit_when_stopped = false;
        if let Some(loaded) = loaded {
            self.base_env.clone_from(&origin.env);
            // What is restarted anyway takes the manifest as it is now.
            let plan = self.plan_for(&loaded, &Force::Nothing);
            self.apply(loaded, &plan, Scope::Restart(names));
        }
        let names: Vec<String> = if names.is_empty() { self.services.keys().cloned().collect() } else { names.clone() };
        for name in &self.start_rollouts(&names) {
            let Some(svc) = self.services.get_mut(name) else {
                continue;
            };
            svc.desired = Desired::Up;
            svc.take_turn();
            if svc.phase().has_process() {
                self.output.notice(name, "restarting");
                self.drive(name, Input::RestartWanted { by_policy: false });
            } else {
                self.drive(name, Input::StartWanted { by_policy: false });
            }
        }
        // Dependencies of what restarts must be up too.
        let targets = self.with_dependencies(&names);
        for name in &targets {
            if let Some(svc) = self.services.get_mut(name)
                && svc.desired == Desired::Down
            {
                svc.desired = Desired::Up;
                self.drive(name, Input::StartWanted { by_policy: false });
            }
        }
        self.wait_for(targets, WaiterKind::Up, true, reply);
        Ok(())
    }

    pub(super) fn start_adhoc(
        &mut self,
        origin: Origin,
        adhoc: Adhoc,
        replace: bool,
        reply: UnboundedSender<Reply>,
    ) -> Result<(), Refusal> {
        self.exit_when_stopped = false;
        if self.spec.is_none()
            && let Some(loaded) = self.load_spec(&origin)?
        {
            // The project's [env] and .env apply to ad-hoc services too.
            self.spec = Some(loaded.spec);
            self.graph = Some(loaded.graph);
        }
        if adhoc.name == crate::model::names::RESERVED_NAME {
            return Err(Refusal::invalid(format!("`{}` is reserved for orch's own lines in `orch logs`", adhoc.name)));
        }
        if !crate::model::names::is_valid_name(&adhoc.name) {
            return Err(Refusal::bad_name(&adhoc.name));
        }
        let in_manifest = self.spec.as_ref().is_some_and(|s| s.services.contains_key(&adhoc.name));
        if let Some(problem) = adhoc.problem() {
            return Err(Refusal::invalid(problem));
        }
        let of_manifest = in_manifest || self.services.get(&adhoc.name).is_some_and(|s| s.adhoc.is_none());
        if of_manifest {
            return Err(Refusal::conflict(format!(
                "`{}` is a service of the manifest; use `orch start {}` without a command",
                adhoc.name, adhoc.name
            )));
        }
        let global = self.spec.as_ref().map(|s| s.env.clone()).unwrap_or_default();
        let config = adhoc.to_service(&global);
        if let Some(svc) = self.services.get(&adhoc.name)
            && (svc.phase().has_process() || svc.phase().is_transient())
        {
            // Agents and scripts retry: the same service again is the one that runs.
            if svc.adhoc.as_ref() == Some(&adhoc) {
                self.wait_for(vec![adhoc.name], WaiterKind::Up, true, reply);
                return Ok(());
            }
            if !replace {
                return Err(Refusal::conflict(format!(
                    "`{}` is already {} {}; stop it first, or replace it (`orch start --replace`, or `replace` \
                     over MCP)",
                    adhoc.name,
                    svc.phase().as_str(),
                    difference(svc.adhoc.as_ref(), &adhoc),
                )));
            }
            self.replace_adhoc(adhoc, config, reply);
            return Ok(());
        }
        let mut svc = Svc::new(&adhoc.name, config.clone(), config_hash(&config), Some(adhoc.clone()));
        svc.desired = Desired::Up;
        if self.base_env.is_empty() {
            self.base_env = origin.env;
        }
        let name = adhoc.name.clone();
        self.services.shift_remove(&name);
        self.services.insert(name.clone(), svc);
        self.drive(&name, Input::StartWanted { by_policy: false });
        self.wait_for(vec![name], WaiterKind::Up, true, reply);
        Ok(())
    }

    /// An ad-hoc service that runs is stopped and started again as `adhoc` says.
    fn replace_adhoc(&mut self, adhoc: Adhoc, config: crate::manifest::Service, reply: UnboundedSender<Reply>) {
        let name = adhoc.name.clone();
        let Some(svc) = self.services.get_mut(&name) else { return };
        svc.set_config(config);
        svc.adhoc = Some(adhoc);
        svc.desired = Desired::Up;
        self.drive(&name, Input::RestartWanted { by_policy: false });
        self.wait_for(vec![name], WaiterKind::Up, true, reply);
    }

    pub(super) fn ps(&mut self, names: &[String]) -> Reply {
        let manifest: Vec<&String> = self.spec.iter().flat_map(|s| s.services.keys()).collect();
        if let Err(refusal) = self.check_names(names, &manifest) {
            return refusal.into_reply();
        }
        let shown = |svc: &Svc| names.is_empty() || names.contains(&svc.name);
        let pgids: Vec<Pid> = self.services.values().filter(|s| shown(s)).filter_map(Svc::pgid).collect();
        let usage = self.os.group_usage(&pgids);
        let now = Instant::now();
        let mut rows = Vec::new();
        for svc in self.services.values_mut().filter(|s| shown(s)) {
            let sample = svc.pgid().filter(|_| svc.phase().has_process()).and_then(|pgid| usage.get(&pgid)).copied();
            let cpu = sample.map(|u| {
                // Since the last `ps`, or since the start for the first one.
                let (since, before) = svc.cpu_sample.unwrap_or((svc.started.map_or(now, |(at, _)| at), 0.0));
                let wall = now.duration_since(since).as_secs_f64();
                svc.cpu_sample = Some((now, u.cpu_secs));
                if wall > 0.0 { ((u.cpu_secs - before) / wall * 100.0).max(0.0) } else { 0.0 }
            });
            let mut row = svc.status(cpu, sample.map(|u| u.rss_bytes));
            row.next_run =
                self.schedules.next_run(&svc.name).map(|at| humantime::format_rfc3339_seconds(at).to_string());
            rows.push(row);
        }
        // In the manifest's order (replicas added by `scale` beside their group), then the rest.
        if let Some(spec) = &self.spec {
            rows.sort_by_key(|row| spec.services.get_index_of(&row.name).unwrap_or(usize::MAX));
        }
        Reply::Ps { services: rows, notes: self.notes() }
    }

    /// Answers once the targets settle; with `wait` false, as soon as they were started
    /// (after this batch of events, so the answer says `starting` rather than `pending`).
    pub(super) fn wait_for(
        &mut self,
        targets: Vec<String>,
        kind: WaiterKind,
        wait: bool,
        reply: UnboundedSender<Reply>,
    ) {
        let kind = if wait { kind } else { WaiterKind::Accepted };
        let _ = reply.send(Reply::Targets { services: targets.clone() });
        self.waiters.push(Waiter::new(targets, kind, reply, &self.services));
    }

    /// What a plain `up` starts from: the manifest's services in the active profiles (those in
    /// none are always in).
    fn up_roots(&self) -> Vec<String> {
        let Some(spec) = &self.spec else { return Vec::new() };
        spec.services.iter().filter(|(_, s)| s.in_profiles(&self.profiles)).map(|(name, _)| name.clone()).collect()
    }

    pub(super) fn mark_down(&mut self, targets: &[String]) {
        for name in targets {
            if let Some(svc) = self.services.get_mut(name) {
                svc.desired = Desired::Down;
            }
        }
    }
}

/// How a running ad-hoc service differs from one asked for under its name, in words.
fn difference(running: Option<&Adhoc>, asked: &Adhoc) -> String {
    let Some(running) = running else { return "as a service of another kind".to_owned() };
    if running.cmd != asked.cmd {
        return format!("with another command (`{}`)", running.cmd);
    }
    let differ: Vec<&str> = [
        ("cwd", running.cwd != asked.cwd),
        ("env", running.env != asked.env),
        ("ready", running.ready != asked.ready || running.ready_timeout != asked.ready_timeout),
        ("restart", running.restart != asked.restart),
    ]
    .into_iter()
    .filter_map(|(what, differs)| differs.then_some(what))
    .collect();
    format!("with the same command but another {}", differ.join(", "))
}
