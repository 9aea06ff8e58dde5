//! `orch start NAME -- CMD…`: ad-hoc services beside the manifest's, or with no manifest at all;
//! and `orch start SVC` bringing up the supervisor for one service.

use super::{NO_PIDS, NO_PROCS, SECOND, assert_outcome, log_lines};
use crate::procs::{self, is_alive, pids_of};
use crate::support::{Project, free_port, port_open, python, wait_until};

#[test]
fn an_adhoc_server_shows_in_ps_and_logs_and_goes_at_stop_and_down() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n").with_listener();
    let root = project.path();
    project.up().expect_code(0);
    let port = free_port().to_string();

    // Several arguments: exec'd as argv.
    let start = project.run(&["start", "srv", "--", python(), "listen.py", &port, "0"]).expect_code(0);
    assert_outcome(&start.stdout(), "srv", true, &["running"]);
    let srv = project.service("srv");
    assert_eq!(srv["adhoc"], true, "{srv:#}");
    assert_eq!(srv["state"], "running", "{srv:#}");
    let pid = project.pid("srv");
    assert_eq!(pids_of(&root, "srv"), [pid], "python itself, exec'd");
    assert!(wait_until(3 * SECOND, || port_open(port.parse().unwrap())), "the ad-hoc server never listened");
    let wanted = ("srv".to_owned(), format!("listening on {port}"));
    assert!(
        wait_until(2 * SECOND, || log_lines(&project.run(&["logs", "srv"]).expect_code(0).stdout()).contains(&wanted)),
        "{}",
        project.run(&["logs", "srv"]).stdout()
    );

    // stop NAME ends it, and only it.
    let stop = project.run(&["stop", "srv"]).expect_code(0);
    assert_outcome(&stop.stdout(), "srv", true, &["stopped"]);
    assert!(!is_alive(pid), "the ad-hoc server {pid} survived stop");
    assert_eq!(pids_of(&root, "srv"), NO_PIDS);
    assert!(!port_open(port.parse().unwrap()));
    assert_eq!(project.service("web")["state"], "running");

    // One argument: a shell command line. `down` ends ad-hoc services too.
    project.run(&["start", "tmp", "--", "echo tmp up; exec sleep 1000"]).expect_code(0);
    let tmp = project.pid("tmp");
    assert!(is_alive(tmp));
    let supervisor = project.supervisor_pid().unwrap();
    let down = project.run(&["down"]).expect_code(0);
    assert_outcome(&down.stdout(), "tmp", true, &["stopped"]);
    assert!(!is_alive(tmp), "the ad-hoc service {tmp} survived down");
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
    assert!(wait_until(5 * SECOND, || !is_alive(supervisor)));
}

#[test]
fn adhoc_works_in_a_folder_without_a_manifest() {
    let project = Project::new();
    let root = project.path();
    let start = project.run(&["start", "one", "--", "echo hello from $ORCH_SERVICE; exec sleep 1000"]).expect_code(0);
    assert_outcome(&start.stdout(), "one", true, &["running"]);
    let one = project.service("one");
    assert_eq!(one["adhoc"], true, "{one:#}");
    let pid = project.pid("one");
    assert_eq!(pids_of(&root, "one"), [pid]);
    assert_eq!(procs::env_var(pid, procs::PROJECT_VAR).as_deref(), root.to_str());
    assert!(
        wait_until(2 * SECOND, || project.run(&["logs", "one"]).stdout().contains("one | hello from one")),
        "{}",
        project.run(&["logs", "one"]).stdout()
    );
    let supervisor = project.supervisor_pid().expect("a supervisor");
    project.run(&["down"]).expect_code(0);
    assert!(!is_alive(pid));
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
    assert!(wait_until(5 * SECOND, || !is_alive(supervisor)));
}

#[test]
fn start_of_a_service_brings_up_the_supervisor_and_only_what_it_needs() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "sleep 1000"
[services.web]
cmd = "sleep 1000"
depends_on = ["db"]
[services.other]
cmd = "sleep 1000"
"#,
    );
    let root = project.path();
    let start = project.run(&["start", "web"]).expect_code(0);
    assert_outcome(&start.stdout(), "web", true, &["running"]);
    assert!(project.supervisor_pid().is_some_and(is_alive));
    assert_eq!(pids_of(&root, "db").len(), 1);
    assert_eq!(pids_of(&root, "web").len(), 1);
    assert_eq!(pids_of(&root, "other"), NO_PIDS);
}
