//! One `[services.NAME]` table read so that every problem in it is reported in one round:
//! all unknown keys at once (each with the nearest valid key, or the key a user of compose,
//! process-compose or pm2 meant), then each value that does not read, until what is left
//! reads. What could be read is kept, so that other services do not report follow-on errors
//! about this one (its port, whether it is a oneshot).

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::Context;
use super::load_toml::toml_problem;
use super::name::{self, reserved};
use super::problem::{Problem, SourceFile, nearest};
use super::raw::{RawService, SERVICE_KEYS};
use crate::model::names::RESERVED_NAME;

/// One `[services.NAME]` table, not yet read.
pub(super) struct ServiceTable<'a> {
    pub(crate) name: String,
    pub(crate) name_span: Range<usize>,
    value: Spanned<DeValue<'a>>,
}

/// One service as far as it could be read.
pub(super) struct ReadService {
    pub(crate) name: String,
    /// The service without the keys that were wrong (a wrong or missing `cmd` replaced by a
    /// stand-in), so that the rest still resolves and reports its own problems; None when the
    /// service is not a table at all.
    pub(crate) raw: Option<RawService>,
    /// Keys that were wrong, unknown, or missing.
    pub(crate) wrong_keys: Vec<String>,
}

impl ReadService {
    /// Whether `key` of this service is known to be as the manifest says.
    pub(super) fn knows(&self, key: &str) -> bool {
        self.raw.is_some() && !self.wrong_keys.iter().any(|k| k == key)
    }
}

/// Keys of the peers' files, and the key orch has for them.
const ALIASES: [(&str, &str); 18] = [
    ("command", "cmd"),
    ("script", "cmd"),
    ("working_dir", "cwd"),
    ("workdir", "cwd"),
    ("directory", "cwd"),
    ("environment", "env"),
    ("env_files", "env_file"),
    ("readiness_probe", "ready"),
    ("ready_check", "ready"),
    ("restart_policy", "restart"),
    ("autorestart", "restart"),
    ("stop_grace_period", "stop_timeout"),
    ("depends", "depends_on"),
    ("dependencies", "depends_on"),
    ("replicas", "scale"),
    ("instances", "scale"),
    ("numprocs", "scale"),
    ("concurrency", "scale"),
];

/// The `[services.*]` tables with the spans of their names; bad names are reported here.
pub(super) fn service_tables<'a>(
    value: Spanned<DeValue<'a>>,
    file: &SourceFile,
    ctx: &mut Context,
) -> Vec<ServiceTable<'a>> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        ctx.problems.push(
            Problem::error("`services` must be a table of services")
                .at(file, span, "not a table")
                .help("write each service as [services.NAME]"),
        );
        return Vec::new();
    };
    let mut services = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().to_string();
        if let Some(problem) = name::invalid(&name) {
            ctx.problems.push(problem.at(file, key.span(), "bad name"));
            continue;
        }
        if name == RESERVED_NAME {
            ctx.problems.push(reserved(&name).at(file, key.span(), "reserved"));
            continue;
        }
        services.push(ServiceTable { name, name_span: key.span(), value });
    }
    services
}

