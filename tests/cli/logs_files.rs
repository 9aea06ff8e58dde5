//! `orch logs -n` and `--since` on log files written by hand: read from the end and found by
//! bisection, through the rotated files, without a supervisor.

use std::time::{Duration, SystemTime};

use crate::support::Project;

/// `<timestamp> out <text>\n`, `minutes_ago` before now.
fn record(minutes_ago: u64, text: &str) -> String {
    let time = SystemTime::now() - Duration::from_secs(60 * minutes_ago);
    format!("{} out {text}\n", humantime::format_rfc3339_micros(time))
}

/// web's logs: .log.2 holds 300..=201 minutes ago, .log.1 200..=101 and a long line, .log
/// 100..=1, a garbage line and an unfinished record.
fn project() -> Project {
    let long = "x".repeat(200 * 1024);
    let older: String = (201..=300).rev().map(|m| record(m, &format!("m{m}"))).collect();
    let mut old: String = (101..=200).rev().map(|m| record(m, &format!("m{m}"))).collect();
    old.push_str(&record(101, &long));
    let mut live: String = (1..=100).rev().map(|m| record(m, &format!("m{m}"))).collect();
    live.push_str("not a record\n");
    live.push_str(&record(0, "unfinished")[..40]);
    Project::toml("[services.web]\ncmd = \"sleep 1\"\n")
        .file(".orch/logs/web.log.2", &older)
        .file(".orch/logs/web.log.1", &old)
        .file(".orch/logs/web.log", &live)
}

fn minutes(range: impl DoubleEndedIterator<Item = u64>) -> String {
    range.rev().map(|m| format!("m{m}\n")).collect()
}

#[test]
fn tail_reads_from_the_end_through_rotated_files() {
    let project = project();
    let three = project.run(&["logs", "-n", "3", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(three, minutes(1..=3));
    let more = project.run(&["logs", "-n", "102", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(more, format!("m101\n{}\n{}", "x".repeat(200 * 1024), minutes(1..=100)));
    let all = project.run(&["logs", "-n", "1000", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(all.lines().count(), 301);
    assert!(all.starts_with("m300\nm299\n") && all.ends_with("m2\nm1\n"));
}

#[test]
fn since_is_found_in_the_right_file() {
    let project = project();
    let recent = project.run(&["logs", "--since", "150s", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(recent, minutes(1..=2));
    let hours = project.run(&["logs", "--since", "250m", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(hours.lines().count(), 250);
    assert!(hours.starts_with("m249\n") && hours.ends_with("m1\n"));
    let both = project.run(&["logs", "--since", "250m", "-n", "2", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(both, minutes(1..=2));
    let none = project.run(&["logs", "--since", "30s", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(none, "");
}

#[test]
fn orch_lines_about_one_service_do_not_count_in_the_tail() {
    // orch's own lines, newest last: a project-wide one, then many about db, which only the
    // live view (-f) shows.
    let mut orch = record(50, "reload: procs.toml changed");
    for m in (5..=49).rev() {
        orch.push_str(&record(m, "db: restarting in 1s"));
    }
    let web: String = (1..=60).rev().map(|m| record(m, &format!("m{m}"))).collect();
    let project = Project::toml("[services.web]\ncmd = \"sleep 1\"\n\n[services.db]\ncmd = \"sleep 1\"\n")
        .file(".orch/logs/orch.log", &orch)
        .file(".orch/logs/web.log", &web);
    // Under --no-prefix orch's lines are not shown; with the prefix, the 51st line from the
    // end is the project-wide one, past the 45 later ones about db.
    let tail = project.run(&["logs", "-n", "51"]).expect_code(0).stdout();
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 51, "{tail}");
    assert!(lines[0].starts_with("orch") && lines[0].ends_with("| reload: procs.toml changed"), "{tail}");
    assert!(lines[1..].iter().all(|l| l.starts_with("web")), "{tail}");
    assert!(lines[50].ends_with("| m1"), "{tail}");
    let web_only = project.run(&["logs", "-n", "3", "--no-prefix", "web"]).expect_code(0).stdout();
    assert_eq!(web_only, minutes(1..=3));
}
