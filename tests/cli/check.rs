//! `orch check` on good and bad manifests; every user-facing error is a reviewed snapshot.

use crate::support::{Project, orch};

fn error_of(manifest: &str) -> String {
    Project::toml(manifest).orch(&["check"]).expect_code(2).stderr()
}

#[test]
fn valid_manifest_prints_levels() {
    let run = Project::toml(
        r#"
[services.db]
cmd = "sleep 100"
[services.cache]
cmd = "sleep 100"
[services.web]
cmd = "sleep 100"
depends_on = ["db", "cache"]
[services.worker]
cmd = "sleep 100"
depends_on = { web = "started" }
"#,
    )
    .orch(&["check"])
    .expect_code(0);
    insta::assert_snapshot!(run.stdout(), @r"
    procs.toml is valid: 4 services
    start order:
      1. db, cache
      2. web
      3. worker
    ");
    assert_eq!(run.stderr(), "");
}

#[test]
fn check_json_gives_levels() {
    let run = Project::toml("[services.a]\ncmd = \"x\"\n[services.b]\ncmd = \"y\"\ndepends_on = [\"a\"]\n")
        .orch(&["check", "--json"])
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["levels"], serde_json::json!([["a"], ["b"]]));
}

#[test]
fn cycle_names_every_service() {
    insta::assert_snapshot!(error_of(
        r#"
[services.db]
cmd = "x"
depends_on = ["worker"]
[services.web]
cmd = "x"
depends_on = ["db"]
[services.worker]
cmd = "x"
depends_on = ["web"]
"#
    ));
}

#[test]
fn unknown_dependency_suggests_the_nearest() {
    insta::assert_snapshot!(error_of(
        "[services.db]\ncmd = \"x\"\n[services.web]\ncmd = \"x\"\ndepends_on = [\"bd\"]\n"
    ));
}

#[test]
fn self_dependency() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\ndepends_on = [\"web\"]\n"));
}

#[test]
fn unknown_key_suggests_the_nearest() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\ndepend_on = [\"db\"]\n"));
}

#[test]
fn unknown_top_level_key() {
    insta::assert_snapshot!(error_of("[servics.web]\ncmd = \"x\"\n"));
}

#[test]
fn bad_duration() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nstop_timeout = \"10 parsecs\"\n"));
}

#[test]
fn duration_without_unit() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nready_timeout = 30\n"));
}

#[test]
fn bad_signal() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nstop_signal = \"SIGTREM\"\n"));
}

#[test]
fn bad_restart_policy() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nrestart = \"sometimes\"\n"));
}

#[test]
fn unknown_ready_kind() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nready = { htp = \"http://x\" }\n"));
}

#[test]
fn empty_command() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"  \"\n"));
}

#[test]
fn missing_command() {
    insta::assert_snapshot!(error_of("[services.web]\ncwd = \".\"\n"));
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(error_of("[services.web\ncmd = \"x\"\n"));
}

#[test]
fn completed_needs_a_oneshot() {
    insta::assert_snapshot!(error_of(
        "[services.db]\ncmd = \"x\"\n[services.web]\ncmd = \"x\"\ndepends_on = { db = \"completed\" }\n"
    ));
}

#[test]
fn bad_tcp_target_after_interpolation() {
    insta::assert_snapshot!(error_of("[services.db]\ncmd = \"x\"\nready = { tcp = \"127.0.0.1:${PGPORT}\" }\n"));
}

#[test]
fn missing_env_file() {
    insta::assert_snapshot!(error_of("[services.db]\ncmd = \"x\"\nenv_file = \".env.db\"\n"));
}

