//! What each tool does: the client's operation ([`crate::client::ops`]), quietly, with its
//! data worded for an agent as an [`Answer`] instead of lines on a terminal. All of it is
//! blocking I/O, run on tokio's blocking pool by the server. Every call that waits is bounded
//! (`timeout`, 30 s when not given) and, cut short, says how far each service got.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::args::{
    DEFAULT_MAX_BYTES, DEFAULT_TAIL, DEFAULT_TIMEOUT, DownArgs, LogsArgs, NameArgs, PsArgs, ReadyArgs, ScaleArgs,
    StartArgs, UpArgs, WaitArgs,
};
use super::log_reply;
use crate::client::follow::{Ending, Report, Wait};
use crate::client::ops::wait as waiting;
use crate::client::ops::{self, AdhocStart, Down};
use crate::client::{ClientError, Place, Session, ports, quiet};
use crate::ipc::{Event, ProblemReport, Refusal, ServiceStatus};
use crate::manifest::{CommandLine, HumanDuration, Ready};
use crate::render;
use crate::terminal;

/// How many of its last lines go with each service in an answer that waited.
const LAST_LINES: usize = 10;

/// A tool's result: text blocks for the agent to read, the same as a JSON object, and whether
/// the call failed (`isError`).
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

    /// The structured content: the JSON given, with `ok`, and on a failure `error`: what
    /// went wrong in one line (the rest of the text is in the blocks).
    pub(crate) fn structured(&self) -> Value {
        let mut json = match &self.json {
            Some(Value::Object(object)) => object.clone(),
            _ => serde_json::Map::new(),
        };
        json.entry("ok").or_insert(Value::Bool(!self.failed));
        if self.failed {
            let first = self.blocks.first().and_then(|b| b.lines().next()).unwrap_or("the call failed");
            json.entry("error").or_insert_with(|| Value::String(first.trim_end_matches(':').to_owned()));
        }
        super::outputs::without_nulls(Value::Object(json))
    }
}

impl From<ClientError> for Answer {
    fn from(error: ClientError) -> Self {
        let json = match &error {
            ClientError::Refused(Refusal::UnknownService { name, known }) => {
                Some(json!({ "ok": false, "error": format!("unknown service `{name}`"), "known": known }))
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

/// A duration as an agent gives it: "30s", "2m", or a number of seconds.
fn duration(argument: &str, text: &str) -> ToolResult<Duration> {
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| Answer::failed(format!("{argument}: {text} is not a number of seconds (0 or more)")));
    }
    Ok(HumanDuration::parse(text).map_err(|e| Answer::failed(format!("{argument}: {e}")))?.0)
}

/// When a waiting call gives up: `timeout` from now, 30 s when not given.
fn deadline(timeout: Option<&str>) -> ToolResult<Instant> {
    Ok(Instant::now() + duration("timeout", timeout.unwrap_or(DEFAULT_TIMEOUT))?)
}

fn bounded(timeout: Option<&str>) -> ToolResult<Wait<'static>> {
    Ok(Wait { deadline: Some(deadline(timeout)?), interrupted: None })
}

// ----- the tools ----------------------------------------------------------------------------

pub(super) fn up(place: &Place, args: UpArgs) -> ToolResult<Answer> {
    let session = Session::open(place)?;
    let wait = bounded(args.timeout.as_deref())?;
    let no_wait = !args.wait.unwrap_or(true);
    let profiles = args.profiles.unwrap_or_default();
    if let Some(bad) = profiles.iter().find(|p| !crate::model::names::is_valid_name(p)) {
        return Err(Answer::failed(format!("profiles: {bad:?} is not a profile name (letters, digits, `-` and `_`)")));
    }
    let up = ops::Up { services: args.services.unwrap_or_default(), no_wait, profiles, ..ops::Up::default() };
    let ending = ops::up(&session, &up, wait, &mut quiet)?;
    Ok(ending_answer(&session, ending))
}

pub(super) fn down(place: &Place, args: DownArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    stop_services(&session, &args.services.unwrap_or_default(), args.timeout.as_deref())
}

pub(super) fn stop(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    stop_services(&session, &[args.name], args.timeout.as_deref())
}

pub(super) fn restart(place: &Place, args: NameArgs) -> ToolResult<Answer> {
    let session = Session::open_any(place)?;
    let wait = bounded(args.timeout.as_deref())?;
    let ending = ops::restart(&session, &[args.name], wait, &mut quiet)?;
    Ok(ending_answer(&session, ending))
}

pub(super) fn scale(place: &Place, args: ScaleArgs) -> ToolResult<Answer> {
    let session = Session::open(place)?;
    let wait = bounded(args.timeout.as_deref())?;
    let scale = [(args.name, args.replicas)].into_iter().collect();
    let ending = ops::scale(&session, &scale, wait, &mut quiet)?;
    Ok(ending_answer(&session, ending))
}

pub(super) fn ps(place: &Place, args: PsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    let wait = duration("timeout", args.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT))?;
    let listing = ops::ps::ps_within(&session, &args.services.unwrap_or_default(), &mut quiet, wait)?;
    let rows = super::outputs::without_nulls(Value::Array(reachable(listing.rows)));
    let text = serde_json::to_string_pretty(&rows).map_err(|e| Answer::failed(e.to_string()))?;
    let mut answer = Answer::ok(text).with_json(json!({ "services": rows, "notes": listing.notes }));
    if !listing.notes.is_empty() {
        answer.blocks.push(listing.notes.join("\n"));
    }
    Ok(answer)
}

