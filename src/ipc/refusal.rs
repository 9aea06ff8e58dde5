//! Why the supervisor refused a request, with what a client needs to word it and to choose its
//! exit code (see `ClientError::exit`): the kind crosses the socket with its data, not as a string.

use serde::{Deserialize, Serialize};

use super::problem_report::ProblemReport;
use crate::manifest::Problems;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Refusal {
    /// A name that is no service here, and the names there are.
    #[error("{}", unknown_service(name, known))]
    UnknownService { name: String, known: Vec<String> },
    /// The manifest the request needs does not load.
    #[error("{}", one_per_line(problems))]
    BadManifest { problems: Vec<ProblemReport> },
    /// The request breaks a rule of its own: a name or a variable that is none, a request
    /// that cannot be read, `up` with no manifest.
    #[error("{message}")]
    Invalid { message: String },
    /// The request clashes with what runs or with the manifest: `web` is already running, an
    /// ad-hoc name that the manifest uses.
    #[error("{message}")]
    Conflict { message: String },
    /// Something did not work on the supervisor's side.
    #[error("{message}")]
    Internal { message: String },
}

impl Refusal {
    pub(crate) fn unknown_service(name: &str, known: &[&str]) -> Self {
        Refusal::UnknownService { name: name.to_owned(), known: known.iter().map(|&k| k.to_owned()).collect() }
    }

    pub(crate) fn bad_manifest(problems: &Problems) -> Self {
        Refusal::BadManifest { problems: problems.0.iter().map(ProblemReport::from).collect() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Refusal::Invalid { message: message.into() }
    }

    /// A name that is not one a service can have, and why.
    pub(crate) fn bad_name(name: &str) -> Self {
        let why = crate::model::names::why_invalid(name).unwrap_or_else(|| "a replica is NAME.N".into());
        Refusal::invalid(format!("{name:?} is not a valid service name: {why}"))
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Refusal::Conflict { message: message.into() }
    }

    pub(crate) fn into_reply(self) -> super::Reply {
        super::Reply::Error(self)
    }
}

/// The one wording of "there is no such service", with the names there are (every front end
/// says it so: the CLI, the MCP tools, the supervisor's refusal).
fn unknown_service<S: AsRef<str>>(name: &str, known: &[S]) -> String {
    match known {
        [] => format!("no service named `{name}`: there are no services here"),
        names => {
            let names: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
            format!("no service named `{name}` (services: {})", names.join(", "))
        }
    }
}

/// Problems on one line each, as a log shows them: `procs.toml:3:7: unknown key …`.
fn one_per_line(problems: &[ProblemReport]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| p.to_problem().one_line()).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::{Envelope, PROTOCOL_VERSION, Reply};

    fn wire(refusal: Refusal) -> serde_json::Value {
        serde_json::to_value(Envelope { v: PROTOCOL_VERSION, body: refusal.into_reply() }).unwrap()
    }

    #[test]
    fn the_kind_crosses_with_its_data() {
        let json = wire(Refusal::unknown_service("wbe", &["web", "db"]));
        let expected = serde_json::json!({
            "v": 3, "reply": "error", "kind": "unknown_service", "name": "wbe", "known": ["web", "db"],
        });
        assert_eq!(json, expected);
        let json = wire(Refusal::conflict("`api` is already running; stop it first"));
        let expected = serde_json::json!({
            "v": 3, "reply": "error", "kind": "conflict", "message": "`api` is already running; stop it first",
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn every_kind_reads_back() {
        let problem = crate::manifest::Problem::error("bad").help("fix it");
        for refusal in [
            Refusal::unknown_service("x", &[]),
            Refusal::BadManifest { problems: vec![ProblemReport::from(&problem)] },
            Refusal::invalid("no manifest to bring up"),
            Refusal::conflict("`x` is a service of the manifest"),
            Refusal::Internal { message: "it broke".into() },
        ] {
            let line = serde_json::to_string(&Envelope { v: PROTOCOL_VERSION, body: refusal.clone().into_reply() });
            let back: Envelope<Reply> = serde_json::from_str(&line.unwrap()).unwrap();
            let Reply::Error(read) = back.body else { panic!("not an error: {:?}", back.body) };
            assert_eq!(read, refusal);
        }
    }

    #[test]
    fn one_wording_of_an_unknown_service() {
        assert_eq!(Refusal::unknown_service("x", &[]).to_string(), "no service named `x`: there are no services here");
        assert_eq!(unknown_service("x", &["a", "b"]), "no service named `x` (services: `a`, `b`)");
    }
}
