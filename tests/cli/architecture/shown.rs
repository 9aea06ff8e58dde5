//! Point 4: what the command line shows, as snapshots (what varies redacted): `up`'s outcome
//! lines, `up --dry-run`'s plan, and the supervisor's refusals as the CLI prints them.

use super::{redact, sleeper};
use crate::support::Project;

fn manifest() -> String {
    format!(
        "{}{}[services.setup]\ncmd = \"true\"\noneshot = true\n\
         [services.web]\ncmd = \"exec sleep 1000\"\nmin_uptime = \"0s\"\ndepends_on = {{ db = \"started\", setup = \"completed\" }}\n",
        sleeper("db"),
        sleeper("cache"),
    )
}

#[test]
fn up_tells_the_outcome_of_every_service() {
    let project = Project::toml(&manifest());
    // No watching: the edit below is for `up bad` to take, not for a reload.
    let up = project.run(&["up", "--no-watch"]).expect_code(0);
    insta::assert_snapshot!("up_first", redact(&up.stdout(), &project.path()));
    let again = project.run(&["up", "web"]).expect_code(0);
    insta::assert_snapshot!("up_again", redact(&again.stdout(), &project.path()));
    project.write("procs.toml", &format!("{}[services.bad]\ncmd = \"echo no config; exit 3\"\n", manifest()));
    let bad = project.run(&["up", "bad"]).expect_code(1);
    insta::assert_snapshot!("up_failed", redact(&bad.stdout(), &project.path()));
}

#[test]
fn a_dry_run_tells_what_would_change_and_why() {
    let project = Project::toml(&manifest());
    let before = project.run(&["up", "--dry-run"]).expect_code(0);
    insta::assert_snapshot!("dry_run_before", before.stdout());
    project.run(&["up", "--no-watch"]).expect_code(0);
    project.edit(
        "procs.toml",
        "[services.cache]\ncmd = \"exec sleep 1000\"",
        "[services.cache]\ncmd = \"exec sleep 999\"",
    );
    project.write(
        "procs.toml",
        &format!("{}[services.api]\ncmd = \"exec sleep 1000\"\n", project.read("procs.toml").unwrap()),
    );
    let after = project.run(&["up", "--dry-run"]).expect_code(0);
    insta::assert_snapshot!("dry_run_after", after.stdout());
}

#[test]
fn refusals_as_the_cli_prints_them() {
    let project = Project::toml(&format!("{}{}", sleeper("web"), sleeper("db")));
    project.up().expect_code(0);
    let mut said = String::new();
    for args in [
        &["stop", "wbe"][..],
        &["ps", "wbe"],
        &["start", "web", "--", "sleep", "1"],
        &["start", "orch", "--", "sleep", "1"],
        &["start", "bad/name", "--", "sleep", "1"],
        &["up", "nosuch"],
    ] {
        let run = project.run(args);
        said.push_str(&format!("$ orch {}  # exit {}\n{}\n", args.join(" "), run.code(), run.stderr().trim_end()));
    }
    insta::assert_snapshot!(redact(&said, &project.path()));
}
