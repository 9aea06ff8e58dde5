//! What each tool does, the way the CLI does it but quietly: the project is opened as the CLI
//! opens it, the supervisor gets the same requests (and is started when a tool needs it, as the
//! CLI starts it), and the replies become an [`Answer`] instead of lines on a terminal. All of it
//! is blocking I/O, run on tokio's blocking pool by the server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::Place;
use super::args::{DEFAULT_LINES, DownArgs, LogsArgs, NameArgs, PsArgs, StartArgs, UpArgs};
use crate::cli::progress::{Expect, describe};
use crate::cli::ps;
use crate::cli::session::{Session, lost};
use crate::cli::{CliError, Global};
use crate::ipc::client::Connection;
use crate::ipc::{Event, Outcome, ProblemReport, Refusal, Reply, Request, ServiceStatus};
use crate::manifest::{Adhoc, CommandLine, HumanDuration, Ready};
use crate::render;
use crate::state::State;
use crate::supervisor::lock;

/// A tool's result: text blocks for the agent to read, optionally the same as a JSON object,
/// and whether the call failed (`isError`).
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) blocks: Vec<String>,
    pub(crate) json: Option<Value>,
    pub(crate) failed: bool,
}

impl Answer {
    pub(crate) fn ok(text: impl Into<String>) -> Self {
        Self { blocks: vec![text.into()], json: None, failed: false }
    }

    pub(crate) fn failed(text: impl Into<String>) -> Self {
        Self { blocks: vec![text.into()], json: None, failed: true }
    }

    fn with_json(mut self, json: Value) -> Self {
        self.json = Some(json);
        self
    }
}

impl From<CliError> for Answer {
    fn from(error: CliError) -> Self {
        Answer::failed(describe_error(error))
    }
}

/// An answer either way: `Err` is a failed call, returned early with `?`.
pub(crate) type ToolResult<T> = Result<T, Answer>;

impl Place {
    fn global(&self) -> Global {
        Global { file: self.file.clone(), directory: self.directory.clone() }
    }
}

/// What a person would read on stderr, without colour: a bad manifest as the compiler-style
/// report (file, line, caret, hint).
fn describe_error(error: CliError) -> String {
    let problems = match error {
        CliError::Manifest(problems) => problems.0,
        CliError::Refused(Refusal::BadManifest { problems }) => {
            problems.iter().map(ProblemReport::to_problem).collect()
        }
        other => return other.to_string(),
    };
    let reports: Vec<String> = problems.iter().filter(|p| p.is_error()).map(|p| render::problem(p, false)).collect();
    format!("the manifest is invalid:\n{}", reports.join("\n"))
}

// ----- the tools ----------------------------------------------------------------------------

pub(super) fn up(place: &Place, args: UpArgs) -> ToolResult<Answer> {
    let session = Session::open(&place.global())?;
    let services = args.services.unwrap_or_default();
    check_manifest_names(&session, &services)?;
    let wait = args.wait.unwrap_or(true);
    let deadline = match &args.timeout {
        Some(text) => Some(Instant::now() + HumanDuration::parse(text).map_err(Answer::failed)?.0),
        None => None,
    };
    let mut conn = session.connect_or_launch()?;
    let request = Request::Up { origin: session.origin(), services, wait, force: None, watch: true, dry_run: false };
    conn.send(request).map_err(lost)?;
    finish(&mut conn, if wait { Expect::Up } else { Expect::Accepted }, deadline)
}

pub(super) fn down(place: &Place, args: DownArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(&place.global())?;
    stop_services(&session, args.services.unwrap_or_default())
}

pub(super) fn stop(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(&place.global())?;
    stop_services(&session, vec![args.name])
}

pub(super) fn restart(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_any(&place.global())?;
    check_known(&session, std::slice::from_ref(&args.name))?;
    let mut conn = session.connect_or_launch()?;
    conn.send(Request::Restart { origin: session.origin(), services: vec![args.name] }).map_err(lost)?;
    finish(&mut conn, Expect::Up, None)
}

pub(super) fn ps(place: &Place, args: PsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(&place.global())?;
    let wanted = args.services.unwrap_or_default();
    let (rows, notes) = status(&session, true)?;
    for name in &wanted {
        let in_manifest = manifest_names(&session).contains(name);
        if !in_manifest && !rows.iter().any(|r| &r.name == name) {
            return Err(unknown(name, &names_from(&session, &rows)));
        }
    }
    let rows: Vec<ServiceStatus> = rows.into_iter().filter(|r| wanted.is_empty() || wanted.contains(&r.name)).collect();
    // The text is exactly what `orch ps --json` prints; notes follow in a block of their own.
    let text = serde_json::to_string_pretty(&rows).map_err(|e| Answer::failed(e.to_string()))?;
    let mut answer = Answer::ok(text).with_json(json!({ "services": rows, "notes": notes }));
    if !notes.is_empty() {
        answer.blocks.push(notes.join("\n"));
    }
    Ok(answer)
}

