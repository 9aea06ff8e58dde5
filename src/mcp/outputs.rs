//! What each tool returns as `structuredContent`, and the `outputSchema` that says so. Every
//! answer, a failed one too, is an object with `ok`; the rest depends on the tool. The schemas
//! are written out here (not derived), plain as the input schemas are: one `type` per property
//! and no `null` anywhere — a value that is not there is left out ([`without_nulls`]).

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Map, Value, json};

/// The shape of a tool's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// up, start, restart, stop, down: each service's outcome.
    Outcomes,
    Ps,
    Logs,
    Wait,
}

/// The output schema of a tool whose answers have this shape.
pub(crate) fn schema(shape: Shape) -> Arc<JsonObject> {
    let mut properties = common();
    match shape {
        Shape::Outcomes => {
            properties.insert("outcomes".into(), list(outcome()));
            properties.insert("timed_out".into(), json!({ "type": "boolean", "description": "The wait was cut by `timeout`; `services` tells how far each got." }));
            properties.insert("services".into(), list(service_row()));
        }
        Shape::Ps => {
            properties.insert("services".into(), list(service_row()));
            properties.insert("notes".into(), list(json!({ "type": "string" })));
        }
        Shape::Logs => {
            properties.insert("lines".into(), list(log_line()));
            properties.insert(
                "truncated".into(),
                json!({ "type": "boolean", "description": "Older lines were left out to keep to `max_bytes`." }),
            );
            properties.insert("omitted_lines".into(), json!({ "type": "integer", "minimum": 0 }));
            properties.insert("bytes".into(), json!({ "type": "integer", "minimum": 0 }));
        }
        Shape::Wait => {
            properties.insert("until".into(), json!({ "type": "string", "enum": ["ready", "stopped", "completed"] }));
            properties.insert("timed_out".into(), json!({ "type": "boolean" }));
            properties.insert("services".into(), list(service_row()));
            properties.insert("notes".into(), list(json!({ "type": "string" })));
        }
    }
    let schema = json!({ "type": "object", "properties": properties, "required": ["ok"] });
    match schema {
        Value::Object(object) => Arc::new(object),
        _ => unreachable!("a json! object is an object"),
    }
}

/// What every answer may carry: whether it went as asked, and if not, why.
fn common() -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("ok".into(), json!({ "type": "boolean", "description": "Everything went as asked." }));
    properties.insert("error".into(), json!({ "type": "string", "description": "Why the call failed, when it did." }));
    properties.insert("known".into(), json!({ "type": "array", "items": { "type": "string" }, "description": "The services there are, when a name was not one of them." }));
    properties
}

fn list(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn outcome() -> Value {
    json!({
        "type": "object",
        "properties": {
            "service": { "type": "string" },
            "phase": { "type": "string" },
            "reason": { "type": "string" },
            "elapsed_ms": { "type": "integer" },
            "last_lines": list(json!({ "type": "string" })),
            "unchanged": { "type": "boolean", "description": "It already ran as asked; the call changed nothing." },
            "removed": { "type": "boolean", "description": "It is no longer wanted (a replica scaled away, or gone from the manifest) and stopped." },
        },
        "required": ["service", "phase"],
    })
}

/// A row of `ps` (as `orch ps --json` has it), with where to reach the service and, in the
/// answers that wait, its last lines.
fn service_row() -> Value {
    let string = json!({ "type": "string" });
    let integer = json!({ "type": "integer" });
    let number = json!({ "type": "number" });
    let boolean = json!({ "type": "boolean" });
    json!({
        "type": "object",
        "properties": {
            "name": string, "state": string, "pid": integer, "uptime_secs": number, "restarts": integer,
            "ready_check": string, "ready_after_ms": integer, "cpu_percent": number, "mem_bytes": integer,
            "reason": string, "last_exit": string, "adhoc": boolean, "adopted": boolean, "status": string,
            "port": integer, "command": string, "log_dropped_bytes": integer, "log_error": string,
            "waiting": { "type": "string", "description": "What it waits for, with what the check last saw." },
            "ports": { "type": "array", "items": integer, "description": "The TCP ports its processes listen on." },
            "url": { "type": "string", "description": "Where it serves http, from its http readiness check." },
            "health": { "type": "string", "enum": ["starting", "healthy", "unhealthy"], "description": "How its healthcheck goes, when it has one." },
            "last_lines": list(string.clone()),
        },
        "required": ["name", "state"],
    })
}

fn log_line() -> Value {
    json!({
        "type": "object",
        "properties": {
            "service": { "type": "string" },
            "stream": { "type": "string", "enum": ["out", "err"] },
            "time": { "type": "string", "description": "When it was written (RFC 3339, UTC)." },
            "text": { "type": "string" },
        },
        "required": ["service", "stream", "time", "text"],
    })
}

/// The value with every `null` member of an object left out, throughout.
pub(crate) fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_left_out_at_every_depth() {
        let value = json!({ "a": null, "b": [{ "c": null, "d": 1 }], "e": { "f": null } });
        assert_eq!(without_nulls(value), json!({ "b": [{ "d": 1 }], "e": {} }));
    }

    #[test]
    fn every_schema_is_a_plain_object_schema_that_requires_ok() {
        for shape in [Shape::Outcomes, Shape::Ps, Shape::Logs, Shape::Wait] {
            let schema = Value::Object((*schema(shape)).clone());
            assert_eq!(schema["type"], "object");
            assert_eq!(schema["required"], json!(["ok"]));
            let text = schema.to_string();
            assert!(!text.contains("null") && !text.contains("oneOf") && !text.contains("$ref"), "{shape:?}: {text}");
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{shape:?}: {e}"));
        }
    }
}
