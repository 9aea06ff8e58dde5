//! What a Rust CLI user expects: the JSON Schema (committed and printed alike, and the examples
//! valid against it), the man page, shell completions that know the project's services.

use serde_json::Value;

use crate::support::{Project, orch, orch_std};

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn printed_schema() -> Value {
    let out = orch().current_dir(root()).arg("schema").output().expect("run orch schema");
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).expect("orch schema prints JSON")
}

fn toml_as_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("valid TOML");
    serde_json::to_value(value).expect("TOML as JSON")
}

#[test]
fn the_committed_schema_is_what_orch_schema_prints() {
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("procs.schema.json")).unwrap()).unwrap();
    assert_eq!(committed, printed_schema(), "run `orch schema > procs.schema.json` and commit it");
}

#[test]
fn the_examples_validate_against_the_schema_and_a_typo_does_not() {
    let schema = printed_schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for file in ["procs.toml.example", "examples/web/procs.toml"] {
        let instance = toml_as_json(&std::fs::read_to_string(root().join(file)).unwrap());
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
    let typo = toml_as_json("[services.web]\ncmdd = \"x\"\n");
    assert!(!validator.is_valid(&typo));
    let missing_cmd = toml_as_json("[services.web]\ncwd = \".\"\n");
    assert!(!validator.is_valid(&missing_cmd));
}

#[test]
fn man_page_is_roff() {
    let out = orch().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(".TH orch"), "{}", &text[..text.len().min(300)]);
    assert!(text.contains("restart"));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = orch().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("COMPLETE"), "{shell}: {text}");
    }
    let out = orch().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completion_offers_the_projects_service_names() {
    let project = Project::toml("[services.web]\ncmd = \"x\"\n[services.worker]\ncmd = \"y\"\n");
    // What the bash script generated above runs as you press TAB after `orch logs `.
    let out = orch()
        .current_dir(project.path())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .args(["--", "orch", "logs", ""])
        .output()
        .unwrap();
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    assert!(words.contains(&"web".to_owned()) && words.contains(&"worker".to_owned()), "{words:?}");
}

#[test]
fn completion_honours_dash_c_and_dash_f_on_the_line() {
    let project = Project::toml("[services.web]\ncmd = \"x\"\n")
        .file("api/Procfile", "api: x\n")
        .file("api/Procfile.dev", "api-dev: x\n");
    let complete = |words: &[&str]| {
        let out = orch()
            .current_dir(project.path())
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", (words.len() + 1).to_string())
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "true")
            .arg("--")
            .arg("orch")
            .args(words)
            .arg("")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|w| !w.starts_with('-'))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(complete(&["logs"]), ["web"]);
    assert_eq!(complete(&["-C", "api", "logs"]), ["api"]);
    assert_eq!(complete(&["logs", "-C", "api"]), ["api"]);
    assert_eq!(complete(&["up", "-C", "api", "-f", "Procfile.dev"]), ["api-dev"]);
    assert_eq!(complete(&["-C", "api", "logs", "--file", "Procfile.dev", "-f"]), ["api-dev"]);
}

/// `orch schema | head -1`: a reader that stops early ends orch as it ends `cat`, by SIGPIPE,
/// with nothing on stderr (no panic from `println!`).
#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let project = Project::toml("[services.web]\ncmd = \"sleep 60\"\n");
    for args in [&["schema"][..], &["ps", "--json"], &["man"]] {
        // A process another test forks at that moment holds a copy of the read end until it
        // execs; orch's whole output fits in the pipe, so a write in that instant succeeds.
        // Such a run (exit 0) is tried again; a panic or an error never is.
        let mut tries = 0;
        loop {
            tries += 1;
            let mut child = orch_std()
                .current_dir(project.path())
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run orch");
            // The reader goes away before orch writes a byte.
            drop(child.stdout.take());
            let out = child.wait_with_output().expect("orch ends");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "orch {args:?}: {stderr}");
            if out.status.signal() == Some(libc::SIGPIPE) {
                break;
            }
            // (`ps` notes on stderr that nothing runs: a note, not an error.)
            assert!(out.status.success() && tries < 5, "orch {args:?}: {:?} {stderr}", out.status);
        }
    }
}