pub(super) fn logs(place: &Place, args: LogsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(&place.global())?;
    let dir = session.paths.logs();
    let services: Vec<String> = args.service.iter().cloned().collect();
    if let Some(name) = &args.service {
        let with_logs = crate::logs::services_in(&dir);
        if !with_logs.contains(name) && !manifest_names(&session).contains(name) {
            let names = known_names(&session);
            if !names.adhoc.contains(name) {
                return Err(unknown(name, &names));
            }
        }
    }
    let since = match &args.since {
        Some(text) => Some(SystemTime::now() - HumanDuration::parse(text).map_err(Answer::failed)?.0),
        None => None,
    };
    let lines = args.lines.unwrap_or(DEFAULT_LINES);
    let history = crate::logs::read_history(&dir, &services, since, Some(lines))
        .map_err(|e| Answer::failed(format!("cannot read the logs in {}: {e}", dir.display())))?;
    if history.records.is_empty() {
        let whose = args.service.as_ref().map(|s| format!(" of `{s}`")).unwrap_or_default();
        return Ok(Answer::ok(format!("(no log lines{whose})")));
    }
    let width = history.records.iter().map(|r| r.service.len()).max().unwrap_or(0);
    let mut text = String::new();
    for record in &history.records {
        if args.service.is_none() {
            text.push_str(&format!("{:<width$} | ", record.service));
        }
        text.push_str(&record.text());
        text.push('\n');
    }
    Ok(Answer::ok(text))
}

pub(super) fn start(place: &Place, args: StartArgs) -> ToolResult<Answer> {
    match args.command {
        None => start_manifest_service(place, args),
        Some(command) => start_adhoc(place, args.name, command, args.cwd, args.env, args.ready),
    }
}

fn start_manifest_service(place: &Place, args: StartArgs) -> ToolResult<Answer> {
    if args.cwd.is_some() || args.env.is_some() || args.ready.is_some() {
        return Err(Answer::failed(
            "`cwd`, `env` and `ready` go with `command` (an ad-hoc service); a service of the manifest takes \
             them from procs.toml",
        ));
    }
    let session = match Session::open(&place.global()) {
        Err(CliError::Discover(crate::project::DiscoverError::NotFound(dir))) => {
            return Err(Answer::failed(format!(
                "there is no procs.toml or Procfile in {} or above it; give `command` to start `{}` as an ad-hoc service",
                dir.display(),
                args.name
            )));
        }
        other => other?,
    };
    check_manifest_names(&session, std::slice::from_ref(&args.name))?;
    let mut conn = session.connect_or_launch()?;
    let request = Request::Up {
        origin: session.origin(),
        services: vec![args.name],
        wait: true,
        force: None,
        watch: true,
        dry_run: false,
    };
    conn.send(request).map_err(lost)?;
    finish(&mut conn, Expect::Up, None)
}

fn start_adhoc(
    place: &Place,
    name: String,
    command: String,
    cwd: Option<String>,
    env: Option<BTreeMap<String, Value>>,
    ready: Option<Value>,
) -> ToolResult<Answer> {
    if command.trim().is_empty() {
        return Err(Answer::failed("`command` is empty; give the command line that runs the service"));
    }
    let ready = ready.map(parse_ready).transpose()?;
    let session = Session::open_any(&place.global())?;
    if manifest_names(&session).contains(&name) {
        return Err(Answer::failed(format!(
            "`{name}` is a service of the manifest; omit `command` to start it, or pick another name"
        )));
    }
    let env = env
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key, s)),
            Value::Number(_) | Value::Bool(_) => Ok((key, value.to_string())),
            other => Err(Answer::failed(format!("env `{key}` is {other}; give a string, a number or a boolean"))),
        })
        .collect::<ToolResult<Vec<(String, String)>>>()?;
    let cwd = match cwd {
        Some(dir) => session.paths.root.join(dir),
        None => session.paths.root.clone(),
    };
    if !cwd.is_dir() {
        return Err(Answer::failed(format!("cwd {} is not a folder", cwd.display())));
    }
    let adhoc = Adhoc { name, cmd: CommandLine::Shell(command), cwd, env, ready, ready_timeout: None, restart: None };
    let mut conn = session.connect_or_launch()?;
    conn.send(Request::StartAdhoc { origin: session.origin(), adhoc }).map_err(lost)?;
    finish(&mut conn, Expect::Up, None)
}

