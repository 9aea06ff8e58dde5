//! Restart policies: backoff between tries, `fatal` after the limit; a crash is restarted; a
//! stop the user asked for is not; `orch restart` replaces only what it names.

use std::time::Duration;

use super::{NO_PIDS, SECOND, assert_outcome};
use crate::procs::{is_alive, pids_of, sigkill};
use crate::support::{Project, stamps, wait_until};

#[test]
fn on_failure_backs_off_then_goes_fatal() {
    // It starts fine (stays up min_uptime), then crashes; each restart crashes again.
    let project = Project::toml(
        r#"
[services.crash]
cmd = "date +%s%N >> starts; echo boom; sleep 0.3; exit 3"
min_uptime = "100ms"
restart = "on-failure"
max_restarts = 2
"#,
    );
    project.up().expect_code(0);
    let mut svc = serde_json::Value::Null;
    assert!(
        wait_until(10 * SECOND, || {
            svc = project.service("crash");
            svc["state"] == "fatal"
        }),
        "not fatal: {svc:#}"
    );
    assert_eq!(svc["restarts"], 2, "{svc:#}");
    assert!(svc["reason"].as_str().unwrap_or_default().contains("exited with 3"), "{svc:#}");
    let log = String::from_utf8_lossy(&project.log_file("crash")).into_owned();
    assert_eq!(log.matches("boom").count(), 3, "{log}");
    let starts = stamps(&project.read("starts").unwrap_or_default());
    assert_eq!(starts.len(), 3, "{starts:?}");
    // Each run lasts 300 ms; between them 100 ms, then 200 ms of backoff.
    let gaps: Vec<Duration> = starts.windows(2).map(|w| Duration::from_nanos((w[1] - w[0]) as u64)).collect();
    assert!(gaps[0] >= Duration::from_millis(400), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(500), "{gaps:?}");
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
fn a_ready_timeout_during_up_fails_at_once_without_more_tries() {
    let port = crate::support::free_port();
    let project = Project::toml(&format!(
        r#"
[services.deaf]
cmd = "echo $$ >> leaders; sleep 1000"
ready = {{ tcp = "127.0.0.1:{port}" }}
ready_timeout = "200ms"
restart = "on-failure"
max_restarts = 3
"#
    ));
    let up = project.up().expect_code(1);
    assert_outcome(&up.stdout(), "deaf", false, &[&format!("tcp 127.0.0.1:{port}"), "did not pass within 200ms"]);
    let svc = project.service("deaf");
    assert_eq!(svc["state"], "failed", "{svc:#}");
    assert_eq!(svc["restarts"], 0, "{svc:#}");
    let leaders: Vec<i32> = project.read("leaders").unwrap_or_default().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(leaders.len(), 1, "one try: {leaders:?}");
    assert!(!is_alive(leaders[0]), "the try still runs");
    assert_eq!(pids_of(&project.path(), "deaf"), NO_PIDS);
}
