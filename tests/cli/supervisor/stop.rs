//! Stopping: SIGKILL after stop_timeout for what ignores SIGTERM; whole trees and double-forked
//! daemons go; the supervisor (a child subreaper) reaps what comes back to it.

use std::time::{Duration, Instant};

use super::{NO_PIDS, NO_PROCS, SECOND, assert_outcome};
use crate::procs::{self, children_of, is_alive, pgid_of, pids_of, ppid_of, zombies_of};
use crate::support::{Project, python, wait_until};

#[test]
fn a_service_that_ignores_sigterm_is_killed_after_stop_timeout() {
    let project = Project::toml(
        r#"
[services.stubborn]
cmd = "trap '' TERM; echo trapped; while true; do sleep 0.1; done"
ready = { log = "trapped" }
stop_timeout = "300ms"
"#,
    );
    let root = project.path();
    project.up().expect_code(0);
    let leader = project.pid("stubborn");
    assert!(!pids_of(&root, "stubborn").is_empty());
    let started = Instant::now();
    let stop = project.run(&["stop", "stubborn"]).expect_code(0);
    let took = started.elapsed();
    assert_outcome(&stop.stdout(), "stubborn", true, &["stopped"]);
    assert!(took >= Duration::from_millis(300) && took < 2 * SECOND, "stop took {took:?}");
    assert!(!is_alive(leader), "{leader} survived");
    assert_eq!(pids_of(&root, "stubborn"), NO_PIDS);
    let svc = project.service("stubborn");
    assert_eq!(svc["state"], "stopped", "{svc:#}");
    assert_eq!(svc["last_exit"], "killed by SIGKILL", "{svc:#}");
}

#[test]
fn a_process_tree_leaves_nothing() {
    let project = Project::toml("[services.tree]\ncmd = \"sleep 1000 & sleep 1000 & wait\"\n");
    let root = project.path();
    project.up().expect_code(0);
    assert!(
        wait_until(2 * SECOND, || pids_of(&root, "tree").len() == 3),
        "expected sh and two sleeps: {:?}",
        procs::marked_pids(&root)
    );
    let tree = pids_of(&root, "tree");
    project.run(&["down"]).expect_code(0);
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
    for pid in tree {
        assert!(!is_alive(pid), "{pid} survived down");
    }
}

/// Waits for a process of `service` that left the leader's process group; checks that it was
/// reparented to the supervisor (a child subreaper) and returns it.
fn escaped(project: &Project, service: &str) -> i32 {
    let root = project.path();
    let leader = project.pid(service);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let mut found = None;
    let escaped_and_reparented = wait_until(3 * SECOND, || {
        found = pids_of(&root, service)
            .into_iter()
            .find(|pid| pgid_of(*pid) != Some(leader) && ppid_of(*pid) == Some(supervisor));
        found.is_some()
    });
    assert!(
        escaped_and_reparented,
        "no escaped process of {service} reparented to the supervisor {supervisor}: {:?}",
        pids_of(&root, service).iter().map(|p| (*p, pgid_of(*p), ppid_of(*p))).collect::<Vec<_>>()
    );
    found.unwrap()
}

#[test]
fn a_double_forked_setsid_child_goes_at_down() {
    let project = Project::toml("[services.forker]\ncmd = \"(setsid sleep 1000 &) ; exec sleep 1000\"\n");
    let root = project.path();
    project.up().expect_code(0);
    let daemon = escaped(&project, "forker");
    let leader = project.pid("forker");
    project.run(&["down"]).expect_code(0);
    assert!(!is_alive(daemon), "the daemon {daemon} survived down");
    assert!(!is_alive(leader));
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
}

const DAEMON: &str = r#"import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("daemon.pid", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(1000)
    os._exit(0)
print("daemonised", flush=True)
time.sleep(1000)
"#;

#[test]
fn a_python_daemon_goes_at_down() {
    let project = Project::toml(&format!(
        "[services.daemon]\ncmd = [\"{}\", \"daemon.py\"]\nready = {{ log = \"daemonised\" }}\n",
        python()
    ))
    .file("daemon.py", DAEMON);
    let root = project.path();
    project.up().expect_code(0);
    let daemon = escaped(&project, "daemon");
    assert!(
        wait_until(2 * SECOND, || project.read("daemon.pid").is_some_and(|p| p.trim() == daemon.to_string())),
        "daemon.pid does not name {daemon}"
    );
    project.run(&["down"]).expect_code(0);
    assert!(!is_alive(daemon), "the daemon {daemon} survived down");
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
}

#[test]
fn a_daemon_left_by_a_service_that_exited_is_killed() {
    let project = Project::toml(
        r#"
[services.launcher]
cmd = "(setsid sleep 1000 &); echo launched; sleep 0.2; exit 0"
ready = { log = "launched" }
restart = "no"
"#,
    );
    let root = project.path();
    project.up().expect_code(0);
    assert!(
        wait_until(3 * SECOND, || project.service("launcher")["state"] == "stopped"),
        "{:#}",
        project.service("launcher")
    );
    assert!(
        wait_until(3 * SECOND, || pids_of(&root, "launcher").is_empty()),
        "left behind by an exited service: {:?}",
        procs::marked_pids(&root)
    );
}

