//! 9.6: after a crash, a new supervisor adopts only processes of its own user. Another user's
//! process that carries the project's markers, or whose pid, start time and boot a forged state
//! file records, is neither adopted nor signalled. Needs root (to run a process as another user).

use super::{Marked, OtherUser, TIMEOUT, orch_dirs, sleeper};
use crate::procs::{boot_id, is_alive, start_time_of};
use crate::support::{Project, wait_until};

/// web runs as our own process, not as the foreign one, and is not taken for adopted.
fn assert_own_web(project: &Project, foreign: i32) {
    let mut row = serde_json::Value::Null;
    let own = wait_until(TIMEOUT, || {
        row = project.service("web");
        row["state"] == "running" && row["pid"].as_i64().is_some_and(|p| p as i32 != foreign)
    });
    assert!(own, "web is not a process of ours: {row:#}");
    assert_eq!(row["adopted"], false, "{row:#}");
}

#[test]
fn another_users_process_with_our_markers_is_never_adopted_or_signalled() {
    let Some(user) = OtherUser::get("another_users_process_with_our_markers_is_never_adopted_or_signalled") else {
        return;
    };
    let project = Project::toml(&sleeper("web"));
    let foreign = Marked::spawn(&project.path(), "web", Some(&user));
    // With no readable record, the supervisor takes over what carries the markers.
    std::fs::write(orch_dirs(&project).join("state.json"), "garbage").unwrap();
    project.up().expect_code(0);
    assert_own_web(&project, foreign.pid());
    project.run(&["down"]).expect_code(0);
    assert!(is_alive(foreign.pid()), "another user's process was signalled");
}

#[test]
fn a_record_naming_another_users_process_is_not_adopted() {
    let Some(user) = OtherUser::get("a_record_naming_another_users_process_is_not_adopted") else { return };
    let project = Project::toml(&sleeper("web"));
    let foreign = Marked::spawn(&project.path(), "web", Some(&user));
    let pid = foreign.pid();
    let record = serde_json::json!({
        "version": 1,
        "services": { "web": {
            "desired": "up", "state": "running", "pgid": pid, "config_hash": "", "restarts": 0,
            "process": { "pid": pid, "start_time": start_time_of(pid).unwrap(), "boot_id": boot_id() },
        }}
    });
    std::fs::write(orch_dirs(&project).join("state.json"), record.to_string()).unwrap();
    project.up().expect_code(0);
    assert_own_web(&project, pid);
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert!(log.contains(&format!("now runs as {} (uid {})", user.name, user.uid)), "{log}");
    project.run(&["down"]).expect_code(0);
    assert!(is_alive(pid), "another user's process was signalled");
}
