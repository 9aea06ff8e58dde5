//! Restart policies: backoff between tries, `fatal` after the limit; a crash is restarted; a
//! stop the user asked for is not; `orch restart` replaces only what it names.

use std::time::Duration;

use super::{NO_PIDS, SECOND, assert_outcome};
use crate::procs::{is_alive, pids_of, sigkill};
use crate::support::{Project, stamps, wait_until};

#[test]
fn on_failure_backs_off_then_goes_fatal() {
    let project = Project::toml(
        r#"
[services.crash]
cmd = "date +%s%N >> starts; echo boom; exit 3"
ready = { log = "never printed" }
restart = "on-failure"
max_restarts = 2
"#,
    );
    let up = project.up().expect_code(1);
    let out = up.stdout();
    assert_outcome(&out, "crash", false, &["fatal", "exited with 3"]);
    let svc = project.service("crash");
    assert_eq!(svc["state"], "fatal", "{svc:#}");
    assert_eq!(svc["restarts"], 2, "{svc:#}");
    assert!(svc["reason"].as_str().unwrap_or_default().contains("exited with 3"), "{svc:#}");
    let log = String::from_utf8_lossy(&project.log_file("crash")).into_owned();
    assert_eq!(log.matches("boom").count(), 3, "{log}");
    let starts = stamps(&project.read("starts").unwrap_or_default());
    assert_eq!(starts.len(), 3, "{starts:?}");
    let waited = Duration::from_nanos((starts[2] - starts[0]) as u64);
    // 100 ms, then 200 ms of backoff.
    assert!(waited >= Duration::from_millis(300) && waited < 3 * SECOND, "first to last start: {waited:?}");
    let first_gap = Duration::from_nanos((starts[1] - starts[0]) as u64);
    assert!(first_gap >= Duration::from_millis(100), "{first_gap:?}");
    assert_eq!(pids_of(&project.path(), "crash"), NO_PIDS);
}

#[test]
fn a_crash_is_restarted_and_a_requested_stop_is_not() {
    let project = Project::toml(
        r#"
[services.server]
cmd = "sleep 1000"
restart = "always"
"#,
    );
    let root = project.path();
    project.up().expect_code(0);
    let first = project.pid("server");
    sigkill(first);
    assert!(
        wait_until(3 * SECOND, || {
            let svc = project.service("server");
            svc["state"] == "running" && svc["pid"].as_i64().is_some_and(|p| p as i32 != first)
        }),
        "not restarted after a crash: {:#}",
        project.service("server")
    );
    let svc = project.service("server");
    assert_eq!(svc["restarts"], 1, "{svc:#}");
    let second = project.pid("server");
    assert!(!is_alive(first) && is_alive(second));

    // `orch stop` under restart = "always": it stays stopped.
    project.run(&["stop", "server"]).expect_code(0);
    assert!(!is_alive(second));
    assert!(
        !wait_until(Duration::from_millis(500), || !pids_of(&root, "server").is_empty()),
        "restarted after a stop that was asked for"
    );
    assert_eq!(project.service("server")["state"], "stopped");
}

#[test]
fn restart_replaces_the_service_and_keeps_its_dependency() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "echo ok; exec sleep 1000"
ready = { log = "ok" }

[services.web]
cmd = "sleep 1000"
depends_on = ["db"]
"#,
    );
    project.up().expect_code(0);
    let (db, web) = (project.pid("db"), project.pid("web"));
    let restart = project.run(&["restart", "web"]).expect_code(0);
    assert_outcome(&restart.stdout(), "web", true, &["running"]);
    let (db2, web2) = (project.pid("db"), project.pid("web"));
    assert_ne!(web, web2, "web has the same pid");
    assert!(!is_alive(web), "the old web {web} still runs");
    assert!(is_alive(web2));
    assert_eq!(db, db2, "db was restarted too");
    assert!(is_alive(db));
    assert_eq!(pids_of(&project.path(), "web"), [web2]);
}

#[test]
fn a_ready_timeout_under_a_restart_policy_backs_off_then_goes_fatal() {
    let port = crate::support::free_port();
    let project = Project::toml(&format!(
        r#"
[services.deaf]
cmd = "echo $$ >> leaders; sleep 1000"
ready = {{ tcp = "127.0.0.1:{port}" }}
ready_timeout = "200ms"
restart = "on-failure"
max_restarts = 1
"#
    ));
    let up = project.up().expect_code(1);
    assert_outcome(&up.stdout(), "deaf", false, &["fatal", &format!("tcp 127.0.0.1:{port}")]);
    let svc = project.service("deaf");
    assert_eq!(svc["state"], "fatal", "{svc:#}");
    assert_eq!(svc["restarts"], 1, "{svc:#}");
    let leaders: Vec<i32> = project.read("leaders").unwrap_or_default().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(leaders.len(), 2, "two tries: {leaders:?}");
    for pid in leaders {
        assert!(!is_alive(pid), "try {pid} still runs");
    }
    assert_eq!(pids_of(&project.path(), "deaf"), NO_PIDS);
}
