use super::*;

fn schema<T: JsonSchema>() -> Value {
    Value::Object((*input_schema::<T>()).clone())
}

/// Every property of every tool's schema, with what it says.
fn all_schemas() -> Vec<(&'static str, Value)> {
    vec![
        ("up", schema::<UpArgs>()),
        ("down", schema::<DownArgs>()),
        ("ps", schema::<PsArgs>()),
        ("logs", schema::<LogsArgs>()),
        ("start", schema::<StartArgs>()),
        ("stop", schema::<NameArgs>()),
        ("wait", schema::<WaitArgs>()),
    ]
}

#[test]
fn every_schema_is_plain_one_type_per_property_and_no_null() {
    for (tool, schema) in all_schemas() {
        assert_eq!(schema["type"], "object", "{tool}");
        assert_eq!(schema["additionalProperties"], false, "{tool}");
        let text = schema.to_string();
        for banned in ["null", "oneOf", "anyOf", "$ref", "$defs", "\"uint"] {
            assert!(!text.contains(banned), "{tool} has {banned}: {schema:#}");
        }
        for (name, property) in schema["properties"].as_object().unwrap() {
            assert!(property["type"].is_string(), "{tool}.{name} has no single type: {property:#}");
            assert!(property["description"].as_str().is_some_and(|d| d.len() > 10), "{tool}.{name}");
        }
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{tool}: {e}"));
    }
}

#[test]
fn schemas_say_what_is_required_and_the_defaults() {
    let start = schema::<StartArgs>();
    assert_eq!(start["required"], json!(["name"]));
    let ready = &start["properties"]["ready"];
    assert_eq!(ready["type"], "object", "{ready:#}");
    assert_eq!(ready["properties"]["tcp"]["type"], "string", "{ready:#}");
    assert_eq!(ready["properties"]["notify"]["type"], "boolean", "{ready:#}");
    assert_eq!(start["properties"]["env"]["type"], "object");
    assert_eq!(start["properties"]["replace"]["default"], false);
    let up = schema::<UpArgs>();
    assert!(up.get("required").is_none(), "{up:#}");
    assert_eq!(up["properties"]["wait"]["default"], true);
    assert_eq!(up["properties"]["timeout"]["default"], "30s");
    assert_eq!(up["properties"]["services"]["items"]["type"], "string");
    assert_eq!(schema::<NameArgs>()["required"], json!(["name"]));
    let logs = schema::<LogsArgs>();
    assert_eq!(logs["properties"]["tail"]["default"], 100);
    assert_eq!(logs["properties"]["tail"]["type"], "integer");
    assert_eq!(logs["properties"]["max_bytes"]["default"], 65536);
    let wait = schema::<WaitArgs>();
    assert_eq!(wait["properties"]["until"]["enum"], json!(["ready", "stopped", "completed"]));
    assert_eq!(wait["properties"]["until"]["default"], "ready");
}

#[test]
fn arguments_parse_as_the_schema_says() {
    let args: StartArgs = serde_json::from_value(json!({
        "name": "srv", "command": "exec sleep 9", "env": {"PORT": 3000, "DEBUG": true},
        "ready": {"tcp": "127.0.0.1:3000"}, "replace": true
    }))
    .unwrap();
    assert_eq!(args.name, "srv");
    assert_eq!(args.env.unwrap()["PORT"], 3000);
    assert_eq!(args.ready.unwrap().tcp.as_deref(), Some("127.0.0.1:3000"));
    let none: UpArgs = serde_json::from_value(json!({"services": null})).unwrap();
    assert!(none.services.is_none() && none.wait.is_none());
    assert!(serde_json::from_value::<NameArgs>(json!({})).is_err());
    assert!(serde_json::from_value::<PsArgs>(json!({"service": ["web"]})).is_err());
    let old: LogsArgs = serde_json::from_value(json!({"lines": 5})).unwrap();
    assert_eq!(old.tail, Some(5), "`lines` is still read, as `tail`");
    let wait: WaitArgs = serde_json::from_value(json!({"until": "completed"})).unwrap();
    assert_eq!(wait.until, Some(Until::Completed));
}

#[test]
fn bad_arguments_are_said_in_plain_words_naming_the_argument() {
    let said = |tool: &str, args: Value| check(tool, args.as_object()).unwrap_err();
    assert_eq!(said("logs", json!({"tail": "ten"})), "tail: expected a whole number (0 or more), got string \"ten\"");
    assert_eq!(said("logs", json!({"tail": -1})), "tail: expected a whole number (0 or more), got integer `-1`");
    assert_eq!(said("up", json!({"wait": "yes"})), "wait: expected true or false, got string \"yes\"");
    assert_eq!(said("up", json!({"services": 3})), "services: expected a list, got integer `3`");
    assert_eq!(said("up", json!({"services": [1]})), "services[0]: expected a string, got integer `1`");
    assert_eq!(said("stop", json!({})), "the argument `name` is missing");
    assert!(
        said("ps", json!({"service": ["web"]}))
            .starts_with("there is no argument `service`; the arguments are `services`")
    );
    assert_eq!(
        said("stop", json!({"name": "../x"})),
        "name: \"../x\" is not a service name (a name is letters, digits, `-` and `_`)"
    );
    assert!(said("down", json!({"services": ["ok", "a/b"]})).starts_with("services: \"a/b\""));
    assert!(
        said("wait", json!({"until": "done"})).starts_with("until: `done` is not one of `ready`"),
        "{}",
        said("wait", json!({"until": "done"}))
    );
    assert!(check("logs", json!({"tail": 5, "service": "web"}).as_object()).is_ok());
    assert!(check("explode", None).is_ok());
    assert!(check("ps", None).is_ok());
}