/// Reads one service, reporting every key that is wrong.
pub(super) fn read_service(table: ServiceTable, file: &SourceFile, ctx: &mut Context) -> ReadService {
    let ServiceTable { name, name_span, value } = table;
    let span = value.span();
    let mut wrong_keys = Vec::new();
    let DeValue::Table(table) = value.into_inner() else {
        ctx.problems.push(
            Problem::error(format!("service `{name}` must be a table"))
                .at(file, span, "not a table")
                .help(format!("write it as [services.{name}] with cmd = \"…\" under it")),
        );
        return ReadService { name, raw: None, wrong_keys };
    };
    let mut meant_cmd = false;
    let mut keys = DeTable::new();
    for (key, value) in table {
        let key_name = key.get_ref().as_ref();
        if SERVICE_KEYS.contains(&key_name) {
            keys.insert(key, value);
            continue;
        }
        let suggestion = suggest(key_name);
        meant_cmd |= suggestion == Some("cmd");
        ctx.problems.push(unknown_service_key(&name, key_name, suggestion, file, key.span()));
        wrong_keys.push(key_name.to_owned());
    }
    if !keys.contains_key("cmd") {
        // `comand = …` already said what is wrong; a second problem for it would be noise.
        if !meant_cmd {
            ctx.problems.push(
                Problem::error(format!("service `{name}`: `cmd` is missing"))
                    .at(file, span.clone(), "in this service")
                    .help("add the command to run: cmd = \"…\""),
            );
        }
        wrong_keys.push("cmd".into());
        keys.insert(Spanned::new(name_span.clone(), Cow::Borrowed("cmd")), stand_in_command(&name_span));
    }
    // Each round reports one wrong value and takes its key out; at most one round per key.
    for _ in 0..=SERVICE_KEYS.len() {
        let table = Spanned::new(span.clone(), DeValue::Table(keys.clone()));
        let error = match RawService::deserialize(ValueDeserializer::from(table)) {
            Ok(raw) => return ReadService { name, raw: Some(raw), wrong_keys },
            Err(error) => error,
        };
        let mut problem = toml_problem(&error, file, Some(&name));
        if problem.at.is_none() {
            problem = problem.at(file, span.clone(), "here");
        }
        ctx.problems.push(problem);
        let Some(key) = error.span().and_then(|at| key_holding(&keys, &at)) else { break };
        wrong_keys.push(key.clone());
        if key == "cmd" {
            keys.insert(Spanned::new(name_span.clone(), Cow::Borrowed("cmd")), stand_in_command(&name_span));
        } else {
            keys.remove(key.as_str());
        }
    }
    ReadService { name, raw: None, wrong_keys }
}

/// The key whose name or value holds the span of an error.
fn key_holding(keys: &DeTable, at: &Range<usize>) -> Option<String> {
    let within = |outer: Range<usize>| outer.start <= at.start && at.end <= outer.end;
    keys.iter().find(|(k, v)| within(k.span()) || within(v.span())).map(|(k, _)| k.get_ref().to_string())
}

/// A `cmd` that reads, in place of a wrong or missing one: the service is refused anyway, and
/// the rest of it is still checked.
fn stand_in_command(span: &Range<usize>) -> Spanned<DeValue<'static>> {
    Spanned::new(span.clone(), DeValue::String(Cow::Borrowed("true")))
}

/// The key meant by an unknown one: the nearest valid key, or a key of the peers' files.
fn suggest(key: &str) -> Option<&'static str> {
    let candidates = SERVICE_KEYS.iter().copied().chain(ALIASES.iter().map(|(alias, _)| *alias));
    let near = nearest(key, candidates)?;
    Some(ALIASES.iter().find(|(alias, _)| *alias == near).map_or(near, |(_, key)| *key))
}

fn unknown_service_key(
    service: &str,
    key: &str,
    suggestion: Option<&str>,
    file: &SourceFile,
    span: Range<usize>,
) -> Problem {
    let p = Problem::error(format!("service `{service}`: unknown key `{key}`")).at(file, span, "unknown key");
    match suggestion {
        Some(near) => p.help(format!("did you mean `{near}`?")),
        None => p.help(format!("expected one of: {}", SERVICE_KEYS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_know_the_peers_keys_and_typos_of_them() {
        assert_eq!(suggest("comand"), Some("cmd"));
        assert_eq!(suggest("command"), Some("cmd"));
        assert_eq!(suggest("cmdd"), Some("cmd"));
        assert_eq!(suggest("working_dir"), Some("cwd"));
        assert_eq!(suggest("enviroment"), Some("env"));
        assert_eq!(suggest("depend_on"), Some("depends_on"));
        assert_eq!(suggest("zzzz"), None);
    }

    #[test]
    fn aliases_name_real_keys() {
        for (alias, key) in ALIASES {
            assert!(SERVICE_KEYS.contains(&key), "{alias} → {key}");
            assert!(!SERVICE_KEYS.contains(&alias), "{alias}");
        }
    }
}
