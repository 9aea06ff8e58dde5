//! `orch logs [SVC…]`: the services' logs merged in time order, colour-prefixed; `-f` follows.
//! Read straight from `.orch/logs/`, so it works with or without a supervisor running.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, SystemTime};

use clap::Args;

use super::session::Session;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::logs::{self, Follower, Record};
use crate::manifest::HumanDuration;
use crate::render;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Services to show; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub services: Vec<String>,
    /// Keep printing new lines as they are written
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (of all the services together)
    #[arg(short = 'n', long = "tail", value_name = "N")]
    pub lines: Option<usize>,
    /// Only lines from this long ago on, e.g. "5m"
    #[arg(long, value_parser = HumanDuration::parse, value_name = "DUR")]
    pub since: Option<HumanDuration>,
    /// Show each line's timestamp
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Print the lines without the service name in front
    #[arg(long)]
    pub no_prefix: bool,
}

pub fn run(global: &Global, args: LogsArgs) -> Result<Exit, CliError> {
    let session = Session::open_lenient(global)?;
    let dir = session.paths.logs();
    let mut known: Vec<String> =
        session.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect()).unwrap_or_default();
    for service in logs::services_in(&dir) {
        if !known.contains(&service) {
            known.push(service);
        }
    }
    // orch's own lines (reloads) can be asked for before there are any.
    let known_or_orch = |s: &String| known.contains(s) || s == crate::manifest::RESERVED_NAME;
    if let Some(unknown) = args.services.iter().find(|s| !known_or_orch(s)) {
        let mut message = format!("no service named `{unknown}` (services: {})", known.join(", "));
        // `orch logs -f Procfile.dev`: in logs, as in docker compose, -f is --follow.
        if args.follow && std::path::Path::new(unknown).is_file() {
            message.push_str(&format!(
                "; after `logs`, -f means --follow: name the manifest with `orch -f {unknown} logs` or `orch logs --file {unknown}`"
            ));
        }
        return Err(CliError::Usage(message));
    }
    let since = args.since.map(|d| SystemTime::now() - d.0);
    let history = logs::read_history(&dir, &args.services, since, args.lines)
        .map_err(|e| CliError::Failed(format!("cannot read the logs: {e}")))?;
    let shown = if args.services.is_empty() { known.clone() } else { args.services.clone() };
    let printer = Printer::new(&shown, &args);
    if printer.print(&history.records).is_err() {
        return Ok(Exit::Success);
    }
    if !args.follow {
        return Ok(Exit::Success);
    }
    let mut follower = Follower::from_positions(&dir, args.services.clone(), &history.positions)
        .map_err(|e| CliError::Failed(format!("cannot follow the logs: {e}")))?;
    loop {
        let batch = follower
            .next_batch(Duration::from_secs(1))
            .map_err(|e| CliError::Failed(format!("cannot follow the logs: {e}")))?;
        // A closed pipe (`orch logs -f | head`) ends the command quietly.
        if printer.print(&batch).is_err() {
            return Ok(Exit::Success);
        }
    }
}

struct Printer {
    names: Vec<String>,
    width: usize,
    color: bool,
    prefix: bool,
    timestamps: bool,
}

impl Printer {
    fn new(names: &[String], args: &LogsArgs) -> Self {
        let color = render::color(io::stdout().is_terminal());
        let width = names.iter().map(String::len).max().unwrap_or(0);
        Self { names: names.to_vec(), width, color, prefix: !args.no_prefix, timestamps: args.timestamps }
    }

    fn print(&self, records: &[Record]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        let mut buf = Vec::new();
        for record in records {
            buf.clear();
            self.format(record, &mut buf);
            out.write_all(&buf)?;
        }
        out.flush()
    }

    fn format(&self, record: &Record, buf: &mut Vec<u8>) {
        if self.prefix {
            let index = self.names.iter().position(|n| *n == record.service).unwrap_or(0);
            render::line_prefix(buf, &record.service, self.width, Some(index), self.color);
        }
        if self.timestamps {
            buf.extend_from_slice(format!("{} ", humantime::format_rfc3339_micros(record.time)).as_bytes());
        }
        buf.extend_from_slice(&record.line);
        buf.push(b'\n');
    }
}
