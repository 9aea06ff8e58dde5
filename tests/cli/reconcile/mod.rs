//! Reconciling what runs with what the manifest says: `up` on a running project (plan,
//! `--dry-run`, `--force-recreate`), hot reload of edited files, taking over after a supervisor
//! that was SIGKILLed, a damaged state file, and commands racing each other.
//!
//! Most services here are `sleeper`s: each start appends its pid to `starts/<name>`, so "started
//! once" and "restarted exactly once" are counted by the services themselves, not taken from
//! orch. What runs is read from /proc (`pids_of`); every wait is bounded polling.

mod concurrency;
mod crash;
mod plan;
mod reload;
mod state;

use std::time::Duration;

use crate::procs::{is_alive, pids_of};
use crate::support::{Project, wait_until};

/// The bound of every wait for something that should happen.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a test watches for something that should not happen (a second reload, a restart):
/// several times the watcher's delay before a reload (about 100 ms).
pub const QUIET: Duration = Duration::from_millis(600);

/// A service that records each of its starts (its pid, in `starts/NAME`) and then sleeps,
/// with `extra` lines of TOML (env, depends_on, …).
pub fn sleeper(name: &str, extra: &str) -> String {
    format!("[services.{name}]\ncmd = \"echo $$ >> starts/{name}; exec sleep 1000\"\n{extra}\n")
}

/// A project of these services (with the `starts/` folder they write to).
pub fn project(manifest: &str) -> Project {
    Project::toml(manifest).file("starts/.keep", "")
}

/// The pids a service recorded, one per start.
pub fn starts(project: &Project, name: &str) -> Vec<i32> {
    project
        .read(&format!("starts/{name}"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().unwrap_or_else(|e| panic!("starts/{name}: `{l}`: {e}")))
        .collect()
}

/// The one live process of a service, from /proc; panics unless there is exactly one.
pub fn only_pid(project: &Project, name: &str) -> i32 {
    match pids_of(&project.path(), name)[..] {
        [pid] => pid,
        ref other => panic!("`{name}` should run as one process, runs as {other:?}"),
    }
}

/// Waits until a service runs as exactly one process that is not `old` (and `old` is gone), and
/// returns its pid.
pub fn wait_replaced(project: &Project, name: &str, old: i32) -> i32 {
    let root = project.path();
    let mut now = Vec::new();
    let replaced = wait_until(TIMEOUT, || {
        now = pids_of(&root, name);
        now.len() == 1 && now[0] != old && !is_alive(old)
    });
    assert!(replaced, "`{name}` (pid {old}) was not replaced: now {now:?}; orch said {:?}", project.orch_lines());
    now[0]
}

/// Waits until `ps --json` agrees that a service runs with this pid; returns its row.
pub fn wait_ps_pid(project: &Project, name: &str, pid: i32) -> serde_json::Value {
    let mut row = serde_json::Value::Null;
    let agreed = wait_until(TIMEOUT, || {
        row = project.service(name);
        row["pid"] == pid && matches!(row["state"].as_str(), Some("running" | "ready"))
    });
    assert!(agreed, "ps does not say `{name}` runs as {pid}: {row:#}");
    row
}

/// A variable of a sleeper's environment, once it runs `sleep` (while its shell execs, /proc
/// may show no environment at all).
pub fn env_of(pid: i32, key: &str) -> Option<String> {
    wait_until(TIMEOUT, || !is_alive(pid) || crate::procs::cmdline_of(pid).first().is_some_and(|a| a == "sleep"));
    crate::procs::env_var(pid, key)
}

/// orch's `reload: …` lines so far.
pub fn reloads(project: &Project) -> Vec<String> {
    project.orch_lines().into_iter().filter(|l| l.starts_with("reload:")).collect()
}

/// Waits until orch has logged `n` reload lines; returns them.
pub fn wait_reloads(project: &Project, n: usize) -> Vec<String> {
    let seen = wait_until(TIMEOUT, || reloads(project).len() >= n);
    assert!(seen, "fewer than {n} reload lines: {:?}", project.orch_lines());
    reloads(project)
}

/// Waits until state.json records each of these services with the pid of its last start.
pub fn wait_recorded(project: &Project, services: &[&str]) {
    let pids: Vec<(String, i32)> = services
        .iter()
        .map(|s| (s.to_string(), *starts(project, s).last().unwrap_or_else(|| panic!("{s} never started"))))
        .collect();
    let recorded = wait_until(TIMEOUT, || {
        project
            .state_json()
            .is_some_and(|state| pids.iter().all(|(name, pid)| state["services"][name]["process"]["pid"] == *pid))
    });
    assert!(recorded, "state.json does not record {pids:?}: {:?}", project.read(".orch/state.json"));
}

/// SIGKILLs the project's supervisor (once state.json records these services as they run, so
/// that what it leaves behind is what a new one will find), and waits until it is gone.
pub fn kill_supervisor(project: &Project, services: &[&str]) -> i32 {
    wait_recorded(project, services);
    let supervisor = project.supervisor_pid().expect("a supervisor in the lock");
    let socket = project.socket().expect("a socket in the lock");
    crate::procs::sigkill(supervisor);
    // Dead, and its socket closed: a leader thread can be a zombie while the others still
    // hold its files, and a client that connects then is reset.
    let gone =
        wait_until(TIMEOUT, || !is_alive(supervisor) && std::os::unix::net::UnixStream::connect(&socket).is_err());
    assert!(gone, "the supervisor {supervisor} survived SIGKILL");
    assert_eq!(crate::procs::supervisor_pids(&project.path()), Vec::<i32>::new());
    supervisor
}

/// The names and pids of every live process of the project, from /proc.
pub fn snapshot(project: &Project) -> Vec<(i32, String)> {
    crate::procs::marked_pids(&project.path())
}

/// `orch down`, then nothing of the project runs: no service process, no supervisor.
pub fn down_leaves_nothing(project: &Project) {
    let root = project.path();
    project.run(&["down"]).expect_code(0);
    assert_eq!(crate::procs::marked_pids(&root), Vec::<(i32, String)>::new(), "left after down");
    assert!(
        wait_until(TIMEOUT, || crate::procs::supervisor_pids(&root).is_empty()),
        "a supervisor is left after down: {:?}; the lock: {:?}; supervisor.log:\n{}",
        crate::procs::supervisor_pids(&root),
        project.lock_holder(),
        project.read(".orch/supervisor.log").unwrap_or_default()
    );
}
