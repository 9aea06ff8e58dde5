//! Issue 13: `orch mcp` through the official MCP Python SDK (tests/mcp_sdk/client.py), which
//! validates every successful tool result against the tool's `outputSchema`. `.ci/run` installs
//! the SDK into `target/pip`; where it cannot be imported the test says so and passes.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Project, python};

fn sdk_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pip")
}

fn with_sdk(command: &mut Command) -> &mut Command {
    let mut path = std::env::var_os("PYTHONPATH").unwrap_or_default();
    if !path.is_empty() {
        path.push(":");
    }
    path.push(sdk_path());
    command.env("PYTHONPATH", path)
}

#[test]
fn the_python_sdk_calls_every_tool_and_every_answer_fits_its_schema() {
    let importable = with_sdk(Command::new(python()).args(["-c", "import mcp.client.stdio"]))
        .output()
        .is_ok_and(|o| o.status.success());
    if !importable {
        eprintln!("skipped: the MCP Python SDK is not installed (pip install --target target/pip mcp)");
        return;
    }
    let project = Project::toml(
        "[services.web]\ncmd = \"for i in 1 2 3; do echo line $i; done; exec sleep 1000\"\nmin_uptime = \"0s\"\n",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_sdk/client.py");
    let output = with_sdk(Command::new(python()).arg(script).arg(env!("CARGO_BIN_EXE_orch")).arg(project.path()))
        .output()
        .expect("run the SDK client");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && stdout.trim_end().ends_with("ok"), "{stdout}\n{stderr}");
}