/// A `ready` table as procs.toml has it, e.g. `{"tcp": "127.0.0.1:3000"}`.
fn parse_ready(value: Value) -> ToolResult<Ready> {
    let shown = value.to_string();
    let ready: Ready = serde_json::from_value(value).map_err(|e| {
        Answer::failed(format!(
            "`ready` {shown} is not a readiness check ({e}); write one table as in procs.toml, e.g. \
             {{\"tcp\": \"127.0.0.1:3000\"}}, {{\"http\": \"http://127.0.0.1:3000/\"}}, {{\"log\": \"listening\"}}, \
             {{\"exec\": \"test -e ready\"}}, {{\"delay\": \"2s\"}} or {{\"notify\": true}}"
        ))
    })?;
    if let Ready::Log(pattern) = &ready {
        regex::Regex::new(pattern).map_err(|e| Answer::failed(format!("`ready` log pattern is not a regex: {e}")))?;
    }
    Ok(ready)
}

/// A `down` of these services (all when empty), waited through; after a supervisor died, a
/// new one adopts what still runs and stops it, so "not running" is said only when true.
fn stop_services(session: &Session, services: Vec<String>) -> ToolResult<Answer> {
    check_known(session, &services)?;
    let Some(mut conn) = session.connect_or_adopt(true)? else {
        let what = match services.as_slice() {
            [] => "nothing".to_owned(),
            names => format!("`{}`", names.join("`, `")),
        };
        return Ok(Answer::ok(format!(
            "{what} is not running: no supervisor runs for {}",
            session.paths.root.display()
        ))
        .with_json(json!({ "ok": true, "outcomes": [] })));
    };
    conn.send(Request::Down { services }).map_err(lost)?;
    let (answer, exiting) = finish_until_done(&mut conn, Expect::Stopped, None)?;
    // After a full down the supervisor exits; wait for that too, as `orch down` does.
    if exiting {
        let deadline = Instant::now() + Duration::from_secs(3);
        while lock::holder_pid(&session.paths).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(answer)
}

// ----- a request's replies --------------------------------------------------------------------

/// Reads a request's replies until it is done (or the deadline passes) and tells the outcome
/// of every service: a failure with its reason and its last log lines.
fn finish(conn: &mut Connection, expect: Expect, deadline: Option<Instant>) -> ToolResult<Answer> {
    finish_until_done(conn, expect, deadline).map(|(answer, _)| answer)
}

/// As `finish`, and whether the supervisor said it exits now.
fn finish_until_done(conn: &mut Connection, expect: Expect, deadline: Option<Instant>) -> ToolResult<(Answer, bool)> {
    let mut last: IndexMap<String, Event> = IndexMap::new();
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            conn.set_timeout(Some(left)).map_err(lost)?;
        }
        let reply = match conn.next_reply() {
            Ok(Some(reply)) => reply,
            Ok(None) => return Err(CliError::Failed("the supervisor closed the connection early".into()).into()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(timed_out(&last));
            }
            Err(e) => return Err(lost(e).into()),
        };
        match reply {
            Reply::Event(event) => {
                last.insert(event.service.clone(), event);
            }
            Reply::Targets { .. } => {}
            Reply::Done { outcomes, exiting } => return Ok((outcome_answer(&outcomes, expect), exiting)),
            Reply::Error(refusal) => return Err(CliError::Refused(refusal).into()),
            other => return Err(Answer::failed(format!("unexpected reply from the supervisor: {other:?}"))),
        }
    }
}

fn timed_out(last: &IndexMap<String, Event>) -> Answer {
    let mut text = "timed out waiting; the services keep starting (the `ps` tool shows how they are doing)".to_owned();
    for event in last.values() {
        text.push_str(&format!("\n{}: {}", event.service, event.phase.as_str()));
        if let Some(reason) = &event.reason {
            text.push_str(&format!(" ({reason})"));
        }
    }
    let events: Vec<&Event> = last.values().collect();
    Answer::failed(text).with_json(json!({ "ok": false, "timed_out": true, "events": events }))
}

