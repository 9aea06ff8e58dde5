//! Point 5: ad-hoc services go away: after `orch stop NAME`, after `down`, and when their start
//! failed — from `ps`, from `.orch/state.json` and from the shell completions.

use super::{completions, ps_names, recorded_names};
use crate::procs::pids_of;
use crate::reconcile::TIMEOUT;
use crate::supervisor::{NO_PIDS, assert_outcome};
use crate::support::{Project, wait_until};

fn manifest() -> Project {
    Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n")
}

/// Whether `name` is anywhere a user or a script would find it: ps, state.json, completions.
fn known_anywhere(project: &Project, name: &str) -> Vec<&'static str> {
    let name = name.to_owned();
    let mut found = Vec::new();
    if ps_names(project).contains(&name) {
        found.push("ps --json");
    }
    if recorded_names(project).contains(&name) {
        found.push("state.json");
    }
    if completions(project, &["stop", ""]).contains(&name) {
        found.push("completions");
    }
    found
}

#[test]
fn a_stopped_adhoc_service_is_forgotten() {
    let project = manifest();
    let root = project.path();
    project.up().expect_code(0);
    project.run(&["start", "tmp", "--", "sleep", "1000"]).expect_code(0);
    assert!(
        wait_until(TIMEOUT, || known_anywhere(&project, "tmp").len() == 3),
        "a running ad-hoc service is shown everywhere: {:?}",
        known_anywhere(&project, "tmp")
    );

    let stop = project.run(&["stop", "tmp"]).expect_code(0);
    assert_outcome(&stop.stdout(), "tmp", true, &["stopped"]);
    assert_eq!(pids_of(&root, "tmp"), NO_PIDS);
    let forgotten = wait_until(TIMEOUT, || known_anywhere(&project, "tmp").is_empty());
    assert!(forgotten, "a stopped ad-hoc service is still in {:?}", known_anywhere(&project, "tmp"));
    assert_eq!(ps_names(&project), ["web"]);

    // `down` takes them too; ps then reads the record the supervisor left.
    project.run(&["start", "tmp2", "--", "sleep 1000"]).expect_code(0);
    assert!(ps_names(&project).contains(&"tmp2".to_owned()));
    project.run(&["down"]).expect_code(0);
    assert_eq!(pids_of(&root, "tmp2"), NO_PIDS);
    assert!(
        known_anywhere(&project, "tmp2").is_empty(),
        "an ad-hoc service is still in {:?} after down",
        known_anywhere(&project, "tmp2")
    );
}

#[test]
fn an_adhoc_start_that_fails_leaves_nothing_behind() {
    let project = manifest();
    project.up().expect_code(0);
    let start = project.run(&["start", "bad", "--", "false"]).expect_code(1);
    assert_outcome(&start.stdout(), "bad", false, &["exited with 1"]);
    let start = project.run(&["start", "gone", "--", "no-such-program-here", "x"]).expect_code(1);
    assert_outcome(&start.stdout(), "gone", false, &["command not found: no-such-program-here"]);
    for name in ["bad", "gone"] {
        assert!(known_anywhere(&project, name).is_empty(), "`{name}` is still in {:?}", known_anywhere(&project, name));
    }
    assert_eq!(ps_names(&project), ["web"]);
    // The name is free again.
    project.run(&["start", "bad", "--", "sleep", "1000"]).expect_code(0);
    assert_eq!(project.service("bad")["state"], "running");
}
