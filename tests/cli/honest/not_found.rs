//! Point 4: a command that cannot be run (ENOENT for an argv; `sh` exiting 127 with its "not
//! found" line for a shell command) is a start failure without retries, told as `command not
//! found: pg_ctlx`; and the last lines `up` shows of a failure are those of its last attempt.

use super::without_timings;
use crate::reconcile::QUIET;
use crate::supervisor::outcome_line;
use crate::support::{Project, wait_until};

/// How many times orch's own log says `db: <words>…`.
fn said(project: &Project, words: &str) -> usize {
    project.orch_lines().iter().filter(|l| l.starts_with(&format!("db: {words}"))).count()
}

#[test]
fn a_command_that_is_not_found_fails_once_and_says_so() {
    for cmd in [r#"["pg_ctlx"]"#, r#""pg_ctlx -D data""#] {
        // Even a policy that restarts always does not retry what cannot be run.
        let project = Project::toml(&format!("[services.db]\ncmd = {cmd}\nrestart = \"always\"\n"));
        let up = project.up().expect_code(1);
        assert_eq!(outcome_line(&up.stdout(), "db"), "✗ db  command not found: pg_ctlx", "cmd = {cmd}");
        let db = project.service("db");
        assert_eq!((db["state"].as_str(), db["restarts"].as_u64()), (Some("failed"), Some(0)), "cmd = {cmd}: {db:#}");
        assert_eq!(db["reason"], "command not found: pg_ctlx", "cmd = {cmd}: {db:#}");
        // One attempt (one `started`, none for an argv that could not be spawned) and one
        // failure, and no more a while later: a first restart would come after 100 ms.
        let once = if cmd.starts_with('[') { (0, 1) } else { (1, 1) };
        let counts = || (said(&project, "started"), said(&project, "command not found: pg_ctlx"));
        assert!(!wait_until(QUIET, || counts() != once), "cmd = {cmd}: {:?}", project.orch_lines());
        assert_eq!(project.service("db")["restarts"], 0, "cmd = {cmd}");
    }
}

#[test]
fn the_last_lines_of_a_failure_are_those_of_its_last_attempt() {
    // Ready on its first run; on the next, it says why it cannot start and ends.
    let project = Project::toml(
        r#"
[services.db]
cmd = "if [ -f ran ]; then echo second run; echo data folder is locked; exit 1; fi; touch ran; echo first run; exec sleep 1000"
ready = { log = "first run" }
"#,
    );
    project.up().expect_code(0);
    project.run(&["stop", "db"]).expect_code(0);
    let up = project.up().expect_code(1);
    insta::assert_snapshot!(without_timings(&up.stdout()), @r"
    ✗ db  exited with 1 before its ready check passed
        | second run
        | data folder is locked
    ");
    assert!(!up.stdout().contains("first run"), "lines of the run before: {}", up.stdout());
    // The log still has both runs.
    let logs = project.run(&["logs", "db"]).expect_code(0).stdout();
    assert!(logs.contains("first run") && logs.contains("second run"), "{logs}");
}
