//! The supervisor's side of a service's process: spawn it with its log pumps, exit watcher and
//! readiness probe; stop it; act on its readiness and its exit.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use tokio::net::unix::pipe::Receiver;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::machine::{Input, SpawnFailure};
use super::notify;
use super::outcomes::exec_failure;
use super::output::Output;
use super::probe::{self, ProbeContext};
use crate::logs::pump::pump;
use crate::logs::record::Stream;
use crate::logs::writer::{Episode, LogWriter};
use crate::manifest::Ready;
use crate::model::{Pid, ProcessExit};
use crate::sys::{Os, Signal, SpawnRequest};

impl Supervisor {
    /// Starts the service's process, with its log pumps and exit watcher; its machine learns
    /// the pid (and arms the readiness check), or why there is none.
    pub(super) fn spawn(&mut self, name: &str) {
        if let Err(e) = self.ensure_notify_socket(name) {
            return self.fail_start_io(name, "cannot create its notify socket", e);
        }
        if let Some(reason) = self.services.get(name).and_then(|s| pinned_port_taken(&s.config)) {
            return self.spawn_failed(name, reason, SpawnFailure::Retry);
        }
        if let Some(reason) = self.services.get(name).and_then(|s| missing_cwd(&s.config)) {
            return self.spawn_failed(name, reason, SpawnFailure::Retry);
        }
        let env = self.child_env(name);
        let writer = match self.log_writer(name) {
            Ok(writer) => writer,
            Err(e) => return self.fail_start_io(name, "cannot open its log file", e),
        };
        let seen_runs = self.restart_edge_runs(name);
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.generation += 1;
        svc.cancel_tasks();
        let cwd = &svc.config.cwd;
        let (program, argv) = exec_of(&svc.config.cmd, &env, cwd);
        let request = SpawnRequest { program: &program, argv: &argv, cwd, env: &env, capture: true };
        // The run's start is taken before the spawn: the process may run for a while before
        // the spawn returns (on a busy machine), and `ready in` must not count less than it ran.
        let spawning = Instant::now();
        let spawned = match self.os.spawn(&request) {
            Ok(spawned) => spawned,
            Err(e) => {
                return match exec_failure(&argv, &e) {
                    Some(reason) => self.spawn_failed(name, reason, SpawnFailure::Never),
                    None => self.fail_start_io(name, &format!("cannot start `{}`", argv.join(" ")), e),
                };
            }
        };
        let pid = spawned.identity.pid;
        // Registered before any await, so the reaper cannot take the exit unseen.
        let exit = ExitWait::Child(self.os.watch_exit(pid));
        svc.process = Some(spawned.identity);
        svc.started = Some((spawning, SystemTime::now()));
        // A new process: its cpu% counts from its own start, not from the last one's sample.
        svc.cpu_sample = None;
        svc.adopted = false;
        svc.health = None;
        svc.runs += 1;
        svc.seen_runs = seen_runs;
        self.drive_at(name, Input::Spawned { pid }, spawning);
        let pipes = [(Stream::Out, spawned.stdout), (Stream::Err, spawned.stderr)];
        let pipes = pipes.into_iter().filter_map(|(stream, pipe)| pipe.map(|p| (stream, p))).collect();
        self.watch_process(name, Some(writer), pipes, exit);
    }

    /// How many times each `restart = true` dependency has run, as this service starts.
    pub(super) fn restart_edge_runs(&self, name: &str) -> HashMap<String, u64> {
        let Some(svc) = self.services.get(name) else { return HashMap::new() };
        svc.config
            .depends_on
            .iter()
            .filter(|(_, edge)| edge.restart)
            .filter_map(|(dep, _)| Some((dep.clone(), self.services.get(dep)?.runs)))
            .collect()
    }

    /// Binds the service's notify socket once, if its readiness check is `notify`.
    fn ensure_notify_socket(&mut self, name: &str) -> io::Result<()> {
        let path = notify::socket_path(&self.paths.runtime_dir, name);
        let tx = self.tx.clone();
        let Some(svc) = self.services.get_mut(name) else { return Ok(()) };
        if !matches!(svc.config.ready, Some(Ready::Notify(_))) || svc.notify.is_some() {
            return Ok(());
        }
        let reader = notify::listen(&path, name, tx)?;
        svc.notify = Some((path, reader));
        Ok(())
    }

