//! `orch ps [SVC…]`: what runs, since when, ready or not, restarts, pid, cpu, mem — from the
//! supervisor (one is started to adopt what a dead supervisor left running), or, when nothing
//! runs, from what `.orch/state.json` last recorded.
//!
//! The table has one row per service; what needs words (why a service is not up, its last
//! exit, what a notify service said, an ad-hoc service's command) goes on lines of its own
//! under the row, cut to the terminal's width, so a row never runs to 190 columns.

use clap::Args;

use super::Global;
use crate::client::{ClientError, Notice, Session, ops};
use crate::exit::Exit;
use crate::ipc::ServiceStatus;
use crate::model::Phase;
use crate::render::human_ms;
use crate::terminal::{self, Tone, paint};

#[derive(Debug, Args)]
pub(crate) struct PsArgs {
    /// Services to show; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(global: &Global, args: PsArgs) -> Result<Exit, ClientError> {
    // Every service is the supervisor's answer alone: the manifest is only read to check names.
    let session = if args.services.is_empty() {
        Session::locate(&global.place())?
    } else {
        Session::open_lenient(&global.place())?
    };
    let listing = ops::ps(&session, &args.services, &mut |notice| {
        if let Notice::Note(note) = notice {
            eprintln!("orch: {note}");
        }
    })?;
    for note in &listing.notes {
        eprintln!("orch: {note}");
    }
    if args.json {
        let json = serde_json::to_string_pretty(&listing.rows).map_err(|e| ClientError::Failed(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", table(&listing.rows, terminal::terminal_width(), terminal::stdout_color()));
    }
    Ok(Exit::Success)
}

const HEADERS: [&str; 9] = ["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "READY", "CPU", "MEM"];

/// Indent of the lines under a row: under the STATE column.
const DETAIL_INDENT: &str = "↳ ";

/// The table: columns padded to their widest cell, the state coloured by its tone, the
/// details of a row under it, each cut to `width` when printing to a terminal.
pub(crate) fn table(rows: &[ServiceStatus], width: Option<usize>, color: bool) -> String {
    let cells: Vec<[String; 9]> = rows.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for cell in &cells {
        for (w, c) in widths.iter_mut().zip(cell) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Each line is written into the table as it goes: a thousand rows are 9,000 cells.
    let line = |out: &mut String, cells: [&str; 9], state_tone: Option<Tone>| {
        let start = out.len();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let padding = w.saturating_sub(cell.chars().count());
            match state_tone.filter(|_| i == 1) {
                Some(tone) => out.push_str(&paint(&format!("{cell}{:padding$}", ""), tone, color)),
                None => {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', padding));
                }
            }
        }
        out.truncate(start + out[start..].trim_end().len());
        out.push('\n');
    };
    let mut out = String::with_capacity((widths.iter().sum::<usize>() + 2 * HEADERS.len()) * (rows.len() + 1));
    line(&mut out, HEADERS, None);
    let indent = " ".repeat(widths[0] + 2);
    for (status, cell) in rows.iter().zip(&cells) {
        let tone = shown_phase(&status.state).map(terminal::phase_tone);
        line(&mut out, cell.each_ref().map(String::as_str), tone);
        for detail in details(status) {
            out.push_str(&cut(&format!("{indent}{DETAIL_INDENT}{detail}"), width));
            out.push('\n');
        }
    }
    out
}

/// The state of a running service whose health check keeps failing (not a phase: it runs).
const UNHEALTHY: &str = "unhealthy";

/// The phase a state is coloured as: an unhealthy service as a failed one.
fn shown_phase(state: &str) -> Option<Phase> {
    if state == UNHEALTHY { Some(Phase::Failed) } else { Phase::parse(state) }
}

fn row(s: &ServiceStatus) -> [String; 9] {
    let live = Phase::parse(&s.state).is_some_and(Phase::has_process) || s.state == UNHEALTHY;
    let ready = match (&s.ready_check, s.ready_after_ms) {
        (None, _) => "-".to_owned(),
        (Some(_), _) if !live => String::new(),
        (Some(check), Some(ms)) => format!("{check} ({})", human_ms(ms)),
        (Some(check), None) => format!("{check} (waiting)"),
    };
    [
        s.name.clone(),
        s.state.clone(),
        s.pid.map_or("-".into(), |p| p.to_string()),
        s.port.map_or("-".into(), |p| p.to_string()),
        s.uptime_secs.map_or("-".into(), uptime),
        s.restarts.to_string(),
        ready,
        s.cpu_percent.map_or("-".into(), |c| format!("{c:.1}%")),
        s.mem_bytes.map_or("-".into(), memory),
    ]
}

/// The lines under a row: why it is in an unhappy state, its last exit once it has
/// restarted, what it said on its notify socket, what an ad-hoc service runs.
fn details(s: &ServiceStatus) -> Vec<String> {
    let phase = Phase::parse(&s.state);
    let happy = phase.is_some_and(|p| matches!(p, Phase::Ready | Phase::Running | Phase::Completed | Phase::Starting));
    let mut lines = Vec::new();
    if let Some(reason) = s.reason.as_ref().filter(|_| !happy) {
        lines.push(reason.clone());
    }
    if let Some(exit) = s.last_exit.as_ref().filter(|_| phase.is_some_and(Phase::has_process) && s.restarts > 0) {
        lines.push(format!("last exit: {exit}"));
    }
    if let Some(next) = &s.next_run {
        lines.push(format!("next run: {next}"));
    }
    if let Some(status) = &s.status {
        lines.push(format!("status: {status}"));
    }
    if let Some(command) = &s.command {
        lines.push(format!("ad-hoc: {command}"));
    }
    if s.adopted {
        lines.push("adopted: started by an earlier supervisor".to_owned());
    }
    lines
}

/// A line no wider than the terminal (with `…` where it was cut); as it is elsewhere.
fn cut(text: &str, width: Option<usize>) -> String {
    match width {
        Some(width) if text.chars().count() > width && width > 1 => {
            let mut cut: String = text.chars().take(width - 1).collect();
            cut.push('…');
            cut
        }
        _ => text.to_owned(),
    }
}

fn uptime(secs: f64) -> String {
    // From the supervisor: a negative or endless number is no uptime.
    let s = std::time::Duration::try_from_secs_f64(secs).map_or(0, |d| d.as_secs());
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

fn memory(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 { format!("{:.1}G", mib / 1024.0) } else { format!("{mib:.1}M") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<ServiceStatus> {
        let base = |name: &str, state: &str| ServiceStatus {
            name: name.into(),
            state: state.into(),
            ..ServiceStatus::default()
        };
        vec![
            ServiceStatus {
                pid: crate::model::Pid::new(4211),
                port: Some(5432),
                uptime_secs: Some(182.0),
                ready_check: Some("tcp 127.0.0.1:5432".into()),
                ready_after_ms: Some(12),
                cpu_percent: Some(0.1),
                mem_bytes: Some(21_500_000),
                ..base("db", "ready")
            },
            ServiceStatus {
                pid: crate::model::Pid::new(4215),
                port: Some(5000),
                uptime_secs: Some(61.0),
                restarts: 2,
                last_exit: Some("killed by SIGTERM".into()),
                cpu_percent: Some(2.5),
                mem_bytes: Some(51_000_000),
                ..base("web", "running")
            },
            ServiceStatus {
                restarts: 5,
                ready_check: Some("http http://127.0.0.1:8080/health".into()),
                reason: Some(
                    "ready check http http://127.0.0.1:8080/health did not pass within 60s (last: 404 Not Found) \
                     after 5 restarts"
                        .into(),
                ),
                last_exit: Some("exited with 1".into()),
                ..base("api", "fatal")
            },
            ServiceStatus {
                pid: crate::model::Pid::new(4302),
                uptime_secs: Some(5.0),
                adhoc: true,
                command: Some("python3 -m http.server 8000".into()),
                ..base("files", "running")
            },
            ServiceStatus { reason: Some("db failed".into()), ..base("worker", "blocked") },
        ]
    }

    #[test]
    fn the_table_puts_words_under_the_rows() {
        insta::assert_snapshot!(table(&rows(), None, false));
    }

    #[test]
    fn a_terminal_cuts_long_details_to_its_width() {
        let text = table(&rows(), Some(60), false);
        assert!(text.lines().filter(|l| l.contains('↳')).all(|l| l.chars().count() <= 60), "{text}");
        assert!(text.contains("…"), "{text}");
    }

    #[test]
    fn states_are_coloured_only_when_asked() {
        let coloured = table(&rows(), None, true);
        assert!(coloured.contains("\x1b[32mready"), "{coloured:?}");
        assert!(coloured.contains("\x1b[31mfatal"), "{coloured:?}");
        assert!(!table(&rows(), None, false).contains('\x1b'));
    }

    #[test]
    fn ready_is_a_dash_without_a_check_and_empty_when_not_running() {
        let text = table(&rows(), None, false);
        let cell = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap().to_owned();
        assert!(cell("web").contains(" -  "), "{text}");
        assert!(!cell("api").contains("http"), "{text}");
        assert!(cell("db").contains("tcp 127.0.0.1:5432 (12ms)"), "{text}");
    }
}
