//! The lifecycle without processes: a small harness feeds the machine's effects back as inputs
//! (a spawn gets a pid, a timer fires when the fake clock reaches it) and records the signals
//! "sent" and the lines said.

use std::time::{Duration, Instant};

use crate::sys::Signal;

use super::*;
use crate::manifest::{CommandLine, Ready, RestartPolicy};
use crate::supervisor::lifecycle::STABLE_UPTIME;

const MIN_UPTIME: Duration = Duration::from_secs(1);

fn service() -> Service {
    Service::new(CommandLine::Shell("server".into()), "/".into())
}

fn pid(raw: i32) -> Pid {
    Pid::new(raw).expect("a test pid")
}

/// One service, its machine, and a fake world around it.
struct Sim {
    config: Service,
    wanted_up: bool,
    deps: Vec<Dep>,
    unit: Unit,
    t0: Instant,
    now: Duration,
    next_pid: i32,
    /// Due time and kind of each armed timer.
    timers: Vec<(Duration, Timer)>,
    probing: bool,
    signals: Vec<(Pid, Signal)>,
    said: Vec<String>,
    spawns: u32,
    confirmations: u32,
    saves: u32,
}

impl Sim {
    fn new(config: Service) -> Self {
        Sim {
            config,
            wanted_up: false,
            deps: Vec::new(),
            unit: Unit::new(),
            t0: Instant::now(),
            now: Duration::ZERO,
            next_pid: 100,
            timers: Vec::new(),
            probing: false,
            signals: Vec::new(),
            said: Vec::new(),
            spawns: 0,
            confirmations: 0,
            saves: 0,
        }
    }

    fn phase(&self) -> Phase {
        self.unit.phase()
    }

    fn reason(&self) -> Option<&str> {
        self.unit.state.reason()
    }

    fn pid(&self) -> Option<Pid> {
        self.unit.state.run().and_then(|r| r.pid)
    }

    /// A user's `up`.
    fn up(&mut self) {
        self.wanted_up = true;
        self.feed(Input::StartWanted { by_policy: false });
    }

    /// A user's `down`.
    fn down(&mut self) {
        self.wanted_up = false;
        self.feed(Input::StopWanted);
    }

    fn exit(&mut self, exit: ProcessExit) {
        self.feed(Input::Exited { exit, killed: false, cannot_run: None });
    }

    /// Feeds one input, then what its effects lead to at once (a spawn's pid; an advance of a
    /// pending service, as the executor makes after every event).
    fn feed(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            let ctx = Ctx { config: &self.config, wanted_up: self.wanted_up, deps: &self.deps };
            let was_deps = input == Input::DepsChanged;
            let (unit, effects) = step(&self.unit, input, self.t0 + self.now, &ctx);
            self.unit = unit;
            for effect in effects {
                match effect {
                    Effect::Spawn => {
                        self.spawns += 1;
                        self.next_pid += 1;
                        queue.push(Input::Spawned { pid: pid(self.next_pid) });
                    }
                    Effect::Signal { group, signal } => self.signals.push((group, signal)),
                    Effect::StartTimer { kind, after } => self.timers.push((self.now + after, kind)),
                    Effect::CancelTimers | Effect::Forget => {
                        self.timers.clear();
                        self.probing = false;
                    }
                    Effect::StartProbe => self.probing = true,
                    Effect::Say(line) => self.said.push(line),
                    Effect::Confirmed => self.confirmations += 1,
                    Effect::Save => self.saves += 1,
                }
            }
            if queue.is_empty() && !was_deps && self.wanted_up && self.phase() == Phase::Pending {
                queue.push(Input::DepsChanged);
            }
        }
    }

    /// Lets `by` pass on the fake clock, firing the timers that come due, in order.
    fn wait(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            self.timers.sort_by_key(|(due, _)| *due);
            let Some(&(due, kind)) = self.timers.first().filter(|(due, _)| *due <= end) else { break };
            self.timers.remove(0);
            self.now = due;
            self.feed(match kind {
                Timer::MinUptime => Input::MinUptimePassed,
                Timer::StopTimeout => Input::StopTimeout,
                Timer::Backoff => Input::BackoffElapsed,
            });
        }
        self.now = end;
    }

    fn said(&self, line: &str) -> bool {
        self.said.iter().any(|l| l == line)
    }
}