    /// `READY=1` makes the current process ready; `STATUS=…` is kept for `ps`, without the
    /// control sequences it may carry.
    pub(super) fn on_notify(&mut self, name: &str, line: &str) {
        let Some(svc) = self.services.get_mut(name) else { return };
        if let Some(status) = line.strip_prefix("STATUS=") {
            svc.status = Some(crate::sanitize::strip_controls(status));
        } else if line == "READY=1" && matches!(svc.config.ready, Some(Ready::Notify(_))) {
            self.drive(name, Input::Ready);
        }
    }

    /// A start that failed for an OS error: as any failed start, unless orch itself is out of
    /// file descriptors, which no retry of the service mends.
    fn fail_start_io(&mut self, name: &str, what: &str, error: io::Error) {
        if crate::sys::out_of_fds(&error) {
            return self.out_of_fds(name);
        }
        self.spawn_failed(name, format!("{what}: {error}"), SpawnFailure::Retry);
    }

    /// The service's log file, opened once and kept across restarts.
    pub(super) fn log_writer(&mut self, name: &str) -> io::Result<Arc<Mutex<LogWriter>>> {
        let unknown = || io::Error::new(io::ErrorKind::NotFound, "no such service");
        let svc = self.services.get(name).ok_or_else(unknown)?;
        if let Some(writer) = &svc.log {
            return Ok(writer.clone());
        }
        let writer = self.paths.logs_dir().and_then(|dir| LogWriter::open(dir, name, svc.config.log))?;
        let svc = self.services.get_mut(name).ok_or_else(unknown)?;
        let writer = Arc::new(Mutex::new(writer));
        svc.log = Some(writer.clone());
        Ok(writer)
    }

    /// Pumps the process's output into its log, and reports its exit once its group (and
    /// anything that escaped it) is gone. With no log (an adopted process whose log could not
    /// be opened) its pipes are closed, but its exit is still watched, so it is never lost.
    pub(super) fn watch_process(
        &mut self,
        name: &str,
        writer: Option<Arc<Mutex<LogWriter>>>,
        pipes: Vec<(Stream, Receiver)>,
        exit: ExitWait,
    ) {
        let Some(svc) = self.services.get(name) else { return };
        let Some(identity) = svc.process.clone() else { return };
        let generation = svc.generation;
        self.leaders.lock().unwrap_or_else(PoisonError::into_inner).insert(identity.pid);
        let log_check = match &svc.config.ready {
            Some(Ready::Log(pattern)) => regex::bytes::Regex::new(pattern).ok(),
            _ => None,
        };
        let sink = LineSink {
            service: name.to_owned(),
            generation,
            ready: log_check.map(Arc::new),
            tx: self.tx.clone(),
            output: self.output.clone(),
        };
        let pumps: Vec<_> = match &writer {
            Some(writer) => pipes
                .into_iter()
                .map(|(stream, pipe)| {
                    tokio::spawn(pump(pipe, stream, writer.clone(), sink.clone().into_fn(stream), sink.episodes()))
                })
                .collect(),
            None => Vec::new(),
        };
        let cleanup = Cleanup {
            os: self.os.clone(),
            project: self.project_id.clone(),
            service: name.to_owned(),
            pgid: identity.pid,
            signal: svc.config.stop_signal.0,
            timeout: svc.config.stop_timeout.0,
            leaders: self.leaders.clone(),
        };
        let (tx, service) = (self.tx.clone(), name.to_owned());
        let adopted_end = matches!(exit, ExitWait::Adopted).then(|| self.os.wait_not_child(&identity));
        tokio::spawn(async move {
            let exit = match (exit, adopted_end) {
                (ExitWait::Child(rx), _) => rx.await.unwrap_or(ProcessExit::Unknown),
                (ExitWait::Adopted, ended) => {
                    if let Some(ended) = ended {
                        ended.await;
                    }
                    ProcessExit::Unknown
                }
            };
            let killed = cleanup.run().await;
            // The group is gone, so the pipes are at their end: once the pumps have written the
            // last lines, the exit is told (the last lines of a failure are its very last ones).
            // A process outside the group may still hold a pipe open; that does not hold it up.
            let _ = tokio::time::timeout(PUMPS_DRAIN, futures_join(pumps)).await;
            let _ = tx.send(Msg::Exited { service, generation, exit, killed });
        });
    }

