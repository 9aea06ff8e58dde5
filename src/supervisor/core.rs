//! The supervisor's state machine executor: one task that owns every service and reacts to
//! events (a request, a child's exit, a probe's result, a timer) — never polling. Each event
//! about a service is an input to its lifecycle machine (`machine::step`, through `drive` in
//! outcomes.rs); `advance` then offers a start to what is pending and a stop to what is wanted
//! down, in dependency order, until nothing more can move.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::health::Health;
use super::machine::Input;
use super::output::Output;
use super::service::Svc;
use super::waiters::Waiter;
use super::watch::Watch;
use crate::graph::Graph;
use crate::ipc::{Origin, Reply, Request};
use crate::manifest::{BaseEnv, Spec};
use crate::model::{Phase, Pid, ProcessExit};
use crate::paths::ProjectPaths;
use crate::state::{Desired, State};
use crate::sys::Os;

/// What reaches the supervisor's task.
pub(crate) enum Msg {
    Request(Request, UnboundedSender<Reply>),
    /// The group of a service's process is empty; `exit` is how its leader ended, `killed`
    /// whether what was left of the group had to be SIGKILLed.
    Exited {
        service: String,
        generation: u64,
        exit: ProcessExit,
        killed: bool,
    },
    Ready {
        service: String,
        generation: u64,
    },
    ReadyTimeout {
        service: String,
        generation: u64,
    },
    /// What a failing readiness check saw, when that changed.
    ProbeSaw {
        service: String,
        generation: u64,
        saw: String,
    },
    /// A process with no readiness check has stayed up `min_uptime`.
    Confirmed {
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
    /// A watched file changed.
    FilesChanged,
    /// The watched files have been quiet since change number `generation`: reload.
    Reload {
        generation: u64,
    },
    /// A line a service sent on its notify socket (`READY=1`, `STATUS=…`).
    Notify {
        service: String,
        line: String,
    },
    /// A file a service watches changed (its path relative to the service's folder).
    SourceChanged {
        service: String,
        path: std::path::PathBuf,
    },
    /// A service's watched files have been quiet since its change number `generation`.
    SourceQuiet {
        service: String,
        generation: u64,
    },
    /// A folder appeared where watched files may be: watch it too.
    SourceFolder(std::path::PathBuf),
    /// A scheduled oneshot's time has come.
    ScheduleDue {
        service: String,
    },
    /// One try of a running service's health check: passed, or what it saw.
    Health {
        service: String,
        generation: u64,
        result: Result<(), String>,
    },
    /// SIGINT, SIGTERM (or SIGHUP in the foreground): stop everything and exit.
    Shutdown,
    /// Time to save the state file that was left unsaved (see `SAVE_EVERY`).
    Save,
}

impl Msg {
    /// The service an event is about; None for requests and project-wide events.
    fn service(&self) -> Option<&str> {
        match self {
            Msg::Exited { service, .. }
            | Msg::Ready { service, .. }
            | Msg::ReadyTimeout { service, .. }
            | Msg::ProbeSaw { service, .. }
            | Msg::Confirmed { service, .. }
            | Msg::StopTimeout { service, .. }
            | Msg::BackoffDone { service, .. }
            | Msg::Notify { service, .. }
            | Msg::SourceChanged { service, .. }
            | Msg::SourceQuiet { service, .. }
            | Msg::Health { service, .. }
            | Msg::ScheduleDue { service } => Some(service),
            Msg::Request(..)
            | Msg::FilesChanged
            | Msg::Reload { .. }
            | Msg::SourceFolder(_)
            | Msg::Shutdown
            | Msg::Save => None,
        }
    }
}

/// A digest of the state file's text, to tell whether it changed (within one supervisor only).
fn digest_of(text: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// How often the state file is saved while only exits and phase changes happen: a stop of a
/// deep chain is one exit after another, and each save writes every service. A spawn (a new pid
/// the record must hold, so that nothing runs twice after a crash) or a request is saved at once.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

#[expect(
    clippy::struct_excessive_bools,
    reason = "the save and watch flags are independent of each other, not states of one thing"
)]
pub(crate) struct Supervisor {
    pub(super) paths: ProjectPaths,
    /// The value of ORCH_PROJECT on every child.
    pub(super) project_id: String,
    pub(super) spec: Option<Spec>,
    pub(super) graph: Option<Graph>,
    /// The environment of the client that last sent the manifest: the base of every service's.
    pub(super) base_env: BaseEnv,
    pub(super) services: IndexMap<String, Svc>,
    pub(super) tx: UnboundedSender<Msg>,
    /// Every process the supervisor starts, signals or reads about goes through it.
    pub(super) os: Arc<dyn Os>,
    /// Made at the first http check: most projects have none, and a client costs memory.
    pub(super) http: std::sync::OnceLock<reqwest::Client>,
    /// Pids of the live group leaders, so the search for escaped processes skips them.
    pub(super) leaders: Arc<Mutex<HashSet<Pid>>>,
    pub(super) waiters: Vec<Waiter>,
    pub(super) output: Output,
    pub(super) dirty: bool,
    /// What is unsaved must be saved now: a spawn, a request.
    pub(super) urgent: bool,
    pub(super) last_save: Option<std::time::Instant>,
    /// A digest of the state file's text as last written, so an unchanged state is not written.
    pub(super) saved_digest: Option<u64>,
    /// A `Msg::Save` is on its way.
    pub(super) save_due: bool,
    /// The services an event was about since the last `advance`: only they and their
    /// neighbours can move (see `advance`), unless `full_scan`.
    pub(super) touched: HashSet<String>,
    /// A request or a reload changed what is wanted: `advance` looks at every service.
    pub(super) full_scan: bool,
    /// A full `down` (or a shutdown) asked the supervisor to exit once everything stopped.
    pub(super) exit_when_stopped: bool,
    /// Where the manifest came from, and with which environment: what a reload loads again.
    pub(super) origin: Option<Origin>,
    /// Why the last reload changed nothing, until a save fixes it; shown by `ps`.
    pub(super) reload_error: Option<String>,
    /// Watching asked for by `up` (not `--no-watch`); the manifest's `watch` can still say no.
    pub(super) watch_requested: bool,
    /// The profiles the last `up` made active: a service added to the manifest meanwhile is
    /// started by a reload only when it is in them (or in none).
    pub(super) profiles: Vec<String>,
    pub(super) watch_enabled: bool,
    /// Counts batches of file changes, so only the last one of a burst reloads.
    pub(super) changes: u64,
    /// The batch of changes whose reload found the manifest empty and waits once more.
    pub(super) empty_manifest_at: Option<u64>,
    /// Requests waiting for a `down` under way to finish (see `defers`).
    pub(super) deferred: VecDeque<(Request, UnboundedSender<Reply>)>,
    pub(super) watch: Option<Watch>,
    /// The files the watch is to be aimed at, after the spawns now under way.
    pub(super) watch_wanted: Option<Vec<std::path::PathBuf>>,
    /// What the services' `watch` keys name (restart on source change); None while none does.
    pub(super) source_watch: Option<super::source_watch::SourceWatch>,
    /// Each service's changes not yet acted on (see `restart_on_change.rs`).
    pub(super) source_bursts: HashMap<String, super::restart_on_change::Burst>,
    /// Oneshots running again for a change: once one completes, what waits for it restarts.
    pub(super) source_reruns: HashSet<String>,
    /// The timers of the scheduled oneshots (see `schedule.rs`).
    pub(super) schedules: super::schedule::Schedules,
    /// An `up` asked for the project: its schedules run.
    pub(super) scheduling: bool,
    pub(super) health: Health,
    /// Replicas asked for by `orch scale` or an `up --scale`, over the manifest's `scale`.
    pub(super) scale: IndexMap<String, u32>,
    /// The rolling restarts under way, a group each.
    pub(super) rollouts: Vec<super::rolling::Rollout>,
}

