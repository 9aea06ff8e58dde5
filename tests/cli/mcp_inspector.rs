//! Issue 13, point 1: the MCP Inspector's CLI, a 0.x version (the one that sent every typed
//! argument wrong against schemas with type arrays), calls every tool with every argument
//! type. It is installed by `.ci/run` into `target/npm` (or named by `ORCH_MCP_INSPECTOR`);
//! where it is absent the test says so and passes.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{ORCH_TIMEOUT, Project, free_port, wait_until};

/// The Inspector's `mcp-inspector` command, if installed.
fn inspector() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ORCH_MCP_INSPECTOR") {
        return Some(path.into());
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules/.bin/mcp-inspector");
    installed.exists().then_some(installed)
}

/// One `tools/call` through the Inspector's CLI, with `--tool-arg KEY=VALUE` as a user types them.
fn call(inspector: &PathBuf, project: &Project, tool: &str, args: &[&str]) -> Value {
    let mut command = Command::new(inspector);
    command.arg("--cli").arg(env!("CARGO_BIN_EXE_orch")).arg("-C").arg(project.path()).arg("mcp");
    command.args(["--method", "tools/call", "--tool-name", tool]);
    for arg in args {
        command.args(["--tool-arg", arg]);
    }
    let output = command.output().expect("run the inspector");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{tool} {args:?}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{tool}: not JSON ({e}): {stdout}"))
}

fn ok(result: &Value) -> bool {
    result["isError"] != true && result["structuredContent"]["ok"] == true
}

#[test]
fn the_inspector_cli_calls_every_tool_with_every_argument_type() {
    let Some(inspector) = inspector() else {
        eprintln!(
            "skipped: the MCP Inspector is not installed (npm install --prefix target/npm @modelcontextprotocol/inspector@0.16.8)"
        );
        return;
    };
    let project = Project::toml(
        "[services.web]\ncmd = \"for i in 1 2 3; do echo line $i; done; exec sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.db]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n",
    );
    let up = call(&inspector, &project, "up", &[r#"services=["web"]"#, "wait=true", "timeout=20s"]);
    assert!(ok(&up), "{up:#}");
    assert_eq!(up["structuredContent"]["outcomes"].as_array().map(Vec::len), Some(1), "{up:#}");
    assert!(wait_until(ORCH_TIMEOUT, || project.log_file("web").ends_with(b"line 3\n")));

    let logs = call(&inspector, &project, "logs", &["service=web", "tail=2", "max_bytes=10000", "grep=line"]);
    assert!(ok(&logs), "{logs:#}");
    assert_eq!(logs["content"][0]["text"], "line 2\nline 3\n", "{logs:#}");

    let port = free_port();
    let start = call(
        &inspector,
        &project,
        "start",
        &[
            "name=srv",
            "command=exec python3 -m http.server $PORT --bind 127.0.0.1",
            &format!(r#"env={{"PORT": "{port}"}}"#),
            &format!(r#"ready={{"tcp": "127.0.0.1:{port}"}}"#),
            "replace=false",
        ],
    );
    assert!(ok(&start), "{start:#}");
    let waited = call(&inspector, &project, "wait", &[r#"services=["srv", "web"]"#, "until=ready", "timeout=10"]);
    assert!(ok(&waited), "{waited:#}");
    let ps = call(&inspector, &project, "ps", &[r#"services=["srv"]"#]);
    assert_eq!(ps["structuredContent"]["services"][0]["ports"][0], port, "{ps:#}");
    let stop = call(&inspector, &project, "stop", &["name=srv", "timeout=10s"]);
    assert!(ok(&stop), "{stop:#}");
    let down = call(&inspector, &project, "down", &["timeout=20"]);
    assert!(ok(&down), "{down:#}");
}
