//! Where the project is: found from a subdirectory; two projects side by side, each with its
//! own supervisor.

use super::{NO_PROCS, SECOND};
use crate::procs::{self, is_alive, pids_of};
use crate::support::{ORCH_TIMEOUT, Project, wait_until};

#[test]
fn up_from_a_subdirectory_finds_the_project() {
    let project = Project::toml("[services.web]\ncmd = \"pwd > where; exec sleep 1000\"\n");
    let root = project.path();
    let deep = root.join("sub/dir");
    project.orch_within(&deep, ORCH_TIMEOUT, &["up"]).expect_code(0);
    assert!(root.join(".orch/state.json").exists());
    assert!(!deep.join(".orch").exists(), "a second project in sub/dir");
    let pid = project.pid("web");
    assert_eq!(pids_of(&root, "web"), [pid]);
    assert_eq!(procs::cwd_of(pid).as_deref(), Some(root.as_path()));
    assert!(wait_until(2 * SECOND, || project.read("where").is_some_and(|w| w.trim() == root.to_str().unwrap())));
    // Another subdirectory sees the same supervisor.
    let ps = project.orch_within(&root.join("other"), ORCH_TIMEOUT, &["ps"]);
    let ps = ps.expect_code(0).stdout();
    assert!(ps.contains(&pid.to_string()), "{ps}");
    project.orch_within(&deep, ORCH_TIMEOUT, &["down"]).expect_code(0);
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
}

#[test]
fn two_projects_run_side_by_side() {
    let manifest = "[services.web]\ncmd = \"sleep 1000\"\n";
    let (one, two) = (Project::toml(manifest), Project::toml(manifest));
    let (root1, root2) = (one.path(), two.path());
    // The first with -C from elsewhere, the second from its folder.
    let elsewhere = std::env::temp_dir();
    one.orch_within(&elsewhere, ORCH_TIMEOUT, &["-C", root1.to_str().unwrap(), "up"]).expect_code(0);
    two.up().expect_code(0);

    let (sup1, sup2) = (one.supervisor_pid().unwrap(), two.supervisor_pid().unwrap());
    assert_ne!(sup1, sup2);
    assert!(is_alive(sup1) && is_alive(sup2));
    assert_ne!(one.socket(), two.socket());
    let (web1, web2) = (one.pid("web"), two.pid("web"));
    assert_eq!(pids_of(&root1, "web"), [web1]);
    assert_eq!(pids_of(&root2, "web"), [web2]);

    one.run(&["down"]).expect_code(0);
    assert!(!is_alive(web1));
    assert!(wait_until(5 * SECOND, || !is_alive(sup1)));
    // The other project is untouched.
    assert!(is_alive(web2), "down in one project stopped the other's service");
    assert!(is_alive(sup2));
    assert_eq!(two.service("web")["state"], "running");
    assert_eq!(pids_of(&root2, "web"), [web2]);
}

#[test]
fn two_ups_at_once_give_one_supervisor_and_one_of_each_service() {
    let project = Project::toml("[services.web]\ncmd = \"echo x >> starts; exec sleep 1000\"\n");
    let root = project.path();
    let spawn = || {
        crate::support::orch_std()
            .current_dir(&root)
            .arg("up")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn orch up")
    };
    let mut ups = [spawn(), spawn()];
    for up in &mut ups {
        let mut status = None;
        let exited = wait_until(ORCH_TIMEOUT, || {
            status = up.try_wait().ok().flatten();
            status.is_some()
        });
        if !exited {
            let _ = up.kill();
            let _ = up.wait();
        }
        assert_eq!(status.and_then(|s| s.code()), Some(0), "an `orch up` failed");
    }
    assert_eq!(procs::supervisor_pids(&root).len(), 1, "{:?}", procs::supervisor_pids(&root));
    assert_eq!(pids_of(&root, "web").len(), 1, "{:?}", procs::marked_pids(&root));
    assert_eq!(project.read("starts").as_deref(), Some("x\n"), "web was started twice");
}

#[test]
fn a_project_reached_through_a_symlink_is_the_same_project() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let root = project.path();
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("link");
    std::os::unix::fs::symlink(&root, &link).unwrap();
    project.orch_within(links.path(), ORCH_TIMEOUT, &["-C", link.to_str().unwrap(), "up"]).expect_code(0);
    let pid = project.pid("web");
    // Marked with the canonical root, and seen from the real folder.
    assert_eq!(procs::env_var(pid, procs::PROJECT_VAR).as_deref(), root.to_str());
    assert_eq!(pids_of(&root, "web"), [pid]);
    let ps = project.orch_within(&link, ORCH_TIMEOUT, &["ps", "--json"]).expect_code(0);
    assert!(ps.stdout().contains(&pid.to_string()), "{}", ps.stdout());
    project.orch_within(&link, ORCH_TIMEOUT, &["down"]).expect_code(0);
    assert_eq!(procs::marked_pids(&root), NO_PROCS);
}
