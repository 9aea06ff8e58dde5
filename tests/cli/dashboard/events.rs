//! `/api/events`: the subscription as Server-Sent Events.

use super::{Dashboard, project};
use crate::support::ORCH_TIMEOUT;

#[test]
fn the_event_stream_delivers_a_state_change_and_a_log_line() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let mut events = dashboard.events();
    let rows = events.until(ORCH_TIMEOUT, |name, _| name == "services").expect("the rows first");
    assert!(rows["services"].as_array().unwrap().iter().any(|r| r["name"] == "worker" && r["state"] == "running"));
    let before = dashboard.pid("worker").unwrap();
    assert_eq!(dashboard.post("/api/services/worker/restart", "").json()["ok"], true);
    let stopping = events.until(ORCH_TIMEOUT, |name, data| {
        name == "phase" && data["service"] == "worker" && data["phase"] == "stopping"
    });
    assert!(stopping.is_some(), "a state change");
    // The new process's first line, and orch's own about it, in whatever order they come.
    let (mut started, mut lifecycle) = (None, None);
    events.until(ORCH_TIMEOUT, |name, data| {
        let text = data["text"].as_str().unwrap_or_default();
        if name == "line" && data["service"] == "worker" && text.starts_with("worker started as") {
            started = Some(text.to_owned());
        }
        if name == "line" && data["service"] == "orch" && text.starts_with("worker: ") {
            lifecycle = Some(text.to_owned());
        }
        started.is_some() && lifecycle.is_some()
    });
    let started = started.expect("the new process's line");
    assert_ne!(started, format!("worker started as {before}"));
    assert!(lifecycle.is_some(), "orch's own lines about it");
}

#[test]
fn a_flood_is_paced_and_the_dropped_lines_are_told() {
    // About 20,000 lines a second, far past what a page is sent.
    let project = crate::support::Project::toml(
        "[services.flood]\ncmd = \"while :; do seq 1 2000; sleep 0.1; done\"\nmin_uptime = \"0s\"\n",
    );
    project.up().expect_code(0);
    let dashboard = Dashboard::start(&project);
    let mut events = dashboard.events();
    let mut lines = 0;
    let dropped = events.until(ORCH_TIMEOUT, |name, _| {
        lines += usize::from(name == "line");
        name == "dropped"
    });
    let dropped = dropped.expect("the page is told lines were dropped");
    assert!(dropped["lines"].as_u64().unwrap() > 0, "{dropped}");
    // No more than a second's worth (500 lines) before it is told.
    assert!(lines <= 1000, "{lines} lines sent before the drop was told");
}

#[test]
fn with_nothing_running_it_says_so_and_follows_the_supervisor_that_comes() {
    let project = crate::support::Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    let dashboard = Dashboard::start(&project);
    let mut events = dashboard.events();
    let none = events.until(ORCH_TIMEOUT, |name, _| name == "supervisor").expect("told");
    assert_eq!(none["running"], false, "{none}");
    assert!(none["said"].as_str().unwrap().contains("orch up"), "{none}");
    project.up().expect_code(0);
    let back = events.until(ORCH_TIMEOUT, |name, data| name == "supervisor" && data["running"] == true);
    assert!(back.is_some(), "the supervisor that came is followed");
    let rows = events.until(ORCH_TIMEOUT, |name, data| name == "services" && data["services"][0]["state"] == "running");
    assert!(rows.is_some());
    // Each supervisor that goes is told, the second as the first.
    for _ in 0..2 {
        project.run(&["down"]).expect_code(0);
        let gone = events.until(ORCH_TIMEOUT, |name, data| name == "supervisor" && data["running"] == false);
        assert!(gone.is_some(), "its end is told");
        project.up().expect_code(0);
        let back = events.until(ORCH_TIMEOUT, |name, data| name == "supervisor" && data["running"] == true);
        assert!(back.is_some(), "the next one is followed");
    }
}
