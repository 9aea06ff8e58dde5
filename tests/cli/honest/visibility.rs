//! Point 7: what happens is visible where people look. `logs -f` carries orch's lifecycle lines
//! inline and ends when the project goes down; `ps` keeps the last exit; a stop that needed
//! SIGKILL says so; a stop that takes dependents names them; `up --timeout` and Ctrl-C name
//! what was still waiting; a second `up` prints what it did not touch as `= … (unchanged)`.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::{Beside, catches, orch_said, signal, timed, without_timings};
use crate::procs::{is_alive, pids_of, sigkill};
use crate::reconcile::{TIMEOUT, only_pid, wait_replaced};
use crate::supervisor::{SECOND, assert_outcome, outcome_line};
use crate::support::{Project, free_port, wait_until};

/// worker (no check, restarts on failure), web (a log check), api (plain).
fn three() -> Project {
    Project::toml(
        r#"
[services.worker]
cmd = "exec sleep 1000"
min_uptime = "0s"
restart = "on-failure"

[services.web]
cmd = "echo listening; exec sleep 1000"
ready = { log = "listening" }

[services.api]
cmd = "exec sleep 1000"
min_uptime = "0s"
"#,
    )
}

/// Waits for `logs -f` to show a line of orch's that starts with `start`, and returns its text.
fn next_orch_line(follower: &mut Beside, start: &str) -> String {
    let line = follower.next_match(TIMEOUT, |l| orch_said(l).is_some_and(|t| t.starts_with(start)));
    let line = line.unwrap_or_else(|| panic!("no `orch | {start}…`; logs -f showed:\n{}", follower.seen.join("\n")));
    orch_said(&line).unwrap_or_default().to_owned()
}

#[test]
fn logs_follow_shows_orchs_lifecycle_lines_inline() {
    let project = three();
    project.up().expect_code(0);
    let mut follower = Beside::start(&project, &["logs", "-f"]);
    // What `up` did is in the history it shows first; what follows comes as it happens.
    assert_eq!(without_timings(&next_orch_line(&mut follower, "web: ready in ")), "web: ready in <t>");

    let worker = only_pid(&project, "worker");
    sigkill(worker);
    let said = next_orch_line(&mut follower, "worker: ");
    assert_eq!(without_timings(&said), "worker: killed by SIGKILL; restarting in <t>");
    wait_replaced(&project, "worker", worker);

    project.run(&["restart", "web"]).expect_code(0);
    assert_eq!(next_orch_line(&mut follower, "web: restarting"), "web: restarting");
    assert_eq!(without_timings(&next_orch_line(&mut follower, "web: ready in ")), "web: ready in <t>");

    project.run(&["stop", "api"]).expect_code(0);
    assert_eq!(next_orch_line(&mut follower, "api: stop"), "api: stopped");
    assert!(follower.wait_exit(Duration::ZERO).is_none(), "logs -f ended while the project runs");
}

#[test]
fn ps_keeps_the_last_exit_of_a_service_that_was_restarted() {
    let project = three();
    project.up().expect_code(0);
    let worker = only_pid(&project, "worker");
    sigkill(worker);
    let now = wait_replaced(&project, "worker", worker);
    let row = crate::reconcile::wait_ps_pid(&project, "worker", now);
    assert_eq!(row["last_exit"], "killed by SIGKILL", "{row:#}");
    assert_eq!(row["restarts"], 1, "{row:#}");
    let table = project.run(&["ps", "worker"]).expect_code(0).stdout();
    assert!(table.contains("↳ last exit: killed by SIGKILL"), "{table}");
}

#[test]
fn logs_follow_ends_with_the_project_going_down() {
    let project = three();
    project.up().expect_code(0);
    let mut follower = Beside::start(&project, &["logs", "-f", "web"]);
    assert!(follower.next_match(TIMEOUT, |l| l.ends_with("| listening")).is_some(), "{}", follower.seen.join("\n"));
    project.run(&["down"]).expect_code(0);
    let status = follower
        .wait_exit(TIMEOUT)
        .unwrap_or_else(|| panic!("logs -f is still following after down; it showed:\n{}", follower.seen.join("\n")));
    assert_eq!(status.code(), Some(0), "{status}: {}", follower.stderr());
    let last = follower.seen.last().cloned().unwrap_or_default();
    assert!(orch_said(&last).is_some_and(|t| t.starts_with("down:")), "the last line is not orch's about down: {last}");
    // Following one service, its own stop is shown too.
    assert!(follower.seen.iter().any(|l| orch_said(l) == Some("web: stopped")), "{}", follower.seen.join("\n"));
}