pub(super) fn wait(place: &Place, args: WaitArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    let until = args.until.unwrap_or_default();
    let deadline = deadline(args.timeout.as_deref())?;
    let waited = waiting::wait(&session, &args.services.unwrap_or_default(), until, deadline)?;
    let rows = with_last_lines(&session, reachable(waited.rows));
    let verdict = if waited.met {
        format!("all {} ", until.as_str())
    } else if waited.timed_out {
        format!("timed out waiting for {}; the services keep going. ", until.as_str())
    } else {
        format!("not all will be {} without being asked again. ", until.as_str())
    };
    let mut text = verdict.trim_end().to_owned();
    text.push('\n');
    text.push_str(&rows_text(&rows));
    let json =
        json!({ "until": until.as_str(), "timed_out": waited.timed_out, "services": rows, "notes": waited.notes });
    let answer = if waited.met { Answer::ok(text) } else { Answer::failed(text) };
    Ok(answer.with_json(json))
}

pub(super) fn logs(place: &Place, args: LogsArgs) -> ToolResult<Answer> {
    let session = Session::open_lenient(place)?;
    if let Some(timeout) = &args.timeout {
        duration("timeout", timeout)?;
    }
    let asked: Vec<String> = args.service.iter().cloned().collect();
    let services = ops::logs::check(&session, &asked)?;
    let since = args.since.as_deref().map(|s| duration("since", s)).transpose()?.map(|d| SystemTime::now() - d);
    let grep = args
        .grep
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| Answer::failed(format!("grep: not a regular expression: {e}")))?;
    let tail = Some(args.tail.unwrap_or(DEFAULT_TAIL));
    let shown = |record: &crate::logs::Record| grep.as_ref().is_none_or(|re| re.is_match(&record.text()));
    let history = ops::logs::history_matching(&session, &services, since, tail, &shown)?;
    let max_bytes = args.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    let reply = log_reply::reply(&history.records, args.service.is_none(), max_bytes);
    let json = json!({
        "lines": reply.lines, "truncated": reply.truncated(), "omitted_lines": reply.omitted,
        "bytes": reply.text.len(),
    });
    if reply.lines.is_empty() && !reply.truncated() {
        let whose = args.service.as_ref().map(|s| format!(" of `{s}`")).unwrap_or_default();
        let matching = args.grep.as_ref().map(|g| format!(" matching /{g}/")).unwrap_or_default();
        return Ok(Answer::ok(format!("(no log lines{whose}{matching})")).with_json(json));
    }
    let mut answer = Answer::ok(reply.text.clone()).with_json(json);
    answer.blocks.extend(reply.cut_note(max_bytes));
    Ok(answer)
}

