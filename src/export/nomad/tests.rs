use std::io::Write as _;
use std::process::Stdio;

use super::*;
use crate::export::tests::{EVERY_KEY, EXAMPLE, ROOT, project, shown, spec, validator};

/// A project of its own, for what the two example manifests do not have (auto ports, scaled
/// fixed ports, strings HCL would read as templates).
const TRICKY: &str = r#"
[env]
TRICKY = "say \"hi\" \\ $${HOME} %{x}\nnext line"

[services.api]
cmd = ["sh", "-c", "echo \"${HOME}\" 'it''s' \\ %{done}"]
port = "auto"
ready = { http = "http://127.0.0.1:${PORT}/up?full=1" }
healthcheck = { tcp = "127.0.0.1:${PORT}", interval = "500ms", retries = 2, start_period = "5s" }
scale = 2

[services.pool]
cmd = "serve --port $PORT"
port = 7000
scale = 3
rolling = true
ready = { exec = "true" }

[services.front]
cmd = "front"
depends_on = ["api", "pool"]
env = { API = "http://127.0.0.1:${api.1.port}", "my.key" = "x" }
log = { max_size = "200MB", keep = 2 }
ready = { delay = "3s" }
ready_timeout = "15m"
"#;

/// The TRICKY project, written to a folder of its own and loaded like the others.
fn tricky() -> (tempfile::TempDir, crate::manifest::Spec) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("procs.toml");
    std::fs::write(&file, TRICKY).expect("procs.toml written");
    let spec = spec(&file.display().to_string());
    (dir, spec)
}

/// A golden file, in src/export/snapshots with the other exports'.
fn golden(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(name, text);
    });
}

fn hcl_of(export: &Export) -> &str {
    &export.files[0].1
}

#[test]
fn the_example_project() {
    let s = spec(EXAMPLE);
    golden("nomad_example", &shown(&export(&project(&s)), &s));
}

#[test]
fn every_key() {
    let s = spec(EVERY_KEY);
    golden("nomad_every_key", &shown(&export(&project(&s)), &s));
}

#[test]
fn auto_ports_replicas_and_quoting() {
    let (dir, s) = tricky();
    let text = shown(&export(&project(&s)), &s).replace(&dir.path().display().to_string(), ROOT);
    golden("nomad_tricky", &text);
}

#[test]
fn one_file_by_the_project_name() {
    let s = spec(EVERY_KEY);
    let export = export(&project(&s));
    assert_eq!(export.files.len(), 1);
    assert_eq!(export.files[0].0, "app.nomad.hcl");
    assert_eq!(export.next_steps.len(), 2, "several jobs: split, then run each");
}

#[test]
fn warnings_name_the_service_and_the_key() {
    let s = spec(EVERY_KEY);
    let warnings = export(&project(&s)).warnings;
    let keys: Vec<(Option<&str>, &str)> = warnings.iter().map(|w| (w.service.as_deref(), w.key.as_str())).collect();
    for expected in [
        (Some("web"), "watch"),
        (Some("web"), "depends_on.db.restart"),
        (Some("worker"), "depends_on.web"),
        (Some("worker"), "ready"),
        (Some("worker"), "env.PS"),
        (Some("profiler"), "profiles"),
    ] {
        assert!(keys.contains(&expected), "no warning {expected:?} in {keys:?}");
    }
    // What maps makes no warning: the stop signal and timeout, the log rotation, the restart
    // policy, the delay readiness, the schedule.
    for mapped in ["stop_signal", "stop_timeout", "log", "restart", "max_restarts", "schedule", "min_uptime"] {
        assert!(!keys.iter().any(|(_, k)| *k == mapped), "{mapped} maps, yet warns");
    }
}

