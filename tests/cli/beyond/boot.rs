//! `orch boot`: a systemd user unit that runs the project's supervisor at login. Tested with a
//! stand-in `systemctl` on PATH (CI has no user session), which records how it was called.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::Project;

/// `orch boot ARGS…` in the project, with HOME in `home` and the stand-in systemctl first on PATH.
fn boot(project: &Project, home: &Path, args: &[&str]) -> Output {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("systemctl");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {log}\nif [ \"$2\" = is-enabled ]; then echo enabled; fi\n",
        log = home.join("systemctl.log").display()
    );
    std::fs::write(&fake, script).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new(assert_cmd::cargo::cargo_bin!("orch"))
        .current_dir(project.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .arg("boot")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn enable_installs_a_user_unit_that_runs_up_and_disable_takes_it_away() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let home = tempfile::tempdir().unwrap();
    let dry = boot(&project, home.path(), &["enable", "--dry-run"]);
    let printed = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let manifest = project.path().join("procs.toml");
    assert!(printed.contains(&format!(" -f {} up --foreground\n", manifest.display())), "{printed}");
    assert!(
        printed.contains("systemctl --user enable orch-boot-") && printed.contains("loginctl enable-linger"),
        "{printed}"
    );
    assert!(!home.path().join(".config").exists(), "--dry-run installed something");

    let enabled = boot(&project, home.path(), &["enable"]);
    assert!(enabled.status.success(), "{}", text(&enabled.stderr));
    let dir = home.path().join(".config/systemd/user");
    let units: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    assert_eq!(units.len(), 1, "{units:?}");
    let unit = units[0].file_name().unwrap().to_string_lossy().into_owned();
    let calls = std::fs::read_to_string(home.path().join("systemctl.log")).unwrap();
    assert_eq!(calls, format!("--user daemon-reload\n--user enable {unit}\n"));
    let installed = std::fs::read_to_string(&units[0]).unwrap();
    assert!(installed.contains("[Install]\nWantedBy=default.target\n"), "{installed}");

    let status = boot(&project, home.path(), &["status"]);
    assert!(status.status.success(), "{}", text(&status.stdout));
    assert!(text(&status.stdout).starts_with(&format!("{unit}: enabled\n")), "{}", text(&status.stdout));

    let disabled = boot(&project, home.path(), &["disable"]);
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    assert!(!units[0].exists(), "the unit is still installed");
    let calls = std::fs::read_to_string(home.path().join("systemctl.log")).unwrap();
    assert!(calls.ends_with(&format!("--user disable {unit}\n--user daemon-reload\n")), "{calls}");
    let status = boot(&project, home.path(), &["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert!(text(&status.stdout).starts_with("not enabled"), "{}", text(&status.stdout));
}

#[test]
fn the_boot_unit_is_one_systemd_accepts() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let home = tempfile::tempdir().unwrap();
    let dry = boot(&project, home.path(), &["enable", "--dry-run"]);
    let printed = text(&dry.stdout);
    let unit: String =
        printed.lines().skip(1).take_while(|l| !l.starts_with("# then:")).map(|l| format!("{l}\n")).collect();
    let file = home.path().join("orch-boot-test.service");
    std::fs::write(&file, unit).unwrap();
    super::systemd::assert_verified(&[file]);
}
