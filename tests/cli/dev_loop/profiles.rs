//! Profiles, as docker compose has them: a service in profiles is left out of a plain `up`
//! unless one of them is active (`--profile`, `ORCH_PROFILES`), is started when named, and is
//! started anyway when a started service depends on it.

use crate::procs::pids_of;
use crate::support::{ORCH_TIMEOUT, Project, orch};

const MANIFEST: &str = r#"
[services.web]
cmd = "sleep 1000"
min_uptime = "0s"
depends_on = ["db"]

[services.db]
cmd = "sleep 1000"
min_uptime = "0s"
profiles = ["storage"]

[services.debugger]
cmd = "sleep 1000"
min_uptime = "0s"
profiles = ["debug"]

[services.admin]
cmd = "sleep 1000"
min_uptime = "0s"
profiles = ["debug", "ops"]
"#;

/// The services that run, of these.
fn running(project: &Project) -> Vec<&'static str> {
    ["web", "db", "debugger", "admin"].into_iter().filter(|s| pids_of(&project.path(), s).len() == 1).collect()
}

#[test]
fn a_service_in_a_profile_starts_only_when_its_profile_is_active_named_or_needed() {
    let project = Project::toml(MANIFEST);
    // Plain: web, and db because web needs it (compose's rule), not the debug tools.
    let up = project.up().expect_code(0);
    assert!(!up.stdout().contains("debugger"), "{}", up.stdout());
    assert_eq!(running(&project), ["web", "db"]);

    project.run(&["up", "--profile", "debug"]).expect_code(0);
    assert_eq!(running(&project), ["web", "db", "debugger", "admin"]);
    project.run(&["down"]).expect_code(0);

    // ORCH_PROFILES, comma-separated as COMPOSE_PROFILES.
    let run =
        orch().current_dir(project.path()).env("ORCH_PROFILES", "ops,").args(["up"]).timeout(ORCH_TIMEOUT).output();
    assert!(run.expect("run orch").status.success());
    assert_eq!(running(&project), ["web", "db", "admin"]);
    project.run(&["down"]).expect_code(0);

    // Named, it starts whatever its profiles.
    project.run(&["up", "debugger"]).expect_code(0);
    assert_eq!(running(&project), ["debugger"]);
    project.run(&["down"]).expect_code(0);

    // A profile no service is in is said, as a typo would be; it starts nothing more.
    let typo = project.run(&["up", "--profile", "debgu"]).expect_code(0);
    assert!(typo.stderr().contains("no service is in profile `debgu`"), "{}", typo.stderr());
    assert!(typo.stderr().contains("`storage`, `debug`, `ops`"), "{}", typo.stderr());
    assert_eq!(running(&project), ["web", "db"]);
    let bad = project.run(&["up", "--profile", "a/b"]).expect_code(2);
    assert!(bad.stderr().contains("not a profile name"), "{}", bad.stderr());
}

#[test]
fn check_and_config_show_the_profiles() {
    let project = Project::toml(MANIFEST);
    let check = project.run(&["check"]).expect_code(0).stdout();
    assert!(check.contains("profiles (started by `orch up --profile NAME`):"), "{check}");
    assert!(check.contains("  debug: debugger, admin") && check.contains("  storage: db"), "{check}");
    let json: serde_json::Value =
        serde_json::from_str(&project.run(&["check", "--json"]).expect_code(0).stdout()).unwrap();
    assert_eq!(json["profiles"]["ops"], serde_json::json!(["admin"]), "{json:#}");
    let config = project.run(&["config"]).expect_code(0).stdout();
    assert!(config.contains(r#"profiles = ["debug", "ops"]"#), "{config}");
    // A profile name is held to the name rules, at its line.
    let bad = Project::toml("[services.web]\ncmd = \"sleep 1\"\nprofiles = [\"a b\"]\n");
    let said = bad.run(&["check"]).expect_code(2).stderr();
    assert!(said.contains("`a b` is not a profile name") && said.contains("procs.toml:3"), "{said}");
}

#[test]
fn a_reload_starts_a_new_service_only_when_its_profile_is_active() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    project.up().expect_code(0);
    project.write(
        "procs.toml",
        "[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.tool]\ncmd = \"sleep 1000\"\nprofiles = [\"debug\"]\n\
         [services.api]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n",
    );
    assert!(
        crate::support::wait_until(ORCH_TIMEOUT, || pids_of(&project.path(), "api").len() == 1),
        "api did not start"
    );
    assert!(pids_of(&project.path(), "tool").is_empty(), "a reload started a service of a profile not active");
}
