//! The JSON API under the page, for scripts too: the rows `ps --json` shows, the actions of
//! the page's buttons, the log files' lines, the dependency graph. Each handler is the client
//! library's operation, on a blocking thread (the client speaks to the supervisor's socket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::graph_svg;
use crate::client::action::Action;
use crate::client::follow::Wait;
use crate::client::{ClientError, Place, Session, ops};
use crate::ipc::{Refusal, ServiceStatus};
use crate::model::names::RESERVED_NAME;

/// How long an action's request waits for its outcome: past it, the answer says the action is
/// still under way (and it goes on), so no request holds a thread for ever.
const ACTION_WAIT: Duration = Duration::from_mins(2);
/// The lines `/api/logs` returns when not told, and at most.
const TAIL: usize = 500;
const MAX_TAIL: usize = 20_000;

/// An answer that is not the one asked for: its status, and `{"error": "…"}`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let status = match &error {
            ClientError::Refused(Refusal::UnknownService { .. }) => StatusCode::NOT_FOUND,
            ClientError::Usage(_) | ClientError::Refused(Refusal::Invalid { .. }) => StatusCode::BAD_REQUEST,
            ClientError::Refused(Refusal::Conflict { .. }) => StatusCode::CONFLICT,
            ClientError::Manifest(_) | ClientError::Refused(Refusal::BadManifest { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ClientError::Failed(_) | ClientError::Lost(_) => StatusCode::SERVICE_UNAVAILABLE,
            ClientError::Discover(_) | ClientError::Refused(Refusal::Internal { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &error {
            ClientError::Manifest(problems) => format!("the manifest is invalid:\n{problems}"),
            other => other.to_string(),
        };
        Self::new(status, message)
    }
}

/// How a request's session is opened: with the manifest as it is now (it may have been edited
/// since the dashboard started: `Session::open_lenient`), or, for what the supervisor alone
/// answers, the project only (`Session::locate`: a thousand services are slow to parse).
type Open = fn(&Place) -> Result<Session, ClientError>;

/// Runs a client operation on a blocking thread, with a fresh session.
async fn with_session<T: Send + 'static>(
    shared: &Arc<Shared>,
    open: Open,
    operation: impl FnOnce(&Session) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let place = shared.place.clone();
    let joined = tokio::task::spawn_blocking(move || operation(&open(&place)?)).await;
    joined.unwrap_or_else(|e| Err(Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
}

/// What the page loads first: the project, its rows, what `ps` says above them (reload
/// errors), and the manifest's services by the names they are written with (a group's, not
/// its replicas').
#[derive(Debug, Serialize)]
pub(crate) struct Project {
    pub(crate) name: String,
    pub(crate) root: String,
    pub(crate) notes: Vec<String>,
    pub(crate) services: Vec<ServiceStatus>,
    pub(crate) manifest_services: Vec<String>,
}

pub(crate) async fn project(State(shared): State<Arc<Shared>>) -> Result<Json<Project>, Failure> {
    with_session(&shared, Session::open_lenient, |session| {
        let listing = ops::ps::status(session, None)?;
        Ok(Json(Project {
            name: crate::export::project_name(&session.paths.root),
            root: session.paths.root.display().to_string(),
            notes: listing.notes,
            services: listing.rows,
            manifest_services: manifest_services(session),
        }))
    })
    .await
}

/// Each service as the manifest writes it: a group once, by its name, even scaled to 0.
fn manifest_services(session: &Session) -> Vec<String> {
    let Some(loaded) = &session.loaded else { return Vec::new() };
    let written = loaded.spec.services.keys().map(|name| loaded.spec.written_name(name));
    let mut names: Vec<String> = Vec::new();
    for name in written.chain(loaded.spec.groups.keys().map(String::as_str)) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// `ps --json`'s rows.
pub(crate) async fn services(State(shared): State<Arc<Shared>>) -> Result<Json<Vec<ServiceStatus>>, Failure> {
    with_session(&shared, Session::locate, |session| Ok(Json(ops::ps::status(session, None)?.rows))).await
}

/// `POST /api/services/{name}/{restart|stop|start|scale}`: carried out to its end, and told
/// as `{"ok": true, "said": "✓ web: ready in 312ms"}`. Scale takes `{"count": N}`.
pub(crate) async fn act(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<Done>, Failure> {
    let Path((name, verb)) = path.map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if !crate::model::names::is_valid_name(&name) {
        return Err(Failure::new(StatusCode::NOT_FOUND, format!("`{name}` is not a service name")));
    }
    let action = match verb.as_str() {
        "restart" => Action::Restart(name.clone()),
        "stop" => Action::Stop(name.clone()),
        "start" => Action::Start(name.clone()),
        "scale" => Action::Scale(name.clone(), scale_count(&body)?),
        _ => {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("no action `{verb}`: restart, stop, start or scale"),
            ));
        }
    };
    with_session(&shared, Session::open_lenient, move |session| {
        let wait = Wait { deadline: Some(Instant::now() + ACTION_WAIT), interrupted: None };
        let (ok, said) = crate::render::action_done(&action.carry_out(session, wait)?);
        // Where the service is now (a group: its replicas), for a script to read the new pid.
        // (None when the supervisor has gone meanwhile: the action's outcome stands.)
        let listing = ops::ps::status(session, None).unwrap_or_default();
        let shown = crate::model::names::expand_groups(
            std::slice::from_ref(&name),
            listing.rows.iter().map(|r| r.name.as_str()),
        );
        let services = listing.rows.into_iter().filter(|r| shown.contains(&r.name)).collect();
        Ok(Json(Done { ok, said, services }))
    })
    .await
}

/// How an action ended: whether every service it touched is as asked, the line that says so,
/// and the rows of the service (or of a group's replicas) after it.
#[derive(Debug, Serialize)]
pub(crate) struct Done {
    ok: bool,
    said: String,
    services: Vec<ServiceStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleBody {
    count: u32,
}

fn scale_count(body: &[u8]) -> Result<u32, Failure> {
    let bad = |e: serde_json::Error| Failure::new(StatusCode::BAD_REQUEST, format!("send {{\"count\": N}}: {e}"));
    let count = serde_json::from_slice::<ScaleBody>(body).map_err(bad)?.count;
    if count > crate::model::names::MAX_SCALE {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!("at most {} replicas", crate::model::names::MAX_SCALE),
        ));
    }
    Ok(count)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogsQuery {
    service: Option<String>,
    tail: Option<usize>,
    q: Option<String>,
}

/// One line of a log file, as the page shows it.
#[derive(Debug, Serialize)]
pub(crate) struct LogLine {
    pub(crate) service: String,
    pub(crate) stream: crate::logs::Stream,
    pub(crate) time: String,
    pub(crate) text: String,
}

impl LogLine {
    fn of(record: &crate::logs::Record) -> Self {
        let time =
            chrono::DateTime::<chrono::Utc>::from(record.time).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let text = crate::sanitize::shown_text(&record.line);
        Self { service: record.service.clone(), stream: record.stream, time, text }
    }
}

/// `GET /api/logs?service=web&tail=500&q=error`: the last lines of the files, oldest first
/// (see [`Shown`] for which).
pub(crate) async fn logs(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, Failure> {
    let Query(asked) = query.map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    with_session(&shared, Session::open_lenient, move |session| {
        let named = match &asked.service {
            Some(name) => ops::logs::check(session, std::slice::from_ref(name))?,
            None => Vec::new(),
        };
        let tail = Some(asked.tail.unwrap_or(TAIL).min(MAX_TAIL));
        let shown = Shown::new(&named, asked.q.as_deref());
        // A service's view holds orch's own lines about it too (`web: ready in 312ms`).
        let mut services = named;
        if !services.is_empty() && !services.iter().any(|n| n == RESERVED_NAME) {
            services.push(RESERVED_NAME.to_owned());
        }
        let history = ops::logs::history_matching(session, &services, None, tail, &|r| shown.keeps(r))?;
        let lines: Vec<LogLine> = history.records.iter().map(LogLine::of).collect();
        Ok(Json(serde_json::json!({ "lines": lines })))
    })
    .await
}

/// Which lines of the files `/api/logs` returns: of the services named (all when none), orch's
/// own about them (`web: ready`, and for a replica its group's, `web: rolling restart`; all of
/// them when `orch` is named), and with a search only those that hold it, whatever the case.
/// The page keeps its live lines by the same rule.
struct Shown {
    /// `web:`, for each service named and each group a named replica is of; None when every
    /// orch line is kept.
    prefixes: Option<Vec<String>>,
    search: Option<String>,
}

impl Shown {
    fn new(named: &[String], search: Option<&str>) -> Self {
        let every = named.is_empty() || named.iter().any(|n| n == RESERVED_NAME);
        let about = named.iter().flat_map(|n| std::iter::once(n.as_str()).chain(crate::model::names::group_of(n)));
        Self {
            prefixes: (!every).then(|| about.map(|n| format!("{n}:")).collect()),
            search: search.map(str::to_lowercase).filter(|q| !q.is_empty()),
        }
    }

    fn keeps(&self, record: &crate::logs::Record) -> bool {
        let text = String::from_utf8_lossy(&record.line);
        let about = match &self.prefixes {
            Some(prefixes) if record.service == RESERVED_NAME => prefixes.iter().any(|p| text.starts_with(p.as_str())),
            _ => true,
        };
        about && self.search.as_ref().is_none_or(|q| text.to_lowercase().contains(q))
    }
}

/// The dependency graph of the manifest as it is now (empty when it cannot be read: the
/// notes say why).
pub(crate) async fn graph(State(shared): State<Arc<Shared>>) -> Result<Response, Failure> {
    let svg = with_session(&shared, Session::open_lenient, |session| {
        let Some(loaded) = &session.loaded else { return Ok(graph_svg::draw(&[], &[])) };
        let rows = ops::ps::status(session, None).map(|l| l.rows).unwrap_or_default();
        let names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
        Ok(graph_svg::of_project(loaded, &names))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response())
}