#[test]
fn a_start_with_no_check_runs_and_is_confirmed_after_min_uptime() {
    let mut sim = Sim::new(service());
    sim.up();
    assert_eq!((sim.phase(), sim.spawns, sim.saves), (Phase::Running, 1, 1));
    assert!(sim.said("started (pid 101)"));
    assert!(!sim.unit.state.is_confirmed());
    sim.wait(MIN_UPTIME);
    assert!(sim.unit.state.is_confirmed());
    assert_eq!(sim.confirmations, 1);
}

#[test]
fn an_exit_before_min_uptime_is_a_failed_start() {
    let mut sim = Sim::new(service());
    sim.up();
    sim.wait(Duration::from_millis(500));
    sim.exit(ProcessExit::Code(1));
    assert_eq!(sim.phase(), Phase::Failed);
    assert_eq!(sim.reason(), Some("exited with 1 after 500ms, before min_uptime (1s)"));
    assert_eq!(sim.spawns, 1, "a start a user asked for is not retried");
    assert!(sim.timers.is_empty());
}

#[test]
fn a_crash_loop_backs_off_and_ends_fatal() {
    let mut sim = Sim::new(Service { max_restarts: 3, ..service() });
    sim.up();
    let mut delays = Vec::new();
    for _ in 0..=3 {
        sim.wait(MIN_UPTIME);
        sim.exit(ProcessExit::Code(1));
        if sim.phase() == Phase::Backoff {
            delays.push(sim.timers.iter().map(|(due, _)| due.saturating_sub(sim.now).as_millis()).sum::<u128>());
            sim.wait(Duration::from_secs(1));
            // The restart is the policy's: an exit before min_uptime would go back to it too.
            assert_eq!(sim.phase(), Phase::Running);
        }
    }
    assert_eq!(delays, [100, 200, 400]);
    assert_eq!(sim.phase(), Phase::Fatal);
    assert_eq!(sim.reason(), Some("exited with 1 after 3 restarts"));
    assert_eq!(sim.unit.restarts, 3);
    assert!(sim.said("exited with 1; restarting in 200ms"));
}

#[test]
fn a_policy_restart_that_fails_to_start_goes_back_to_the_policy() {
    let mut sim = Sim::new(service());
    sim.up();
    sim.wait(MIN_UPTIME);
    sim.exit(ProcessExit::Code(1));
    sim.wait(Duration::from_millis(100));
    assert_eq!(sim.phase(), Phase::Running);
    sim.exit(ProcessExit::Code(2));
    assert_eq!((sim.phase(), sim.unit.restarts), (Phase::Backoff, 2));
}

#[test]
fn a_stable_uptime_resets_the_backoff() {
    let mut sim = Sim::new(service());
    sim.up();
    for _ in 0..3 {
        sim.wait(MIN_UPTIME);
        sim.exit(ProcessExit::Code(1));
        sim.wait(Duration::from_secs(1));
    }
    assert_eq!(sim.unit.restarts, 3);
    sim.wait(STABLE_UPTIME);
    sim.exit(ProcessExit::Code(1));
    assert_eq!((sim.phase(), sim.unit.restarts), (Phase::Backoff, 1));
    assert!(sim.said("exited with 1; restarting in 100ms"));
}

#[test]
fn a_readiness_timeout_stops_the_process_and_fails_the_start() {
    let mut sim = Sim::new(Service { ready: Some(Ready::Tcp("127.0.0.1:1".into())), ..service() });
    sim.up();
    assert_eq!(sim.phase(), Phase::Starting);
    assert!(sim.probing);
    sim.feed(Input::ProbeSaw("connection refused".into()));
    sim.feed(Input::ReadyTimeout);
    let reason = "ready check tcp 127.0.0.1:1 did not pass within 1m (last: connection refused)";
    assert_eq!((sim.phase(), sim.reason()), (Phase::Stopping, Some(reason)));
    assert_eq!(sim.signals, [(pid(101), Signal::SIGTERM)]);
    assert!(sim.said(&format!("{reason}; stopping it")));
    sim.exit(ProcessExit::Signal(15));
    assert_eq!((sim.phase(), sim.reason()), (Phase::Failed, Some(reason)));
}

#[test]
fn a_users_restart_while_a_failed_start_is_stopped_starts_it_anew() {
    let mut sim = Sim::new(Service { ready: Some(Ready::Tcp("127.0.0.1:1".into())), ..service() });
    sim.up();
    sim.feed(Input::ReadyTimeout);
    assert_eq!(sim.phase(), Phase::Stopping);
    sim.feed(Input::RestartWanted { by_policy: false });
    assert_eq!((sim.phase(), sim.reason()), (Phase::Stopping, None), "no longer a failed start");
    sim.exit(ProcessExit::Signal(15));
    assert_eq!((sim.phase(), sim.pid(), sim.spawns), (Phase::Starting, Some(pid(102)), 2));
}