pub(super) fn start(place: &Place, args: StartArgs, adhoc_allowed: bool) -> ToolResult<Answer> {
    match args.command.clone() {
        None => start_manifest_service(place, args),
        Some(_) if !adhoc_allowed => Err(Answer::failed(
            "ad-hoc commands are turned off for this agent (`orch mcp --no-adhoc`, or `[mcp] adhoc = false` in \
             procs.toml): start a service of the manifest by its name, without `command`",
        )),
        Some(command) => start_adhoc(place, args, command),
    }
}

fn start_manifest_service(place: &Place, args: StartArgs) -> ToolResult<Answer> {
    if args.cwd.is_some() || args.env.is_some() || args.ready.is_some() || args.replace.is_some() {
        return Err(Answer::failed(
            "`cwd`, `env`, `ready` and `replace` go with `command` (an ad-hoc service); a service of the manifest \
             takes them from procs.toml",
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
    let wait = bounded(args.timeout.as_deref())?;
    let up = ops::Up { services: vec![args.name], ..ops::Up::default() };
    let ending = ops::up(&session, &up, wait, &mut quiet)?;
    Ok(ending_answer(&session, ending))
}

fn start_adhoc(place: &Place, args: StartArgs, command: String) -> ToolResult<Answer> {
    let ready = args.ready.map(parse_ready).transpose()?;
    let env = env_pairs(args.env.unwrap_or_default())?;
    let wait = bounded(args.timeout.as_deref())?;
    let session = Session::open_any(place)?;
    let start = AdhocStart {
        name: args.name,
        cmd: CommandLine::Shell(command),
        cwd: args.cwd.map(Into::into),
        env,
        ready,
        ready_timeout: None,
        restart: None,
        replace: args.replace.unwrap_or(false),
    };
    let root = session.paths.root.clone();
    let ending = ops::start_adhoc(&session, start, &root, wait, &mut quiet)?;
    Ok(ending_answer(&session, ending))
}

fn env_pairs(env: BTreeMap<String, Value>) -> ToolResult<Vec<(String, String)>> {
    env.into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key, s)),
            Value::Number(_) | Value::Bool(_) => Ok((key, value.to_string())),
            other => Err(Answer::failed(format!("env `{key}` is {other}; give a string, a number or a boolean"))),
        })
        .collect()
}

