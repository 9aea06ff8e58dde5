//! `orch ps [SVC…]`: what runs, since when, ready or not, restarts, pid, cpu, mem — from the
//! supervisor, or, when none runs, from what `.orch/state.json` last recorded.

use clap::Args;

use super::progress::human_ms;
use super::session::{Session, lost};
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::{Reply, Request, ServiceStatus};
use crate::state::{ServiceRecord, State};
use crate::supervisor::lifecycle::Phase;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Services to show; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub services: Vec<String>,
    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &Global, args: PsArgs) -> Result<Exit, CliError> {
    let session = Session::open_lenient(global)?;
    // A supervisor that died left its services running: a new one adopts them, so that what
    // `ps` shows is what is, not what was.
    let connection = match session.connect() {
        None if recorded_processes_alive(&session) => Some(session.connect_or_launch()?),
        other => other,
    };
    let rows = match connection {
        Some(mut conn) => {
            let replies = session.request(&mut conn, Request::Ps { services: args.services.clone() })?;
            match replies.into_iter().next() {
                Some(Reply::Ps { services, notes }) => {
                    for note in notes {
                        eprintln!("orch: {note}");
                    }
                    services
                }
                Some(Reply::Error { message }) => return Err(CliError::Usage(message)),
                _ => return Err(lost(std::io::Error::other("no answer to ps"))),
            }
        }
        None => recorded(&session, &args.services)?,
    };
    if args.json {
        let json = serde_json::to_string_pretty(&rows).map_err(|e| CliError::Failed(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", table(&rows));
    }
    Ok(Exit::Success)
}

/// Whether state.json records a process that still runs.
pub fn recorded_processes_alive(session: &Session) -> bool {
    let Ok(Some(state)) = State::load(&session.paths.state()) else { return false };
    state.services.values().any(|r| r.process.as_ref().is_some_and(|p| p.is_alive()))
}

/// What state.json last recorded, said to be only that on stderr.
fn recorded(session: &Session, names: &[String]) -> Result<Vec<ServiceStatus>, CliError> {
    let state = match State::load(&session.paths.state()) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("orch: no supervisor is running here, and {e}");
            return Ok(Vec::new());
        }
    };
    let Some(state) = state else {
        eprintln!("orch: no supervisor is running here, and nothing was recorded");
        return Ok(Vec::new());
    };
    eprintln!("orch: no supervisor is running here; this is what .orch/state.json last recorded");
    let rows = state
        .services
        .iter()
        .filter(|(name, _)| names.is_empty() || names.contains(name))
        .map(|(name, record)| from_record(name, record))
        .collect();
    Ok(rows)
}

pub fn from_record(name: &str, r: &ServiceRecord) -> ServiceStatus {
    ServiceStatus {
        name: name.to_owned(),
        state: r.state.as_str().to_owned(),
        pid: r.process.as_ref().map(|p| p.pid),
        restarts: r.restarts,
        ready_after_ms: r.ready_after_ms,
        reason: r.reason.clone(),
        last_exit: r.last_exit.map(|e| e.to_string()),
        adhoc: r.adhoc.is_some(),
        port: r.config.as_ref().and_then(|c| c.port_number()),
        ..ServiceStatus::default()
    }
}

const HEADERS: [&str; 9] = ["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "READY", "CPU", "MEM"];

pub fn table(rows: &[ServiceStatus]) -> String {
    let cells: Vec<[String; 9]> = rows.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for cell in &cells {
        for (w, c) in widths.iter_mut().zip(cell) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 9]| {
        let parts: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(HEADERS);
    for cell in &cells {
        line(cell.each_ref().map(String::as_str));
    }
    out
}

fn row(s: &ServiceStatus) -> [String; 9] {
    let happy = matches!(s.state.as_str(), "ready" | "running" | "completed" | "starting" | "pending" | "stopping");
    let state = match &s.reason {
        Some(reason) if !happy || s.state == Phase::Stopped.as_str() => {
            format!("{}: {reason}", s.state)
        }
        _ => s.state.clone(),
    };
    let state = if s.adhoc { format!("{state} (ad-hoc)") } else { state };
    let state = if s.adopted { format!("{state} (adopted)") } else { state };
    let ready = match (&s.ready_check, s.ready_after_ms) {
        (Some(check), Some(ms)) => format!("{check} ({})", human_ms(ms)),
        (Some(check), None) if s.state == Phase::Starting.as_str() => format!("{check} (waiting)"),
        (Some(check), None) => check.clone(),
        (None, Some(_)) => "yes".to_owned(),
        (None, None) => "-".to_owned(),
    };
    let ready = match &s.status {
        Some(status) => format!("{ready}: {status}"),
        None => ready,
    };
    [
        s.name.clone(),
        state,
        s.pid.map_or("-".into(), |p| p.to_string()),
        s.port.map_or("-".into(), |p| p.to_string()),
        s.uptime_secs.map_or("-".into(), uptime),
        s.restarts.to_string(),
        ready,
        s.cpu_percent.map_or("-".into(), |c| format!("{c:.1}%")),
        s.mem_bytes.map_or("-".into(), memory),
    ]
}

fn uptime(secs: f64) -> String {
    let s = secs as u64;
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
