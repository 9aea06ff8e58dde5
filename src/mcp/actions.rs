//! What each tool does: the client's operation ([`crate::client::ops`]), quietly, with its
//! data worded for an agent as an [`Answer`] instead of lines on a terminal. All of it is
//! blocking I/O, run on tokio's blocking pool by the server.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use super::args::{DEFAULT_LINES, DownArgs, LogsArgs, NameArgs, PsArgs, StartArgs, UpArgs};
use crate::client::follow::{Ending, Report, Wait};
use crate::client::ops::{self, AdhocStart, Down};
use crate::client::{ClientError, Place, Session, quiet};
use crate::ipc::{ProblemReport, Refusal};
use crate::manifest::{CommandLine, HumanDuration, Ready};
use crate::render;
use crate::terminal;

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

impl From<ClientError> for Answer {
    fn from(error: ClientError) -> Self {
        let json = match &error {
            ClientError::Refused(Refusal::UnknownService { name, known }) => {
                Some(json!({ "error": "unknown service", "name": name, "known": known }))
            }
            _ => None,
        };
        let answer = Answer::failed(describe_error(error));
        match json {
            Some(json) => answer.with_json(json),
            None => answer,
        }
    }
}

/// An answer either way: `Err` is a failed call, returned early with `?`.
pub(crate) type ToolResult<T> = Result<T, Answer>;

/// What a person would read on stderr, without colour: a bad manifest as the compiler-style
/// report (file, line, caret, hint).
fn describe_error(error: ClientError) -> String {
    let problems = match error {
        ClientError::Manifest(problems) => problems.0,
        ClientError::Refused(Refusal::BadManifest { problems }) => {
            problems.iter().map(ProblemReport::to_problem).collect()
        }
        other => return other.to_string(),
    };
    let reports: Vec<String> = problems.iter().filter(|p| p.is_error()).map(|p| terminal::problem(p, false)).collect();
    format!("the manifest is invalid:\n{}", reports.join("\n"))
}

fn duration(text: &str) -> ToolResult<std::time::Duration> {
    Ok(HumanDuration::parse(text).map_err(Answer::failed)?.0)
}

// ----- the tools ----------------------------------------------------------------------------

pub(super) fn up(place: &Place, args: UpArgs) -> ToolResult<Answer> {
    let session = Session::open(place)?;
    let deadline = args.timeout.as_deref().map(duration).transpose()?.map(|d| Instant::now() + d);
    let no_wait = !args.wait.unwrap_or(true);
    let up = ops::Up { services: args.services.unwrap_or_default(), no_wait, ..ops::Up::default() };
    let ending = ops::up(&session, &up, Wait { deadline, interrupted: None }, &mut quiet)?;
    Ok(ending_answer(ending))
}

pub(super) fn down(place: &Place, args: DownArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    stop_services(&session, &args.services.unwrap_or_default())
}

pub(super) fn stop(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    stop_services(&session, &[args.name])
}

pub(super) fn restart(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_any(place)?;
    Ok(ending_answer(ops::restart(&session, &[args.name], &mut quiet)?))
}

pub(super) fn ps(place: &Place, args: PsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    let listing = ops::ps(&session, &args.services.unwrap_or_default(), &mut quiet)?;
    // The text is exactly what `orch ps --json` prints; notes follow in a block of their own.
    let text = serde_json::to_string_pretty(&listing.rows).map_err(|e| Answer::failed(e.to_string()))?;
    let mut answer = Answer::ok(text).with_json(json!({ "services": listing.rows, "notes": listing.notes }));
    if !listing.notes.is_empty() {
        answer.blocks.push(listing.notes.join("\n"));
    }
    Ok(answer)
}

