//! Point 1: `down` right after the supervisor was SIGKILLed (no `ps` first) stops what it left
//! running — found through state.json, or through the process markers when the record is
//! damaged — and says "nothing is running" only when that is true.

use crate::procs::{is_alive, marked_pids, pids_of, sigkill, supervisor_pids};
use crate::reconcile::{TIMEOUT, kill_supervisor, project, sleeper, snapshot};
use crate::supervisor::{NO_PIDS, NO_PROCS, assert_outcome};
use crate::support::{Project, wait_until};

/// db, web (depends on db) and a tree (a shell with two sleeps in its group), all up.
fn up_three() -> (Project, Vec<(i32, String)>) {
    let project = project(&format!(
        "{}{}[services.tree]\ncmd = \"sleep 1000 & sleep 1000 & wait\"\n",
        sleeper("db", ""),
        sleeper("web", "depends_on = [\"db\"]"),
    ));
    project.up().expect_code(0);
    assert!(wait_until(TIMEOUT, || pids_of(&project.path(), "tree").len() == 3), "{:?}", snapshot(&project));
    let running = snapshot(&project);
    (project, running)
}

/// Nothing of the project runs: no service process, no supervisor (it may take a moment to exit).
fn assert_nothing_left(project: &Project, what: &str) {
    let root = project.path();
    assert_eq!(marked_pids(&root), NO_PROCS, "{what}: left running");
    let gone = wait_until(TIMEOUT, || supervisor_pids(&root).is_empty());
    assert!(gone, "{what}: a supervisor is left: {:?}", supervisor_pids(&root));
}

#[test]
fn down_right_after_the_supervisor_was_killed_stops_everything() {
    let (project, running) = up_three();
    kill_supervisor(&project, &["db", "web"]);
    assert_eq!(snapshot(&project), running, "the services went with the supervisor");

    let down = project.run(&["down"]).expect_code(0);
    assert!(!down.stderr().contains("nothing is running"), "{}", down.stderr());
    for name in ["db", "web", "tree"] {
        assert_outcome(&down.stdout(), name, true, &["stopped"]);
    }
    assert_nothing_left(&project, "down after a SIGKILLed supervisor");
    for (pid, name) in &running {
        assert!(!is_alive(*pid), "{name} ({pid}) survived down");
    }

    // Now nothing runs, and `down` says so, starting nothing.
    let again = project.run(&["down"]).expect_code(0);
    assert!(again.stderr().contains("nothing is running"), "{}", again.stderr());
    assert_eq!(supervisor_pids(&project.path()), NO_PIDS, "a down with nothing to stop started a supervisor");
}

#[test]
fn down_says_nothing_is_running_when_what_was_recorded_has_ended() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "")));
    let root = project.path();
    // Never up: nothing runs, and nothing is created.
    let never = project.run(&["down"]).expect_code(0);
    assert!(never.stderr().contains("nothing is running"), "{}", never.stderr());
    assert!(!project.exists(".orch"), "a down with nothing to stop created .orch/");

    project.up().expect_code(0);
    let services: Vec<i32> = marked_pids(&root).into_iter().map(|(pid, _)| pid).collect();
    kill_supervisor(&project, &["db", "web"]);
    for pid in &services {
        sigkill(*pid);
    }
    assert!(wait_until(TIMEOUT, || marked_pids(&root).is_empty()));
    let down = project.run(&["down"]).expect_code(0);
    assert!(down.stderr().contains("nothing is running"), "{}", down.stderr());
    assert_eq!(supervisor_pids(&root), NO_PIDS, "a down with nothing to stop started a supervisor");
}

#[test]
fn down_with_a_damaged_state_file_still_stops_what_the_markers_show() {
    let (project, running) = up_three();
    kill_supervisor(&project, &["db", "web"]);
    project.write(".orch/state.json", "{\"version\":1,\"services\":{\"db\":{\"desi");

    let down = project.run(&["down"]).expect_code(0);
    assert!(!down.stderr().contains("nothing is running"), "{}", down.stderr());
    assert_nothing_left(&project, "down with a damaged state.json");
    for (pid, name) in &running {
        assert!(!is_alive(*pid), "{name} ({pid}) survived down");
    }
}