impl Supervisor {
    pub(crate) fn new(paths: ProjectPaths, tx: UnboundedSender<Msg>, os: Arc<dyn Os>, output: Output) -> Self {
        Self {
            project_id: paths.root.display().to_string(),
            paths,
            spec: None,
            graph: None,
            // Until a client sends its own: the supervisor's, less its own marker.
            base_env: std::env::vars().filter(|(k, _)| k != super::SUPERVISOR_VAR).collect(),
            services: IndexMap::new(),
            tx,
            os,
            http: std::sync::OnceLock::new(),
            leaders: Arc::default(),
            waiters: Vec::new(),
            output,
            dirty: true,
            urgent: true,
            last_save: None,
            saved_digest: None,
            save_due: false,
            touched: HashSet::new(),
            full_scan: true,
            exit_when_stopped: false,
            origin: None,
            reload_error: None,
            watch_requested: true,
            profiles: Vec::new(),
            watch_enabled: true,
            changes: 0,
            empty_manifest_at: None,
            deferred: VecDeque::new(),
            watch: None,
            watch_wanted: None,
            source_watch: None,
            source_bursts: HashMap::new(),
            source_reruns: HashSet::new(),
            schedules: super::schedule::Schedules::default(),
            scheduling: false,
            health: Health::default(),
            scale: IndexMap::new(),
            rollouts: Vec::new(),
        }
    }

