//! The socket protocol between a client (any `orch` command) and the project's supervisor:
//! newline-delimited JSON, one request per connection, answered by one reply or by a stream of
//! events that ends with one. Every message carries the protocol version.

pub(crate) mod client;
mod head;
pub(crate) mod locate;
mod problem_report;
mod refusal;

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::logs::Stream;
use crate::manifest::{Adhoc, BaseEnv};
use crate::model::{Phase, Pid};
use crate::plan::Plan;

pub(crate) use head::Head;
pub(crate) use problem_report::ProblemReport;
pub(crate) use refusal::Refusal;

/// Version 3: a refusal carries its kind with its data (see [`Refusal`]).
pub(crate) const PROTOCOL_VERSION: u32 = 3;

/// The longest message either side reads, newline included: an `up` carries the client's
/// whole environment (which the manifest's own bound keeps under 16 MiB) and a `ps` of
/// thousands of services is a few MiB. A longer line is not orch's, and is not read on.
pub(crate) const MAX_MESSAGE_BYTES: u64 = 64 * 1024 * 1024;

fn yes() -> bool {
    true
}

/// A message on the wire: the version, then the body's fields.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) v: u32,
    #[serde(flatten)]
    pub(crate) body: T,
}

/// What a supervisor answers to a message of another protocol version, in the one shape
/// every version of orch reads (`reply: error` and a `message`), so that an old client reads
/// it and tells its user (it names both versions itself).
pub(crate) fn version_mismatch_line(theirs: u32) -> Vec<u8> {
    let message = format!(
        "this supervisor speaks protocol {PROTOCOL_VERSION} and the client {theirs}: they are different versions of \
         orch; use the orch that started the supervisor (orch {}), or stop it with that one (`orch down`) first",
        env!("CARGO_PKG_VERSION")
    );
    let mut line = serde_json::json!({ "v": PROTOCOL_VERSION, "reply": "error", "message": message }).to_string();
    line.push('\n');
    line.into_bytes()
}

/// Where the client stands: the project's manifest (if it has one) and the client's own
/// environment, the lowest layer of every service's environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Origin {
    pub(crate) manifest: Option<PathBuf>,
    pub(crate) env: BaseEnv,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Who is there.
    Hello,
    /// Bring the services (all when empty) and what they depend on in line with the manifest:
    /// start what does not run, restart what changed; reply when settled.
    Up {
        origin: Origin,
        services: Vec<String>,
        wait: bool,
        /// Restart these whatever changed (all when empty); None restarts only what changed.
        #[serde(default)]
        force: Option<Vec<String>>,
        /// Reload when the manifest or an env file changes (unless the manifest says no).
        #[serde(default = "yes")]
        watch: bool,
        /// Only answer with the plan.
        #[serde(default)]
        dry_run: bool,
        /// The profiles active for this up: a service in profiles none of which is active is
        /// left out of a plain `up` (unless something started needs it).
        #[serde(default)]
        profiles: Vec<String>,
        /// Replicas for this up, over the manifest's `scale` (`up --scale web=2`).
        #[serde(default)]
        scale: IndexMap<String, u32>,
    },
    /// Run this many replicas of these services (`orch scale web=3`): start what is missing,
    /// stop what is too many; reply when settled.
    Scale {
        origin: Origin,
        scale: IndexMap<String, u32>,
    },
    /// Stop the services (all, ad-hoc ones included, when empty) and their dependents.
    Down {
        services: Vec<String>,
    },
    /// Stop, then start again.
    Restart {
        origin: Origin,
        services: Vec<String>,
    },
    /// Start a service that is not in the manifest.
    StartAdhoc {
        origin: Origin,
        adhoc: Adhoc,
        /// A service of that name that runs something else is stopped and this one started;
        /// without, that is refused (the same service again is left as it runs).
        #[serde(default)]
        replace: bool,
    },
    Ps {
        services: Vec<String>,
    },
    /// Tell me what happens, until I hang up: answered with `Subscribed`, then an `Update` for
    /// every change of a service's phase and (with `lines`, the default) every line a service
    /// writes. Served by the socket itself, never queued behind the supervisor's work.
    Subscribe {
        #[serde(default = "yes")]
        lines: bool,
    },
}

