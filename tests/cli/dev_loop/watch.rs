//! Restart on source change: `watch` globs on a service, with `watch_ignore`, `.gitignore`
//! and `.git/` left out; a burst of saves gives one restart; `restart = true` dependents
//! follow; a watched oneshot runs again and what waits for its completion restarts.

use std::time::Duration;

use crate::procs::{is_alive, pids_of};
use crate::support::{ORCH_TIMEOUT, Project, wait_until};

/// How long a change that must do nothing is given to (wrongly) do something.
const NOTHING_WITHIN: Duration = Duration::from_millis(800);

/// orch's lines that say a service restarts (or runs again) for a change.
fn change_restarts(project: &Project, service: &str) -> Vec<String> {
    let prefix = format!("{service}: ");
    project.orch_lines().into_iter().filter(|l| l.starts_with(&prefix) && l.contains(" changed)")).collect()
}

fn only_pid(project: &Project, service: &str) -> i32 {
    let pids = pids_of(&project.path(), service);
    assert_eq!(pids.len(), 1, "{service}: {pids:?}");
    pids[0]
}

/// Waits until the service runs with another pid than `old`.
fn restarted(project: &Project, service: &str, old: i32) -> bool {
    wait_until(ORCH_TIMEOUT, || {
        let pids = pids_of(&project.path(), service);
        pids.len() == 1 && pids[0] != old && !is_alive(old)
    })
}

const MANIFEST: &str = r#"
[services.web]
cmd = "sleep 1000"
min_uptime = "0s"
watch = ["src/**/*.py", "config/*.toml"]
watch_ignore = ["**/test_*.py"]

[services.api]
cmd = "sleep 1000"
min_uptime = "0s"
depends_on = { web = { condition = "started", restart = true } }

[services.other]
cmd = "sleep 1000"
min_uptime = "0s"
depends_on = { web = "started" }
"#;

fn project() -> Project {
    Project::toml(MANIFEST)
        .file("src/app.py", "print('v1')\n")
        .file("src/pkg/deep.py", "x = 1\n")
        .file("config/app.toml", "a = 1\n")
        .file(".gitignore", "src/generated/\n")
        .file("src/generated/out.py", "\n")
        .file("README.md", "hi\n")
}

#[test]
fn a_save_restarts_the_watching_service_and_its_restart_dependents_only() {
    let project = project();
    project.up().expect_code(0);
    let (web, api, other) = (only_pid(&project, "web"), only_pid(&project, "api"), only_pid(&project, "other"));

    project.write("src/app.py", "print('v2')\n");
    assert!(restarted(&project, "web", web), "web did not restart for src/app.py");
    assert!(restarted(&project, "api", api), "api (restart = true) did not follow");
    assert_eq!(only_pid(&project, "other"), other, "other has no restart edge and no watch");
    let said = change_restarts(&project, "web");
    assert_eq!(said, ["web: restarting (src/app.py changed)"], "{:?}", project.orch_lines());
    let logs = project.run(&["logs", "orch"]).expect_code(0).stdout();
    assert!(logs.contains("web: restarting (src/app.py changed)"), "{logs}");

    // A folder deep down, and a second glob.
    let web = only_pid(&project, "web");
    project.write("src/pkg/deep.py", "x = 2\n");
    assert!(restarted(&project, "web", web), "web did not restart for src/pkg/deep.py");
    let web = only_pid(&project, "web");
    project.write("config/app.toml", "a = 2\n");
    assert!(restarted(&project, "web", web), "web did not restart for config/app.toml");

    // A folder made after the start is watched too.
    let web = only_pid(&project, "web");
    // (The file may be written before the folder's watch begins: it counts all the same.)
    std::fs::create_dir_all(project.path().join("src/new/deeper")).unwrap();
    std::fs::write(project.path().join("src/new/deeper/mod.py"), "y = 1\n").unwrap();
    assert!(restarted(&project, "web", web), "a file in a new folder did not restart web");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn ignored_gitignored_unmatched_and_git_files_change_nothing() {
    let project = project();
    std::fs::create_dir_all(project.path().join(".git")).unwrap();
    project.up().expect_code(0);
    let web = only_pid(&project, "web");
    project.write("src/test_app.py", "t\n");
    project.write("src/generated/out.py", "changed\n");
    project.write("README.md", "changed\n");
    project.write("src/app.js", "changed\n");
    project.write(".git/index.py", "changed\n");
    std::thread::sleep(NOTHING_WITHIN);
    assert_eq!(only_pid(&project, "web"), web, "{:?}", project.orch_lines());
    assert!(change_restarts(&project, "web").is_empty(), "{:?}", project.orch_lines());
    // And the watch does work.
    project.write("src/app.py", "print('v3')\n");
    assert!(restarted(&project, "web", web));
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_burst_of_two_hundred_saves_gives_one_restart() {
    let project = project();
    project.up().expect_code(0);
    let web = only_pid(&project, "web");
    for i in 0..200 {
        project.write(&format!("src/gen_{i}.py"), &format!("n = {i}\n"));
    }
    assert!(restarted(&project, "web", web));
    // Quiet again: nothing more comes.
    std::thread::sleep(NOTHING_WITHIN);
    let said = change_restarts(&project, "web");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("web: restarting (src/gen_") && said[0].ends_with(" and 199 more changed)"),
        "{said:?}"
    );
    project.run(&["down"]).expect_code(0);
}

#[test]
fn up_no_watch_turns_it_off() {
    let project = project();
    project.run(&["up", "--no-watch"]).expect_code(0);
    let web = only_pid(&project, "web");
    project.write("src/app.py", "print('v2')\n");
    std::thread::sleep(NOTHING_WITHIN);
    assert_eq!(only_pid(&project, "web"), web);
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_watched_oneshot_runs_again_and_what_waits_for_it_restarts_after() {
    let project = Project::toml(
        r#"
[services.build]
cmd = "cat src/input.txt > built.txt"
oneshot = true
watch = ["src/*.txt"]

[services.serve]
cmd = "cat built.txt; exec sleep 1000"
min_uptime = "0s"
depends_on = { build = "completed" }
"#,
    )
    .file("src/input.txt", "one\n");
    project.up().expect_code(0);
    assert_eq!(project.read("built.txt").as_deref(), Some("one\n"));
    let serve = only_pid(&project, "serve");
    project.write("src/input.txt", "two\n");
    assert!(restarted(&project, "serve", serve), "serve did not restart after the build ran again");
    assert_eq!(project.read("built.txt").as_deref(), Some("two\n"));
    assert!(wait_until(ORCH_TIMEOUT, || String::from_utf8_lossy(&project.log_file("serve")).contains("two")));
    let lines = project.orch_lines();
    assert!(lines.iter().any(|l| l == "build: running again (src/input.txt changed)"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "serve: restarting (build ran again)"), "{lines:?}");
    project.run(&["down"]).expect_code(0);
}