#[test]
fn a_ready_check_that_passes_confirms_the_start() {
    let mut sim = Sim::new(Service { ready: Some(Ready::Tcp("127.0.0.1:1".into())), ..service() });
    sim.up();
    sim.wait(Duration::from_millis(640));
    sim.feed(Input::Ready);
    assert_eq!(sim.phase(), Phase::Ready);
    assert_eq!(sim.unit.ready_after, Some(Duration::from_millis(640)));
    assert!(sim.said("ready in 640ms"));
    assert_eq!(sim.confirmations, 1);
    assert!(!sim.probing);
}

#[test]
fn a_stop_that_times_out_ends_in_sigkill() {
    let mut sim = Sim::new(service());
    sim.up();
    sim.wait(MIN_UPTIME);
    sim.down();
    assert_eq!(sim.phase(), Phase::Stopping);
    sim.wait(Duration::from_secs(10));
    assert_eq!(sim.signals, [(pid(101), Signal::SIGTERM), (pid(101), Signal::SIGKILL)]);
    sim.exit(ProcessExit::Signal(9));
    assert_eq!(sim.phase(), Phase::Stopped);
    let reason = "killed with SIGKILL: it did not stop within 10s of SIGTERM";
    assert_eq!(sim.reason(), Some(reason));
    assert!(sim.said(&format!("stopped ({reason})")));
}

#[test]
fn a_failed_dependency_blocks_and_a_coming_one_is_waited_for() {
    let mut sim = Sim::new(service());
    let db = |phase| Dep {
        name: "db".into(),
        condition: Condition::Ready,
        phase,
        wanted_up: true,
        restart_edge: false,
        runs: 1,
        seen_runs: None,
    };
    sim.deps = vec![db(Phase::Starting)];
    sim.up();
    assert_eq!(sim.phase(), Phase::Pending);
    assert_eq!(sim.unit.state, UnitState::Pending { waiting_on: Some("db to be ready".into()), by_policy: false });
    sim.deps = vec![db(Phase::Failed)];
    sim.feed(Input::DepsChanged);
    assert_eq!((sim.phase(), sim.reason()), (Phase::Blocked, Some("db failed")));
    assert_eq!(sim.spawns, 0);
    sim.deps = vec![db(Phase::Ready)];
    sim.up();
    assert_eq!((sim.phase(), sim.spawns), (Phase::Running, 1));
}

#[test]
fn a_restart_edge_restarts_by_policy() {
    let mut sim = Sim::new(service());
    let db = |runs, restart_edge| Dep {
        name: "db".into(),
        condition: Condition::Ready,
        phase: Phase::Ready,
        wanted_up: true,
        restart_edge,
        runs,
        seen_runs: Some(1),
    };
    sim.deps = vec![db(1, true)];
    sim.up();
    sim.wait(MIN_UPTIME);
    // The run it started against: nothing to do; an edge without `restart = true`: neither.
    sim.feed(Input::DependencyConfirmed { name: "db".into() });
    sim.deps = vec![db(2, false)];
    sim.feed(Input::DependencyConfirmed { name: "db".into() });
    assert_eq!(sim.phase(), Phase::Running);
    sim.deps = vec![db(2, true)];
    sim.feed(Input::DependencyConfirmed { name: "db".into() });
    assert!(sim.said("restarting (db restarted)"));
    assert_eq!(sim.phase(), Phase::Stopping);
    assert_eq!(sim.signals, [(pid(101), Signal::SIGTERM)]);
    sim.exit(ProcessExit::Signal(15));
    assert_eq!((sim.phase(), sim.pid()), (Phase::Running, Some(pid(102))));
    assert!(sim.said("stopped"));
    // The new start is the policy's: its early exit goes back to the policy.
    sim.exit(ProcessExit::Code(1));
    assert_eq!(sim.phase(), Phase::Backoff);
}

#[test]
fn a_down_overtakes_a_start_and_a_start_overtakes_a_down() {
    let mut sim = Sim::new(Service { ready: Some(Ready::Tcp("127.0.0.1:1".into())), ..service() });
    sim.up();
    sim.down();
    assert_eq!(sim.phase(), Phase::Stopping);
    assert!(!sim.probing, "the stop drops the readiness check");
    sim.exit(ProcessExit::Signal(15));
    assert_eq!(sim.phase(), Phase::Stopped);

    sim.up();
    sim.down();
    // Wanted again while it stops: once the group is gone, it starts again.
    sim.wanted_up = true;
    sim.exit(ProcessExit::Signal(15));
    assert_eq!((sim.phase(), sim.spawns), (Phase::Starting, 3));
}