    /// Runs until the supervisor has nothing left to supervise after a `down`.
    pub(crate) async fn run(mut self, mut rx: UnboundedReceiver<Msg>) {
        // What recovery left pending starts now, not at the first request.
        self.advance();
        self.aim_watch();
        self.save_now();
        while let Some(msg) = rx.recv().await {
            self.handle(msg);
            // Take everything that is already queued before the (fsync'ed) state write.
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            self.advance();
            self.run_deferred();
            self.aim_watch();
            self.persist();
            if self.should_exit() {
                break;
            }
        }
        self.save_now();
        self.output.say("down: every service stopped; the supervisor exits");
        for svc in self.services.values() {
            if let Some((path, _)) = &svc.notify {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    pub(super) fn should_exit(&self) -> bool {
        self.exit_when_stopped
            && self.deferred.is_empty()
            && self.services.values().all(|s| s.phase() == Phase::Stopped)
    }

    /// A request that starts services, sent while a `down` or `stop` is under way, waits for
    /// it to finish: requests take effect in the order they came, so a `down` racing an `up`
    /// ends with the `up` applied in full, never half of each.
    fn defers(&self, request: &Request) -> bool {
        let starts = matches!(
            request,
            Request::Up { dry_run: false, .. } | Request::Restart { .. } | Request::StartAdhoc { .. }
        );
        starts && (self.waiters.iter().any(Waiter::is_down) || !self.deferred.is_empty())
    }

    /// Handles the deferred requests once no `down` is under way any more.
    fn run_deferred(&mut self) {
        while !self.waiters.iter().any(Waiter::is_down) {
            let Some((request, reply)) = self.deferred.pop_front() else { break };
            self.request(request, reply);
            self.advance();
        }
    }

    /// Saves the state file if anything changed: at once when it is urgent, else at most every
    /// `SAVE_EVERY` (a timer saves what is left), and after a stop rather than during it.
    pub(super) fn persist(&mut self) {
        if !self.dirty {
            return;
        }
        // While a stop or down is under way, services are only stopping: a crash midway leaves
        // records of processes that are gone, which recovery tells apart from those that run.
        // So the file is written once when it is over, not a thousand services at a time.
        if !self.urgent && self.waiters.iter().any(Waiter::is_down) {
            return;
        }
        let recent = self.last_save.is_some_and(|at| at.elapsed() < SAVE_EVERY);
        if recent && !self.urgent {
            if !self.save_due {
                self.save_due = true;
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(SAVE_EVERY).await;
                    let _ = tx.send(Msg::Save);
                });
            }
            return;
        }
        self.save_now();
    }

    pub(super) fn save_now(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.urgent = false;
        self.last_save = Some(std::time::Instant::now());
        let mut state = State::new();
        state.supervisor = self.os.identity_of(self.os.own_pid());
        state.manifest = self.origin.as_ref().and_then(|o| o.manifest.clone());
        state.watch = Some(self.watch_requested);
        state.services = self.services.iter().map(|(n, s)| (n.clone(), s.record())).collect();
        let text = match state.encode() {
            Ok(text) => text,
            Err(e) => return self.saved(Err(e)),
        };
        // What is on disk already (a `up` that changed nothing) is not written and fsynced again.
        let digest = digest_of(&text);
        if self.saved_digest == Some(digest) {
            return;
        }
        let result = State::write(&self.paths.state(), &text);
        self.saved_digest = result.is_ok().then_some(digest);
        self.saved(result);
    }

    pub(super) fn handle(&mut self, msg: Msg) {
        // Questions change nothing: no state write (and its fsync) for them.
        let question = matches!(msg, Msg::Request(Request::Ps { .. } | Request::Hello, _));
        self.dirty |= !question;
        self.urgent |= matches!(msg, Msg::Request(..)) && !question;
        match msg.service() {
            Some(service) => drop(self.touched.insert(service.to_owned())),
            None => self.full_scan |= !matches!(msg, Msg::Save) && !question,
        }
        match msg {
            Msg::Request(request, reply) if self.defers(&request) => self.deferred.push_back((request, reply)),
            Msg::Request(request, reply) => self.request(request, reply),
            Msg::Exited { service, generation, exit, killed } => self.on_exit(&service, generation, exit, killed),
            Msg::Ready { service, generation } => self.drive_current(&service, generation, Input::Ready),
            Msg::ReadyTimeout { service, generation } => self.drive_current(&service, generation, Input::ReadyTimeout),
            Msg::ProbeSaw { service, generation, saw } => {
                self.drive_current(&service, generation, Input::ProbeSaw(saw));
            }
            Msg::Confirmed { service, generation } => {
                self.drive_current(&service, generation, Input::MinUptimePassed);
            }
            Msg::StopTimeout { service, generation } => self.drive_current(&service, generation, Input::StopTimeout),
            Msg::BackoffDone { service, generation } => {
                self.drive_current(&service, generation, Input::BackoffElapsed);
            }
            Msg::FilesChanged => self.files_changed(),
            Msg::SourceChanged { service, path } => self.source_changed(&service, path),
            Msg::SourceQuiet { service, generation } => self.source_quiet(&service, generation),
            Msg::Health { service, generation, result } => self.health_result(&service, generation, result),
            Msg::ScheduleDue { service } => self.schedule_due(&service),
            Msg::SourceFolder(folder) => {
                if let Some(watch) = &mut self.source_watch {
                    watch.add_folder(&folder);
                }
            }
            Msg::Reload { generation } => {
                if generation == self.changes {
                    self.reload();
                }
            }
            Msg::Notify { service, line } => self.on_notify(&service, &line),
            Msg::Save => self.save_due = false,
            Msg::Shutdown => {
                let all: Vec<String> = self.services.keys().cloned().collect();
                self.mark_down(&all);
                self.exit_when_stopped = true;
            }
        }
    }

    pub(super) fn current(&self, name: &str, generation: u64) -> Option<&Svc> {
        self.services.get(name).filter(|s| s.generation == generation)
    }

    pub(super) fn current_mut(&mut self, name: &str, generation: u64) -> Option<&mut Svc> {
        self.services.get_mut(name).filter(|s| s.generation == generation)
    }

    // ----- graph ----------------------------------------------------------------------------

    /// The named services (all when empty) and what they depend on, dependencies first.
    pub(super) fn with_dependencies(&self, names: &[String]) -> Vec<String> {
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
    pub(super) fn with_dependents(&self, names: &[String]) -> Vec<String> {
        let Some(graph) = &self.graph else {
            return names.to_vec();
        };
        let mut out = graph.with_dependents(names.iter().map(String::as_str));
        append_missing(&mut out, names.iter());
        out
    }

    /// Manifest services in start order, then ad-hoc ones.
    pub(super) fn start_order(&self) -> Vec<String> {
        let mut order = self.graph.as_ref().map(Graph::start_order).unwrap_or_default();
        order.retain(|n| self.services.contains_key(n));
        append_missing(&mut order, self.services.keys());
        order
    }

    // ----- advancing ------------------------------------------------------------------------

    /// Starts what may start and stops what should stop until nothing moves, then tells the
    /// waiting clients, then forgets what is gone for good.
    ///
    /// Event-driven: a service can only move when it or one of its neighbours (dependencies,
    /// dependents) changed, so after an event about one service only that neighbourhood is
    /// looked at, and after each round of moves only the neighbourhood of what moved. A long
    /// `down` of a deep chain is then linear in the number of services. A request or a reload
    /// changes what is wanted, and looks at everything.
    pub(super) fn advance(&mut self) {
        let full = std::mem::take(&mut self.full_scan);
        let touched = std::mem::take(&mut self.touched);
        let mut changed: HashSet<String> = touched.clone();
        let mut look_at = (!full).then(|| self.around(&touched));
        // Services no longer in the manifest are not in the graph: their edges are looked up
        // in their own configuration.
        let removed: Vec<String> = self.services.values().filter(|s| s.removed).map(|s| s.name.clone()).collect();
        loop {
            let order = self.movable_in_start_order(look_at.as_ref());
            let mut moved = HashSet::new();
            for name in &order {
                if self.advance_start(name) {
                    moved.insert(name.clone());
                }
            }
            for name in order.iter().rev() {
                if self.advance_stop(name, &removed) {
                    moved.insert(name.clone());
                }
            }
            if !self.rollouts.is_empty() {
                moved.extend(self.advance_rollouts());
            }
            if moved.is_empty() {
                break;
            }
            self.dirty = true;
            if look_at.is_some() {
                look_at = Some(self.around(&moved));
            }
            changed.extend(moved);
        }
        let exiting = self.should_exit();
        let services = &self.services;
        let paths = &self.paths;
        let changed = (!full).then_some(&changed);
        self.waiters.retain_mut(|w| w.update(services, paths, exiting, changed));
        let before = self.services.len();
        self.services.retain(|_, s| !s.is_gone());
        self.dirty |= self.services.len() != before;
    }

    /// These services, what they depend on, and what depends on them (removed services too,
    /// which are outside the graph).
    fn around(&self, names: &HashSet<String>) -> HashSet<String> {
        let mut out = names.clone();
        for name in names {
            if let Some(graph) = &self.graph {
                out.extend(graph.dependents(name));
                out.extend(graph.dependencies(name));
            }
            if let Some(svc) = self.services.get(name) {
                out.extend(svc.config.depends_on.keys().cloned());
            }
        }
        out.extend(self.services.values().filter(|s| s.removed).map(|s| s.name.clone()));
        out
    }

    /// The services that may move now (pending and wanted up, or wanted down and not stopped
    /// yet), in start order, among `among` (all when None). Nothing else can move in one round:
    /// a move only ever takes a service out of these states.
    fn movable_in_start_order(&self, among: Option<&HashSet<String>>) -> Vec<String> {
        let movable: HashSet<&str> = match among {
            Some(names) => names
                .iter()
                .filter(|n| self.services.get(n.as_str()).is_some_and(Svc::may_move))
                .map(String::as_str)
                .collect(),
            None => self.services.values().filter(|s| s.may_move()).map(|s| s.name.as_str()).collect(),
        };
        if movable.is_empty() {
            return Vec::new();
        }
        let mut order: Vec<String> = match &self.graph {
            Some(graph) if movable.len() > 1 => {
                graph.start_order_iter().filter(|n| movable.contains(n.as_str())).cloned().collect()
            }
            _ => Vec::new(),
        };
        // What the graph does not have (ad-hoc services), in the order they came.
        let listed: HashSet<&str> = order.iter().map(String::as_str).collect();
        let mut rest: Vec<&str> = movable.iter().copied().filter(|n| !listed.contains(n)).collect();
        rest.sort_by_key(|n| self.services.get_index_of(*n));
        let rest: Vec<String> = rest.into_iter().map(str::to_owned).collect();
        order.extend(rest);
        order
    }

    /// A pending service wanted up: its machine starts it, blocks it or has it wait.
    fn advance_start(&mut self, name: &str) -> bool {
        let Some(svc) = self.services.get(name) else {
            return false;
        };
        if svc.desired != Desired::Up || svc.phase() != Phase::Pending {
            return false;
        }
        self.drive(name, Input::DepsChanged)
    }

    fn advance_stop(&mut self, name: &str, removed: &[String]) -> bool {
        let Some(svc) = self.services.get(name) else {
            return false;
        };
        if svc.desired != Desired::Down || matches!(svc.phase(), Phase::Stopped | Phase::Stopping) {
            return false;
        }
        if svc.phase().has_process() {
            // Dependents first: wait while anything that depends on it still runs.
            let mut dependents = self.graph.as_ref().map(|g| g.dependents(name)).unwrap_or_default();
            dependents.extend(removed.iter().cloned());
            let dependents_live = dependents.iter().filter_map(|d| self.services.get(d)).any(|other| {
                other.config.depends_on.contains_key(name)
                    && other.phase().has_process()
                    && other.desired == Desired::Down
            });
            if dependents_live {
                return false;
            }
        }
        self.drive(name, Input::StopWanted)
    }
}

/// Appends the names not in `list` yet, in their order.
fn append_missing<'a>(list: &mut Vec<String>, names: impl Iterator<Item = &'a String>) {
    let present: HashSet<&String> = list.iter().collect();
    let missing: Vec<String> = names.filter(|n| !present.contains(n)).cloned().collect();
    list.extend(missing);
}
