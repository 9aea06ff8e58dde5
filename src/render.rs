//! What the front ends (the CLI, MCP, the TUI and the dashboard) say about a request's outcome,
//! in one wording: the `✓ web  ready in 312ms` lines, an action's one line, a dry run's plan.
//! How it looks on a terminal is `terminal`'s.

use crate::client::action::Done;
use crate::client::follow::{Ending, Report};
use crate::ipc::Outcome;
use crate::model::Phase;
use crate::terminal::{Tone, paint, phase_tone};

/// `ready in 312ms`, `running`, `completed in 20ms`, `exited with 1`, `blocked: db failed`.
pub(crate) fn describe(outcome: &Outcome) -> String {
    let took = |what: &str| match outcome.elapsed_ms {
        Some(ms) => format!("{what} in {}", human_ms(ms)),
        None => what.to_owned(),
    };
    match (outcome.phase, &outcome.reason) {
        (Phase::Ready, _) => took("ready"),
        (Phase::Completed, _) => took("completed"),
        (Phase::Running, _) => "running".to_owned(),
        (Phase::Stopped, Some(reason)) => format!("stopped: {reason}"),
        (Phase::Stopped, None) => "stopped".to_owned(),
        (Phase::Failed, Some(reason)) => reason.clone(),
        (phase, Some(reason)) => format!("{}: {reason}", phase.as_str()),
        (phase, None) => phase.as_str().to_owned(),
    }
}

pub(crate) fn human_ms(ms: u64) -> String {
    if ms < 1000 { format!("{ms}ms") } else { format!("{:.1}s", ms as f64 / 1000.0) }
}

/// The outcome of every service of a request, a line each: `✓ web  ready in 312ms`, `✗ db
/// exited with 1` with its last log lines under it, `= api  running (unchanged)`; the names
/// padded to `width`.
pub(crate) fn outcomes(report: &Report, width: usize, color: bool) -> String {
    let mut text = String::new();
    for outcome in &report.outcomes {
        text.push_str(&outcome_line(outcome, report.met(outcome), width, color));
        text.push('\n');
        for line in &outcome.last_lines {
            text.push_str(&format!("    | {line}\n"));
        }
    }
    text
}

fn outcome_line(outcome: &Outcome, success: bool, width: usize, color: bool) -> String {
    let name = &outcome.service;
    if outcome.unchanged {
        let mark = paint("=", Tone::Quiet, color);
        return format!("{mark} {name:<width$}  {} (unchanged)", outcome.phase.as_str());
    }
    if outcome.removed && success {
        let mark = paint("-", Tone::Quiet, color);
        return format!("{mark} {name:<width$}  {} (removed)", outcome.phase.as_str());
    }
    let (mark, tone) = if success { ("✓", Tone::Good) } else { ("✗", Tone::Bad) };
    let what = paint(&describe(outcome), phase_tone(outcome.phase), color);
    format!("{} {name:<width$}  {what}", paint(mark, tone, color))
}

/// A plan, a line a step: `+ api  new`, `~ web  env PORT changed`, `- old  removed`, `= db
/// unchanged`.
pub(crate) fn plan(plan: &crate::plan::Plan) -> String {
    let width = plan.steps.iter().map(|s| s.service.len()).max().unwrap_or(0);
    plan.steps
        .iter()
        .map(|step| format!("{} {:<width$}  {}\n", step.action.mark(), step.service, step.reason))
        .collect()
}

/// How an action of the TUI or the dashboard ended, in one line, and whether every service it
/// touched is as asked: `✓ web: ready in 312ms, worker: running`.
pub(crate) fn action_done(done: &Done) -> (bool, String) {
    match done {
        Done::Followed(Ending::Done(report)) => {
            // What the action did, not what it found already up (the CLI's `=` lines).
            let touched: Vec<&Outcome> = report.outcomes.iter().filter(|o| !o.unchanged).collect();
            let told = if touched.is_empty() { report.outcomes.iter().collect() } else { touched };
            let parts: Vec<String> = told.iter().map(|o| format!("{}: {}", o.service, describe(o))).collect();
            let mark = if report.ok() { "✓" } else { "✗" };
            (report.ok(), format!("{mark} {}", parts.join(", ")))
        }
        Done::Followed(Ending::TimedOut { .. } | Ending::Interrupted { .. }) => (false, "still under way".to_owned()),
        Done::NotRunning(name) => (true, format!("{name} is not running")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::follow::Expect;
    use crate::plan::{Action, Plan, Reason, Step};

    #[test]
    fn up_outcome_lines() {
        let report = Report {
            outcomes: vec![
                Outcome { elapsed_ms: Some(12), ..Outcome::bare("db", Phase::Ready) },
                Outcome { elapsed_ms: Some(1830), ..Outcome::bare("migrate", Phase::Completed) },
                Outcome { unchanged: true, ..Outcome::bare("cache", Phase::Running) },
                Outcome {
                    reason: Some("exited with 1".into()),
                    last_lines: vec!["listening on :8080".into(), "panic: no database".into()],
                    ..Outcome::bare("web", Phase::Failed)
                },
                Outcome { reason: Some("web failed".into()), ..Outcome::bare("worker", Phase::Blocked) },
                Outcome { removed: true, ..Outcome::bare("web.3", Phase::Stopped) },
            ],
            expect: Expect::Up,
            exiting: false,
        };
        assert!(!report.ok());
        insta::assert_snapshot!(outcomes(&report, 7, false));
    }

    #[test]
    fn an_action_says_what_it_did_in_one_line() {
        let report = |outcomes| Done::Followed(Ending::Done(Report { outcomes, expect: Expect::Up, exiting: false }));
        let restart = report(vec![
            Outcome { unchanged: true, ..Outcome::bare("db", Phase::Ready) },
            Outcome { elapsed_ms: Some(312), ..Outcome::bare("web", Phase::Ready) },
        ]);
        assert_eq!(action_done(&restart), (true, "✓ web: ready in 312ms".to_owned()));
        let start = report(vec![Outcome { unchanged: true, ..Outcome::bare("web", Phase::Running) }]);
        assert_eq!(action_done(&start).1, "✓ web: running");
        let failed =
            report(vec![Outcome { reason: Some("exited with 1".into()), ..Outcome::bare("web", Phase::Failed) }]);
        assert_eq!(action_done(&failed), (false, "✗ web: exited with 1".to_owned()));
        assert_eq!(action_done(&Done::NotRunning("web".into())), (true, "web is not running".to_owned()));
    }

    #[test]
    fn down_outcome_lines() {
        let report = Report {
            outcomes: vec![
                Outcome::bare("web", Phase::Stopped),
                Outcome { reason: Some("killed by SIGKILL after 10s".into()), ..Outcome::bare("db", Phase::Stopped) },
            ],
            expect: Expect::Stopped,
            exiting: true,
        };
        assert!(report.ok());
        insta::assert_snapshot!(outcomes(&report, 3, false));
    }

    #[test]
    fn a_dry_run_plan() {
        let step = |action, service: &str, reason| Step { action, service: service.into(), reason };
        let plan = Plan {
            steps: vec![
                step(Action::Stop, "old", Reason::Removed),
                step(Action::Keep, "db", Reason::Unchanged),
                step(Action::Start, "api", Reason::New),
                step(Action::Restart, "web", Reason::Changed(vec!["env PORT changed".into()])),
                step(Action::Restart, "worker", Reason::DependencyRestarted("web".into())),
            ],
        };
        insta::assert_snapshot!(super::plan(&plan));
    }
}