#[test]
fn an_exit_nobody_asked_for_while_wanted_down_just_stops() {
    let mut sim = Sim::new(service());
    sim.up();
    sim.wanted_up = false;
    sim.exit(ProcessExit::Code(1));
    assert_eq!((sim.phase(), sim.reason()), (Phase::Stopped, None));
}

#[test]
fn a_oneshot_completes() {
    let mut sim = Sim::new(Service { oneshot: true, restart: RestartPolicy::No, ..service() });
    sim.up();
    assert_eq!(sim.phase(), Phase::Starting);
    sim.wait(Duration::from_millis(300));
    sim.exit(ProcessExit::Code(0));
    assert_eq!(sim.phase(), Phase::Completed);
    assert_eq!(sim.unit.ready_after, Some(Duration::from_millis(300)));
}

#[test]
fn a_command_that_cannot_run_fails_for_good() {
    let mut sim = Sim::new(service());
    sim.wanted_up = true;
    sim.feed(Input::StartWanted { by_policy: true });
    sim.exit(ProcessExit::Code(127));
    assert_eq!(sim.phase(), Phase::Backoff, "without the shell's words, an early exit of a policy start");
    let mut sim = Sim::new(service());
    sim.up();
    sim.feed(Input::Exited {
        exit: ProcessExit::Code(127),
        killed: false,
        cannot_run: Some("command not found: x".into()),
    });
    assert_eq!((sim.phase(), sim.reason()), (Phase::Failed, Some("command not found: x")));
}

/// A unit a state file recorded as running, whose process has been up for ten minutes.
fn adopted(phase: Phase, config: Service) -> Sim {
    let mut sim = Sim::new(config);
    sim.now = Duration::from_mins(10);
    let run = Run { pid: Some(pid(42)), since: sim.t0, by_policy: false };
    sim.unit.state = UnitState::restored(phase, None, Some(run));
    sim.wanted_up = true;
    sim
}

#[test]
fn an_adopted_process_exit_goes_through_the_policy() {
    let mut sim = adopted(Phase::Running, service());
    sim.feed(Input::Adopted);
    assert!(sim.said("adopted (pid 42)"));
    assert!(sim.signals.is_empty());
    sim.exit(ProcessExit::Unknown);
    assert_eq!(sim.phase(), Phase::Backoff);
    assert!(sim.said("ended with an unknown exit status; restarting in 100ms"));
    sim.wait(Duration::from_millis(100));
    assert_eq!((sim.phase(), sim.pid()), (Phase::Running, Some(pid(101))));
}

#[test]
fn an_adopted_start_checks_readiness_and_an_adopted_stop_goes_on() {
    let mut sim = adopted(Phase::Starting, Service { ready: Some(Ready::Tcp("127.0.0.1:1".into())), ..service() });
    sim.feed(Input::Adopted);
    assert!(sim.probing);
    let mut sim = adopted(Phase::Stopping, service());
    sim.wanted_up = false;
    sim.feed(Input::Adopted);
    assert_eq!(sim.signals, [(pid(42), Signal::SIGTERM)]);
    sim.exit(ProcessExit::Unknown);
    assert_eq!(sim.phase(), Phase::Stopped);
}

#[test]
fn a_process_gone_while_no_supervisor_watched_goes_through_the_policy() {
    let mut sim = adopted(Phase::Running, service());
    sim.feed(Input::Vanished);
    assert_eq!(sim.phase(), Phase::Backoff);
    assert!(sim.said("ended while no supervisor was running"));
    let mut sim = adopted(Phase::Running, Service { restart: RestartPolicy::No, ..service() });
    sim.wanted_up = false;
    sim.feed(Input::Vanished);
    assert_eq!(sim.phase(), Phase::Stopped);
}

/// A state of each phase, for the table's test.
fn sample(phase: Phase, t0: Instant) -> UnitState {
    let run = Run { pid: Some(pid(7)), since: t0, by_policy: false };
    match phase {
        Phase::Pending => UnitState::Pending { waiting_on: None, by_policy: false },
        Phase::Starting => UnitState::Starting { run, probe_saw: None },
        Phase::Ready => UnitState::Ready { run },
        Phase::Running => UnitState::Running { run, confirmed: true },
        Phase::Stopping => UnitState::Stopping { run, then: AfterStop::Settle, killed: false },
        Phase::Stopped => UnitState::Stopped { reason: None },
        Phase::Completed => UnitState::Completed,
        Phase::Failed => UnitState::Failed { reason: "x".into(), at_start: false },
        Phase::Backoff => UnitState::Backoff { until: t0, reason: None },
        Phase::Fatal => UnitState::Fatal { reason: "x".into() },
        Phase::Blocked => UnitState::Blocked { reason: "x".into() },
    }
}

