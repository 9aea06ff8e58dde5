//! Commands at the same moment: ten `orch up` give one supervisor and one start of each
//! service; a `down` racing an `up` ends with everything running or nothing, never half.

use std::sync::Barrier;
use std::time::Duration;

use super::{QUIET, TIMEOUT, down_leaves_nothing, project, sleeper, snapshot, starts};
use crate::procs::{pids_of, supervisor_pids};
use crate::support::{ORCH_TIMEOUT, Project, Run, wait_until};

const NAMES: [&str; 3] = ["db", "web", "worker"];

fn three(db_extra: &str) -> String {
    format!(
        "{}{}{}",
        sleeper("db", db_extra),
        sleeper("web", "depends_on = [\"db\"]"),
        sleeper("worker", "depends_on = [\"web\"]")
    )
}

/// Runs these commands each in its own thread, released together (each after its own delay,
/// killed after `limit`); each comes back with how long it took.
fn at_once(project: &Project, limit: Duration, commands: &[(&[&str], Duration)]) -> Vec<(Run, Duration)> {
    let barrier = Barrier::new(commands.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = commands
            .iter()
            .map(|(args, delay)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    std::thread::sleep(*delay);
                    let started = std::time::Instant::now();
                    let run = project.orch_within(&project.path(), limit, args);
                    (run, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a command thread")).collect()
    })
}

#[test]
fn ten_ups_at_once_give_one_supervisor_and_start_each_service_once() {
    let project = project(&three(""));
    let root = project.path();
    let ups: Vec<(&[&str], Duration)> = (0..10).map(|_| (&["up"][..], Duration::ZERO)).collect();
    for (run, _) in at_once(&project, ORCH_TIMEOUT, &ups) {
        let stdout = run.stdout();
        run.expect_code(0);
        for name in NAMES {
            assert!(stdout.lines().any(|l| l.starts_with(&format!("✓ {name} "))), "{stdout}");
        }
    }
    assert!(wait_until(TIMEOUT, || supervisor_pids(&root).len() == 1), "supervisors: {:?}", supervisor_pids(&root));
    assert_eq!(supervisor_pids(&root), [project.supervisor_pid().unwrap()]);
    let all_starts = || NAMES.map(|n| starts(&project, n));
    assert!(!wait_until(QUIET, || NAMES.iter().any(|n| starts(&project, n).len() > 1)), "{:?}", all_starts());
    for name in NAMES {
        let started = starts(&project, name);
        assert_eq!(started.len(), 1, "{name} started {started:?}");
        assert_eq!(pids_of(&root, name), started, "{name}");
        assert_eq!(project.service(name)["pid"], started[0]);
    }
    down_leaves_nothing(&project);
}

/// `orch up` and, `delay_ms` later, `orch down` (each killed after `limit`): both return, and
/// then either every service runs exactly once (started once, in this round) or nothing of the
/// project runs, and it stays so. Returns whether everything runs.
fn race(project: &Project, round: usize, delay_ms: u64, limit: Duration) -> bool {
    let root = project.path();
    let before: Vec<usize> = NAMES.iter().map(|n| starts(project, n).len()).collect();
    let runs =
        at_once(project, limit, &[(&["up"][..], Duration::ZERO), (&["down"][..], Duration::from_millis(delay_ms))]);
    let ((up, up_took), (down, down_took)) = (&runs[0], &runs[1]);
    let said = format!(
        "round {round} (down after {delay_ms} ms)\n--- up ({:?}, {up_took:?}):\n{}{}\n--- down ({:?}, {down_took:?}):\n{}{}",
        up.output.status,
        up.stdout(),
        up.stderr(),
        down.output.status,
        down.stdout(),
        down.stderr()
    );
    let said = format!(
        "{said}\n--- now: {:?}, supervisors {:?}\n--- supervisor.log ends:\n{}",
        snapshot(project),
        supervisor_pids(&root),
        project.read(".orch/supervisor.log").unwrap_or_default().lines().rev().take(15).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(down.code(), 0, "down did not return in {limit:?} with 0: {said}");
    assert!(up.code() == 0 || up.code() == 1, "{said}");
    // Consistent: each service runs exactly once, or nothing of the project runs.
    let mut all = false;
    let settled = wait_until(TIMEOUT, || {
        let running: Vec<usize> = NAMES.iter().map(|n| pids_of(&root, n).len()).collect();
        all = running == [1, 1, 1];
        all || (running == [0, 0, 0] && supervisor_pids(&root).is_empty())
    });
    assert!(settled, "half up, half down: {:?}\n{said}", snapshot(project));
    let stays = !wait_until(QUIET / 2, || {
        let running: Vec<usize> = NAMES.iter().map(|n| pids_of(&root, n).len()).collect();
        running != if all { [1, 1, 1] } else { [0, 0, 0] }
    });
    assert!(stays, "it did not stay so: {:?}\n{said}", snapshot(project));
    for (name, n) in NAMES.iter().zip(&before) {
        let now = starts(project, name).len();
        assert!(now <= n + 1, "{name} started {} times in one up\n{said}", now - n);
        if all {
            assert_eq!(now, n + 1, "{name} runs but did not start in this round\n{said}");
        }
    }
    if all {
        for name in NAMES {
            let row = project.service(name);
            assert_eq!(row["pid"], pids_of(&root, name)[0], "ps disagrees: {row:#}\n{said}");
        }
    }
    down_leaves_nothing(project);
    all
}

/// db takes 200 ms to be ready, so a down can land before, during and after the start.
const SLOW_DB: &str = "ready = { delay = \"200ms\" }";

#[test]
fn a_down_racing_an_up_ends_with_all_or_nothing() {
    let mut outcomes = Vec::new();
    for (round, delay_ms) in [0u64, 2, 5, 10, 30, 60, 120, 180, 260].into_iter().enumerate() {
        let project = project(&three(SLOW_DB));
        outcomes.push(race(&project, round, delay_ms, ORCH_TIMEOUT));
    }
    eprintln!("everything ran after the race in rounds: {outcomes:?}");
}

/// A new supervisor of a project that ran before knows its (stopped) services from state.json;
/// a down and an up that both connect while it starts are handled in one batch, and the down
/// must still return.
#[test]
fn a_down_racing_an_up_in_a_project_that_ran_before_returns() {
    let project = project(&three("ready = { delay = \"50ms\" }"));
    project.up().expect_code(0);
    down_leaves_nothing(&project);
    // The window is a few ms wide, a few ms after the up starts: sweep it.
    for round in 0..12 {
        race(&project, round, round as u64, ORCH_TIMEOUT);
    }
}

/// The `orch up` client, run alongside the test; SIGCONTed and SIGKILLed by pid on drop.
struct Client(std::process::Child);

impl Drop for Client {
    fn drop(&mut self) {
        // Only while it is unreaped is its pid still ours to signal.
        if matches!(self.0.try_wait(), Ok(None)) {
            let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a supervisor's socket is in place at `path`, found without connecting to it: it
/// listens from the moment it is there (bound by the supervisor, or handed to it by its client
/// and renamed into place once it holds the lock; /proc/net/unix still shows the name it was
/// bound at).
fn listens(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// The `up` client has launched a supervisor (and handed it the socket it is connected to),
/// and is held with SIGSTOP before its request, when a `down` connects, finds nothing to stop,
/// and the supervisor leaves. The `up` must still bring the project up (through a supervisor
/// of its own), not fail as "lost" nor wait for one that is gone.
#[test]
fn an_up_whose_supervisor_served_a_down_first_still_comes_up() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let project = project(&sleeper("db", ""));
    let root = project.path();
    project.up().expect_code(0);
    down_leaves_nothing(&project);
    for _ in 0..20 {
        let child = crate::support::orch_std()
            .current_dir(&root)
            .arg("up")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn orch up");
        let mut client = Client(child);
        let pid = Pid::from_raw(client.0.id() as i32);
        // Hold the client as soon as it has launched its supervisor (its child until it exits),
        // polling its own children list without a pause: a scan of all of /proc is too slow.
        let children = format!("/proc/{0}/task/{0}/children", client.0.id());
        let deadline = std::time::Instant::now() + TIMEOUT;
        while std::fs::read_to_string(&children).is_ok_and(|c| c.trim().is_empty())
            && std::time::Instant::now() < deadline
        {}
        // It may have finished already (its pid not yet reaped, so the signal is harmless).
        let _ = kill(pid, Signal::SIGSTOP);
        // The down must reach the supervisor: wait until it listens.
        let listening = wait_until(TIMEOUT, || project.socket().is_some_and(|socket| listens(&socket)));
        assert!(listening, "the supervisor does not listen: {:?}", project.lock_holder());
        project.run(&["down"]).expect_code(0);
        assert!(wait_until(TIMEOUT, || supervisor_pids(&root).is_empty()), "the supervisor stayed after down");
        let _ = kill(pid, Signal::SIGCONT);
        let started = std::time::Instant::now();
        let mut status = None;
        let returned = wait_until(Duration::from_secs(5), || {
            status = client.0.try_wait().unwrap();
            status.is_some()
        });
        let took = started.elapsed();
        let mut said = String::new();
        if returned {
            use std::io::Read;
            let _ = client.0.stdout.take().map(|mut out| out.read_to_string(&mut said));
            let _ = client.0.stderr.take().map(|mut err| err.read_to_string(&mut said));
        }
        drop(client);
        assert!(returned, "`orch up` had not returned after {took:?}");
        assert_eq!(status.and_then(|s| s.code()), Some(0), "`orch up` failed after {took:?}: {said}");
        // Held too late (its up was served before the down, which then stopped db): again.
        let arranged = pids_of(&root, "db").len() == 1;
        down_leaves_nothing(&project);
        if arranged {
            return;
        }
    }
    panic!("the up client was never held before its request reached the supervisor");
}
