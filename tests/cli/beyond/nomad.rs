//! `orch export nomad`: the job file written where asked, the warnings on stderr, and the file
//! read back by a real HCL parser with the blocks the export promises.

use std::path::Path;

use super::validators::{present, validator};
use crate::support::Project;

#[test]
fn the_example_manifest_exports_to_a_job_file_hcl_reads_with_every_block() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("procs.toml.example");
    let project = Project::new();
    let run = project.run(&["-f", example.to_str().unwrap(), "export", "nomad", "--out", "app.nomad.hcl"]);
    let warned = run.expect_code(0).stderr();
    assert!(warned.contains("warning: service `web`: `watch`:"), "{warned}");
    assert!(warned.contains("warning: service `profiler`: `profiles`:"), "{warned}");
    let job = std::fs::read_to_string(project.path().join("app.nomad.hcl")).unwrap();
    assert!(job.contains("\"raw_exec\""), "{job}");
    let mut probe = validator("python3");
    probe.args(["-c", "import hcl2"]);
    if !present(probe, "pip install --target target/pip-validators python-hcl2") {
        return;
    }
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/nomad_check.py");
    let output = validator("python3")
        .arg(check)
        .args(["--expect", "service,check_restart,prestart,periodic,scaled,wait-for"])
        .stdin(std::fs::File::open(project.path().join("app.nomad.hcl")).unwrap())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "nomad_check.py:\n{said}");
}