#[test]
fn bad_dotenv_line_points_into_dotenv() {
    let run = Project::toml("[services.db]\ncmd = \"x\"\n")
        .file(".env", "GOOD=1\nthis is not a variable\n")
        .orch(&["check"])
        .expect_code(2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn every_broken_service_is_reported_at_once() {
    let err = error_of("[services.a]\ncmdd = \"x\"\n[services.b]\ncmd = \"x\"\nrestart = \"nope\"\n");
    assert!(err.contains("service `a`") && err.contains("service `b`"), "{err}");
}

#[test]
fn procfile_duplicate_is_an_error_and_bad_line_a_warning() {
    let run = Project::new().file("Procfile", "web: a\n  indented: b\nweb: c\n").orch(&["check"]).expect_code(2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn procfile_warning_keeps_stdout_clean() {
    let run = Project::new().file("Procfile", "web: a\nnot a line\nworker: b\n").orch(&["check"]).expect_code(0);
    assert!(run.stdout().starts_with("Procfile is valid: 2 services"), "{}", run.stdout());
    assert!(run.stderr().contains("line 2 is not `name: command`"), "{}", run.stderr());
}

#[test]
fn found_from_a_subdirectory() {
    let project = Project::toml("[services.web]\ncmd = \"x\"\n");
    let run = project.orch_in(&project.path().join("src/deep"), &["check"]).expect_code(0);
    assert!(run.stdout().contains("is valid: 1 service"), "{}", run.stdout());
}

#[test]
fn procs_toml_wins_over_procfile() {
    let run = Project::toml("[services.fromtoml]\ncmd = \"x\"\n")
        .file("Procfile", "fromprocfile: y\n")
        .orch(&["check"])
        .expect_code(0);
    assert!(run.stdout().contains("fromtoml"), "{}", run.stdout());
}

#[test]
fn dash_f_and_dash_c_choose_the_manifest() {
    let project = Project::toml("[services.a]\ncmd = \"x\"\n").file("other/Procfile", "b: y\n");
    let run = project.orch(&["-f", "other/Procfile", "check"]).expect_code(0);
    assert!(run.stdout().contains("1. b"), "{}", run.stdout());
    let run = project.orch(&["-C", "other", "check"]).expect_code(0);
    assert!(run.stdout().contains("1. b"), "{}", run.stdout());
}

#[test]
fn no_manifest_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = orch().current_dir(dir.path()).arg("check").output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("no procs.toml, Procfile or Procfile.dev in"), "{err}");
}

#[test]
fn examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["procs.toml.example", "Procfile.example", "examples/web/procs.toml"] {
        let out = orch().current_dir(root).args(["-f", file, "check"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

// ----- issue 10: real projects as their owners wrote them ----------------------------------------

#[test]
fn procfile_dev_alone_is_found() {
    let project =
        Project::new().file("Procfile.dev", "web: bin/rails server -p 3000\ncss: bin/rails tailwindcss:watch\n");
    let run = project.orch(&["check"]).expect_code(0);
    assert!(run.stdout().starts_with("Procfile.dev is valid: 2 services"), "{}", run.stdout());
    assert_eq!(run.stderr(), "");
}

#[test]
fn two_procfiles_say_which_is_used_and_how_to_pick_the_other() {
    let project = Project::new().file("Procfile", "web: bundle exec puma\n").file("Procfile.dev", "web: bin/rails s\n");
    let run = project.orch(&["check"]).expect_code(0);
    assert!(run.stdout().starts_with("Procfile is valid"), "{}", run.stdout());
    insta::assert_snapshot!(run.stderr(), @r"
    ☞ using Procfile; Procfile.dev is here too: `-f Procfile.dev` uses it
    ");
    let run = project.orch(&["check", "-f", "Procfile.dev"]).expect_code(0);
    assert!(run.stdout().starts_with("Procfile.dev is valid"), "{}", run.stdout());
    assert_eq!(run.stderr(), "", "a manifest named with -f needs no note");
}

#[test]
fn dash_f_and_dash_c_work_after_the_command_too() {
    let project = Project::toml("[services.a]\ncmd = \"x\"\n").file("other/Procfile", "b: y\n");
    let run = project.orch(&["check", "-f", "other/Procfile"]).expect_code(0);
    assert!(run.stdout().contains("1. b"), "{}", run.stdout());
    let run = project.orch(&["check", "-C", "other"]).expect_code(0);
    assert!(run.stdout().contains("1. b"), "{}", run.stdout());
    let run = project.orch(&["config", "--json", "--file", "other/Procfile"]).expect_code(0);
    assert!(run.stdout().contains("\"b\""), "{}", run.stdout());
    // After the command wins over before it.
    let run = project.orch(&["-f", "procs.toml", "check", "-f", "other/Procfile"]).expect_code(0);
    assert!(run.stdout().contains("1. b"), "{}", run.stdout());
}

#[test]
fn dash_f_naming_a_folder_says_it_is_a_folder() {
    let project = Project::toml("[services.a]\ncmd = \"x\"\n").file("sub/Procfile", "b: y\n");
    let err = project.orch(&["check", "-f", "sub"]).expect_code(2).stderr();
    assert!(
        err.ends_with("sub is a folder; -f names a manifest file (procs.toml or a Procfile), -C a folder to run in\n"),
        "{err}"
    );
}

#[test]
fn check_json_prints_the_problems_when_invalid() {
    let run = Project::toml("[services.web]\ncomand = \"x\"\nstop_timeout = \"soon\"\n")
        .orch(&["check", "--json"])
        .expect_code(2);
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON on stdout");
    assert_eq!(v["valid"], false);
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{v:#}");
    assert_eq!(
        problems[0],
        serde_json::json!({
            "severity": "error",
            "message": "service `web`: unknown key `comand`",
            "help": "did you mean `cmd`?",
            "file": "procs.toml",
            "line": 2,
            "column": 1,
            "label": "unknown key",
        })
    );
    assert_eq!(problems[1]["line"], 3);
    assert!(run.stderr().contains("unknown key `comand`"), "people still read it on stderr: {}", run.stderr());

    let dir = tempfile::tempdir().unwrap();
    let run = orch().current_dir(dir.path()).args(["check", "--json"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON on stdout");
    assert_eq!(v["valid"], false);
    assert!(v["problems"][0]["message"].as_str().unwrap().starts_with("no procs.toml"), "{v:#}");
}

#[test]
fn check_json_of_a_valid_manifest_lists_its_warnings() {
    let run = Project::toml("[services.web]\ncmd = \"x\"\nenv = { A = \"${NOPE}\" }\n")
        .orch(&["check", "--json"])
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    assert_eq!(v["valid"], true);
    assert_eq!(v["problems"][0]["severity"], "warning");
    assert_eq!(v["problems"][0]["message"], "`${NOPE}` is not set; using an empty string");
}

#[test]
fn two_typos_in_one_service_are_both_reported() {
    insta::assert_snapshot!(error_of("[services.web]\ncomand = \"./web\"\nreadyy = { tcp = \"127.0.0.1:1\" }\n"));
}

#[test]
fn a_broken_service_sets_off_no_errors_in_others() {
    let err = error_of(
        "[services.api]\ncmd = \"x\"\nport = 4000\nstop_sigal = \"INT\"\n\
         [services.web]\ncmd = \"y\"\nenv = { API = \"http://127.0.0.1:${api.port}\" }\n",
    );
    insta::assert_snapshot!(err);
}

#[test]
fn a_required_variable_is_an_error_with_its_message() {
    let run =
        Project::toml("[services.web]\ncmd = \"x\"\nenv = { DB = \"${DATABASE_URL:?set DATABASE_URL in .env}\" }\n")
            .file(".env", "DATABASE_URL=\n")
            .orch(&["check"])
            .expect_code(2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn what_orch_does_not_expand_is_an_error_at_the_line() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nenv = { A = \"${VAR:=fallback}\" }\n"));
}

#[test]
fn an_env_key_that_is_no_variable_name() {
    insta::assert_snapshot!(error_of("[env]\n\"SNEAK=HOME\" = \"x\"\n[services.web]\ncmd = \"x\"\n"));
}

#[test]
fn a_nul_in_a_value_is_an_error_at_check_time() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nenv = { A = \"a\\u0000b\" }\n"));
}

#[test]
fn a_service_name_cannot_start_with_a_dash() {
    insta::assert_snapshot!(error_of("[services.-rf]\ncmd = \"x\"\n"));
}

#[test]
fn a_procfile_name_longer_than_64_characters() {
    let name = "w".repeat(300);
    let run = Project::new().file("Procfile", &format!("{name}: x\n")).orch(&["check"]).expect_code(2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn port_that_is_no_number_in_a_procfile_project() {
    let run = Project::new().file("Procfile", "web: x\n").file(".env", "PORT=abc\n").orch(&["check"]).expect_code(2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn whole_numbers_in_plain_words() {
    insta::assert_snapshot!(error_of("[services.web]\ncmd = \"x\"\nmax_restarts = -1\n"));
}

#[test]
fn a_doubling_dotenv_is_refused_at_its_line() {
    let mut dotenv = String::from("A0=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
    for i in 1..40 {
        dotenv.push_str(&format!("A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
    }
    let run = Project::toml("[services.web]\ncmd = \"x\"\n").file(".env", &dotenv).orch(&["check"]).expect_code(2);
    insta::assert_snapshot!(run.stderr());
}
