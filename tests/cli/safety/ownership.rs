//! 9.4: a manifest, `.env` or `env_file` that belongs to another user (root's are fine) is not
//! read, unless the user trusts its folder (`ORCH_TRUSTED`, or `~/.config/orch/trusted`), as
//! git's `safe.directory`; a running supervisor's hot reload refuses it too. Needs root (to
//! give a file to another user).

use std::path::Path;

use super::{OtherUser, TIMEOUT};
use crate::support::{Project, orch, wait_until};

const MANIFEST: &str = "[services.web]\ncmd = \"exec sleep 1000\"\nenv_file = \".env.web\"\nenv = { X = \"${FOO}\" }\n";

fn project() -> Project {
    Project::toml(MANIFEST).file(".env", "FOO=1\n").file(".env.web", "BAR=1\n")
}

/// `orch check` with this HOME and these variables.
fn check(project: &Project, home: &Path, vars: &[(&str, String)]) -> crate::support::Run {
    let mut cmd = orch();
    cmd.current_dir(project.path()).env("HOME", home).arg("check");
    for (key, value) in vars {
        cmd.env(key, value);
    }
    crate::support::Run { output: cmd.timeout(TIMEOUT).output().expect("run orch") }
}

/// The text without its line breaks and box drawing, so a wrapped sentence can be found.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

#[test]
fn another_users_manifest_or_env_file_is_refused_unless_its_folder_is_trusted() {
    let Some(user) = OtherUser::get("another_users_manifest_or_env_file_is_refused_unless_its_folder_is_trusted")
    else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    for name in ["procs.toml", ".env", ".env.web"] {
        let project = project();
        let root = project.path();
        check(&project, home.path(), &[]).expect_code(0);
        user.chown(&root.join(name));

        // The wording is a snapshot in src/trust.rs; here, that it names the file, the owner and
        // both ways to opt in (wrapped at 100 columns, so compared without the line breaks).
        let refused = squash(&check(&project, home.path(), &[]).expect_code(2).stderr());
        let trust_file = home.path().join(".config/orch/trusted");
        for part in [
            format!("cannot read {}", if name == ".env.web" { "env_file `.env.web`" } else { name }),
            format!("belongs to {} (uid {}), not to you", user.name, user.uid),
            format!("add that folder to {}", trust_file.display()),
            format!("ORCH_TRUSTED={}", root.display()),
        ] {
            assert!(refused.contains(&squash(&part)), "{name}: `{part}` not in:\n{refused}");
        }

        let root_text = root.display().to_string();
        check(&project, home.path(), &[("ORCH_TRUSTED", format!("/elsewhere:{root_text}"))]).expect_code(0);
        check(&project, home.path(), &[("ORCH_TRUSTED", "*".to_owned())]).expect_code(0);
        let config = home.path().join(".config/orch");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("trusted"), format!("# projects I trust\n{root_text}\n")).unwrap();
        check(&project, home.path(), &[]).expect_code(0);
        // A trust file that is not the user's own says nothing.
        user.chown(&config.join("trusted"));
        check(&project, home.path(), &[]).expect_code(2);
        std::fs::remove_file(config.join("trusted")).unwrap();
    }
}

#[test]
fn a_running_supervisor_refuses_to_reload_another_users_env_file() {
    let Some(user) = OtherUser::get("a_running_supervisor_refuses_to_reload_another_users_env_file") else { return };
    let project = project();
    project.up().expect_code(0);
    let web = project.pid("web");
    // Saved by rename, as editors do, already owned by the other user.
    let fresh = project.path().join(".env.fresh");
    std::fs::write(&fresh, "FOO=2\n").unwrap();
    user.chown(&fresh);
    std::fs::rename(&fresh, project.path().join(".env")).unwrap();

    let refused = wait_until(TIMEOUT, || {
        project.orch_lines().iter().any(|l| l.contains("reload:") && l.contains("belongs to orch-test-other"))
    });
    assert!(refused, "no refused reload: {:?}", project.orch_lines());
    let ps = squash(&project.run(&["ps"]).expect_code(0).stderr());
    assert!(ps.contains("notapplied") && ps.contains("belongstoorch-test-other"), "{ps}");
    assert_eq!(project.pid("web"), web, "web was restarted with another user's .env");
    assert_eq!(crate::procs::env_var(web, "X").as_deref(), Some("1"));
    project.run(&["down"]).expect_code(0);
}
