//! Point 9: a request that cannot succeed starts nothing: an unknown service is exit 2 in every
//! command, with or without a supervisor, and leaves no supervisor and no `.orch/` behind.

use crate::procs::{marked_pids, supervisor_pids};
use crate::supervisor::NO_PIDS;
use crate::support::Project;

fn manifest() -> Project {
    Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n")
}

#[test]
fn restart_of_an_unknown_service_starts_nothing() {
    let project = manifest();
    let restart = project.run(&["restart", "nosuch"]).expect_code(2);
    insta::assert_snapshot!(restart.stderr(), @"orch: no service named `nosuch` (services: `web`)");
    assert_eq!(supervisor_pids(&project.path()), NO_PIDS, "restart nosuch started a supervisor");
    assert!(!project.exists(".orch"), "restart nosuch created .orch/");

    let empty = Project::new();
    let restart = empty.run(&["restart", "web"]).expect_code(2);
    assert!(restart.stderr().contains("no service named `web`"), "{}", restart.stderr());
    assert_eq!(supervisor_pids(&empty.path()), NO_PIDS, "restart in a folder without a manifest started a supervisor");
    assert!(!empty.exists(".orch"), "restart in a folder without a manifest created .orch/");
}

#[test]
fn an_unknown_service_is_a_usage_error_with_or_without_a_supervisor() {
    let project = manifest();
    let root = project.path();
    for args in [["stop", "nosuch"], ["down", "nosuch"]] {
        let run = project.run(&args).expect_code(2);
        assert!(run.stderr().contains("no service named `nosuch`"), "`orch {args:?}`: {}", run.stderr());
        assert_eq!(supervisor_pids(&root), NO_PIDS, "`orch {args:?}` started a supervisor");
        assert!(!project.exists(".orch"), "`orch {args:?}` created .orch/");
    }

    project.up().expect_code(0);
    let running = marked_pids(&root);
    let supervisor = supervisor_pids(&root);
    for args in [["stop", "nosuch"], ["down", "nosuch"], ["restart", "nosuch"], ["ps", "nosuch"]] {
        let run = project.run(&args).expect_code(2);
        assert!(run.stderr().contains("no service named `nosuch`"), "`orch {args:?}`: {}", run.stderr());
        assert_eq!(marked_pids(&root), running, "`orch {args:?}` changed what runs");
        assert_eq!(supervisor_pids(&root), supervisor, "`orch {args:?}` changed the supervisor");
    }
}
