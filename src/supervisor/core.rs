//! The supervisor's state machine executor: one task that owns every service and reacts to
//! events (a request, a child's exit, a probe's result, a timer) — never polling. Each event
//! handler records what happened; `advance` then starts what may start and stops what should
//! stop, in dependency order, until nothing more can move.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use nix::sys::signal::Signal;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::sleep;

use super::lifecycle::{Phase, Verdict, after_exit};
use super::output::Output;
use super::probe::{self, ProbeContext};
use super::process::{self, Exit, Reaper, SpawnRequest};
use super::service::Svc;
use super::waiters::{Waiter, WaiterKind};
use crate::graph::Graph;
use crate::ipc::{Adhoc, Origin, Reply, Request};
use crate::logs::record::Stream;
use crate::logs::writer::{LogWriter, pump};
use crate::manifest::{self, BaseEnv, Condition, LoadOptions, Ready, Spec};
use crate::paths::ProjectPaths;
use crate::state::{Desired, State};

/// What reaches the supervisor's task.
pub enum Msg {
    Request(Request, UnboundedSender<Reply>),
    /// The group of a service's process is empty; `exit` is how its leader ended.
    Exited {
        service: String,
        generation: u64,
        exit: Exit,
    },
    Ready {
        service: String,
        generation: u64,
    },
    ReadyTimeout {
        service: String,
        generation: u64,
    },
    StopTimeout {
        service: String,
        generation: u64,
    },
    BackoffDone {
        service: String,
        generation: u64,
    },
    /// SIGINT, SIGTERM (or SIGHUP in the foreground): stop everything and exit.
    Shutdown,
}

pub struct Supervisor {
    paths: ProjectPaths,
    /// The value of ORCH_PROJECT on every child.
    project_id: String,
    spec: Option<Spec>,
    graph: Option<Graph>,
    /// The environment of the client that last sent the manifest: the base of every service's.
    base_env: BaseEnv,
    services: IndexMap<String, Svc>,
    tx: UnboundedSender<Msg>,
    reaper: Arc<Reaper>,
    http: reqwest::Client,
    /// Pids of the live group leaders, so the search for escaped processes skips them.
    leaders: Arc<Mutex<HashSet<i32>>>,
    waiters: Vec<Waiter>,
    output: Output,
    dirty: bool,
    /// A full `down` (or a shutdown) asked the supervisor to exit once everything stopped.
    exit_when_stopped: bool,
}

impl Supervisor {
    pub fn new(paths: ProjectPaths, tx: UnboundedSender<Msg>, reaper: Arc<Reaper>, output: Output) -> Self {
        Self {
            project_id: paths.root.display().to_string(),
            paths,
            spec: None,
            graph: None,
            base_env: std::env::vars().collect(),
            services: IndexMap::new(),
            tx,
            reaper,
            http: probe::http_client(),
            leaders: Arc::default(),
            waiters: Vec::new(),
            output,
            dirty: true,
            exit_when_stopped: false,
        }
    }

    /// Runs until the supervisor has nothing left to supervise after a `down`.
    pub async fn run(mut self, mut rx: UnboundedReceiver<Msg>) {
        while let Some(msg) = rx.recv().await {
            self.handle(msg);
            // Take everything that is already queued before the (fsync'ed) state write.
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            self.advance();
            self.persist();
            if self.should_exit() {
                break;
            }
        }
    }

    fn should_exit(&self) -> bool {
        self.exit_when_stopped && self.services.values().all(|s| s.phase == Phase::Stopped)
    }

    fn persist(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let mut state = State::new();
        state.supervisor = process::Identity::of(std::process::id() as i32);
        state.services = self.services.iter().map(|(n, s)| (n.clone(), s.record())).collect();
        if let Err(e) = state.save(&self.paths.state()) {
            eprintln!("orch: cannot write {}: {e}", self.paths.state().display());
        }
    }

