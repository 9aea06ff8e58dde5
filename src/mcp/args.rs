//! The tools' arguments: what an agent may pass, with the JSON Schema it is shown (derived from
//! these types, so the schema and the parsing cannot disagree). The schemas are plain, as every
//! MCP client can fill them: one `type` per property (never `["integer", "null"]`), no `oneOf`,
//! no `$ref`; an optional argument is one that is not `required`, with its default said.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) use crate::client::ops::wait::Until;

/// How many log lines `logs` returns when not told.
pub(super) const DEFAULT_TAIL: usize = 100;
/// The most bytes of log text one `logs` answer carries when not told.
pub(super) const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// How long a tool waits when not told, so that no call stalls an agent.
pub(super) const DEFAULT_TIMEOUT: &str = "30s";

// Each field's doc comment is its description in the schema, so each is one line: schemars
// keeps the line breaks of a comment that wraps.

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpArgs {
    /// Services of the manifest to start, with what they depend on; all of them when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
    /// Wait until each service is ready, running or completed (or failed); false returns once they started.
    #[schemars(extend("default" = true))]
    pub(crate) wait: Option<bool>,
    /// Stop waiting after this long, e.g. "30s", "2m" or a number of seconds; the services keep starting, and the answer says how far each got.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
    /// Profiles to make active: their services are started too (a service in no profile always is).
    pub(crate) profiles: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownArgs {
    /// Services to stop, with their dependents; everything (ad-hoc services too) when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
    /// Stop waiting after this long, e.g. "30s" or a number of seconds; the stop goes on.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PsArgs {
    /// Services to show; all of them when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
    /// Give up on a supervisor that does not answer within this long, e.g. "5s" or a number of seconds.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsArgs {
    /// One service's log; all services merged in time order (as `service | line`) when omitted.
    pub(crate) service: Option<String>,
    /// Only the last N lines (of all the services together, after `grep`).
    #[serde(alias = "lines")]
    #[schemars(extend("default" = DEFAULT_TAIL))]
    pub(crate) tail: Option<usize>,
    /// Only lines written in this last stretch of time, e.g. "5m" or "30s".
    pub(crate) since: Option<String>,
    /// Only lines that match this regular expression (Rust regex syntax), e.g. "error|panic" or "(?i)warn".
    pub(crate) grep: Option<String>,
    /// At most this many bytes of log text; older lines are cut first, and the answer says so.
    #[schemars(extend("default" = DEFAULT_MAX_BYTES))]
    pub(crate) max_bytes: Option<usize>,
    /// Accepted as every tool takes it; `logs` reads the files and never waits.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartArgs {
    /// A service of the manifest when `command` is omitted; else the name of a new ad-hoc service.
    pub(crate) name: String,
    /// An ad-hoc service's command line, run as a string `cmd` in procs.toml is (`sh -c`).
    pub(crate) command: Option<String>,
    /// The ad-hoc service's working folder, relative to the project root (the root when omitted).
    pub(crate) cwd: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "env_schema")]
    pub(crate) env: Option<BTreeMap<String, Value>>,
    /// A readiness check for the ad-hoc service, as in procs.toml: give one of its keys, e.g. {"tcp": "127.0.0.1:3000"}; the call returns once it passes, or fails with the reason and the last log lines.
    pub(crate) ready: Option<ReadyArgs>,
    /// If an ad-hoc service of this name already runs another command, stop it and start this one; without, that is an error. The same command again is left running either way.
    #[schemars(extend("default" = false))]
    pub(crate) replace: Option<bool>,
    /// Stop waiting after this long, e.g. "30s" or a number of seconds; the service keeps starting.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

/// procs.toml's `ready` table, flat: one key is given.
#[derive(Debug, Default, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadyArgs {
    /// Ready once a TCP connect to HOST:PORT succeeds, e.g. "127.0.0.1:3000".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tcp: Option<String>,
    /// Ready once a GET of this URL answers 2xx or 3xx, e.g. "http://127.0.0.1:3000/health".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) http: Option<String>,
    /// Ready once the service writes a line matching this regular expression, e.g. "listening on".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log: Option<String>,
    /// Ready once this shell command exits 0, e.g. "test -e ready.flag".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exec: Option<String>,
    /// Ready this long after the start, e.g. "2s".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delay: Option<String>,
    /// Ready once the service sends READY=1 to $NOTIFY_SOCKET (sd_notify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) notify: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameArgs {
    /// The service: one of the manifest's, or an ad-hoc one.
    pub(crate) name: String,
    /// Stop waiting after this long, e.g. "30s" or a number of seconds; what was asked goes on.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScaleArgs {
    /// The manifest's service to scale (its replicas are `NAME.1` … `NAME.N`).
    pub(crate) name: String,
    /// How many replicas to run; 0 stops them all.
    #[serde(alias = "count", alias = "scale")]
    #[schemars(range(max = 1000))]
    pub(crate) replicas: u32,
    /// Stop waiting after this long, e.g. "30s" or a number of seconds; what was asked goes on.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitArgs {
    /// Services to wait for; all of the project's when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
    /// What to wait for: every service "ready" (ready, running or completed), "stopped" (no process left), or "completed" (a oneshot that exited 0).
    #[schemars(extend("default" = "ready"))]
    pub(crate) until: Option<Until>,
    /// Stop waiting after this long, e.g. "30s" or a number of seconds; the answer then says how far each service got.
    #[schemars(extend("default" = DEFAULT_TIMEOUT))]
    pub(crate) timeout: Option<String>,
}