#[test]
fn an_illegal_transition_changes_nothing() {
    let t0 = Instant::now();
    let mut illegal = 0;
    for from in Phase::ALL {
        for to in Phase::ALL {
            let unit = Unit { state: sample(from, t0), ..Unit::new() };
            let next = Unit { state: sample(to, t0), restarts: 9, ..Unit::new() };
            let decided = Move::to(next.clone(), vec![Effect::Spawn, Effect::Say("moved".into())]);
            let (after, effects) = enforce(&unit, Some(decided));
            if from.can_become(to) {
                assert_eq!(after, next, "{from:?} → {to:?} is allowed");
            } else {
                illegal += 1;
                assert_eq!((after, effects), (unit, Vec::new()), "{from:?} → {to:?} is not allowed");
            }
        }
    }
    assert!(illegal > 50, "the table forbids most moves ({illegal})");
}

#[test]
fn an_input_that_means_nothing_in_a_state_changes_nothing() {
    let mut sim = Sim::new(service());
    let before = sim.unit.clone();
    for input in [Input::Ready, Input::ReadyTimeout, Input::StopTimeout, Input::BackoffElapsed, Input::MinUptimePassed]
    {
        sim.feed(input);
        assert_eq!(sim.unit, before);
    }
    sim.exit(ProcessExit::Code(1));
    assert_eq!(sim.unit, before);
    assert!(sim.said.is_empty() && sim.signals.is_empty());
}

#[test]
fn a_users_restart_counts_the_restarts_anew_and_its_failed_start_is_final() {
    let mut sim = Sim::new(service());
    sim.up();
    for _ in 0..2 {
        sim.wait(MIN_UPTIME);
        sim.exit(ProcessExit::Code(1));
        sim.wait(Duration::from_secs(1));
    }
    assert_eq!(sim.unit.restarts, 2);
    sim.feed(Input::RestartWanted { by_policy: false });
    assert_eq!(sim.unit.restarts, 0);
    sim.exit(ProcessExit::Signal(15));
    assert_eq!(sim.phase(), Phase::Running);
    sim.exit(ProcessExit::Code(1));
    assert_eq!(sim.phase(), Phase::Failed);
}

#[test]
fn a_down_in_backoff_settles_at_once_and_forgets_the_timer() {
    let mut sim = Sim::new(service());
    sim.up();
    sim.wait(MIN_UPTIME);
    sim.exit(ProcessExit::Code(1));
    assert_eq!(sim.phase(), Phase::Backoff);
    sim.down();
    assert_eq!((sim.phase(), sim.reason()), (Phase::Stopped, None));
    assert!(sim.timers.is_empty());
    sim.wait(Duration::from_secs(1));
    assert_eq!((sim.phase(), sim.spawns), (Phase::Stopped, 1));
}

#[test]
fn a_spawn_that_fails_is_final_for_a_user_and_the_policys_call_after_a_crash() {
    let sim = Sim::new(service());
    // Pending with a spawn asked for: the executor answers that it could not.
    let (unit, _) = step(
        &Unit { state: UnitState::Pending { waiting_on: None, by_policy: false }, ..Unit::new() },
        Input::SpawnFailed { reason: "port 80 is already in use".into(), kind: SpawnFailure::Retry },
        sim.t0,
        &Ctx { config: &sim.config, wanted_up: true, deps: &[] },
    );
    assert_eq!((unit.phase(), unit.state.reason()), (Phase::Failed, Some("port 80 is already in use")));
    let (unit, effects) = step(
        &Unit { state: UnitState::Pending { waiting_on: None, by_policy: true }, restarts: 1, ..Unit::new() },
        Input::SpawnFailed { reason: "port 80 is already in use".into(), kind: SpawnFailure::Retry },
        sim.t0,
        &Ctx { config: &sim.config, wanted_up: true, deps: &[] },
    );
    assert_eq!((unit.phase(), unit.restarts), (Phase::Backoff, 2));
    assert!(effects.contains(&Effect::StartTimer { kind: Timer::Backoff, after: Duration::from_millis(200) }));
}