pub(super) fn logs(place: &Place, args: LogsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    let services: Vec<String> = args.service.iter().cloned().collect();
    ops::logs::check(&session, &services)?;
    let since = args.since.as_deref().map(duration).transpose()?.map(|d| SystemTime::now() - d);
    let history = ops::logs::history(&session, &services, since, Some(args.lines.unwrap_or(DEFAULT_LINES)))?;
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
    let session = match Session::open(place) {
        Err(ClientError::Discover(crate::project::DiscoverError::NotFound(dir))) => {
            return Err(Answer::failed(format!(
                "there is no procs.toml or Procfile in {} or above it; give `command` to start `{}` as an ad-hoc service",
                dir.display(),
                args.name
            )));
        }
        other => other?,
    };
    let up = ops::Up { services: vec![args.name], ..ops::Up::default() };
    Ok(ending_answer(ops::up(&session, &up, Wait::default(), &mut quiet)?))
}

fn start_adhoc(
    place: &Place,
    name: String,
    command: String,
    cwd: Option<String>,
    env: Option<BTreeMap<String, Value>>,
    ready: Option<Value>,
) -> ToolResult<Answer> {
    let ready = ready.map(parse_ready).transpose()?;
    let env = env
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key, s)),
            Value::Number(_) | Value::Bool(_) => Ok((key, value.to_string())),
            other => Err(Answer::failed(format!("env `{key}` is {other}; give a string, a number or a boolean"))),
        })
        .collect::<ToolResult<Vec<(String, String)>>>()?;
    let session = Session::open_any(place)?;
    let start = AdhocStart {
        name,
        cmd: CommandLine::Shell(command),
        cwd: cwd.map(Into::into),
        env,
        ready,
        ready_timeout: None,
        restart: None,
    };
    let root = session.paths.root.clone();
    Ok(ending_answer(ops::start_adhoc(&session, start, &root, &mut quiet)?))
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

/// A `down` of these services (all when empty), waited through until the supervisor exits
/// after a full one.
fn stop_services(session: &Session, services: &[String]) -> ToolResult<Answer> {
    match ops::down(session, services, &mut quiet)? {
        Down::NotRunning => {
            let what = match services {
                [] => "nothing is running".to_owned(),
                names => format!("`{}` is not running", names.join("`, `")),
            };
            Ok(Answer::ok(format!("{what}: no supervisor runs for {}", session.paths.root.display()))
                .with_json(json!({ "ok": true, "outcomes": [] })))
        }
        Down::Followed(ending) => Ok(ending_answer(ending)),
    }
}

// ----- how a request ended --------------------------------------------------------------------

/// The outcome of every service, or what a timeout left waiting; failed unless every service
/// ended as expected.
fn ending_answer(ending: Ending) -> Answer {
    match ending {
        Ending::Done(report) => outcome_answer(&report),
        Ending::TimedOut { waiting } | Ending::Interrupted { waiting } => {
            let mut text =
                "timed out waiting; the services keep starting (the `ps` tool shows how they are doing)".to_owned();
            for event in &waiting {
                text.push_str(&format!("\n{}: {}", event.service, event.phase.as_str()));
                if let Some(reason) = &event.reason {
                    text.push_str(&format!(" ({reason})"));
                }
            }
            Answer::failed(text).with_json(json!({ "ok": false, "timed_out": true, "events": waiting }))
        }
    }
}

/// One line per service, `✓ web  ready in 128ms` or `✗ db  exited with 1` and its last log
/// lines, as `orch up` prints them without colour.
fn outcome_answer(report: &Report) -> Answer {
    let width = report.outcomes.iter().map(|o| o.service.len()).max().unwrap_or(0);
    let mut text = render::outcomes(report, width, false);
    if report.outcomes.is_empty() {
        text.push_str("nothing to do\n");
    }
    // The same object as the last line of `orch up --json`, without its `"event": "done"`.
    let json = json!({ "ok": report.ok(), "outcomes": report.outcomes });
    let answer = if report.ok() { Answer::ok(text) } else { Answer::failed(text) };
    answer.with_json(json)
}
