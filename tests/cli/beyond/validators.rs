//! The validators .ci/run installs into target/pip-validators (python-hcl2,
//! kubernetes-validate), found there or on the system.

use std::path::Path;
use std::process::Command;

/// `program` with target/pip-validators first on PYTHONPATH and PATH.
pub fn validator(program: &str) -> Command {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-validators");
    let before = |var: &str, ours: &Path| match std::env::var(var) {
        Ok(theirs) if !theirs.is_empty() => format!("{}:{theirs}", ours.display()),
        _ => ours.display().to_string(),
    };
    let mut command = Command::new(program);
    command.env("PYTHONPATH", before("PYTHONPATH", &ours)).env("PATH", before("PATH", &ours.join("bin")));
    command
}

/// Whether `probe` (a command that only checks the validator is there) succeeds; says so when not.
pub fn present(mut probe: Command, install: &str) -> bool {
    let ok = probe.output().is_ok_and(|o| o.status.success());
    if !ok {
        skipped(&format!("the validator is not installed ({install})"));
    }
    ok
}

/// A check skipped for want of its tool: said on stderr, or a failure where .ci/run installed
/// the tools (`ORCH_REQUIRE_VALIDATORS`), so that a failed install cannot pass unseen.
pub fn skipped(why: &str) {
    assert!(std::env::var_os("ORCH_REQUIRE_VALIDATORS").is_none(), "{why}, and ORCH_REQUIRE_VALIDATORS is set");
    eprintln!("skipped: {why}");
}
