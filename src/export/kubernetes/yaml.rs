//! JSON values as block YAML, for readers of YAML 1.1 as much as of 1.2.
//!
//! Kubernetes reads manifests with a YAML 1.1 parser (go-yaml v2, under kubectl and the API
//! server; PyYAML, under kubernetes-validate), where a plain `on`, `no`, `y`, `1_000` or
//! `2001-12-14` is a boolean, a number or a date. serde_norway and serde_yaml_ng quote by
//! YAML 1.2's rules and write `FLAG: on`, which `kubectl apply` refuses (a ConfigMap's values
//! are strings). So a string is written plain only when it cannot be read as anything else
//! in either version: it starts with a letter or `/`, holds only letters, digits and
//! `. _ / - :` (a `:` never last), and is none of 1.1's words for true, false and null.
//! Every other string is double-quoted, with what YAML could fold or refuse escaped.

use serde_json::Value;

/// YAML 1.1's plain words for booleans and null (compared case-insensitively).
const WORDS: [&str; 9] = ["y", "yes", "n", "no", "true", "false", "on", "off", "null"];

/// One document, without the `---` before it.
pub(super) fn document(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(_) | Value::Array(_) if !is_empty(value) => block(value, 0, &mut out),
        _ => {
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
    out
}

/// A map or a list, each line at `indent`. A list inside a map sits at its key's indent, as
/// kubectl writes it.
fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}:", string(key)));
                nested(item, indent + 2, indent, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                if let Value::Object(_) = item
                    && !is_empty(item)
                {
                    // A map's lines sit 2 further in, its first key on the `-` line.
                    let mut entry = String::new();
                    block(item, indent + 2, &mut entry);
                    out.push_str(&entry[indent + 1..]);
                } else {
                    nested(item, indent + 2, indent + 2, out);
                }
            }
        }
        _ => {}
    }
}

/// What follows `key:` (or `-`): ` scalar` on the line, or the block on the next lines.
fn nested(value: &Value, map_indent: usize, list_indent: usize, out: &mut String) {
    match value {
        Value::Object(_) if !is_empty(value) => {
            out.push('\n');
            block(value, map_indent, out);
        }
        Value::Array(_) if !is_empty(value) => {
            out.push('\n');
            block(value, list_indent, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
    }
}

/// A string plain when no YAML reader can take it for anything else, else double-quoted.
fn string(text: &str) -> String {
    if is_plain(text) { text.to_owned() } else { quoted(text) }
}

fn is_plain(text: &str) -> bool {
    // `-c` as an argument is plain; `-1` is a number, `- x` an entry, `--` left quoted.
    let option = text.strip_prefix('-').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()));
    let starts_well = option || text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
    let chars_plain = text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-' | ':'));
    starts_well && chars_plain && !text.ends_with(':') && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(text))
}

/// A double-quoted scalar: `"` and `\` escaped, and every character YAML 1.1 would fold (its
/// line breaks U+0085, U+2028, U+2029) or does not allow (controls, U+FEFF, U+FFFE/F) as an
/// escape; other characters as they are.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..
                if !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.push(c);
            }
            '\u{0}'..='\u{ffff}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            _ => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for text in [
            "on",
            "No",
            "Y",
            "true",
            "null",
            "~",
            "8080",
            "0755",
            "1_000",
            "12:30",
            "2001-12-14",
            ".inf",
            "<<",
            "=",
            "-1",
            "--",
            "-.inf",
        ] {
            assert!(string(text).starts_with('"'), "{text}");
        }
        for text in
            ["ghcr.io/acme/web:1", "/health", "app.kubernetes.io/name", "RollingUpdate", "orch-app-web-env", "-c"]
        {
            assert_eq!(string(text), text);
        }
        assert_eq!(string("a: b"), "\"a: b\"");
        assert_eq!(string("say \"hi\"\\\n"), r#""say \"hi\"\\\n""#);
        assert_eq!(string("\u{7}é\u{2028}"), "\"\\u0007é\\u2028\"");
    }

    #[test]
    fn blocks_as_kubectl_writes_them() {
        let value = json!({
            "kind": "Deployment",
            "spec": { "containers": [{ "name": "web", "command": ["sh", "-c", "exec web"], "ports": [] }] },
            "data": {},
            "list": [["a"], 1, { "b": { "c": null } }],
        });
        let expected = "kind: Deployment\nspec:\n  containers:\n  - name: web\n    command:\n    - sh\n    - -c\n    - \"exec web\"\n    ports: []\ndata: {}\nlist:\n-\n  - a\n- 1\n- b:\n    c: null\n";
        assert_eq!(document(&value), expected);
    }

    /// What is written reads back (by a YAML 1.2 reader) as the value it was made from.
    #[test]
    fn it_reads_back() {
        let value = json!({
            "strings": ["-c", "-", "--", "---", "-1", "on", "0755", "a: b", "# no", "- x", "'", "\"", "\\", "tab\there", "line\nbreak", "é ü", "\u{85}\u{2028}\u{feff}", "", " lead", "trail ", "x:", "@a", "%b", "!c", "&d", "*e", "|f", ">g", "{h}", "[i]", "j,k", "`l`"],
            "nested": [{ "a": [{ "b": [] }, {}] }, [[]], [1, [2, [3]]]],
            "numbers": [0, -1, 2.5],
            "keys": { "on": 1, "a b": 2, "": 3 },
        });
        let text = document(&value);
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }
}