fn env_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "Variables for the ad-hoc service, over the project's environment (`.env`, `[env]`), e.g. {\"PORT\": \"3000\"}; numbers and booleans are taken as their text.",
        "additionalProperties": { "type": "string" },
    })
}

/// The input schema of a tool's arguments, as the tool list shows it: draft 2020-12, every
/// part inlined, an `Option` as its inner type (optional by not being required).
pub(crate) fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let mut value = settings.into_generator().into_root_schema_for::<T>().to_value();
    if let Value::Object(object) = &mut value {
        object.remove("$schema");
        object.remove("title");
    }
    plain(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::from_iter([("type".to_owned(), json!("object"))])),
    }
}

/// Makes a schema plain, throughout: an `Option`'s `"type": ["x", "null"]` is `"type": "x"`,
/// its `anyOf: [X, {"type": "null"}]` is X, a `null` among an `enum`'s values goes, and so does
/// a `"default": null` and the `format` of an integer's width (`uint`, no JSON Schema format).
fn plain(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(values)) = object.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if let Some(Value::Array(mut options)) = object.remove("anyOf") {
                options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
                match options.pop() {
                    Some(Value::Object(inner)) if options.is_empty() => {
                        for (key, part) in inner {
                            object.entry(key).or_insert(part);
                        }
                    }
                    Some(last) => {
                        options.push(last);
                        object.insert("anyOf".to_owned(), Value::Array(options));
                    }
                    None => {}
                }
            }
            if object.get("default").is_some_and(Value::is_null) {
                object.remove("default");
            }
            if object
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                object.remove("format");
            }
            object.values_mut().for_each(plain);
        }
        Value::Array(items) => items.iter_mut().for_each(plain),
        _ => {}
    }
}

/// A tool's arguments checked before the tool runs, with what is wrong in plain words that
/// name the argument (`tail: expected a whole number (0 or more), got the string "ten"`),
/// rather than serde's (`invalid type: string "ten", expected usize`); and every service name
/// in them held to the manifest's rules. An unknown tool is the router's to answer.
pub(super) fn check(tool: &str, arguments: Option<&serde_json::Map<String, Value>>) -> Result<(), String> {
    let value = Value::Object(arguments.cloned().unwrap_or_default());
    match tool {
        "up" => names("services", parse::<UpArgs>(value)?.services.iter().flatten()),
        "down" => names("services", parse::<DownArgs>(value)?.services.iter().flatten()),
        "ps" => names("services", parse::<PsArgs>(value)?.services.iter().flatten()),
        "wait" => names("services", parse::<WaitArgs>(value)?.services.iter().flatten()),
        "logs" => names("service", parse::<LogsArgs>(value)?.service.iter()),
        "start" => names("name", [parse::<StartArgs>(value)?.name].iter()),
        "stop" | "restart" => names("name", [parse::<NameArgs>(value)?.name].iter()),
        "scale" => names("name", [parse::<ScaleArgs>(value)?.name].iter()),
        _ => Ok(()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        plain_words(if path == "." { "" } else { &path }, &e.into_inner().to_string())
    })
}

/// serde's message about the argument at `path`, in words an agent (or a person) reads.
fn plain_words(path: &str, message: &str) -> String {
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("the argument {field} is missing");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (field, known) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let known = known.trim_start_matches("one of ");
        // The path ends with the unknown key itself: what holds it is before.
        return match path.rsplit_once('.') {
            None => format!("there is no argument {field}; the arguments are {known}"),
            Some((holder, _)) => format!("{holder}: there is no {field} in it; it takes {known}"),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (got, known) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return format!("{path}: {got} is not one of {}", known.trim_start_matches("one of "));
    }
    let found = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "));
    match found.and_then(|rest| rest.split_once(", expected ")) {
        Some((got, expected)) => {
            let got: String = got.chars().take(60).collect();
            format!("{path}: expected {}, got {got}", expectation(expected))
        }
        None => format!("{path}: {message}"),
    }
}

/// What serde expected, as people say it.
fn expectation(expected: &str) -> &str {
    match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number (0 or more)",
        "isize" | "i64" | "i32" => "a whole number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "an object",
        other => other,
    }
}

fn names<'a>(argument: &str, names: impl Iterator<Item = &'a String>) -> Result<(), String> {
    match names.into_iter().find(|n| !crate::model::names::is_service_name(n)) {
        Some(name) => {
            Err(format!("{argument}: {name:?} is not a service name (a name is letters, digits, `-` and `_`)"))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