impl Request {
    /// The service names the request carries, to be checked before any is used.
    pub(crate) fn names(&self) -> Vec<&str> {
        let list = match self {
            Request::Hello | Request::Subscribe { .. } => return Vec::new(),
            Request::StartAdhoc { adhoc, .. } => return vec![adhoc.name.as_str()],
            Request::Up { services, force, scale, .. } => {
                return services.iter().chain(force.iter().flatten()).chain(scale.keys()).map(String::as_str).collect();
            }
            Request::Scale { scale, .. } => return scale.keys().map(String::as_str).collect(),
            Request::Down { services } | Request::Restart { services, .. } | Request::Ps { services } => services,
        };
        list.iter().map(String::as_str).collect()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(crate) enum Reply {
    Hello {
        pid: Pid,
        version: String,
    },
    /// A service changed state while a request waits on it.
    Event(Event),
    /// The request is finished; the outcome of every service it waited on.
    Done {
        outcomes: Vec<Outcome>,
        /// The supervisor exits now (a full `down` with nothing queued behind it).
        #[serde(default)]
        exiting: bool,
    },
    Ps {
        services: Vec<ServiceStatus>,
        /// What the user should know first: a manifest edit that could not be applied.
        #[serde(default)]
        notes: Vec<String>,
    },
    Plan(Plan),
    /// Sent first by a request that waits on services: every service it takes in (with the
    /// dependencies or dependents it pulled in), so a client can say what else it touches.
    Targets {
        services: Vec<String>,
    },
    /// The request was refused: a kind with its data, which words it and decides the client's
    /// exit code.
    Error(Refusal),
    /// The subscription is in place: every update from now on comes.
    Subscribed,
    /// Something happened, told to a subscriber.
    Update(Update),
}

/// What a subscriber is told. A subscriber that does not keep up is not waited for: what did
/// not fit its queue is counted and told as `Lost` before the next update it gets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub(crate) enum Update {
    /// A service moved to a new phase.
    Phase {
        service: String,
        phase: Phase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<Pid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A service wrote a line (as it went to its log; not valid UTF-8 is replaced).
    Line { service: String, stream: Stream, text: String },
    /// This many updates did not fit the subscriber's queue and were dropped.
    Lost { updates: u64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Event {
    pub(crate) service: String,
    pub(crate) phase: Phase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// What the service waits for now, in words: `db to be ready`, `http …/health: 404`,
    /// `it to stay up 1s (min_uptime)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) waiting: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) service: String,
    pub(crate) phase: Phase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// From spawn to ready / running / completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) elapsed_ms: Option<u64>,
    /// The service's last log lines (of its last attempt), when it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) last_lines: Vec<String>,
    /// It was already up when the request came, and the request did not touch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) unchanged: bool,
    /// It is no longer wanted (gone from the manifest, or a replica scaled away), and stops.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) removed: bool,
}

impl Reply {
    /// The last reply to a request (everything but a progress event).
    pub(crate) fn is_final(&self) -> bool {
        !matches!(self, Reply::Event(_) | Reply::Update(_))
    }
}

impl Outcome {
    /// Only a service and its phase, for the tests to add to.
    #[cfg(test)]
    pub(crate) fn bare(service: &str, phase: Phase) -> Self {
        Self {
            service: service.into(),
            phase,
            reason: None,
            elapsed_ms: None,
            last_lines: Vec::new(),
            unchanged: false,
            removed: false,
        }
    }

    /// Up as asked: ready, running or completed; for one no longer wanted, stopped.
    pub(crate) fn succeeded(&self) -> bool {
        if self.removed {
            return self.phase == Phase::Stopped;
        }
        matches!(self.phase, Phase::Ready | Phase::Running | Phase::Completed)
    }
}

/// One row of `orch ps`, the same in the table and in `--json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ServiceStatus {
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) pid: Option<Pid>,
    pub(crate) uptime_secs: Option<f64>,
    pub(crate) restarts: u32,
    /// The readiness check, as `tcp 127.0.0.1:5432`.
    pub(crate) ready_check: Option<String>,
    /// How long the check took to pass.
    pub(crate) ready_after_ms: Option<u64>,
    pub(crate) cpu_percent: Option<f64>,
    pub(crate) mem_bytes: Option<u64>,
    /// Why the service is in a state that is not a happy one.
    pub(crate) reason: Option<String>,
    pub(crate) last_exit: Option<String>,
    pub(crate) adhoc: bool,
    /// Started by an earlier supervisor that died, and adopted by this one.
    #[serde(default)]
    pub(crate) adopted: bool,
    /// What the service last said with `STATUS=` on its notify socket.
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Its port: `port`'s, or the `PORT` orch gives it (a Procfile service's, or its env's).
    #[serde(default)]
    pub(crate) port: Option<u16>,
    /// What it runs, for an ad-hoc service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) command: Option<String>,
    /// What it waits for before it counts as up, with what the check last saw:
    /// `tcp 127.0.0.1:3000: connection refused`, `db to be ready`, `it to stay up 1s (min_uptime)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) waiting: Option<String>,
    /// Where it serves http: its http readiness check's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// With a `healthcheck`, while it runs: "starting" (no check tried yet), "healthy" or
    /// "unhealthy" (then `state` says so too, and `reason` why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) health: Option<String>,
    /// A scheduled oneshot's next run (RFC 3339, UTC), while the project is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_run: Option<String>,
    /// Bytes of its output that could not be written to its log (a full disk), since the log
    /// was opened.
    #[serde(default)]
    pub(crate) log_dropped_bytes: u64,
    /// Why its log cannot be written now, while lines are being dropped.
    #[serde(default)]
    pub(crate) log_error: Option<String>,
}
