//! Arguments sent as text where the schema says otherwise, taken for what they plainly mean.
//! Some MCP clients send every argument a user typed as a string (`"tail": "20"`,
//! `"wait": "false"`, `"services": "web,db"`); where the schema's type makes the meaning
//! unambiguous, the value is converted before the arguments are parsed. Anything else is left
//! as it came, for the argument check to word the mismatch. A `null` is an argument not given.

use serde_json::{Map, Value};

/// Converts, in place, each argument whose schema type its value plainly stands for.
pub(super) fn coerce(arguments: &mut Map<String, Value>, schema: &Map<String, Value>) {
    arguments.retain(|_, value| !value.is_null());
    let Some(Value::Object(properties)) = schema.get("properties") else { return };
    for (name, value) in arguments.iter_mut() {
        if let Some(kind) = properties.get(name).and_then(|p| p.get("type")).and_then(Value::as_str)
            && let Some(converted) = convert(value, kind)
        {
            *value = converted;
        }
    }
}

/// `value` as a `kind`, when it is text (or a scalar) that means one plainly.
fn convert(value: &Value, kind: &str) -> Option<Value> {
    match (kind, value) {
        ("integer", Value::String(text)) => text.trim().parse::<u64>().ok().map(Value::from),
        ("number", Value::String(text)) => text.trim().parse::<f64>().ok().map(Value::from),
        ("boolean", Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("string", Value::Bool(b)) => Some(Value::String(b.to_string())),
        ("array", Value::String(text)) => Some(list(text)),
        ("object", Value::String(text)) => serde_json::from_str::<Value>(text).ok().filter(Value::is_object),
        _ => None,
    }
}

/// A list given as text: JSON (`["web", "db"]`), or names separated by commas or spaces.
fn list(text: &str) -> Value {
    if let Ok(list @ Value::Array(_)) = serde_json::from_str::<Value>(text) {
        return list;
    }
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(Value::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn coerced(arguments: Value) -> Value {
        let schema = json!({ "type": "object", "properties": {
            "tail": { "type": "integer" }, "wait": { "type": "boolean" }, "services": { "type": "array" },
            "env": { "type": "object" }, "timeout": { "type": "string" }, "name": { "type": "string" },
        }});
        let mut arguments = arguments.as_object().cloned().unwrap();
        coerce(&mut arguments, schema.as_object().unwrap());
        Value::Object(arguments)
    }

    #[test]
    fn text_that_plainly_means_the_schemas_type_is_taken_as_it() {
        assert_eq!(coerced(json!({ "tail": " 20 ", "wait": "False" })), json!({ "tail": 20, "wait": false }));
        assert_eq!(coerced(json!({ "services": "web, db" })), json!({ "services": ["web", "db"] }));
        assert_eq!(coerced(json!({ "services": "[\"web\"]" })), json!({ "services": ["web"] }));
        assert_eq!(coerced(json!({ "services": "" })), json!({ "services": [] }));
        assert_eq!(coerced(json!({ "env": "{\"A\": \"1\"}" })), json!({ "env": { "A": "1" } }));
        assert_eq!(coerced(json!({ "timeout": 5, "name": true })), json!({ "timeout": "5", "name": "true" }));
    }

    #[test]
    fn what_is_not_plain_is_left_for_the_check_to_word_and_null_is_not_given() {
        assert_eq!(coerced(json!({ "tail": "ten", "wait": "yes" })), json!({ "tail": "ten", "wait": "yes" }));
        assert_eq!(coerced(json!({ "tail": "-1", "env": "A=1" })), json!({ "tail": "-1", "env": "A=1" }));
        assert_eq!(coerced(json!({ "tail": null, "unknown": "x" })), json!({ "unknown": "x" }));
        assert_eq!(coerced(json!({ "tail": 5, "services": ["a"] })), json!({ "tail": 5, "services": ["a"] }));
    }
}
