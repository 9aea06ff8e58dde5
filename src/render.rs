//! How orch talks to a terminal: colour only on a TTY (or with `CLICOLOR_FORCE`), never under
//! `NO_COLOR`; problems rendered like a compiler's, with the offending line and a caret.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::client::follow::Report;
use crate::ipc::Outcome;
use crate::manifest::Problem;
use crate::model::Phase;

/// Whether output to a stream may be coloured: `NO_COLOR` (set and not empty) says never,
/// `CLICOLOR_FORCE` (set and not `0`) says always, else only a terminal.
pub(crate) fn color(stream_is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if set("NO_COLOR").is_some() {
        return false;
    }
    if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    stream_is_terminal
}

/// Whether stderr (where problems and spinners go) may be coloured.
pub(crate) fn stderr_color() -> bool {
    color(std::io::stderr().is_terminal())
}

/// Whether stdout may be coloured.
pub(crate) fn stdout_color() -> bool {
    color(std::io::stdout().is_terminal())
}

/// What a piece of text says, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Up and fine: green.
    Good,
    /// On its way: yellow.
    Busy,
    /// Failed: red.
    Bad,
    /// Not up, and nothing wrong: dim.
    Quiet,
}

/// The tone of a service state, as `up`, `ps` and `down` colour it.
pub(crate) fn phase_tone(phase: Phase) -> Tone {
    match phase {
        Phase::Ready | Phase::Running | Phase::Completed => Tone::Good,
        Phase::Pending | Phase::Starting | Phase::Stopping | Phase::Backoff => Tone::Busy,
        Phase::Failed | Phase::Fatal | Phase::Blocked => Tone::Bad,
        Phase::Stopped => Tone::Quiet,
    }
}

/// The text in its tone's colour, when `on`.
pub(crate) fn paint(text: &str, tone: Tone, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Busy => "33",
        Tone::Bad => "31",
        Tone::Quiet => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// foreman's palette, less red (it reads as an error): cyan, yellow, green, magenta, blue,
/// then the bright ones.
const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// orch's own `orch | …` lines: grey, a colour no service gets.
const ORCH_COLOR: &str = "90";

/// Whose line a prefix is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Speaker {
    /// The `index`th service, in its colour.
    Service(usize),
    /// orch itself.
    Orch,
}

/// The `web    | ` in front of a line, padded to `width`, coloured for its speaker when `color`.
pub(crate) fn line_prefix(buf: &mut Vec<u8>, name: &str, width: usize, speaker: Speaker, color: bool) {
    if !color {
        buf.extend_from_slice(format!("{name:<width$} | ").as_bytes());
        return;
    }
    let code = match speaker {
        Speaker::Service(i) => PALETTE[i % PALETTE.len()],
        Speaker::Orch => ORCH_COLOR,
    };
    buf.extend_from_slice(format!("\x1b[{code}m{name:<width$} |\x1b[0m ").as_bytes());
}

pub(crate) fn problem(problem: &Problem, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, problem).is_err() {
        // Rendering into a String cannot fail short of a bug in the renderer; fall back.
        out = problem.one_line();
    }
    out
}

/// Prints problems to stderr.
pub(crate) fn problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    let color = stderr_color();
    for p in problems {
        eprintln!("{}", problem(p, color));
    }
}

/// The width of the terminal on stdout, if it is one.
pub(crate) fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let size = nix::libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    let mut size = size;
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own, and reads nothing else.
    let ok = unsafe { nix::libc::ioctl(nix::libc::STDOUT_FILENO, nix::libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

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
            ],
            expect: Expect::Up,
            exiting: false,
        };
        assert!(!report.ok());
        insta::assert_snapshot!(outcomes(&report, 7, false));
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