    fn handle(&mut self, msg: Msg) {
        // Questions change nothing: no state write (and its fsync) for them.
        let question = matches!(msg, Msg::Request(Request::Ps { .. } | Request::Hello, _));
        self.dirty |= !question;
        match msg {
            Msg::Request(request, reply) => self.request(request, reply),
            Msg::Exited { service, generation, exit } => self.on_exit(&service, generation, exit),
            Msg::Ready { service, generation } => self.on_ready(&service, generation),
            Msg::ReadyTimeout { service, generation } => self.on_ready_timeout(&service, generation),
            Msg::StopTimeout { service, generation } => {
                if let Some(svc) = self.current(&service, generation)
                    && svc.phase == Phase::Stopping
                    && let Some(pgid) = svc.pgid()
                {
                    let _ = process::signal_group(pgid, Signal::SIGKILL);
                }
            }
            Msg::BackoffDone { service, generation } => {
                if let Some(svc) = self.current_mut(&service, generation)
                    && svc.phase == Phase::Backoff
                {
                    svc.set_phase(Phase::Pending, None);
                }
            }
            Msg::Shutdown => {
                let all: Vec<String> = self.services.keys().cloned().collect();
                self.mark_down(&all);
                self.exit_when_stopped = true;
            }
        }
    }

    fn current(&self, name: &str, generation: u64) -> Option<&Svc> {
        self.services.get(name).filter(|s| s.generation == generation)
    }

    fn current_mut(&mut self, name: &str, generation: u64) -> Option<&mut Svc> {
        self.services.get_mut(name).filter(|s| s.generation == generation)
    }

    // ----- requests -------------------------------------------------------------------------

    fn request(&mut self, request: Request, reply: UnboundedSender<Reply>) {
        let result = match request {
            Request::Hello => {
                let version = env!("CARGO_PKG_VERSION").to_owned();
                let _ = reply.send(Reply::Hello { pid: std::process::id(), version });
                return;
            }
            Request::Ps { services } => {
                let _ = reply.send(self.ps(&services));
                return;
            }
            Request::Up { origin, services, wait } => self.up(origin, &services, wait, reply.clone()),
            Request::Down { services } => self.down(&services, reply.clone()),
            Request::Restart { origin, services } => self.restart(origin, &services, reply.clone()),
            Request::StartAdhoc { origin, adhoc } => self.start_adhoc(origin, adhoc, reply.clone()),
        };
        if let Err(message) = result {
            let _ = reply.send(Reply::Error { message });
        }
    }

    /// Loads the manifest the client named, with the client's environment, and takes it as the
    /// desired configuration of the manifest's services.
    fn load(&mut self, origin: Origin) -> Result<(), String> {
        let Some(file) = origin.manifest.clone() else {
            return Ok(());
        };
        let options = LoadOptions { env: origin.env.clone(), display_base: self.paths.root.clone() };
        let loaded = manifest::load(&file, &options).map_err(|problems| problems.to_string())?;
        self.base_env = origin.env;
        for (name, config) in &loaded.spec.services {
            let hash = config_hash(config);
            match self.services.get_mut(name) {
                Some(svc) if svc.adhoc.is_none() => {
                    svc.config = config.clone();
                    svc.config_hash = hash;
                }
                Some(_) => {
                    return Err(format!("`{name}` is an ad-hoc service; stop it before the manifest can use the name"));
                }
                None => {
                    self.services.insert(name.clone(), Svc::new(name, config.clone(), hash, None));
                }
            }
        }
        self.spec = Some(loaded.spec);
        self.graph = Some(loaded.graph);
        Ok(())
    }

    fn check_names(&self, names: &[String]) -> Result<(), String> {
        for name in names {
            if !self.services.contains_key(name) {
                let known: Vec<&str> = self.services.keys().map(String::as_str).collect();
                return Err(format!("no service named `{name}` (services: {})", known.join(", ")));
            }
        }
        Ok(())
    }

    fn up(
        &mut self,
        origin: Origin,
        names: &[String],
        wait: bool,
        reply: UnboundedSender<Reply>,
    ) -> Result<(), String> {
        self.load(origin)?;
        self.check_names(names)?;
        let targets = self.with_dependencies(names);
        for name in &targets {
            let explicit = names.contains(name);
            let Some(svc) = self.services.get_mut(name) else {
                continue;
            };
            svc.desired = Desired::Up;
            let rerun = match svc.phase {
                Phase::Stopped | Phase::Failed | Phase::Fatal | Phase::Blocked => true,
                // A oneshot that already did its work is done, unless it is asked for by name.
                Phase::Completed => explicit,
                _ => false,
            };
            if rerun {
                svc.restarts = 0;
                svc.set_phase(Phase::Pending, None);
            }
        }
        self.wait_for(targets, WaiterKind::Up, wait, reply);
        Ok(())
    }

