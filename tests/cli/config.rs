//! `orch config`: the resolved manifest as TOML or JSON.

use serde_json::Value;

use crate::support::Project;

fn config_json(project: &Project) -> Value {
    let run = project.orch(&["config", "--json"]).expect_code(0);
    serde_json::from_str(&run.stdout()).expect("config --json prints JSON")
}

#[test]
fn json_is_shaped_like_procs_toml_with_defaults_filled() {
    let project = Project::toml(
        r#"
[env]
LEVEL = "info"
[services.web]
cmd = "serve --port $PORT"
env = { PORT = 8080 }
stop_timeout = "90s"
"#,
    );
    let v = config_json(&project);
    let web = &v["services"]["web"];
    assert_eq!(web["cmd"], "serve --port $PORT");
    assert_eq!(web["env"]["PORT"], "8080");
    assert_eq!(web["env"]["LEVEL"], "info");
    assert_eq!(web["stop_timeout"], "1m30s");
    assert_eq!(web["ready_timeout"], "1m");
    assert_eq!(web["restart"], "on-failure");
    assert_eq!(web["stop_signal"], "SIGTERM");
    assert_eq!(web["max_restarts"], 5);
    assert_eq!(web["log"]["max_size"], "50MB");
    assert_eq!(web["cwd"], project.path().display().to_string());
    assert_eq!(v["env"]["LEVEL"], "info");
}

#[test]
fn environment_layers_and_interpolation() {
    let project = Project::toml(
        r#"
[env]
A = "from-env-table"
B = "${A}-b"
[services.s]
cmd = "echo ${A}"
env_file = "s.env"
env = { D = "${C}+${B}", E = "${NOPE:-fallback}", F = "$$HOME and $HOME" }
ready = { http = "http://127.0.0.1:${PORT}/health" }
"#,
    )
    .file(".env", "A=from-dotenv\nPORT=7000\nQ='${A} literal'\n")
    .file("s.env", "C=\"${A} from file\"\nPORT=7001\n");
    let v = config_json(&project);
    let s = &v["services"]["s"];
    assert_eq!(s["cmd"], "echo ${A}", "cmd is never expanded");
    assert_eq!(s["env"]["A"], "from-env-table", "[env] beats .env");
    assert_eq!(s["env"]["B"], "from-env-table-b");
    assert_eq!(s["env"]["C"], "from-env-table from file");
    assert_eq!(s["env"]["D"], "from-env-table from file+from-env-table-b");
    assert_eq!(s["env"]["E"], "fallback");
    assert_eq!(s["env"]["F"], "$HOME and $HOME");
    assert_eq!(s["env"]["Q"], "${A} literal", "single quotes are literal");
    assert_eq!(s["env"]["PORT"], "7001", "env_file beats .env");
    assert_eq!(s["ready"]["http"], "http://127.0.0.1:7001/health");
}

#[test]
fn procfile_services_get_foreman_ports() {
    let project = Project::new().file("Procfile", "web: serve\nworker: work\r\nclock: tick\n");
    let v = config_json(&project);
    let ports: Vec<&str> =
        ["web", "worker", "clock"].iter().map(|s| v["services"][s]["env"]["PORT"].as_str().unwrap()).collect();
    assert_eq!(ports, ["5000", "5100", "5200"]);
    assert_eq!(v["services"]["worker"]["cmd"], "work");

    let project = Project::new().file("Procfile", "web: serve\nworker: work\n").file(".env", "PORT=3000\n");
    let v = config_json(&project);
    assert_eq!(v["services"]["worker"]["env"]["PORT"], "3100");
}

#[test]
fn oneshot_dependency_waits_for_completion() {
    let project = Project::toml(
        "[services.migrate]\ncmd = \"x\"\noneshot = true\n[services.web]\ncmd = \"y\"\ndepends_on = [\"migrate\"]\n",
    );
    let v = config_json(&project);
    assert_eq!(v["services"]["web"]["depends_on"]["migrate"]["condition"], "completed");
    assert_eq!(v["services"]["migrate"]["restart"], "no");
}

#[test]
fn toml_output_reads_back_as_toml() {
    let project =
        Project::toml("[services.web]\ncmd = [\"serve\", \"--port\", \"1\"]\nready = { delay = \"250ms\" }\n");
    let run = project.orch(&["config"]).expect_code(0);
    let parsed: toml::Table = toml::from_str(&run.stdout()).expect("config prints TOML");
    assert_eq!(parsed["services"]["web"]["ready"]["delay"].as_str(), Some("250ms"));
}

#[test]
fn invalid_manifest_exits_2_with_nothing_on_stdout() {
    let run = Project::toml("[services.web]\ncmd = 5\n").orch(&["config", "--json"]).expect_code(2);
    assert_eq!(run.stdout(), "");
    assert!(run.stderr().contains("procs.toml:2:7"), "{}", run.stderr());
}

// ----- issue 10: files as their owners wrote them -------------------------------------------------

#[test]
fn dotenv_with_a_byte_order_mark_and_old_mac_line_ends() {
    let project = Project::toml("[services.s]\ncmd = \"x\"\n").file(".env", "\u{feff}a=b\rc=d\r\ne=\"multi\rline\"\r");
    let v = config_json(&project);
    let env = &v["services"]["s"]["env"];
    assert_eq!((&env["a"], &env["c"], &env["e"]), (&Value::from("b"), &Value::from("d"), &Value::from("multi\nline")));
}

#[test]
fn interpolation_as_compose_does_it() {
    let project = Project::toml(
        r#"
[services.s]
cmd = "x"
[services.s.env]
PORT = "${PORT:-${DEFAULT_PORT:-8080}}"
SET_JSON = '${JSON:-{"a":1}}'
UNSET_JSON = '${NO_JSON:-{"a":1}}'
ALT = "${FOO:+--verbose}"
NO_ALT = "${NOPE+--verbose}"
DOLLARS = "${NOPE:-a$$b}"
REQUIRED = "${FOO:?FOO must be set}"
"#,
    )
    .file(".env", "JSON=from-env\nFOO=1\n");
    let v = config_json(&project);
    let env = &v["services"]["s"]["env"];
    assert_eq!(env["PORT"], "8080");
    assert_eq!(env["SET_JSON"], "from-env");
    assert_eq!(env["UNSET_JSON"], r#"{"a":1}"#);
    assert_eq!(env["ALT"], "--verbose");
    assert_eq!(env["NO_ALT"], "");
    assert_eq!(env["DOLLARS"], "a$b");
    assert_eq!(env["REQUIRED"], "1");
}

#[test]
fn procfile_services_get_ps() {
    let v = config_json(&Project::new().file("Procfile", "web: serve\nworker: work\n"));
    assert_eq!(v["services"]["web"]["env"]["PS"], "web.1");
    assert_eq!(v["services"]["worker"]["env"]["PS"], "worker.1");
}

#[test]
fn toml_has_no_empty_tables_and_tidy_paths() {
    let project = Project::toml("[services.web]\ncmd = \"x\"\ncwd = \"./sub/.\"\n").file("sub/.keep", "");
    let text = project.orch(&["config"]).expect_code(0).stdout();
    assert!(!text.contains("[env]") && !text.contains("[services.web.env]"), "{text}");
    assert!(!text.contains("depends_on"), "{text}");
    assert!(text.contains(&format!("cwd = \"{}/sub\"\n", project.path().display())), "{text}");
    // JSON keeps every key for scripts.
    let v = config_json(&project);
    assert_eq!(v["services"]["web"]["env"], serde_json::json!({}));
}
