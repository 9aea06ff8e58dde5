//! The tests' own safety net: a project's processes go when its `Project` drops, even when the
//! test panicked, and `kill_project` alone ends a supervisor that no longer answers.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{NO_PIDS, NO_PROCS, SECOND};
use crate::procs::{self, is_alive, marked_pids};
use crate::support::{Project, wait_until};

const MANIFEST: &str = r#"
[services.tree]
cmd = "sleep 1000 & sleep 1000 & wait"

[services.forker]
cmd = "(setsid sleep 1000 &) ; sleep 1000"
"#;

#[test]
fn a_panicking_test_leaves_nothing_behind() {
    let project = Project::toml(MANIFEST);
    let root = project.path();
    project.up().expect_code(0);
    assert!(wait_until(2 * SECOND, || marked_pids(&root).len() >= 5), "{:?}", marked_pids(&root));
    let supervisor = project.supervisor_pid().unwrap();
    let outcome = std::panic::catch_unwind(move || {
        let _owned = project;
        panic!("a test failing with its services up");
    });
    assert!(outcome.is_err());
    assert_eq!(marked_pids(&root), NO_PROCS);
    assert!(!is_alive(supervisor), "the supervisor {supervisor} survived");
    assert!(!root.exists(), "the temp project was not removed");
}

#[test]
fn kill_project_ends_a_stuck_supervisor_and_its_services() {
    let project = Project::toml(MANIFEST);
    let root = project.path();
    project.up().expect_code(0);
    assert!(wait_until(2 * SECOND, || marked_pids(&root).len() >= 5), "{:?}", marked_pids(&root));
    let supervisor = project.supervisor_pid().unwrap();
    kill(Pid::from_raw(supervisor), Signal::SIGSTOP).unwrap();
    procs::kill_project(&root);
    assert_eq!(marked_pids(&root), NO_PROCS);
    assert_eq!(procs::supervisor_pids(&root), NO_PIDS);
    assert!(!is_alive(supervisor));
}
