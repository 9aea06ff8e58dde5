//! The tools' arguments: what an agent may pass, with the JSON Schema it is shown (derived from
//! these types, so the schema and the parsing cannot disagree).

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value;

use crate::manifest::Ready;

/// How many log lines `logs` returns when not told.
pub const DEFAULT_LINES: usize = 100;

// Each field's doc comment is its description in the schema, so each is one line: schemars
// keeps the line breaks of a comment that wraps.

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpArgs {
    /// Services of the manifest to start, with what they depend on; all of them when omitted or empty.
    pub services: Option<Vec<String>>,
    /// Wait until each service is ready, running or completed (or failed); false returns once they started.
    #[schemars(extend("default" = true))]
    pub wait: Option<bool>,
    /// Stop waiting after this long, e.g. "30s" or "2m" (the services keep starting); no limit when omitted.
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownArgs {
    /// Services to stop, with their dependents; everything (ad-hoc services too) when omitted or empty.
    pub services: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsArgs {
    /// Services to show; all of them when omitted or empty.
    pub services: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// One service's log; all services merged in time order (as `service | line`) when omitted.
    pub service: Option<String>,
    /// Only the last N lines (of all the services together).
    #[schemars(extend("default" = 100))]
    pub lines: Option<usize>,
    /// Only lines written in this last stretch of time, e.g. "5m" or "30s".
    pub since: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {
    /// A service of the manifest when `command` is omitted; else the name of a new ad-hoc service.
    pub name: String,
    /// An ad-hoc service's command line, run as a string `cmd` in procs.toml is (`sh -c`).
    pub command: Option<String>,
    /// The ad-hoc service's working folder, relative to the project root (the root when omitted).
    pub cwd: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "env_schema", transform = no_default)]
    pub env: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    #[schemars(schema_with = "ready_schema", transform = no_default)]
    pub ready: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameArgs {
    /// The service: one of the manifest's, or an ad-hoc one.
    pub name: String,
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
}