#[test]
fn orphans_that_come_back_to_the_supervisor_are_reaped() {
    let project = Project::toml(
        r#"
[services.orphans]
cmd = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do (sleep 3 &); done; echo spawned; exec sleep 1000"
ready = { log = "spawned" }

[services.churn]
cmd = "while true; do (sleep 0.01 &); echo x >> churned; sleep 0.01; done"
min_uptime = "0s"
"#,
    );
    let root = project.path();
    project.up().expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let leader = project.pid("orphans");
    // The 20 short-lived grandchildren came back to the supervisor (one scan of /proc: they
    // live 3 s, and a scan per child is slow on a busy machine).
    let of_orphans = pids_of(&root, "orphans");
    let orphans: Vec<i32> =
        children_of(supervisor).into_iter().filter(|pid| *pid != leader && of_orphans.contains(pid)).collect();
    assert!(orphans.len() == 20, "only {} orphans reparented to the supervisor: {orphans:?}", orphans.len());
    // They die after 3 s and must be reaped, not left as zombies.
    assert!(
        wait_until(8 * SECOND, || {
            let children = children_of(supervisor);
            orphans.iter().all(|pid| !children.contains(pid))
        }),
        "unreaped: {:?} (zombies of the supervisor: {:?})",
        orphans,
        zombies_of(supervisor)
    );
    // After a while of constant churn, no zombie lingers: one seen now is gone shortly after.
    assert!(
        wait_until(3 * SECOND, || project.read("churned").is_some_and(|t| t.lines().count() >= 30)),
        "the churn did not run"
    );
    let seen = zombies_of(supervisor);
    assert!(
        wait_until(SECOND, || {
            let now = zombies_of(supervisor);
            seen.iter().all(|pid| !now.contains(pid))
        }),
        "zombies that stay: {seen:?}"
    );
    assert!(zombies_of(supervisor).len() <= 2, "{:?}", zombies_of(supervisor));
}

/// A service that writes when it got SIGTERM (ns) to `<name>.stopped` and exits.
fn term_recorder(name: &str, depends_on: &str) -> String {
    format!(
        r#"
[services.{name}]
cmd = "trap 'date +%s%N > {name}.stopped; exit 0' TERM; echo up; while true; do sleep 0.02; done"
ready = {{ log = "up" }}
depends_on = {depends_on}
"#
    )
}

#[test]
fn stop_takes_dependents_down_first_and_leaves_the_rest() {
    let manifest =
        [term_recorder("db", "[]"), term_recorder("web", r#"["db"]"#), term_recorder("other", "[]")].concat();
    let project = Project::toml(&manifest);
    let root = project.path();
    project.up().expect_code(0);
    let other = project.pid("other");
    let stop = project.run(&["stop", "db"]).expect_code(0);
    assert_outcome(&stop.stdout(), "db", true, &["stopped"]);
    assert_outcome(&stop.stdout(), "web", true, &["stopped"]);
    assert_eq!(pids_of(&root, "db"), NO_PIDS);
    assert_eq!(pids_of(&root, "web"), NO_PIDS);
    let stamp = |file: &str| -> u128 {
        let text = project.read(file).unwrap_or_else(|| panic!("{file}: no SIGTERM received"));
        text.trim().parse().unwrap()
    };
    assert!(stamp("web.stopped") < stamp("db.stopped"), "db was signalled before its dependent web");
    assert!(!project.exists("other.stopped"));
    assert!(is_alive(other), "an unrelated service was stopped");
    assert_eq!(project.pid("other"), other);
    assert_eq!(project.service("other")["state"], "ready");
}

#[test]
fn stop_signal_is_what_the_group_gets() {
    let project = Project::toml(
        r#"
[services.sig]
cmd = "trap 'echo INT > got; exit 0' INT; trap 'echo TERM > got; exit 0' TERM; echo up; while true; do sleep 0.02; done"
ready = { log = "up" }
stop_signal = "SIGINT"
"#,
    );
    project.up().expect_code(0);
    project.run(&["stop", "sig"]).expect_code(0);
    assert_eq!(project.read("got").as_deref(), Some("INT\n"));
    assert_eq!(project.service("sig")["last_exit"], "exited with 0");
}

#[test]
fn down_stops_independent_services_concurrently() {
    let stubborn = |name: &str| {
        format!(
            "[services.{name}]\ncmd = \"trap '' TERM; echo up; while true; do sleep 0.02; done\"\nready = {{ log = \"up\" }}\nstop_timeout = \"400ms\"\n"
        )
    };
    let project = Project::toml(&[stubborn("one"), stubborn("two")].concat());
    let root = project.path();
    project.up().expect_code(0);
    let started = Instant::now();
    project.run(&["down"]).expect_code(0);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(750),
        "down of two services with a 400 ms stop_timeout took {took:?}"
    );
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
}

#[test]
fn a_stop_is_done_when_the_group_is_empty_not_when_the_leader_exits() {
    let project = Project::toml(
        r#"
[services.tree]
cmd = "sh -c 'trap \"\" TERM; echo $$ > child.pid; echo up; while true; do sleep 0.02; done' & wait"
ready = { log = "up" }
stop_timeout = "300ms"
"#,
    );
    let root = project.path();
    project.up().expect_code(0);
    let leader = project.pid("tree");
    let child: i32 = project.read("child.pid").expect("child.pid").trim().parse().unwrap();
    assert!(is_alive(child));
    let started = Instant::now();
    project.run(&["stop", "tree"]).expect_code(0);
    let took = started.elapsed();
    assert!(!is_alive(leader) && !is_alive(child), "left: {:?}", procs::marked_pids(&root));
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
    // The leader dies of SIGTERM at once; the child only of SIGKILL, 300 ms later.
    assert!(took >= Duration::from_millis(300), "stop returned after {took:?}, with the child still running");
}