#[test]
fn a_stop_that_needed_sigkill_says_so() {
    let project = Project::toml(
        r#"
[services.stubborn]
cmd = "trap '' TERM; echo up; exec sleep 1000"
ready = { log = "up" }
stop_timeout = "300ms"
"#,
    );
    project.up().expect_code(0);
    let pid = only_pid(&project, "stubborn");
    let stop = project.run(&["stop", "stubborn"]).expect_code(0);
    assert_eq!(
        outcome_line(&stop.stdout(), "stubborn"),
        "✓ stubborn  stopped: killed with SIGKILL: it did not stop within 300ms of SIGTERM"
    );
    assert!(!is_alive(pid));

    project.up().expect_code(0);
    let pid = only_pid(&project, "stubborn");
    let down = project.run(&["down"]).expect_code(0);
    assert_outcome(&down.stdout(), "stubborn", true, &["SIGKILL"]);
    assert!(!is_alive(pid));
    let said = project.orch_lines();
    let killed = said.iter().filter(|l| l.starts_with("stubborn: stopped (killed with SIGKILL")).count();
    assert_eq!(killed, 2, "orch's log does not say both stops needed SIGKILL: {said:?}");
}

#[test]
fn a_stop_that_takes_dependents_names_them() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "sleep 1000"
min_uptime = "0s"

[services.web]
cmd = "sleep 1000"
depends_on = ["db"]
min_uptime = "0s"

[services.worker]
cmd = "sleep 1000"
depends_on = ["web"]
min_uptime = "0s"
"#,
    );
    project.up().expect_code(0);
    let stop = project.run(&["stop", "db"]).expect_code(0);
    insta::assert_snapshot!(stop.stdout(), @r"
    also stopping: worker, web (they depend on db)
    ✓ worker  stopped
    ✓ web     stopped
    ✓ db      stopped
    ");
}

#[test]
fn up_timeout_names_what_is_still_waiting() {
    let port = free_port();
    let project = Project::toml(&format!(
        r#"
[services.db]
cmd = "sleep 1000"
ready = {{ tcp = "127.0.0.1:{port}" }}
ready_timeout = "60s"

[services.web]
cmd = "sleep 1000"
depends_on = ["db"]

[services.cache]
cmd = "sleep 1000"
min_uptime = "0s"
"#
    ));
    let (up, took) = timed(&project, &["up", "--timeout", "1s"]);
    let up = up.expect_code(1);
    assert!(took < 5 * SECOND, "up --timeout 1s took {took:?}");
    assert!(up.stderr().contains("timed out waiting for db, web"), "{}", up.stderr());
    let stdout = up.stdout().replace(&port.to_string(), "PORT");
    insta::assert_snapshot!(stdout, @r"
    … db     starting, waiting for tcp 127.0.0.1:PORT: connection refused
    … web    waiting for db to be ready
    ");
}

#[test]
fn a_second_up_says_what_it_did_not_touch() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "echo ready; exec sleep 1000"
ready = { log = "ready" }

[services.web]
cmd = "sleep 1000"
depends_on = ["db"]
min_uptime = "200ms"
"#,
    );
    project.up().expect_code(0);
    let again = project.up().expect_code(0);
    insta::assert_snapshot!(again.stdout(), @r"
    = db   ready (unchanged)
    = web  running (unchanged)
    ");
}

#[test]
fn ctrl_c_on_up_leaves_the_services_starting() {
    let project = Project::toml(
        r#"
[services.slow]
cmd = "while [ ! -f go ]; do sleep 0.02; done; echo ready; exec sleep 1000"
ready = { log = "ready" }
"#,
    );
    let root = project.path();
    let mut up = Beside::start(&project, &["up"]);
    assert!(wait_until(TIMEOUT, || !pids_of(&root, "slow").is_empty()), "slow never started");
    // Signalled only once it is ready for Ctrl-C (a handler for SIGINT), as a user would.
    assert!(wait_until(TIMEOUT, || catches(up.pid(), Signal::SIGINT)), "orch up does not handle Ctrl-C while it waits");
    let slow = project.pid("slow");
    signal(up.pid(), Signal::SIGINT);
    let status = up.wait_exit(TIMEOUT).expect("up did not end after Ctrl-C");
    let stderr = up.stderr();
    assert_eq!(status.code(), Some(130), "{status}: {stderr}");
    assert!(stderr.contains("keep starting") && stderr.contains("`orch down` stops them"), "{stderr}");
    let shown = up.seen.join("\n");
    assert!(shown.contains("slow") && shown.contains("waiting for log"), "what was still waiting: {shown}");

    // The service goes on starting, and becomes ready.
    assert!(is_alive(slow), "Ctrl-C on up stopped the service");
    std::fs::write(project.path().join("go"), "").expect("write go");
    assert!(wait_until(TIMEOUT, || project.service("slow")["state"] == "ready"), "{:#}", project.service("slow"));
    assert_eq!(project.pid("slow"), slow);
}
