//! Schedules: a oneshot with `schedule` runs on it while the project is up (not at the `up`);
//! a run still going when the next is due is skipped and said; `ps` shows the next run;
//! `orch start NAME` runs it now.

use crate::support::{ORCH_TIMEOUT, Project, wait_until};

#[test]
fn a_scheduled_oneshot_waits_for_its_time_and_start_runs_it_now() {
    // New year's midnight: it will not come during the test.
    let project = Project::toml(
        "[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.report]\ncmd = \"echo ran >> runs.txt\"\noneshot = true\nschedule = \"0 0 1 1 *\"\n",
    );
    let up = project.up().expect_code(0);
    assert!(!up.stdout().contains("report"), "up ran the scheduled oneshot: {}", up.stdout());
    assert!(!project.exists("runs.txt"));
    let report = project.service("report");
    let next = report["next_run"].as_str().unwrap_or_default().to_owned();
    assert!(next.contains("-01-01T") && next.ends_with('Z'), "{report}");
    let table = project.run(&["ps"]).expect_code(0).stdout();
    assert!(table.contains(&format!("next run: {next}")), "{table}");

    project.run(&["start", "report"]).expect_code(0);
    assert_eq!(project.read("runs.txt").as_deref(), Some("ran\n"));
    assert_eq!(project.service("report")["state"], "completed");
    assert_eq!(project.service("report")["next_run"], next.as_str(), "the schedule goes on");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn runs_come_on_the_schedule_and_one_still_going_makes_the_next_skip() {
    // Every second (a sixth field, first, is seconds); each run takes 2.5 s.
    let project = Project::toml(
        "[services.tick]\ncmd = \"echo tick >> ticks.txt; sleep 2.5\"\noneshot = true\nschedule = \"* * * * * *\"\n",
    );
    project.up().expect_code(0);
    let said = |text: &str| project.orch_lines().iter().any(|l| l.starts_with("tick: ") && l.contains(text));
    assert!(wait_until(ORCH_TIMEOUT, || said("scheduled run (* * * * * *)")), "{:?}", project.orch_lines());
    assert!(
        wait_until(ORCH_TIMEOUT, || said("skipped a scheduled run: the last one is still running")),
        "{:?}",
        project.orch_lines()
    );
    assert!(project.read("ticks.txt").is_some_and(|t| t.lines().count() >= 1));
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_schedule_must_parse_and_be_a_oneshots() {
    let bad = Project::toml("[services.web]\ncmd = \"true\"\noneshot = true\nschedule = \"every day\"\n");
    let said = bad.run(&["check"]).expect_code(2).stderr();
    assert!(said.contains("`every day` is not a cron schedule") && said.contains("procs.toml:4"), "{said}");
    let long = Project::toml("[services.web]\ncmd = \"sleep 1\"\nschedule = \"*/5 * * * *\"\n");
    let said = long.run(&["check"]).expect_code(2).stderr();
    assert!(said.contains("has a schedule but is not a oneshot"), "{said}");
}
