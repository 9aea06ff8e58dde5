//! The tools' arguments: what an agent may pass, with the JSON Schema it is shown (derived from
//! these types, so the schema and the parsing cannot disagree).

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value;

use crate::manifest::Ready;

/// How many log lines `logs` returns when not told.
pub(super) const DEFAULT_LINES: usize = 100;

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
    /// Stop waiting after this long, e.g. "30s" or "2m" (the services keep starting); no limit when omitted.
    pub(crate) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownArgs {
    /// Services to stop, with their dependents; everything (ad-hoc services too) when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PsArgs {
    /// Services to show; all of them when omitted or empty.
    pub(crate) services: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsArgs {
    /// One service's log; all services merged in time order (as `service | line`) when omitted.
    pub(crate) service: Option<String>,
    /// Only the last N lines (of all the services together).
    #[schemars(extend("default" = 100))]
    pub(crate) lines: Option<usize>,
    /// Only lines written in this last stretch of time, e.g. "5m" or "30s".
    pub(crate) since: Option<String>,
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
    #[schemars(schema_with = "env_schema", transform = no_default)]
    pub(crate) env: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    #[schemars(schema_with = "ready_schema", transform = no_default)]
    pub(crate) ready: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameArgs {
    /// The service: one of the manifest's, or an ad-hoc one.
    pub(crate) name: String,
}

/// An optional field that says so by not being required, not with `"default": null`.
fn no_default(schema: &mut Schema) {
    schema.remove("default");
}

fn env_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["object", "null"],
        "description": "Variables for the ad-hoc service, over the project's environment (`.env`, `[env]`); numbers and booleans are taken as their text.",
        "additionalProperties": { "type": ["string", "number", "boolean"] },
    })
}

/// procs.toml's `ready` table: the schema of the very type the manifest parser reads it into,
/// with its parts inlined (some MCP clients do not follow `$ref`).
fn ready_schema(_: &mut SchemaGenerator) -> Schema {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let mut schema = settings.into_generator().into_root_schema_for::<Ready>();
    schema.remove("$schema");
    schema.remove("title");
    schema.insert(
        "description".to_owned(),
        Value::from(
            "A readiness check for the ad-hoc service, as in procs.toml, e.g. {\"tcp\": \"127.0.0.1:3000\"} or \
             {\"log\": \"listening on\"}; the call returns once it passes, or fails with the reason and the last log lines.",
        ),
    );
    schema
}

/// A tool's arguments checked before the tool runs, with what is wrong in plain words that
/// name the argument (`lines: expected a whole number (0 or more), got the string "ten"`),
/// rather than serde's (`invalid type: string "ten", expected usize`); and every service name
/// in them held to the manifest's rules. An unknown tool is the router's to answer.
pub(super) fn check(tool: &str, arguments: Option<&serde_json::Map<String, Value>>) -> Result<(), String> {
    let value = Value::Object(arguments.cloned().unwrap_or_default());
    match tool {
        "up" => names("services", parse::<UpArgs>(value)?.services.iter().flatten()),
        "down" => names("services", parse::<DownArgs>(value)?.services.iter().flatten()),
        "ps" => names("services", parse::<PsArgs>(value)?.services.iter().flatten()),
        "logs" => names("service", parse::<LogsArgs>(value)?.service.iter()),
        "start" => names("name", [parse::<StartArgs>(value)?.name].iter()),
        "stop" | "restart" => names("name", [parse::<NameArgs>(value)?.name].iter()),
        _ => Ok(()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        plain(if path == "." { "" } else { &path }, &e.into_inner().to_string())
    })
}

