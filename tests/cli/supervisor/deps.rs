//! Dependencies: started in order, each waiting for the condition on its edge; independent
//! services at the same time; a failed dependency blocks its dependents.

use std::time::{Duration, Instant};

use super::{NO_PIDS, SECOND, assert_outcome};
use crate::procs::pids_of;
use crate::support::{Project, stamps};

/// A service that appends `<name>` to `order` and its start time (ns) to `<name>.start`, and
/// prints `up` (its readiness) after `ready_after` seconds.
fn recorder(name: &str, depends_on: &str, ready_after: f64) -> String {
    format!(
        r#"
[services.{name}]
cmd = "echo {name} >> order; date +%s%N > {name}.start; sleep {ready_after}; date +%s%N > {name}.ready; echo up; exec sleep 1000"
ready = {{ log = "^up$" }}
depends_on = {depends_on}
"#
    )
}

/// The stamp in a file, once written: a service without a readiness check counts as running
/// as soon as it is spawned, so its first command may still be running when `up` returns.
fn stamp(project: &Project, file: &str) -> u128 {
    let written = || project.read(file).map(|t| stamps(&t)).unwrap_or_default();
    assert!(crate::support::wait_until(5 * SECOND, || !written().is_empty()), "{file} was not written");
    written()[0]
}

#[test]
fn a_chain_starts_dependencies_first_each_once_ready() {
    // a needs b, b needs c.
    let manifest = [recorder("a", r#"["b"]"#, 0.0), recorder("b", r#"["c"]"#, 0.1), recorder("c", "[]", 0.1)].concat();
    let project = Project::toml(&manifest);
    let up = project.up().expect_code(0);
    for name in ["a", "b", "c"] {
        assert_outcome(&up.stdout(), name, true, &["ready"]);
    }
    assert_eq!(project.read("order").as_deref(), Some("c\nb\na\n"));
    // Each started after its dependency was ready, not merely started.
    assert!(stamp(&project, "b.start") >= stamp(&project, "c.ready"));
    assert!(stamp(&project, "a.start") >= stamp(&project, "b.ready"));
}

#[test]
fn independent_services_start_together() {
    let project = Project::toml(
        r#"
[services.x]
cmd = "date +%s%N > x.start; exec sleep 1000"
ready = { delay = "300ms" }

[services.y]
cmd = "date +%s%N > y.start; exec sleep 1000"
ready = { delay = "300ms" }

[services.z]
cmd = "date +%s%N > z.start; exec sleep 1000"
depends_on = ["x", "y"]
"#,
    );
    let started = Instant::now();
    project.up().expect_code(0);
    let took = started.elapsed();
    assert!(took < 2 * SECOND, "up took {took:?}");
    let (x, y, z) = (stamp(&project, "x.start"), stamp(&project, "y.start"), stamp(&project, "z.start"));
    let ms = |ns: u128| Duration::from_nanos(ns as u64);
    // Each started before the other could be ready (300 ms after its start).
    assert!(x.abs_diff(y) < 300_000_000, "x and y started {:?} apart", ms(x.abs_diff(y)));
    // z waited for both delays.
    let last = x.max(y);
    assert!(z >= last + 200_000_000, "z started {:?} after the later of x and y", ms(z.saturating_sub(last)));
}

#[test]
fn started_and_completed_conditions() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "date +%s%N > db.start; exec sleep 1000"
ready = { delay = "800ms" }

[services.tail]
cmd = "date +%s%N > tail.start; exec sleep 1000"
depends_on = { db = "started" }

[services.migrate]
cmd = "sleep 0.2; date +%s%N > migrate.done"
oneshot = true

[services.web]
cmd = "date +%s%N > web.start; exec sleep 1000"
depends_on = { migrate = "completed" }
"#,
    );
    let up = project.up().expect_code(0);
    assert_outcome(&up.stdout(), "migrate", true, &["completed"]);
    // `started`: tail did not wait for db's 800 ms check.
    let (db, tail) = (stamp(&project, "db.start"), stamp(&project, "tail.start"));
    assert!(tail < db + 600_000_000, "tail waited {} ms for a `started` db", (tail.saturating_sub(db)) / 1_000_000);
    // `completed`: web only after migrate exited.
    assert!(stamp(&project, "web.start") >= stamp(&project, "migrate.done"));
    assert_eq!(project.service("migrate")["state"], "completed");
}

#[test]
fn up_of_one_service_starts_it_and_its_dependencies_only() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "sleep 1000"
[services.web]
cmd = "sleep 1000"
depends_on = ["db"]
[services.other]
cmd = "touch other-ran; exec sleep 1000"
"#,
    );
    let root = project.path();
    project.run(&["up", "web"]).expect_code(0);
    assert_eq!(pids_of(&root, "db").len(), 1);
    assert_eq!(pids_of(&root, "web").len(), 1);
    assert_eq!(pids_of(&root, "other"), NO_PIDS, "an unrelated service was started");
    assert!(!project.exists("other-ran"));
}

#[test]
fn a_failed_dependency_blocks_its_dependents() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "echo db is broken; exit 1"
ready = { log = "never printed" }
restart = "no"

[services.web]
cmd = "touch web-ran; exec sleep 1000"
depends_on = ["db"]

[services.worker]
cmd = "touch worker-ran; exec sleep 1000"
depends_on = ["web"]
"#,
    );
    let root = project.path();
    let up = project.up().expect_code(1);
    let out = up.stdout();
    assert_outcome(&out, "db", false, &["exited with 1"]);
    assert!(out.contains("    | db is broken"), "no last log line:\n{out}");
    assert_outcome(&out, "web", false, &["blocked", "db"]);
    let web = project.service("web");
    assert_eq!(web["state"], "blocked", "{web:#}");
    assert!(web["reason"].as_str().unwrap_or_default().contains("db"), "{web:#}");
    assert!(web["pid"].is_null());
    // Blocked transitively, and never spawned.
    assert_eq!(project.service("worker")["state"], "blocked");
    assert!(!project.exists("web-ran"), "web's command ran");
    assert!(!project.exists("worker-ran"), "worker's command ran");
    assert_eq!(pids_of(&root, "web"), NO_PIDS);
    assert_eq!(project.service("db")["state"], "failed");
}
