//! The supervisor's side of a service's process: spawn it with its log pumps, exit watcher and
//! readiness probe; stop it; act on its readiness and its exit.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use nix::sys::signal::Signal;
use tokio::net::unix::pipe::Receiver;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::lifecycle::{Phase, Verdict, after_exit};
use super::notify;
use super::output::Output;
use super::probe::{self, ProbeContext};
use super::process::{self, Exit, SpawnRequest};
use super::service::Svc;
use crate::logs::record::Stream;
use crate::logs::writer::{Episode, LogWriter, pump};
use crate::manifest::Ready;
use crate::state::Desired;

impl Supervisor {
    pub(super) fn spawn(&mut self, name: &str) {
        if let Err(e) = self.ensure_notify_socket(name) {
            return self.fail_start_io(name, "cannot create its notify socket", e);
        }
        if let Some(reason) = self.services.get(name).and_then(|s| pinned_port_taken(&s.config)) {
            return self.fail_start(name, reason);
        }
        let env = self.child_env(name);
        let writer = match self.log_writer(name) {
            Ok(writer) => writer,
            Err(e) => return self.fail_start_io(name, "cannot open its log file", e),
        };
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.generation += 1;
        svc.cancel_tasks();
        let argv = svc.config.cmd.argv();
        let request = SpawnRequest { argv: &argv, cwd: &svc.config.cwd, env: &env, capture: true };
        let spawned = match process::spawn(&request) {
            Ok(spawned) => spawned,
            Err(e) => return self.fail_start_io(name, &format!("cannot start `{}`", argv.join(" ")), e),
        };
        let pid = spawned.identity.pid;
        // Registered before any await, so the reaper cannot take the exit unseen.
        let exit = ExitWait::Child(self.reaper.watch(pid));
        svc.process = Some(spawned.identity);
        svc.started = Some((Instant::now(), SystemTime::now()));
        svc.ready_after = None;
        svc.last_exit = None;
        svc.failed_start = None;
        svc.adopted = false;
        svc.set_phase(Phase::Starting, None);
        self.output.notice(name, &format!("started (pid {pid})"));
        let pipes = [(Stream::Out, spawned.stdout), (Stream::Err, spawned.stderr)];
        let pipes = pipes.into_iter().filter_map(|(stream, pipe)| pipe.map(|p| (stream, p))).collect();
        self.watch_process(name, writer, pipes, exit);
        self.arm_readiness(name, env);
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
            let generation = svc.generation;
            self.on_ready(name, generation);
        }
    }

    /// A start that failed for an OS error: as any failed start, unless orch itself is out of
    /// file descriptors, which no retry of the service mends.
    fn fail_start_io(&mut self, name: &str, what: &str, error: io::Error) {
        if process::out_of_fds(&error) {
            return self.out_of_fds(name);
        }
        self.fail_start(name, format!("{what}: {error}"));
    }

    /// A start that failed before there was a process: the restart policy decides.
    fn fail_start(&mut self, name: &str, reason: String) {
        self.output.notice(name, &reason);
        let tx = self.tx.clone();
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.started = Some((Instant::now(), SystemTime::now()));
        let verdict = after_exit(svc.policy(), svc.restarts, Duration::ZERO, None, Some(reason));
        apply_verdict(svc, verdict, &tx);
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
    /// anything that escaped it) is gone.
    pub(super) fn watch_process(
        &mut self,
        name: &str,
        writer: Arc<Mutex<LogWriter>>,
        pipes: Vec<(Stream, Receiver)>,
        exit: ExitWait,
    ) {
        let Some(svc) = self.services.get(name) else { return };
        let Some(identity) = svc.process.clone() else { return };
        let generation = svc.generation;
        self.leaders.lock().unwrap_or_else(|e| e.into_inner()).insert(identity.pid);
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
        for (stream, pipe) in pipes {
            tokio::spawn(pump(pipe, stream, writer.clone(), sink.clone().into_fn(), sink.episodes()));
        }
        let cleanup = Cleanup {
            project: self.project_id.clone(),
            service: name.to_owned(),
            pgid: identity.pid,
            signal: svc.config.stop_signal.0,
            timeout: svc.config.stop_timeout.0,
            leaders: self.leaders.clone(),
        };
        let (tx, service) = (self.tx.clone(), name.to_owned());
        tokio::spawn(async move {
            let exit = match exit {
                ExitWait::Child(rx) => rx.await.unwrap_or(Exit::Unknown),
                ExitWait::Adopted => {
                    process::wait_not_child(&identity).await;
                    Exit::Unknown
                }
            };
            cleanup.run().await;
            let _ = tx.send(Msg::Exited { service, generation, exit });
        });
    }

    /// Starts the readiness check of a process in `starting`: at once `running` without one.
    pub(super) fn arm_readiness(&mut self, name: &str, env: Vec<(String, String)>) {
        let (tx, reaper) = (self.tx.clone(), self.reaper.clone());
        let wants_http = self.services.get(name).is_some_and(|s| matches!(s.config.ready, Some(Ready::Http(_))));
        let http = wants_http.then(|| self.http.get_or_init(probe::http_client).clone());
        let Some(svc) = self.services.get_mut(name) else { return };
        let generation = svc.generation;
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
    pub(super) fn child_env(&self, name: &str) -> Vec<(String, String)> {
        let mut env: IndexMap<String, String> = self.base_env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(svc) = self.services.get(name) {
            env.extend(svc.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some((path, _)) = self.services.get(name).and_then(|s| s.notify.as_ref()) {
            env.insert("NOTIFY_SOCKET".into(), path.display().to_string());
        }
        env.insert(process::PROJECT_VAR.into(), self.project_id.clone());
        env.insert(process::SERVICE_VAR.into(), name.to_owned());
        env.into_iter().collect()
    }

    pub(super) fn begin_stop(&mut self, name: &str) {
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

    pub(super) fn on_ready(&mut self, name: &str, generation: u64) {
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

    pub(super) fn on_ready_timeout(&mut self, name: &str, generation: u64) {
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

    pub(super) fn on_exit(&mut self, name: &str, generation: u64, exit: Exit) {
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
    Child(oneshot::Receiver<Exit>),
    /// Started by an earlier supervisor: only that it ended (through a pidfd).
    Adopted,
}

/// Moves a service to what the restart policy decided, arming the backoff timer.
pub(super) fn apply_verdict(svc: &mut Svc, verdict: Verdict, tx: &UnboundedSender<Msg>) {
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
                output.notice(&service, &format!("its log is written again; {dropped} bytes of its lines were dropped"))
            }
        }
    }

    fn into_fn(mut self) -> impl FnMut(&[u8]) + Send + 'static {
        move |line: &[u8]| {
            self.output.line(&self.service, line);
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
/// After the first 100 ms, zombies no longer count: a zombie whose parent is not the supervisor
/// (an adopted service's) may linger, but it has ended.
async fn wait_group_empty(pgid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    let deadline = start + limit;
    let mut pause = Duration::from_millis(5);
    let alive = |since: Duration| {
        process::group_alive(pgid) && (since < Duration::from_millis(100) || process::group_has_live_member(pgid))
    };
    while alive(start.elapsed()) {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    true
}
