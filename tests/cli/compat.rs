//! Issue 10 with real processes: projects run as their owners wrote them for foreman, honcho
//! and compose (leading assignments, Procfile.dev, `-f` after the command and remembered,
//! `--ready http:URL`), and messages only where they help.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use crate::procs::{is_alive, pids_of};
use crate::supervisor::{SECOND, assert_outcome};
use crate::support::{Project, free_port, python, wait_until};

/// The first word of a process's command line, from /proc.
fn program_of(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(first).into_owned()
}

fn make_executable(project: &Project, name: &str) {
    let path = project.path().join(name);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Mastodon's `Procfile.dev` line, unchanged. A `bundle` of the project's own (first on the
/// PATH that `.env` gives the service) says what it got and becomes `sleep`: the shell, then
/// `bundle`, were each replaced, so a stop signal reaches the program.
#[test]
fn a_procfile_line_with_leading_assignments_runs_as_foreman_runs_it() {
    let project = Project::new()
        .file("Procfile", "web: PORT=3000 bundle exec puma\n")
        .file("bin/bundle", "#!/bin/sh\necho \"bundle $* PORT=$PORT PS=$PS\"\nexec sleep 1000\n");
    make_executable(&project, "bin/bundle");
    project.write(".env", &format!("PATH={}/bin:${{PATH}}\n", project.path().display()));
    let up = project.up().expect_code(0);
    assert_outcome(&up.stdout(), "web", true, &["running"]);
    let said = || project.run(&["logs", "--no-prefix", "web"]).stdout();
    assert!(wait_until(5 * SECOND, || said().contains("bundle exec puma PORT=3000 PS=web.1")), "{}", said());
    let pid = project.pid("web");
    assert_eq!(program_of(pid), "sleep", "sh -c and bundle should each have been replaced");
    assert_eq!(pids_of(&project.path(), "web"), [pid]);
    project.run(&["down"]).expect_code(0);
    assert!(!is_alive(pid));
}

/// `bin/dev` is `foreman start -f Procfile.dev`: `orch up -f Procfile.dev` (after the command)
/// works, and every later command uses Procfile.dev without -f, `start` included.
#[test]
fn a_project_brought_up_with_dash_f_keeps_that_manifest() {
    let project = Project::new()
        .file("Procfile", "web: exec sleep 1000\n")
        .file("Procfile.dev", "dev: exec sleep 1000\ncss: exec sleep 1000\n");
    let root = project.path();
    let up = project.run(&["up", "-f", "Procfile.dev"]).expect_code(0);
    assert_outcome(&up.stdout(), "dev", true, &["running"]);
    assert_eq!(pids_of(&root, "web"), Vec::<i32>::new());

    let names: Vec<String> =
        project.ps_json().as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["dev", "css"]);
    project.run(&["stop", "dev"]).expect_code(0);
    assert_eq!(pids_of(&root, "dev"), Vec::<i32>::new());
    let start = project.run(&["start", "dev"]).expect_code(0);
    assert_outcome(&start.stdout(), "dev", true, &["running"]);
    let dev = project.pid("dev");
    project.run(&["restart", "dev"]).expect_code(0);
    assert!(wait_until(5 * SECOND, || pids_of(&root, "dev").len() == 1 && !is_alive(dev)));
    // From a subfolder too; and the choice is told where notes are told.
    let check = project.orch_in(&root.join("app/models"), &["check"]).expect_code(0);
    assert!(check.stdout().contains("Procfile.dev is valid: 2 services"), "{}", check.stdout());
    assert!(
        check.stderr().contains("using Procfile.dev, which this project was last brought up from"),
        "{}",
        check.stderr()
    );
    project.run(&["down"]).expect_code(0);
    assert_eq!(crate::procs::marked_pids(&root), Vec::<(i32, String)>::new());
    // After down, too: the next `up` is Procfile.dev again, until another -f.
    project.up().expect_code(0);
    assert_eq!(pids_of(&root, "dev").len(), 1);
    project.run(&["up", "-f", "Procfile"]).expect_code(0);
    let again = project.run(&["ps", "--json"]).expect_code(0).stdout();
    assert!(again.contains("\"web\""), "{again}");
}

/// A `--ready http:URL`, as the README documents it, and a bare URL, pass as soon as the
/// server answers (they waited a minute and killed it); a bad target is refused at once.
#[test]
fn ready_http_flags_pass_once_the_server_answers() {
    let project = Project::new();
    for (name, form) in [("kind", "http:"), ("bare", "")] {
        let port = free_port();
        let ready = format!("{form}http://127.0.0.1:{port}/");
        let server = format!("exec {} -m http.server {port} --bind 127.0.0.1", python());
        let started = Instant::now();
        let run = project.run(&["start", name, "--ready", &ready, "--", &server]).expect_code(0);
        assert_outcome(&run.stdout(), name, true, &["ready"]);
        assert!(started.elapsed() < 15 * SECOND, "{name}: {:?}", started.elapsed());
        assert_eq!(project.service(name)["ready_check"], format!("http http://127.0.0.1:{port}/"));
    }
    for bad in ["tcp:localhost", "tcp:127.0.0.1:99999", "http:127.0.0.1:8080/health"] {
        let run = project.run(&["start", "x", "--ready", bad, "--", "sleep 1000"]).expect_code(2);
        assert!(run.stderr().contains("invalid value"), "{bad}: {}", run.stderr());
    }
    project.run(&["down"]).expect_code(0);
}

#[test]
fn ready_timeout_bounds_an_adhoc_check() {
    let project = Project::new();
    let port = free_port();
    let ready = format!("tcp:127.0.0.1:{port}");
    let started = Instant::now();
    let run =
        project.run(&["start", "slow", "--ready", &ready, "--ready-timeout", "1s", "--", "sleep 1000"]).expect_code(1);
    assert_outcome(&run.stdout(), "slow", false, &["did not pass within 1s"]);
    assert!(started.elapsed() < 10 * SECOND, "{:?}", started.elapsed());
    let run = project.run(&["start", "x", "--ready-timeout", "1s", "--", "sleep 1"]).expect_code(2);
    assert!(run.stderr().contains("--ready"), "{}", run.stderr());
}

/// The unset-variable warning is for check, config and up, not for every command after.
#[test]
fn warnings_come_from_check_config_and_up_only() {
    let project = Project::toml("[services.web]\ncmd = \"exec sleep 1000\"\nenv = { A = \"${NOT_SET_ANYWHERE}\" }\n");
    let warning = "`${NOT_SET_ANYWHERE}` is not set";
    for args in [&["check"][..], &["config"], &["up"]] {
        let run = project.run(args).expect_code(0);
        assert!(run.stderr().contains(warning), "{args:?}: {}", run.stderr());
    }
    for args in [&["ps"][..], &["logs"], &["restart", "web"], &["stop", "web"], &["start", "web"], &["down"]] {
        let run = project.run(args).expect_code(0);
        assert!(!run.stderr().contains(warning), "{args:?}: {}", run.stderr());
    }
}

#[test]
fn fatal_after_one_restart_says_restart() {
    // min_uptime 0s: the first start counts as a start, so the crash is one the policy restarts.
    let project = Project::toml("[services.web]\ncmd = \"exit 3\"\nmax_restarts = 1\nmin_uptime = \"0s\"\n");
    project.up();
    let fatal = || project.service("web")["state"] == "fatal";
    assert!(wait_until(5 * SECOND, fatal), "{:#}", project.service("web"));
    assert_eq!(project.service("web")["reason"], "exited with 3 after 1 restart");
}

/// A folder the user cannot write is named in the error. Root writes anywhere, so this runs
/// orch as `nobody` (with setpriv) when the test runs as root, and is skipped otherwise.
#[test]
fn an_unwritable_project_folder_is_named() {
    let is_root = nix::unistd::Uid::effective().is_root();
    if !is_root || std::process::Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv, to run orch as another user");
        return;
    }
    let project = Project::new().file("Procfile", "web: exec sleep 1000\n");
    let root = project.path();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(root.join("Procfile"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_orch"), "up"])
        .current_dir(&root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/tmp")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let folder = root.join(".orch").display().to_string();
    assert!(stderr.starts_with(&format!("orch: cannot create {folder}: ")), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert_eq!(stderr.matches(&folder).count(), 1, "the folder is named once: {stderr}");
    assert!(!root.join(".orch").exists());
}

/// `orch logs -f` follows, as in docker compose; a manifest after it is pointed out.
#[test]
fn logs_dash_f_with_a_file_says_how_to_name_the_manifest() {
    let project = Project::new().file("Procfile.dev", "web: x\n");
    let run = project.run(&["logs", "-f", "Procfile.dev"]).expect_code(2);
    assert!(
        run.stderr().contains("`orch -f Procfile.dev logs` or `orch logs --file Procfile.dev`"),
        "{}",
        run.stderr()
    );
}