#[test]
fn tricky_warnings() {
    let (_dir, s) = tricky();
    let warnings = export(&project(&s)).warnings;
    let keys: Vec<(&str, &str)> =
        warnings.iter().map(|w| (w.service.as_deref().unwrap_or(""), w.key.as_str())).collect();
    for expected in [
        ("api", "healthcheck.interval"),
        ("pool", "port"),
        ("pool", "ready"),
        ("front", "depends_on.api"),
        ("front", "env.API"),
    ] {
        assert!(keys.contains(&expected), "no warning {expected:?} in {keys:?}");
    }
}

#[test]
fn durations_as_go_writes_them() {
    assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(go_duration(Duration::from_hours(49)), "49h");
    assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(go_duration(Duration::ZERO), "0s");
}

#[test]
fn shell_words() {
    assert_eq!(sh_quote("/srv/my-app_1"), "/srv/my-app_1");
    assert_eq!(sh_quote("my app"), "'my app'");
    assert_eq!(sh_quote("it's"), r"'it'\''s'");
    assert_eq!(sh_quote(""), "''");
    assert_eq!(sh_quote("$HOME"), "'$HOME'");
}

#[test]
fn ports_in_text() {
    assert!(mentions("http://127.0.0.1:4001/x", 4001));
    assert!(!mentions("http://127.0.0.1:40012/x", 4001));
    assert!(!mentions("14001", 4001));
}

/// Whether python-hcl2 is there to parse the files; the tests that need it pass without it,
/// saying so.
fn have_hcl2() -> bool {
    let found = validator("python3").args(["-c", "import hcl2"]).stderr(Stdio::null()).status();
    if found.is_ok_and(|s| s.success()) {
        return true;
    }
    let why = "python-hcl2 is not installed (pip install --target target/pip-validators python-hcl2)";
    // Where .ci/run installed it, its absence is a failed install, not a reason to pass.
    assert!(std::env::var_os("ORCH_REQUIRE_VALIDATORS").is_none(), "{why}");
    eprintln!("skipped: {why}");
    false
}

/// tests/validators/nomad_check.py on `hcl`: its output, or a failure with its complaints.
fn validate(hcl: &str, args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/nomad_check.py");
    let mut child = validator("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().expect("a stdin").write_all(hcl.as_bytes()).expect("the job written");
    let output = child.wait_with_output().expect("the validator ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}\n--- the job:\n{hcl}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn every_key_parses_as_hcl_with_the_blocks_it_needs() {
    if !have_hcl2() {
        return;
    }
    let s = spec(EVERY_KEY);
    let expect = "--expect=service,check_restart,prestart,periodic,scaled,wait-for";
    validate(hcl_of(&export(&project(&s))), &[expect]);
}

#[test]
fn the_example_parses_as_hcl() {
    if !have_hcl2() {
        return;
    }
    let s = spec(EXAMPLE);
    validate(hcl_of(&export(&project(&s))), &["--expect=service,prestart,wait-for"]);
}

/// Every string reads back as it was in the manifest: HCL's escapes, `$${` and `%%{` undone,
/// and nothing interpolated but Nomad's port and allocation index.
#[test]
fn strings_read_back_as_written() {
    if !have_hcl2() {
        return;
    }
    let (_dir, s) = tricky();
    let out = validate(hcl_of(&export(&project(&s))), &["--expect=dynamic-port,scaled,wait-for", "--dump"]);
    let tasks: serde_json::Value = serde_json::from_str(&out).expect("the dump is JSON");
    let api = &tasks["api"];
    assert_eq!(api["env"]["TRICKY"], "say \"hi\" \\ ${HOME} %{x}\nnext line");
    assert_eq!(api["env"]["PORT"], "${NOMAD_PORT_http}");
    assert_eq!(api["env"]["PS"], "api.${NOMAD_ALLOC_INDEX}");
    assert_eq!(api["command"], "/bin/sh");
    let script = api["args"][1].as_str().expect("a script");
    assert!(script.ends_with(r#"exec sh -c 'echo "${HOME}" '\''it'\'''\''s'\'' \ %{done}'"#), "{script}");
    assert_eq!(tasks["front"]["env"]["my.key"], "x");
}
