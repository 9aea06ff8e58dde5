//! 9.1 and 9.2: what a repository may commit under `.orch/` — links pointing out of the
//! project, FIFOs — is refused with a message naming the file; nothing behind a link is written,
//! truncated, chmodded or created, and no command hangs.

use std::os::unix::fs::symlink;

use super::{TIMEOUT, Victim, orch_dirs, sleeper};
use crate::procs::supervisor_pids;
use crate::support::{Project, wait_until};

/// `orch ARGS…` in the project, killed after TIMEOUT (a hang shows as exit code -1).
fn bounded(project: &Project, args: &[&str]) -> crate::support::Run {
    project.orch_within(&project.path(), TIMEOUT, args)
}

#[test]
fn a_linked_service_log_is_refused_and_its_target_untouched() {
    let project = Project::toml(&sleeper("web"));
    let victim = Victim::new();
    symlink(&victim.path, orch_dirs(&project).join("logs/web.log")).unwrap();
    let up = bounded(&project, &["up"]).expect_code(1);
    let said = up.stdout() + &up.stderr();
    assert!(said.contains("web.log is a symbolic link, and orch does not follow links in .orch/"), "{said}");
    victim.assert_untouched("logs/web.log");
}

#[test]
fn a_linked_lock_or_supervisor_log_is_refused_at_once() {
    for name in ["supervisor.lock", "supervisor.log"] {
        let project = Project::toml(&sleeper("web"));
        let victim = Victim::new();
        symlink(&victim.path, orch_dirs(&project).join(name)).unwrap();
        let started = std::time::Instant::now();
        let up = bounded(&project, &["up"]).expect_code(1);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{name}: took {:?}", started.elapsed());
        assert!(up.stderr().contains(&format!("{name} is a symbolic link")), "{name}: {}", up.stderr());
        assert_eq!(supervisor_pids(&project.path()), Vec::<i32>::new(), "{name}");
        victim.assert_untouched(name);
    }
}

#[test]
fn a_linked_state_file_is_reported_then_set_aside_and_its_target_untouched() {
    let project = Project::toml(&sleeper("web"));
    let victim = Victim::new();
    let orch = orch_dirs(&project);
    symlink(&victim.path, orch.join("state.json")).unwrap();
    let ps = bounded(&project, &["ps"]).expect_code(0);
    assert!(ps.stderr().contains("state.json is a symbolic link"), "{}", ps.stderr());
    bounded(&project, &["up"]).expect_code(0);
    let state = std::fs::symlink_metadata(orch.join("state.json")).unwrap();
    assert!(state.is_file(), "state.json is still not orch's own file");
    bounded(&project, &["down"]).expect_code(0);
    victim.assert_untouched("state.json");
}

#[test]
fn a_dangling_gitignore_link_creates_nothing() {
    let project = Project::toml(&sleeper("web"));
    let victim = Victim::new();
    symlink(victim.missing(), orch_dirs(&project).join(".gitignore")).unwrap();
    bounded(&project, &["up"]).expect_code(0);
    bounded(&project, &["down"]).expect_code(0);
    victim.assert_untouched(".gitignore");
}

#[test]
fn an_orch_folder_that_is_a_link_is_refused() {
    let project = Project::toml(&sleeper("web"));
    let elsewhere = tempfile::tempdir().unwrap();
    symlink(elsewhere.path(), project.path().join(".orch")).unwrap();
    let up = bounded(&project, &["up"]).expect_code(1);
    assert!(up.stderr().contains(".orch is a symbolic link"), "{}", up.stderr());
    let planted: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
    assert!(planted.is_empty(), "orch wrote through the link: {planted:?}");
}

#[test]
fn a_fifo_state_file_never_blocks_ps_up_or_down() {
    let project = Project::toml(&sleeper("web"));
    let fifo = orch_dirs(&project).join("state.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for args in [&["ps"][..], &["ps", "--json"], &["down"]] {
        let run = bounded(&project, args).expect_code(0);
        if args[0] == "ps" {
            assert!(run.stderr().contains("state.json is not a regular file"), "{args:?}: {}", run.stderr());
        }
    }
    bounded(&project, &["up"]).expect_code(0);
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert!(log.contains("state.json is not a regular file") && log.contains("kept aside"), "{log}");
    bounded(&project, &["down"]).expect_code(0);
    assert!(wait_until(TIMEOUT, || supervisor_pids(&project.path()).is_empty()));
}

#[test]
fn a_fifo_log_never_blocks_logs_and_fails_the_start_clearly() {
    let project = Project::toml(&sleeper("web"));
    let fifo = orch_dirs(&project).join("logs/web.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for args in [&["logs"][..], &["logs", "web"], &["logs", "-f", "web"]] {
        let run = bounded(&project, args).expect_code(1);
        assert!(run.stderr().contains("web.log is not a regular file"), "{args:?}: {}", run.stderr());
    }
    let up = bounded(&project, &["up"]).expect_code(1);
    assert!(up.stdout().contains("web.log is not a regular file"), "{}", up.stdout());
}