/// A `ready` table as procs.toml has it, e.g. `{"tcp": "127.0.0.1:3000"}`: exactly one key.
fn parse_ready(args: ReadyArgs) -> ToolResult<Ready> {
    let value = serde_json::to_value(&args).unwrap_or_default();
    let shown = value.to_string();
    let ready: Ready = serde_json::from_value(value).map_err(|e| {
        Answer::failed(format!(
            "`ready` {shown} is not a readiness check ({e}); give one key as in procs.toml, e.g. \
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
/// after a full one, within `timeout`.
fn stop_services(session: &Session, services: &[String], timeout: Option<&str>) -> ToolResult<Answer> {
    let wait = bounded(timeout)?;
    match ops::down(session, services, wait, &mut quiet)? {
        Down::NotRunning => {
            let what = match services {
                [] => "nothing is running".to_owned(),
                names => format!("`{}` is not running", names.join("`, `")),
            };
            Ok(Answer::ok(format!("{what}: no supervisor runs for {}", session.paths.root.display()))
                .with_json(json!({ "ok": true, "outcomes": [] })))
        }
        Down::Followed(ending) => Ok(ending_answer(session, ending)),
    }
}

// ----- how a request ended --------------------------------------------------------------------

/// The outcome of every service; or, when the bound was hit, how far each service got (its
/// row, the check it waits on and its last lines). Failed unless every service ended as
/// expected.
fn ending_answer(session: &Session, ending: Ending) -> Answer {
    match ending {
        Ending::Done(report) => outcome_answer(&report),
        Ending::TimedOut { waiting } | Ending::Interrupted { waiting } => timed_out_answer(session, &waiting),
    }
}

fn timed_out_answer(session: &Session, waiting: &[Event]) -> Answer {
    let names: Vec<String> = waiting.iter().map(|e| e.service.clone()).collect();
    let rows = match ops::ps(session, &names, &mut quiet) {
        Ok(listing) => listing.rows,
        // The rows are a courtesy; the events say as much in fewer words.
        Err(_) => waiting
            .iter()
            .map(|e| ServiceStatus {
                name: e.service.clone(),
                state: e.phase.as_str().to_owned(),
                reason: e.reason.clone(),
                waiting: e.waiting.clone(),
                ..ServiceStatus::default()
            })
            .collect(),
    };
    let rows = with_last_lines(session, reachable(rows));
    let mut text = "timed out waiting (`timeout`); what was asked goes on. How far each service got \
                    (the `wait` tool waits on):\n"
        .to_owned();
    text.push_str(&rows_text(&rows));
    Answer::failed(text).with_json(json!({ "ok": false, "timed_out": true, "services": rows }))
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

// ----- rows as an agent reads them -----------------------------------------------------------

/// The rows as JSON, each with the TCP ports its processes listen on (where to connect).
fn reachable(rows: Vec<ServiceStatus>) -> Vec<Value> {
    let groups: Vec<_> = rows.iter().filter_map(|r| r.pid).collect();
    let listening = ports::listening(&groups);
    rows.into_iter()
        .map(|row| {
            let ports = row.pid.and_then(|pid| listening.get(&pid)).cloned().unwrap_or_default();
            let mut value = serde_json::to_value(&row).unwrap_or_default();
            if let Value::Object(object) = &mut value {
                object.insert("ports".to_owned(), json!(ports));
            }
            value
        })
        .collect()
}

/// The rows, each with its service's last lines.
fn with_last_lines(session: &Session, mut rows: Vec<Value>) -> Vec<Value> {
    for row in &mut rows {
        let Some(name) = row["name"].as_str().map(str::to_owned) else { continue };
        let lines: Vec<String> = ops::logs::history(session, &[name], None, Some(LAST_LINES))
            .map(|h| h.records.iter().map(|r| r.text().into_owned()).collect())
            .unwrap_or_default();
        if let Value::Object(object) = row {
            object.insert("last_lines".to_owned(), json!(lines));
        }
    }
    rows
}

/// `web: starting — waiting for tcp 127.0.0.1:3000: connection refused`, its ports and url,
/// and its last lines indented under it.
fn rows_text(rows: &[Value]) -> String {
    let mut text = String::new();
    for row in rows {
        let field = |key: &str| row[key].as_str().map(str::to_owned);
        text.push_str(&format!("{}: {}", field("name").unwrap_or_default(), field("state").unwrap_or_default()));
        if let Some(reason) = field("reason") {
            text.push_str(&format!(" ({reason})"));
        }
        if let Some(waiting) = field("waiting") {
            text.push_str(&format!(", waiting for {waiting}"));
        }
        if let Some(ports) = row["ports"].as_array().filter(|p| !p.is_empty()) {
            let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
            text.push_str(&format!(", listening on {}", ports.join(", ")));
        }
        if let Some(url) = field("url") {
            text.push_str(&format!(", at {url}"));
        }
        text.push('\n');
        for line in row["last_lines"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            text.push_str(&format!("    | {line}\n"));
        }
    }
    text
}
