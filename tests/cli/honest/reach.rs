//! Point 2: every client of a project reaches the same supervisor whatever its environment
//! (`XDG_RUNTIME_DIR` set, unset, or another one: an MCP client's environment is stripped), and
//! a supervisor that holds the lock but does not answer is said to be so, within about 2 s,
//! never taken for "nothing runs".

use std::ffi::OsStr;
use std::time::Duration;

use super::{Frozen, run_with_env, timed};
use crate::procs::{is_alive, marked_pids, pids_of, supervisor_pids};
use crate::reconcile::{TIMEOUT, down_leaves_nothing, project, sleeper};
use crate::support::wait_until;

/// How long a client may take to say that the supervisor does not answer (it waits 2 s for
/// its hello).
const NO_ANSWER_BOUND: Duration = Duration::from_secs(3);

#[test]
fn clients_with_another_runtime_dir_reach_the_same_supervisor() {
    let runtime = tempfile::tempdir().expect("a runtime dir (0700)");
    let other = tempfile::tempdir().expect("another runtime dir");
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    let root = project.path();
    let xdg = [("XDG_RUNTIME_DIR", runtime.path().as_os_str())];
    run_with_env(&project, &xdg, &["up"]).expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let socket = project.socket().expect("its socket");
    assert!(socket.starts_with(runtime.path()), "the socket is not under $XDG_RUNTIME_DIR: {}", socket.display());
    let (db, web) = (pids_of(&root, "db"), pids_of(&root, "web"));

    // Without the variable (as an MCP client runs), and with another one.
    let stripped: [(&str, &OsStr); 0] = [];
    let another = [("XDG_RUNTIME_DIR", other.path().as_os_str())];
    for (what, env) in [("no XDG_RUNTIME_DIR", &stripped[..]), ("another XDG_RUNTIME_DIR", &another[..])] {
        let ps = run_with_env(&project, env, &["ps", "--json"]).expect_code(0);
        let rows: serde_json::Value = serde_json::from_str(&ps.stdout()).expect("ps --json is JSON");
        for (name, pids) in [("db", &db), ("web", &web)] {
            let row = rows.as_array().and_then(|r| r.iter().find(|r| r["name"] == name));
            let row = row.unwrap_or_else(|| panic!("{what}: no {name} in {rows:#}"));
            assert_eq!(row["state"], "running", "{what}: {row:#}");
            assert_eq!(pids, &[row["pid"].as_i64().unwrap_or_default() as i32], "{what}: {row:#}");
        }
        assert_eq!(supervisor_pids(&root), [supervisor], "{what}: ps started another supervisor");
    }

    let down = run_with_env(&project, &another, &["down"]).expect_code(0);
    assert!(!down.stderr().contains("nothing is running"), "{}", down.stderr());
    assert_eq!(marked_pids(&root), Vec::<(i32, String)>::new(), "left running after down");
    assert!(wait_until(TIMEOUT, || !is_alive(supervisor)), "the supervisor did not exit");
}

#[test]
fn a_stopped_supervisor_is_said_not_to_answer() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "")));
    let root = project.path();
    project.up().expect_code(0);
    let running = marked_pids(&root);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let frozen = Frozen::new(supervisor);

    let words = format!("the supervisor (pid {supervisor}) does not answer");
    for args in [&["ps"][..], &["ps", "--json"], &["down"], &["stop", "web"]] {
        let (run, took) = timed(&project, args);
        let run = run.expect_code(1);
        assert!(run.stderr().contains(&words), "`orch {args:?}` said: {}", run.stderr());
        assert!(took < NO_ANSWER_BOUND, "`orch {args:?}` took {took:?} to say so");
        assert!(!run.stderr().contains("nothing is running"), "{}", run.stderr());
        assert_eq!(marked_pids(&root), running, "`orch {args:?}` changed what runs");
        assert_eq!(supervisor_pids(&root), [supervisor], "`orch {args:?}` started another supervisor");
    }

    // Woken, it answers again, and `down` stops everything.
    drop(frozen);
    assert_eq!(project.ps_json().as_array().map(Vec::len), Some(2));
    down_leaves_nothing(&project);
}