    fn down(&mut self, names: &[String], reply: UnboundedSender<Reply>) -> Result<(), String> {
        self.check_names(names)?;
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

    fn restart(&mut self, origin: Origin, names: &[String], reply: UnboundedSender<Reply>) -> Result<(), String> {
        self.load(origin)?;
        self.check_names(names)?;
        let names: Vec<String> =
            if names.is_empty() { self.services.keys().cloned().collect() } else { names.to_vec() };
        for name in &names {
            let Some(svc) = self.services.get_mut(name) else {
                continue;
            };
            svc.desired = Desired::Up;
            svc.restarts = 0;
            if svc.phase.has_process() {
                self.begin_stop(name);
            } else if svc.phase != Phase::Pending {
                svc.generation += 1;
                svc.cancel_tasks();
                svc.set_phase(Phase::Pending, None);
            }
        }
        // Dependencies of what restarts must be up too.
        let targets = self.with_dependencies(&names);
        for name in &targets {
            if let Some(svc) = self.services.get_mut(name)
                && svc.desired == Desired::Down
            {
                svc.desired = Desired::Up;
                if !svc.phase.has_process() {
                    svc.set_phase(Phase::Pending, None);
                }
            }
        }
        self.wait_for(targets, WaiterKind::Up, true, reply);
        Ok(())
    }

    fn start_adhoc(&mut self, origin: Origin, adhoc: Adhoc, reply: UnboundedSender<Reply>) -> Result<(), String> {
        if self.spec.is_none() {
            // The project's [env] and .env apply to ad-hoc services too.
            self.load(origin.clone())?;
        }
        if !crate::manifest::is_valid_name(&adhoc.name) {
            return Err(format!("`{}` is not a valid service name (use letters, digits, `-` and `_`)", adhoc.name));
        }
        match self.services.get(&adhoc.name) {
            Some(svc) if svc.adhoc.is_none() => {
                return Err(format!(
                    "`{}` is a service of the manifest; use `orch start {}` without a command",
                    adhoc.name, adhoc.name
                ));
            }
            Some(svc) if svc.phase.has_process() || svc.phase.is_transient() => {
                return Err(format!("`{}` is already {}; stop it first", adhoc.name, svc.phase.as_str()));
            }
            _ => {}
        }
        let global = self.spec.as_ref().map(|s| s.env.clone()).unwrap_or_default();
        let config = adhoc.to_service(&global);
        let mut svc = Svc::new(&adhoc.name, config.clone(), config_hash(&config), Some(adhoc.clone()));
        svc.desired = Desired::Up;
        svc.set_phase(Phase::Pending, None);
        if self.base_env.is_empty() {
            self.base_env = origin.env;
        }
        let name = adhoc.name.clone();
        self.services.shift_remove(&name);
        self.services.insert(name.clone(), svc);
        self.wait_for(vec![name], WaiterKind::Up, true, reply);
        Ok(())
    }

    fn ps(&mut self, names: &[String]) -> Reply {
        if let Err(message) = self.check_names(names) {
            return Reply::Error { message };
        }
        let pgids: Vec<i32> = self.services.values().filter_map(Svc::pgid).collect();
        let usage = process::group_usage(&pgids);
        let now = Instant::now();
        let mut rows = Vec::new();
        for svc in self.services.values_mut() {
            if !names.is_empty() && !names.contains(&svc.name) {
                continue;
            }
            let sample = svc.pgid().filter(|_| svc.phase.has_process()).and_then(|pgid| usage.get(&pgid)).copied();
            let cpu = sample.map(|u| {
                // Since the last `ps`, or since the start for the first one.
                let (since, before) = svc.cpu_sample.unwrap_or((svc.started.map_or(now, |(at, _)| at), 0.0));
                let wall = now.duration_since(since).as_secs_f64();
                svc.cpu_sample = Some((now, u.cpu_secs));
                if wall > 0.0 { ((u.cpu_secs - before) / wall * 100.0).max(0.0) } else { 0.0 }
            });
            rows.push(svc.status(cpu, sample.map(|u| u.rss_bytes)));
        }
        Reply::Ps { services: rows }
    }

    /// Answers once the targets settle; with `wait` false, as soon as they were started
    /// (after this batch of events, so the answer says `starting` rather than `pending`).
    fn wait_for(&mut self, targets: Vec<String>, kind: WaiterKind, wait: bool, reply: UnboundedSender<Reply>) {
        let kind = if wait { kind } else { WaiterKind::Accepted };
        self.waiters.push(Waiter::new(targets, kind, reply));
    }

    fn mark_down(&mut self, targets: &[String]) {
        for name in targets {
            if let Some(svc) = self.services.get_mut(name) {
                svc.desired = Desired::Down;
            }
        }
    }

    // ----- graph ----------------------------------------------------------------------------

    /// The named services (all when empty) and what they depend on, dependencies first.
    fn with_dependencies(&self, names: &[String]) -> Vec<String> {
        let Some(graph) = &self.graph else {
            return names.to_vec();
        };
        let mut out = if names.is_empty() {
            graph.start_order()
        } else {
            graph.with_dependencies(names.iter().map(String::as_str))
        };
        // Ad-hoc services are outside the graph.
        append_missing(&mut out, names.iter());
        out
    }

    /// The named services and everything that depends on them, dependents first.
    fn with_dependents(&self, names: &[String]) -> Vec<String> {
        let Some(graph) = &self.graph else {
            return names.to_vec();
        };
        let mut out = graph.with_dependents(names.iter().map(String::as_str));
        append_missing(&mut out, names.iter());
        out
    }

    /// Manifest services in start order, then ad-hoc ones.
    fn start_order(&self) -> Vec<String> {
        let mut order = self.graph.as_ref().map(Graph::start_order).unwrap_or_default();
        order.retain(|n| self.services.contains_key(n));
        append_missing(&mut order, self.services.keys());
        order
    }

    // ----- advancing ------------------------------------------------------------------------

    /// Starts what may start and stops what should stop until nothing moves, then tells the
    /// waiting clients.
    fn advance(&mut self) {
        let order = self.start_order();
        loop {
            let mut moved = false;
            for name in &order {
                moved |= self.advance_start(name);
            }
            for name in order.iter().rev() {
                moved |= self.advance_stop(name);
            }
            if !moved {
                break;
            }
            self.dirty = true;
        }
        let services = &self.services;
        let paths = &self.paths;
        self.waiters.retain_mut(|w| w.update(services, paths));
    }

    fn advance_start(&mut self, name: &str) -> bool {
        let Some(svc) = self.services.get(name) else {
            return false;
        };
        if svc.desired != Desired::Up || svc.phase != Phase::Pending {
            return false;
        }
        match self.dependencies_allow(svc) {
            DepCheck::Wait => false,
            DepCheck::Go => {
                self.spawn(name);
                true
            }
            DepCheck::Blocked(reason) => {
                if let Some(svc) = self.services.get_mut(name) {
                    svc.set_phase(Phase::Blocked, Some(reason));
                }
                true
            }
        }
    }

    fn dependencies_allow(&self, svc: &Svc) -> DepCheck {
        let mut check = DepCheck::Go;
        for (dep, edge) in &svc.config.depends_on {
            let Some(d) = self.services.get(dep) else {
                continue;
            };
            if d.phase.satisfies(edge.condition) {
                continue;
            }
            if d.phase.is_failure() || (d.phase == Phase::Stopped && d.desired == Desired::Up) {
                let what = match d.phase {
                    Phase::Blocked => "is blocked",
                    Phase::Stopped => "stopped",
                    _ => "failed",
                };
                return DepCheck::Blocked(format!("{dep} {what}"));
            }
            if d.desired == Desired::Down && !d.phase.is_transient() {
                return DepCheck::Blocked(format!("{dep} is stopped"));
            }
            if edge.condition == Condition::Completed && d.phase == Phase::Stopped {
                return DepCheck::Blocked(format!("{dep} did not complete"));
            }
            check = DepCheck::Wait;
        }
        check
    }

    fn advance_stop(&mut self, name: &str) -> bool {
        let Some(svc) = self.services.get(name) else {
            return false;
        };
        if svc.desired != Desired::Down || svc.phase == Phase::Stopped || svc.phase == Phase::Stopping {
            return false;
        }
        if !svc.phase.has_process() {
            let svc = &mut self.services[name];
            svc.generation += 1;
            svc.cancel_tasks();
            svc.set_phase(Phase::Stopped, None);
            return true;
        }
        // Dependents first: wait while anything that depends on it still runs.
        let dependents_live = self.services.values().any(|other| {
            other.config.depends_on.contains_key(name) && other.phase.has_process() && other.desired == Desired::Down
        });
        if dependents_live {
            return false;
        }
        self.begin_stop(name);
        true
    }

    // ----- processes ------------------------------------------------------------------------

    fn spawn(&mut self, name: &str) {
        let env = self.child_env(name);
        let log_dir = self.paths.logs();
        let project_id = self.project_id.clone();
        let tx = self.tx.clone();
        let reaper = self.reaper.clone();
        let leaders = self.leaders.clone();
        let http = self.http.clone();
        let output = self.output.clone();
        let svc = &mut self.services[name];
        svc.generation += 1;
        svc.cancel_tasks();
        let generation = svc.generation;
        let writer = match &svc.log {
            Some(w) => w.clone(),
            None => match LogWriter::open(&log_dir, name, svc.config.log) {
                Ok(w) => {
                    let w = Arc::new(Mutex::new(w));
                    svc.log = Some(w.clone());
                    w
                }
                Err(e) => {
                    let reason = format!("cannot open its log file: {e}");
                    apply_verdict(svc, after_exit(svc.policy(), svc.restarts, Duration::ZERO, None, Some(reason)), &tx);
                    return;
                }
            },
        };
        let argv = svc.config.cmd.argv();
        let request = SpawnRequest { argv: &argv, cwd: &svc.config.cwd, env: &env, capture: true };
        let spawned = match process::spawn(&request) {
            Ok(spawned) => spawned,
            Err(e) => {
                let reason = format!("cannot start `{}`: {e}", argv.join(" "));
                output.notice(name, &reason);
                svc.started = Some((Instant::now(), SystemTime::now()));
                apply_verdict(svc, after_exit(svc.policy(), svc.restarts, Duration::ZERO, None, Some(reason)), &tx);
                return;
            }
        };
        let pid = spawned.identity.pid;
        // Registered before any await, so the reaper cannot take the exit unseen.
        let exit = reaper.watch(pid);
        leaders.lock().unwrap_or_else(|e| e.into_inner()).insert(pid);
        svc.process = Some(spawned.identity);
        svc.started = Some((Instant::now(), SystemTime::now()));
        svc.ready_after = None;
        svc.last_exit = None;
        svc.failed_start = None;
        svc.set_phase(Phase::Starting, None);
        output.notice(name, &format!("started (pid {pid})"));

        let log_check = match &svc.config.ready {
            Some(Ready::Log(pattern)) => regex::bytes::Regex::new(pattern).ok(),
            _ => None,
        };
        let sink =
            LineSink { service: name.to_owned(), generation, ready: log_check.map(Arc::new), tx: tx.clone(), output };
        if let Some(stdout) = spawned.stdout {
            tokio::spawn(pump(stdout, Stream::Out, writer.clone(), sink.clone().into_fn(Stream::Out)));
        }
        if let Some(stderr) = spawned.stderr {
            tokio::spawn(pump(stderr, Stream::Err, writer, sink.into_fn(Stream::Err)));
        }
        let cleanup = Cleanup {
            project: project_id,
            service: name.to_owned(),
            pgid: pid,
            signal: svc.config.stop_signal.0,
            timeout: svc.config.stop_timeout.0,
            leaders,
        };
        let exit_tx = tx.clone();
        let service = name.to_owned();
        tokio::spawn(async move {
            let exit = exit.await.unwrap_or(Exit::Code(-1));
            cleanup.run().await;
            let _ = exit_tx.send(Msg::Exited { service, generation, exit });
        });

        match svc.config.ready.clone() {
            None if !svc.config.oneshot => {
                svc.ready_after = Some(Duration::ZERO);
                svc.set_phase(Phase::Running, None);
            }
            None => {}
            Some(check) => {
                let ctx = ProbeContext { cwd: svc.config.cwd.clone(), env, reaper, http };
                let timeout = svc.config.ready_timeout.0;
                let service = name.to_owned();
                let probe = tokio::spawn(async move {
                    let msg = match tokio::time::timeout(timeout, probe::wait_until_ready(&check, &ctx)).await {
                        Ok(()) => Msg::Ready { service, generation },
                        Err(_) => Msg::ReadyTimeout { service, generation },
                    };
                    let _ = tx.send(msg);
                });
                svc.tasks.push(probe.abort_handle());
            }
        }
    }

    /// orch's environment (as the client that sent the manifest had it), the service's
    /// variables over it, and the markers that identify the project's processes.
    fn child_env(&self, name: &str) -> Vec<(String, String)> {
        let mut env: IndexMap<String, String> = self.base_env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(svc) = self.services.get(name) {
            env.extend(svc.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        env.insert(process::PROJECT_VAR.into(), self.project_id.clone());
        env.insert(process::SERVICE_VAR.into(), name.to_owned());
        env.into_iter().collect()
    }

    fn begin_stop(&mut self, name: &str) {
        let tx = self.tx.clone();
        let Some(svc) = self.services.get_mut(name) else {
            return;
        };
        svc.cancel_tasks();
        let reason = svc.failed_start.clone();
        svc.set_phase(Phase::Stopping, reason);
        let Some(pgid) = svc.pgid() else { return };
        let _ = process::signal_group(pgid, svc.config.stop_signal.0);
        let (service, generation, timeout) = (name.to_owned(), svc.generation, svc.config.stop_timeout.0);
        let timer = tokio::spawn(async move {
            sleep(timeout).await;
            let _ = tx.send(Msg::StopTimeout { service, generation });
        });
        svc.tasks.push(timer.abort_handle());
    }

    fn on_ready(&mut self, name: &str, generation: u64) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        if matches!(svc.phase, Phase::Starting | Phase::Running) {
            svc.cancel_tasks();
            let took = svc.uptime();
            svc.ready_after = Some(took);
            svc.set_phase(Phase::Ready, None);
            self.output.notice(name, &format!("ready in {}ms", took.as_millis()));
        }
    }

    fn on_ready_timeout(&mut self, name: &str, generation: u64) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        if svc.phase != Phase::Starting {
            return;
        }
        let check = svc.config.ready.as_ref().map(probe::describe).unwrap_or_default();
        let reason = format!("ready check {check} did not pass within {}", svc.config.ready_timeout);
        svc.failed_start = Some(reason.clone());
        self.output.notice(name, &reason);
        self.begin_stop(name);
    }

    fn on_exit(&mut self, name: &str, generation: u64, exit: Exit) {
        let tx = self.tx.clone();
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        svc.cancel_tasks();
        svc.process = None;
        svc.last_exit = Some(exit);
        let uptime = svc.uptime();
        if svc.phase == Phase::Stopping {
            let output = self.output.clone();
            let Some(svc) = self.services.get_mut(name) else { return };
            if svc.failed_start.is_none() {
                output.notice(name, &format!("stopped ({exit})"));
            }
            if let Some(reason) = svc.failed_start.take() {
                let verdict = after_exit(svc.policy(), svc.restarts, uptime, None, Some(reason));
                apply_verdict(svc, verdict, &tx);
            } else if svc.desired == Desired::Up {
                // A restart: stopped, and wanted again.
                svc.set_phase(Phase::Stopped, None);
                svc.set_phase(Phase::Pending, None);
            } else {
                svc.set_phase(Phase::Stopped, None);
            }
            return;
        }
        if svc.desired == Desired::Down {
            svc.set_phase(Phase::Stopped, None);
            return;
        }
        let verdict = after_exit(svc.policy(), svc.restarts, uptime, Some(exit), None);
        if verdict.phase == Phase::Completed {
            svc.ready_after = Some(uptime);
        }
        let line = match &verdict.reason {
            Some(reason) if verdict.phase == Phase::Backoff => {
                format!("{reason}; restarting in {}ms", verdict.delay.unwrap_or_default().as_millis())
            }
            Some(reason) => reason.clone(),
            None => exit.to_string(),
        };
        self.output.notice(name, &line);
        let Some(svc) = self.services.get_mut(name) else {
            return;
        };
        apply_verdict(svc, verdict, &tx);
    }
}

/// Appends the names not in `list` yet, in their order.
fn append_missing<'a>(list: &mut Vec<String>, names: impl Iterator<Item = &'a String>) {
    let missing: Vec<String> = names.filter(|n| !list.contains(n)).cloned().collect();
    list.extend(missing);
}