/// serde's message about the argument at `path`, in words an agent (or a person) reads.
fn plain(path: &str, message: &str) -> String {
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("the argument {field} is missing");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (field, known) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return format!("there is no argument {field}; the arguments are {}", known.trim_start_matches("one of "));
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
    match names.into_iter().find(|n| !crate::model::names::is_valid_name(n)) {
        Some(name) => {
            Err(format!("{argument}: {name:?} is not a service name (a name is letters, digits, `-` and `_`)"))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::handler::server::common::schema_for_input;

    #[test]
    fn schemas_are_objects_and_say_what_is_required() {
        let start = schema_for_input::<StartArgs>().unwrap();
        assert_eq!(start["type"], "object");
        assert_eq!(start["required"], serde_json::json!(["name"]));
        assert_eq!(start["additionalProperties"], false);
        let ready = &start["properties"]["ready"];
        assert_eq!(ready["oneOf"][0]["required"], serde_json::json!(["tcp"]), "{ready:#}");
        assert!(!ready.to_string().contains("$ref"), "{ready:#}");
        assert!(ready.get("default").is_none() && start["properties"]["env"].get("default").is_none());
        assert_eq!(start["properties"]["env"]["type"], serde_json::json!(["object", "null"]));
        let up = schema_for_input::<UpArgs>().unwrap();
        assert!(up.get("required").is_none(), "{up:#?}");
        assert_eq!(up["properties"]["wait"]["default"], true);
        let stop = schema_for_input::<NameArgs>().unwrap();
        assert_eq!(stop["required"], serde_json::json!(["name"]));
        let logs = schema_for_input::<LogsArgs>().unwrap();
        assert_eq!(logs["properties"]["lines"]["default"], 100);
        assert_eq!(DEFAULT_LINES, 100);
    }

    #[test]
    fn arguments_parse_as_the_schema_says() {
        let args: StartArgs = serde_json::from_value(serde_json::json!({
            "name": "srv", "command": "exec sleep 9", "env": {"PORT": 3000, "DEBUG": true},
            "ready": {"tcp": "127.0.0.1:3000"}
        }))
        .unwrap();
        assert_eq!(args.name, "srv");
        assert_eq!(args.env.unwrap()["PORT"], 3000);
        let none: UpArgs = serde_json::from_value(serde_json::json!({"services": null})).unwrap();
        assert!(none.services.is_none() && none.wait.is_none());
        assert!(serde_json::from_value::<NameArgs>(serde_json::json!({})).is_err());
        assert!(serde_json::from_value::<PsArgs>(serde_json::json!({"service": ["web"]})).is_err());
    }

    #[test]
    fn bad_arguments_are_said_in_plain_words_naming_the_argument() {
        let said = |tool: &str, args: Value| check(tool, args.as_object()).unwrap_err();
        assert_eq!(
            said("logs", serde_json::json!({"lines": "ten"})),
            "lines: expected a whole number (0 or more), got string \"ten\""
        );
        assert_eq!(
            said("logs", serde_json::json!({"lines": -1})),
            "lines: expected a whole number (0 or more), got integer `-1`"
        );
        assert_eq!(said("up", serde_json::json!({"wait": "yes"})), "wait: expected true or false, got string \"yes\"");
        assert_eq!(said("up", serde_json::json!({"services": "web"})), "services: expected a list, got string \"web\"");
        assert_eq!(said("up", serde_json::json!({"services": [1]})), "services[0]: expected a string, got integer `1`");
        assert_eq!(said("stop", serde_json::json!({})), "the argument `name` is missing");
        assert!(
            said("ps", serde_json::json!({"service": ["web"]}))
                .starts_with("there is no argument `service`; the arguments are `services`")
        );
        assert_eq!(
            said("stop", serde_json::json!({"name": "../x"})),
            "name: \"../x\" is not a service name (a name is letters, digits, `-` and `_`)"
        );
        assert!(said("down", serde_json::json!({"services": ["ok", "a/b"]})).starts_with("services: \"a/b\""));
        assert!(check("logs", serde_json::json!({"lines": 5, "service": "web"}).as_object()).is_ok());
        assert!(check("explode", None).is_ok());
        assert!(check("ps", None).is_ok());
    }
}
