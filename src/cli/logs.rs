//! `orch logs [SVC…]`: the services' logs merged in time order, colour-prefixed, with orch's
//! own lines about them inline (`orch | web: ready in 312ms`); `-f` follows until the project
//! goes down. Read straight from `.orch/logs/`, so it works with or without a supervisor.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use clap::Args;

use super::Global;
use crate::client::session::leftovers_run;
use crate::client::{ClientError, Session, ops};
use crate::exit::Exit;
use crate::lock;
use crate::logs::{self, Follower, Record};
use crate::manifest::HumanDuration;
use crate::model::Pid;
use crate::model::names::RESERVED_NAME as ORCH;
use crate::terminal::{self, Speaker};

/// How long `logs -f` waits for new lines before it looks whether the supervisor is gone.
const FOLLOW_TICK: Duration = Duration::from_millis(250);

#[derive(Debug, Args)]
pub(super) struct LogsArgs {
    /// Services to show; all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
    /// Keep printing new lines as they are written, until the project goes down
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
    /// Only the last N lines (of all the services together)
    #[arg(short = 'n', long = "tail", value_name = "N")]
    pub(crate) lines: Option<usize>,
    /// Only lines from this long ago on, e.g. "5m"
    #[arg(long, value_parser = HumanDuration::parse, value_name = "DUR")]
    pub(crate) since: Option<HumanDuration>,
    /// Show each line's timestamp
    #[arg(short = 't', long)]
    pub(crate) timestamps: bool,
    /// Print the lines without the service name in front
    #[arg(long)]
    pub(crate) no_prefix: bool,
}

pub(super) fn run(global: &Global, mut args: LogsArgs) -> Result<Exit, ClientError> {
    let session = Session::open_lenient(&global.place())?;
    let dir = session.paths.logs();
    let known = ops::logs::services(&session);
    args.services = ops::logs::check(&session, &args.services).map_err(|error| with_follow_hint(error, &args))?;
    let filter = OrchLines::new(&args, &known);
    let files = filter.files(&args.services);
    let since = args.since.map(|d| SystemTime::now() - d.0);
    let history =
        filter.history(&dir, &args.services, since, args.lines).map_err(|e| ops::logs::unreadable(&dir, &e))?;
    let records = history.records;
    let mut shown = if args.services.is_empty() { known.clone() } else { args.services.clone() };
    if filter.any() && !shown.iter().any(|s| s == ORCH) {
        shown.push(ORCH.to_owned());
    }
    let printer = Printer::new(&shown, &args);
    if printer.print(&records).is_err() {
        return Ok(Exit::Success);
    }
    if !args.follow {
        return Ok(Exit::Success);
    }
    // The lines come from the files, the record: the subscription is only for its end.
    let subscription = crate::client::subscribe::subscribe(&session, false)?;
    let follow_files = if args.services.is_empty() { Vec::new() } else { files };
    let mut follower = Follower::from_positions(&dir, follow_files, &history.positions)
        .map_err(|e| ClientError::Failed(format!("cannot follow the logs: {e}")))?;
    let (Some(supervisor), Some(subscription)) = (lock::holder_pid(&session.paths), subscription) else {
        // The project may have gone down since the history was read (a `down` just served):
        // its last lines are shown, as when the end comes while following.
        if !printer.rest(&mut follower, &filter) {
            eprintln!("orch: nothing is running here, so there is nothing to follow");
        }
        return Ok(Exit::Success);
    };
    let gone = subscription.end_flag();
    loop {
        let batch = follower
            .next_batch(FOLLOW_TICK)
            .map_err(|e| ClientError::Failed(format!("cannot follow the logs: {e}")))?;
        let batch: Vec<Record> = batch.into_iter().filter(|r| filter.shows(r)).collect();
        // A closed pipe (`orch logs -f | head`) ends the command quietly.
        if printer.print(&batch).is_err() {
            return Ok(Exit::Success);
        }
        // The files are the record; the end comes from the subscription.
        if gone.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(printer.end(&mut follower, &filter, supervisor, &session));
        }
    }
}

/// `orch logs -f Procfile.dev`: in logs, as in docker compose, -f is --follow; an unknown
/// service that is a file says so.
fn with_follow_hint(error: ClientError, args: &LogsArgs) -> ClientError {
    match &error {
        ClientError::Refused(crate::ipc::Refusal::UnknownService { name, .. })
            if args.follow && std::path::Path::new(name).is_file() =>
        {
            ClientError::Usage(format!(
                "{error}; after `logs`, -f means --follow: name the manifest with `orch -f {name} logs` or `orch logs --file {name}`"
            ))
        }
        _ => error,
    }
}

/// Which of orch's own lines (`.orch/logs/orch.log`) go with what is shown. Its lines about
/// the whole project (`reload: …`, `down: …`) go with every service's; its lines about one
/// service (`web: ready in 312ms`) are the live view's (`-f`, as foreman and compose show
/// them in the foreground), for the services shown; `orch logs orch` shows all of them. Under
/// `--no-prefix` (a service's raw output) none, unless asked for by name.
struct OrchLines {
    /// The services shown; None for all.
    only: Option<Vec<String>>,
    services: Vec<String>,
    lifecycle: bool,
    none: bool,
    all: bool,
}