enum DepCheck {
    Go,
    Wait,
    Blocked(String),
}

/// Moves a service to what the restart policy decided, arming the backoff timer.
fn apply_verdict(svc: &mut Svc, verdict: Verdict, tx: &UnboundedSender<Msg>) {
    svc.restarts = verdict.restarts;
    svc.set_phase(verdict.phase, verdict.reason);
    svc.backoff_until = verdict.delay.map(|delay| Instant::now() + delay);
    if let Some(delay) = verdict.delay {
        let (service, generation, tx) = (svc.name.clone(), svc.generation, tx.clone());
        let timer = tokio::spawn(async move {
            sleep(delay).await;
            let _ = tx.send(Msg::BackoffDone { service, generation });
        });
        svc.tasks.push(timer.abort_handle());
    }
}

/// The hash of what, when it changes, means the service must be restarted.
pub fn config_hash(config: &manifest::Service) -> String {
    let mut hashed = config.clone();
    hashed.depends_on.clear();
    let json = serde_json::to_vec(&hashed).unwrap_or_default();
    crate::hash::fnv1a_hex(&json)
}

/// What a log pump does with each line besides writing it: the `log` readiness check, and
/// the foreground's merged output.
#[derive(Clone)]
struct LineSink {
    service: String,
    generation: u64,
    ready: Option<Arc<regex::bytes::Regex>>,
    tx: UnboundedSender<Msg>,
    output: Output,
}