/// One line per service, `✓ web  ready in 128ms` or `✗ db  exited with 1` and its last log
/// lines; failed unless every service ended as expected.
fn outcome_answer(outcomes: &[Outcome], expect: Expect) -> Answer {
    let width = outcomes.iter().map(|o| o.service.len()).max().unwrap_or(0);
    let mut ok = true;
    let mut text = String::new();
    for outcome in outcomes {
        let success = expect.met_by(outcome);
        ok &= success;
        let mark = if success { '✓' } else { '✗' };
        text.push_str(&format!("{mark} {:<width$}  {}\n", outcome.service, describe(outcome)));
        if !outcome.last_lines.is_empty() {
            text.push_str(&format!("  last lines of {}'s log:\n", outcome.service));
            for line in &outcome.last_lines {
                text.push_str(&format!("    | {line}\n"));
            }
        }
    }
    if outcomes.is_empty() {
        text.push_str("nothing to do\n");
    }
    // The same object as the last line of `orch up --json`, without its `"event": "done"`.
    let json = json!({ "ok": ok, "outcomes": outcomes });
    let answer = if ok { Answer::ok(text) } else { Answer::failed(text) };
    answer.with_json(json)
}

// ----- which services exist ------------------------------------------------------------------

/// The services there are: the manifest's, and the ad-hoc ones the supervisor (or, with none
/// running, state.json) knows.
struct Names {
    manifest: Vec<String>,
    adhoc: Vec<String>,
}

fn manifest_names(session: &Session) -> Vec<String> {
    session.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect()).unwrap_or_default()
}

fn known_names(session: &Session) -> Names {
    let rows = status(session, false).map(|(rows, _)| rows).unwrap_or_default();
    names_from(session, &rows)
}

fn names_from(session: &Session, rows: &[ServiceStatus]) -> Names {
    let manifest = manifest_names(session);
    let adhoc = rows.iter().filter(|r| r.adhoc && !manifest.contains(&r.name)).map(|r| r.name.clone()).collect();
    Names { manifest, adhoc }
}

/// Every name must be a service of the manifest or an ad-hoc one.
fn check_known(session: &Session, names: &[String]) -> ToolResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let known = known_names(session);
    match names.iter().find(|n| !known.manifest.contains(n) && !known.adhoc.contains(n)) {
        Some(name) => Err(unknown(name, &known)),
        None => Ok(()),
    }
}

/// Every name must be a service of the manifest (`up`, `start` without a command).
fn check_manifest_names(session: &Session, names: &[String]) -> ToolResult<()> {
    let manifest = manifest_names(session);
    let Some(name) = names.iter().find(|n| !manifest.contains(n)) else { return Ok(()) };
    let known = known_names(session);
    if known.adhoc.contains(name) {
        return Err(Answer::failed(format!(
            "`{name}` is an ad-hoc service, not one of the manifest's: `restart` starts it again, and `start` with \
             `command` starts it anew"
        )));
    }
    Err(unknown(name, &known))
}

fn unknown(name: &str, known: &Names) -> Answer {
    let list = |names: &[String]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let text = match (known.manifest.is_empty(), known.adhoc.is_empty()) {
        (true, true) => {
            format!("no service named `{name}`: there are no services here (no manifest service, no ad-hoc one)")
        }
        (false, true) => format!("no service named `{name}`; the services are {}", list(&known.manifest)),
        (true, false) => format!("no service named `{name}`; the services are {} (ad-hoc)", list(&known.adhoc)),
        (false, false) => format!(
            "no service named `{name}`; the services are {} (manifest) and {} (ad-hoc)",
            list(&known.manifest),
            list(&known.adhoc)
        ),
    };
    Answer::failed(text).with_json(
        json!({ "error": "unknown service", "name": name, "manifest": known.manifest, "adhoc": known.adhoc }),
    )
}

/// The rows of `orch ps`, and what to say first. From the supervisor when one runs; with
/// `launch`, one is started when state.json records processes that still run (a new supervisor
/// adopts them, as `orch ps` does); else what state.json last recorded.
fn status(session: &Session, launch: bool) -> Result<(Vec<ServiceStatus>, Vec<String>), CliError> {
    let connection = if launch { session.connect_or_adopt(false)? } else { session.connect()? };
    if let Some(mut conn) = connection {
        return match crate::cli::session::request(&mut conn, Request::Ps { services: Vec::new() })?.into_iter().next() {
            Some(Reply::Ps { services, notes }) => Ok((services, notes)),
            Some(Reply::Error(refusal)) => Err(CliError::Refused(refusal)),
            _ => Err(lost(std::io::Error::other("no answer to ps"))),
        };
    }
    Ok(match State::load(&session.paths.state()) {
        Err(e) => (Vec::new(), vec![format!("no supervisor is running here, and {e}")]),
        Ok(None) => (Vec::new(), vec!["no supervisor is running here, and nothing was recorded".to_owned()]),
        Ok(Some(state)) => (
            state.services.iter().map(|(name, record)| ps::from_record(name, record)).collect(),
            vec!["no supervisor is running here; this is what .orch/state.json last recorded".to_owned()],
        ),
    })
}