    /// Starts the readiness check of the current process, bounded by its ready_timeout.
    pub(super) fn start_probe(&mut self, name: &str) {
        let env = self.child_env(name);
        let (tx, os) = (self.tx.clone(), self.os.clone());
        let wants_http = self.services.get(name).is_some_and(|s| matches!(s.config.ready, Some(Ready::Http(_))));
        let http = wants_http.then(|| self.http.get_or_init(probe::http_client).clone());
        let Some(svc) = self.services.get_mut(name) else { return };
        let Some(check) = svc.config.ready.clone() else { return };
        let (service, generation) = (name.to_owned(), svc.generation);
        let ctx = ProbeContext { cwd: svc.config.cwd.clone(), env, os, http };
        let timeout = svc.config.ready_timeout.0;
        let probe = tokio::spawn(async move {
            let report = |saw| {
                let _ = tx.send(Msg::ProbeSaw { service: service.clone(), generation, saw });
            };
            let msg = match tokio::time::timeout(timeout, probe::wait_until_ready(&check, &ctx, report)).await {
                Ok(()) => Msg::Ready { service: service.clone(), generation },
                Err(_) => Msg::ReadyTimeout { service: service.clone(), generation },
            };
            let _ = tx.send(msg);
        });
        svc.tasks.push(probe.abort_handle());
    }

