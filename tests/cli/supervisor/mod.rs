//! The supervisor end to end: the real binary in temp projects, against real children (`sh`,
//! `sleep`, python3 listeners, scripts that ignore SIGTERM or double-fork). What runs is checked
//! in /proc (see `procs`), never by trusting orch; every wait is bounded polling; and every
//! project's processes are killed by pid when its `Project` drops, even when a test fails.

mod adhoc;
mod cleanup;
mod deps;
mod lifecycle;
mod logs;
mod projects;
mod ps;
mod readiness;
mod restart;
mod stop;

use std::time::Duration;

/// The line `up`/`down`/`stop`/… printed for a service: `✓ web    ready in 312ms`.
pub fn outcome_line(stdout: &str, service: &str) -> String {
    stdout
        .lines()
        .find(|line| {
            let mut words = line.split_whitespace();
            matches!(words.next(), Some("✓" | "✗")) && words.next() == Some(service)
        })
        .unwrap_or_else(|| panic!("no outcome line for `{service}` in:\n{stdout}"))
        .to_owned()
}

/// Asserts that a service's outcome line is a success (`✓`) or a failure (`✗`) and contains
/// every one of `words`.
pub fn assert_outcome(stdout: &str, service: &str, success: bool, words: &[&str]) {
    let line = outcome_line(stdout, service);
    let mark = if success { "✓ " } else { "✗ " };
    assert!(line.starts_with(mark), "expected {mark}for {service}: {line}\n{stdout}");
    for word in words {
        assert!(line.contains(word), "`{word}` not in `{line}`\n{stdout}");
    }
}

/// `orch logs` output as (service, line) pairs: `web   | text`.
pub fn log_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (name, text) = line.split_once(" | ")?;
            Some((name.trim().to_owned(), text.to_owned()))
        })
        .collect()
}

/// A field of `ps --json` as a number of milliseconds.
pub fn ms(value: &serde_json::Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a number of ms: {value}"))
}

pub const SECOND: Duration = Duration::from_secs(1);

/// What `pids_of` / `supervisor_pids` give when nothing runs.
pub const NO_PIDS: Vec<i32> = Vec::new();
/// What `marked_pids` gives when nothing runs.
pub const NO_PROCS: Vec<(i32, String)> = Vec::new();
