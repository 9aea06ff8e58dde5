//! `orch export systemd`: the units, checked by systemd's own `systemd-analyze verify` (which
//! must print nothing), and the warnings that name each key with no systemd equivalent.

use std::path::Path;
use std::process::Command;

use crate::support::Project;

/// The unit files written into `dir`.
fn units_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let units: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "service" || x == "target" || x == "timer"))
        .collect();
    assert!(!units.is_empty(), "nothing was written into {}", dir.display());
    units
}

/// systemd-analyze verify of these units must pass and print nothing (skipped where it is not
/// installed). System mode: a user manager needs a login session, which CI has not; the
/// units' keys are the same.
pub fn assert_verified(units: &[std::path::PathBuf]) {
    match Command::new("systemd-analyze").arg("verify").arg("--man=no").args(units).output() {
        Ok(output) => {
            let said = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
        }
        Err(_) => super::validators::skipped("systemd-analyze is not installed (apt-get install systemd)"),
    }
}

#[test]
fn every_key_of_the_example_manifest_exports_to_units_systemd_accepts() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("procs.toml.example");
    let project = Project::new();
    let out = project.path().join("units");
    let export = project.run(&["-f", example.to_str().unwrap(), "export", "systemd", "--out", "units"]);
    let warned = export.expect_code(0).stderr();
    for key in ["`web`: `healthcheck`", "`web`: `watch`", "`worker`: `ready`", "`profiler`: `profiles`"] {
        assert!(warned.contains(&format!("warning: service {key}:")), "no warning for {key}:\n{warned}");
    }
    let name = crate::beyond::name_of(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(warned.contains(&format!("systemctl --user enable --now orch-{name}.target")), "{warned}");
    for file in ["worker@.service", "worker@2.service.d/orch.conf", "report.timer"] {
        assert!(out.join(format!("orch-{name}-{file}")).exists(), "no {file} in {}", out.display());
    }
    assert_verified(&units_in(&out));
}

#[test]
fn a_project_exports_with_its_ports_probes_and_order() {
    let project = Project::toml(
        "[services.db]\ncmd = \"sleep 1000\"\nport = \"auto\"\nready = { tcp = \"127.0.0.1:${PORT}\" }\n\n\
         [services.api]\ncmd = [\"sleep\", \"1000\"]\nscale = 2\nport = 7100\ndepends_on = [\"db\"]\n\
         ready = { http = \"http://127.0.0.1:${PORT}/health\" }\nenv = { NOTE = \"50% \\\"off\\\"\" }\n",
    );
    let name = crate::beyond::project_name(&project);
    let run = project.run(&["export", "systemd", "--out", "out"]);
    let warned = run.expect_code(0).stderr();
    assert!(warned.contains("service `db`: `port`: \"auto\" is frozen to"), "{warned}");
    let out = project.path().join("out");
    let api = std::fs::read_to_string(out.join(format!("orch-{name}-api@.service"))).unwrap();
    assert!(api.contains(&format!("After=orch-{name}-db.service\nRequires=orch-{name}-db.service\n")), "{api}");
    assert!(api.contains("Environment=\"NOTE=50%% \\\"off\\\"\"\n"), "{api}");
    let second = std::fs::read_to_string(out.join(format!("orch-{name}-api@2.service.d/orch.conf"))).unwrap();
    assert!(second.contains("Environment=\"PORT=7101\"") && second.contains("Environment=\"PS=api.2\""), "{second}");
    assert!(second.contains(" probe --timeout 1m http http://127.0.0.1:7101/health\n"), "{second}");
    let orch = std::fs::canonicalize(assert_cmd::cargo::cargo_bin!("orch")).unwrap();
    let db = std::fs::read_to_string(out.join(format!("orch-{name}-db.service"))).unwrap();
    assert!(db.contains(&format!("ExecStartPost={} probe --timeout 1m tcp 127.0.0.1:", orch.display())), "{db}");
    assert_verified(&units_in(&out));
}