impl LineSink {
    fn into_fn(mut self, stream: Stream) -> impl FnMut(&[u8]) + Send + 'static {
        move |line: &[u8]| {
            self.output.line(&self.service, stream, line);
            if self.ready.as_ref().is_some_and(|re| re.is_match(line)) {
                self.ready = None;
                let _ = self.tx.send(Msg::Ready { service: self.service.clone(), generation: self.generation });
            }
        }
    }
}

/// After a service's leader ended: the rest of its process group, and any process of the
/// service that escaped the group, get the stop signal and then SIGKILL, so nothing is left.
struct Cleanup {
    project: String,
    service: String,
    pgid: i32,
    signal: Signal,
    timeout: Duration,
    leaders: Arc<Mutex<HashSet<i32>>>,
}

impl Cleanup {
    async fn run(self) {
        stop_group(self.pgid, self.signal, self.timeout).await;
        let escaped = {
            let mut leaders = self.leaders.lock().unwrap_or_else(|e| e.into_inner());
            leaders.remove(&self.pgid);
            process::escaped(&self.project, &self.service, self.pgid, &leaders)
        };
        for pid in escaped {
            // Each escaped process leads a group of its own (it called setsid).
            let group = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))).map_or(pid, |g| g.as_raw());
            stop_group(group, self.signal, self.timeout).await;
            process::signal_process(pid, Signal::SIGKILL);
        }
    }
}

/// Signals a group and waits until it is empty, SIGKILL after `timeout`.
async fn stop_group(pgid: i32, signal: Signal, timeout: Duration) {
    if !process::group_alive(pgid) {
        return;
    }
    let _ = process::signal_group(pgid, signal);
    if wait_group_empty(pgid, timeout).await {
        return;
    }
    let _ = process::signal_group(pgid, Signal::SIGKILL);
    wait_group_empty(pgid, Duration::from_secs(5)).await;
}

/// Polls (5 ms, doubling to 50 ms) until the group is empty; false if `limit` passed first.
async fn wait_group_empty(pgid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(5);
    while process::group_alive(pgid) {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    true
}
