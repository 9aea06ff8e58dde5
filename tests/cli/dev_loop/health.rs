//! Health checks while running: `retries` failures in a row make a service unhealthy in `ps`,
//! with the last failure, and restart it unless `restart = "no"`.

use crate::procs::{is_alive, pids_of};
use crate::support::{ORCH_TIMEOUT, Project, wait_until};

/// A service that is healthy while the file `healthy` exists.
fn manifest(restart: &str) -> String {
    format!(
        r#"
[services.web]
cmd = "sleep 1000"
min_uptime = "0s"
restart = "{restart}"
healthcheck = {{ exec = "test -e healthy", interval = "100ms", retries = 3 }}
"#
    )
}

#[test]
fn a_check_that_starts_failing_marks_the_service_unhealthy_and_restarts_it() {
    let project = Project::toml(&manifest("on-failure")).file("healthy", "");
    project.up().expect_code(0);
    let first = project.pid("web");
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["health"] == "healthy"), "{}", project.service("web"));

    std::fs::remove_file(project.path().join("healthy")).unwrap();
    // It goes unhealthy, says why, and is restarted.
    assert!(
        wait_until(ORCH_TIMEOUT, || !is_alive(first) && pids_of(&project.path(), "web").len() == 1),
        "web {first} was not restarted: {}",
        project.service("web")
    );
    let lines = project.orch_lines();
    let said = lines.iter().find(|l| l.starts_with("web: unhealthy (")).cloned().unwrap_or_default();
    assert!(said.contains("health check failed 3 times in a row: exec test -e healthy: exited with 1"), "{lines:?}");
    assert!(said.ends_with("; restarting"), "{said}");
    // Healthy again once the check passes.
    std::fs::write(project.path().join("healthy"), "").unwrap();
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["health"] == "healthy"), "{}", project.service("web"));
    project.run(&["down"]).expect_code(0);
}

#[test]
fn with_restart_no_an_unhealthy_service_stays_and_ps_says_why() {
    let project = Project::toml(&manifest("no"));
    project.up().expect_code(0);
    let pid = project.pid("web");
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["state"] == "unhealthy"), "{}", project.service("web"));
    let web = project.service("web");
    assert_eq!(web["health"], "unhealthy");
    assert!(web["reason"].as_str().is_some_and(|r| r.contains("exited with 1")), "{web}");
    assert_eq!(project.pid("web"), pid, "restart = \"no\" restarted it");
    let table = project.run(&["ps"]).expect_code(0).stdout();
    assert!(table.contains("unhealthy") && table.contains("health check failed 3 times in a row"), "{table}");
    // And it recovers without a restart.
    std::fs::write(project.path().join("healthy"), "").unwrap();
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["state"] == "running"), "{}", project.service("web"));
    assert_eq!(project.pid("web"), pid);
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_supervisor_that_adopts_the_service_goes_on_checking_it() {
    let project = Project::toml(&manifest("on-failure")).file("healthy", "");
    project.up().expect_code(0);
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["health"] == "healthy"), "{}", project.service("web"));
    let first = project.pid("web");
    let supervisor = project.supervisor_pid().expect("a supervisor");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(wait_until(ORCH_TIMEOUT, || !is_alive(supervisor)), "the supervisor outlived SIGKILL");
    // The next command adopts web; its checks go on, and a failing one still restarts it.
    assert!(wait_until(ORCH_TIMEOUT, || project.service("web")["health"] == "healthy"), "{}", project.service("web"));
    assert_eq!(project.pid("web"), first, "adopted, not restarted");
    std::fs::remove_file(project.path().join("healthy")).unwrap();
    assert!(
        wait_until(ORCH_TIMEOUT, || !is_alive(first) && pids_of(&project.path(), "web").len() == 1),
        "the adopted web {first} was not restarted when unhealthy: {}",
        project.service("web")
    );
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_healthcheck_needs_one_check_and_is_shown_by_config() {
    let bad = Project::toml("[services.web]\ncmd = \"sleep 1\"\nhealthcheck = { interval = \"1s\" }\n");
    let said = bad.run(&["check"]).expect_code(2).stderr();
    assert!(
        said.contains("a healthcheck has one of `tcp`, `http` or `exec`") && said.contains("procs.toml:3"),
        "{said}"
    );
    let good = Project::toml(
        "[services.web]\ncmd = \"sleep 1\"\nport = 4567\nhealthcheck = { tcp = \"127.0.0.1:${PORT}\", start_period = \"5s\" }\n",
    );
    let config = good.run(&["config"]).expect_code(0).stdout();
    assert!(config.contains("tcp = \"127.0.0.1:4567\"") && config.contains("retries = 3"), "{config}");
    assert!(config.contains("interval = \"10s\"") && config.contains("start_period = \"5s\""), "{config}");
}