impl OrchLines {
    fn new(args: &LogsArgs, known: &[String]) -> Self {
        let all = args.services.iter().any(|s| s == ORCH);
        let only = (!args.services.is_empty()).then(|| args.services.clone());
        Self { only, services: known.to_vec(), lifecycle: args.follow, none: args.no_prefix && !all, all }
    }

    /// Whether any of orch's lines may be shown (its name then counts for the prefix width).
    fn any(&self) -> bool {
        !self.none && (self.all || self.lifecycle || self.only.is_none())
    }

    /// The files to read: the services asked for (all when none), and orch's own.
    fn files(&self, asked: &[String]) -> Vec<String> {
        if asked.is_empty() {
            return Vec::new();
        }
        let mut files = asked.to_vec();
        if self.any() && !files.iter().any(|f| f == ORCH) {
            files.push(ORCH.to_owned());
        }
        files
    }

    /// The last `tail` lines shown: the services' files and orch's own read from their end,
    /// orch's sifted as they are read, so its lines about other services do not count.
    fn history(
        &self,
        dir: &std::path::Path,
        asked: &[String],
        since: Option<SystemTime>,
        tail: Option<usize>,
    ) -> io::Result<logs::History> {
        if self.all {
            return logs::read_history(dir, asked, since, tail);
        }
        let services: Vec<String> = match asked {
            [] => logs::services_in(dir).into_iter().filter(|s| s != ORCH).collect(),
            names => names.to_vec(),
        };
        // `read_history` of no services reads them all; here no services means nothing.
        let mut services = if services.is_empty() {
            logs::History::default()
        } else {
            logs::read_history(dir, &services, since, tail)?
        };
        if !self.any() {
            return Ok(services);
        }
        let orch = logs::reader::read_history_shown(dir, &[ORCH.to_owned()], since, tail, &|r| self.shows(r))?;
        let mut records = logs::reader::merge(vec![std::mem::take(&mut services.records), orch.records]);
        if let Some(n) = tail {
            records.drain(..records.len().saturating_sub(n));
        }
        services.positions.extend(orch.positions);
        Ok(logs::History { records, positions: services.positions })
    }

    fn shows(&self, record: &Record) -> bool {
        if record.service != ORCH || self.all {
            return true;
        }
        if self.none {
            return false;
        }
        let text = record.text();
        let subject = text.split_once(": ").map_or("", |(s, _)| s);
        if !self.services.iter().any(|s| s == subject) {
            return self.lifecycle || self.only.is_none();
        }
        self.lifecycle && self.only.as_ref().is_none_or(|only| only.iter().any(|s| s == subject))
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
        let color = terminal::stdout_color();
        let width = names.iter().map(String::len).max().unwrap_or(0);
        Self { names: names.to_vec(), width, color, prefix: !args.no_prefix, timestamps: args.timestamps }
    }

    /// Prints the lines through a 64 KiB buffer: stdout alone writes each line as it ends
    /// (1000 write calls for `-n 1000`).
    fn print(&self, records: &[Record]) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
        let mut buf = Vec::new();
        for record in records {
            buf.clear();
            self.format(record, &mut buf);
            out.write_all(&buf)?;
        }
        out.flush()
    }

    /// What was appended that is not shown yet, once nothing more will be; whether there was any.
    fn rest(&self, follower: &mut Follower, filter: &OrchLines) -> bool {
        let last = follower.next_batch(Duration::from_millis(20)).unwrap_or_default();
        let last: Vec<Record> = last.into_iter().filter(|r| filter.shows(r)).collect();
        let _ = self.print(&last);
        !last.is_empty()
    }

    /// The supervisor is gone: the lines it wrote last, then a word on how it ended. Exit 0
    /// when the project went down, 1 when the supervisor died and left services running.
    fn end(&self, follower: &mut Follower, filter: &OrchLines, supervisor: Pid, session: &Session) -> Exit {
        self.rest(follower, filter);
        if !leftovers_run(&session.paths, true) {
            return Exit::Success;
        }
        let line = format!(
            "the supervisor (pid {supervisor}) is gone and its services run on unsupervised; `orch ps` adopts them"
        );
        let record = Record {
            service: ORCH.to_owned(),
            time: SystemTime::now(),
            stream: logs::Stream::Out,
            line: line.into_bytes(),
        };
        let _ = self.print(&[record]);
        Exit::ServiceFailed
    }

    fn format(&self, record: &Record, buf: &mut Vec<u8>) {
        if self.prefix {
            let speaker = match self.names.iter().position(|n| *n == record.service) {
                _ if record.service == ORCH => Speaker::Orch,
                Some(index) => Speaker::Service(index),
                None => Speaker::Service(0),
            };
            terminal::line_prefix(buf, &record.service, self.width, speaker, self.color);
        }
        if self.timestamps {
            buf.extend_from_slice(format!("{} ", humantime::format_rfc3339_micros(record.time)).as_bytes());
        }
        buf.extend_from_slice(&record.line);
        buf.push(b'\n');
    }
}