    /// orch's environment (as the client that sent the manifest had it), the service's
    /// variables over it, and the markers that identify the project's processes.
    pub(super) fn child_env(&self, name: &str) -> Vec<(String, String)> {
        let mut env: IndexMap<String, String> = self.base_env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(svc) = self.services.get(name) {
            env.extend(svc.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some((path, _)) = self.services.get(name).and_then(|s| s.notify.as_ref()) {
            env.insert("NOTIFY_SOCKET".into(), path.display().to_string());
        }
        env.insert(crate::sys::PROJECT_VAR.into(), self.project_id.clone());
        env.insert(crate::sys::SERVICE_VAR.into(), name.to_owned());
        env.into_iter().collect()
    }
}

/// The file a command execs and its argv, its program looked up along the child's own PATH.
pub(super) fn exec_of(
    cmd: &crate::manifest::CommandLine,
    env: &[(String, String)],
    cwd: &std::path::Path,
) -> (std::path::PathBuf, Vec<String>) {
    cmd.exec_with(|name| crate::sys::linux::find_program(name, env, cwd))
}

/// For `port = 8080`: who holds the port, if someone does, instead of the service's own bind
/// error later.
fn pinned_port_taken(config: &crate::manifest::Service) -> Option<String> {
    let Some(crate::manifest::PortSpec::Fixed(port)) = config.port else { return None };
    if crate::ports::is_free(port) {
        return None;
    }
    let holder = crate::ports::holder_of(port).map(|h| format!(" by {h}")).unwrap_or_default();
    Some(format!("port {port} is already in use{holder}"))
}

/// How the end of a service's process is learnt.
pub(super) enum ExitWait {
    /// Our child: the reaper hands over its exit status.
    Child(oneshot::Receiver<ProcessExit>),
    /// Started by an earlier supervisor: only that it ended (through a pidfd).
    Adopted,
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
    /// A full disk, said once when the service's log begins to drop lines and once when it
    /// stops (`ps` tells how many bytes in between).
    fn episodes(&self) -> impl FnMut(Episode) + Send + 'static {
        let (output, service) = (self.output.clone(), self.service.clone());
        move |episode| match episode {
            Episode::Began { error } => output.notice(
                &service,
                &format!("cannot write its log ({error}); its lines are dropped, and counted, until it can"),
            ),
            Episode::Ended { dropped } => {
                output
                    .notice(&service, &format!("its log is written again; {dropped} bytes of its lines were dropped"));
            }
        }
    }

    fn into_fn(mut self, stream: Stream) -> impl FnMut(&[u8]) + Send + 'static {
        move |line: &[u8]| {
            self.output.line(&self.service, line);
            super::subscribers::line(&self.service, stream, line);
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
    os: Arc<dyn Os>,
    project: String,
    service: String,
    pgid: Pid,
    signal: Signal,
    timeout: Duration,
    leaders: Arc<Mutex<HashSet<Pid>>>,
}

impl Cleanup {
    /// True when something had to be SIGKILLed.
    async fn run(self) -> bool {
        let os = &*self.os;
        let mut killed = stop_group(os, self.pgid, self.signal, self.timeout).await;
        let escaped = {
            let mut leaders = self.leaders.lock().unwrap_or_else(PoisonError::into_inner);
            leaders.remove(&self.pgid);
            os.escaped(&self.project, &self.service, self.pgid, &leaders)
        };
        for pid in escaped {
            // Each escaped process leads a group of its own (it called setsid).
            let group = os.group_of(pid).unwrap_or(pid);
            killed |= stop_group(os, group, self.signal, self.timeout).await;
            os.signal_process(pid, Signal::SIGKILL);
        }
        killed
    }
}

/// Signals a group and waits until it is empty, SIGKILL after `timeout`; true when SIGKILL was
/// needed.
async fn stop_group(os: &dyn Os, pgid: Pid, signal: Signal, timeout: Duration) -> bool {
    if !os.group_alive(pgid) {
        return false;
    }
    let _ = os.signal_group(pgid, signal);
    if wait_group_empty(os, pgid, timeout).await {
        return false;
    }
    let _ = os.signal_group(pgid, Signal::SIGKILL);
    wait_group_empty(os, pgid, Duration::from_secs(5)).await;
    true
}

/// How long the exit of a service waits for its log pumps to reach the end of its pipes.
const PUMPS_DRAIN: Duration = Duration::from_millis(500);

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// A service whose folder is gone cannot start; said so, rather than as "command not found"
/// (the spawn's ENOENT would read as one).
fn missing_cwd(config: &crate::manifest::Service) -> Option<String> {
    (!config.cwd.is_dir()).then(|| format!("its folder {} does not exist", config.cwd.display()))
}

/// How long a wait for a group to empty goes without looking again when nothing woke it: for
/// what no exit is told of (a process that joined the group after the wait began).
const GROUP_RECHECK: Duration = Duration::from_millis(500);

/// For this long, a group with only zombies left counts as alive: the reaper collects the
/// supervisor's own children within it. A zombie whose parent is not the supervisor (an
/// adopted service's) may linger, but it has ended, so after it zombies no longer count.
const ZOMBIE_GRACE: Duration = Duration::from_millis(100);

/// Waits until the group is empty; false if `limit` passed first. Not a poll: it looks again
/// when the OS says a process may have left the group (a child reaped, an adopted member's
/// pidfd), at the end of the zombie grace, and every `GROUP_RECHECK` as a fallback.
async fn wait_group_empty(os: &dyn Os, pgid: Pid, limit: Duration) -> bool {
    let start = tokio::time::Instant::now();
    let deadline = start + limit;
    // Taken before the first look, so an exit between the look and the wait still wakes it.
    let mut waker = os.group_waker(pgid);
    loop {
        let since = start.elapsed();
        let alive = os.group_alive(pgid) && (since < ZOMBIE_GRACE || os.group_has_live_member(pgid));
        if !alive {
            return true;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return false;
        }
        let grace_left = ZOMBIE_GRACE.checked_sub(since).filter(|d| !d.is_zero());
        let pause = grace_left.unwrap_or(GROUP_RECHECK).min(deadline - now);
        tokio::select! {
            () = waker.changed() => {}
            () = sleep(pause) => {}
        }
    }
}
