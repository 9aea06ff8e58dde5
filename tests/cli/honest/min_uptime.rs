//! Point 3: `min_uptime`. A service with no readiness check counts as started for `up` only
//! once it stayed up that long (default 1 s); one that ends sooner failed to start, and `up`
//! exits 1 naming it with its last lines. The window runs for every service at once. `"0s"`
//! turns it off.

use std::time::Duration;

use super::{timed, without_timings};
use crate::procs::pids_of;
use crate::reconcile::TIMEOUT;
use crate::supervisor::{SECOND, assert_outcome};
use crate::support::{Project, stamps, wait_until};

#[test]
fn a_service_that_exits_at_once_fails_up_with_its_last_lines() {
    let project = Project::toml(
        r#"
[services.ok]
cmd = "sleep 1000"

[services.crash]
cmd = "echo booting; echo missing config/app.yml; exit 1"
"#,
    );
    let up = project.up().expect_code(1);
    insta::assert_snapshot!(without_timings(&up.stdout()), @r"
    ✓ ok     running
    ✗ crash  exited with 1 after <t>, before min_uptime (<t>)
        | booting
        | missing config/app.yml
    ");
    let crash = project.service("crash");
    assert_eq!(crash["state"], "failed", "{crash:#}");
    assert_eq!(crash["restarts"], 0, "a failed start is not retried: {crash:#}");
    assert_eq!(project.service("ok")["state"], "running");
}

#[test]
fn the_min_uptime_windows_of_a_chain_overlap() {
    // Each records when it started; each depends on the one before.
    let names = ["a", "b", "c", "d"];
    let mut manifest = String::new();
    for (i, name) in names.iter().enumerate() {
        manifest.push_str(&format!("[services.{name}]\ncmd = \"date +%s%N >> started; exec sleep 1000\"\n"));
        if i > 0 {
            manifest.push_str(&format!("depends_on = [\"{}\"]\n", names[i - 1]));
        }
    }
    let project = Project::toml(&manifest);
    let (up, took) = timed(&project, &["up"]);
    let up = up.expect_code(0);
    for name in names {
        assert_outcome(&up.stdout(), name, true, &["running"]);
        assert_eq!(project.service(name)["state"], "running");
    }
    // One window (1 s, the default) was waited for, not one per service.
    assert!(took >= SECOND, "up did not wait for min_uptime: {took:?}");
    assert!(took < 3 * SECOND, "up of a chain of 4 took {took:?}: the windows did not overlap");
    let started = stamps(&project.read("started").unwrap_or_default());
    assert_eq!(started.len(), 4, "{started:?}");
    let spread = Duration::from_nanos((started[3] - started[0]) as u64);
    assert!(spread < SECOND, "the chain started over {spread:?}: each waited for the one before's window");
}

#[test]
fn min_uptime_0s_takes_a_service_for_started_at_once() {
    let project = Project::toml(
        r#"
min_uptime = "0s"

[services.blip]
cmd = "exit 3"
restart = "no"

[services.steady]
cmd = "sleep 1000"
"#,
    );
    let (up, took) = timed(&project, &["up"]);
    let up = up.expect_code(0);
    assert_outcome(&up.stdout(), "blip", true, &["running"]);
    assert_outcome(&up.stdout(), "steady", true, &["running"]);
    assert!(took < SECOND, "up waited {took:?} with min_uptime off");
    // It ended at once, after up had taken it for started: ps says so, with its exit.
    let ended =
        wait_until(TIMEOUT, || pids_of(&project.path(), "blip").is_empty() && project.service("blip")["pid"].is_null());
    assert!(ended, "{:#}", project.service("blip"));
    let blip = project.service("blip");
    assert_eq!(blip["last_exit"], "exited with 3", "{blip:#}");
    assert_ne!(blip["state"], "running", "{blip:#}");
}
