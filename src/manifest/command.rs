//! A service's command: a string runs under `sh -c`, an array is exec'd as argv.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Command {
    Shell(String),
    Argv(Vec<String>),
}

/// First words after which `exec` would break the command or change its meaning.
/// (`exec` itself: the command already replaces the shell.)
const NOT_EXECABLE: [&str; 23] = [
    "exec", "if", "then", "case", "for", "while", "until", "do", "time", "{", "!", "(", "cd", "export", "set", "unset",
    ".", "source", "eval", "exit", "return", "alias", "read",
];

impl Command {
    /// A string, run under `sh -c`.
    pub fn is_shell(&self) -> bool {
        matches!(self, Command::Shell(_))
    }

    /// The argv to exec. A string runs as `sh -c "exec CMD"` when CMD is a simple command (no
    /// `;`, `&`, `|`, newline, subshell or backquote, and not a shell keyword or builtin), so
    /// the stop signal reaches the real program and not only the shell; else as `sh -c CMD`.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Argv(argv) => argv.clone(),
            Command::Shell(script) => {
                let script = if is_simple(script) { format!("exec {}", script.trim()) } else { script.clone() };
                vec!["sh".into(), "-c".into(), script]
            }
        }
    }
}

fn is_simple(script: &str) -> bool {
    let first = script.split_whitespace().next().unwrap_or_default();
    !script.contains([';', '&', '|', '\n', '(', ')', '`']) && !NOT_EXECABLE.contains(&first)
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Shell(s) => f.write_str(s),
            Command::Argv(argv) => f.write_str(&argv.join(" ")),
        }
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command: a string for `sh -c`, or an array of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                Ok(Command::Shell(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                match argv.first() {
                    None => Err(de::Error::custom("the command is empty")),
                    Some(program) if program.trim().is_empty() => {
                        Err(de::Error::custom("the program (first element) is empty"))
                    }
                    Some(_) => Ok(Command::Argv(argv)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Command {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Command".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "A string runs under `sh -c`; an array is exec'd as argv", "oneOf": [ { "type": "string", "minLength": 1 }, { "type": "array", "items": { "type": "string" }, "minItems": 1 } ] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(s: &str) -> String {
        Command::Shell(s.into()).argv().join(" ")
    }

    #[test]
    fn simple_commands_are_execed() {
        assert_eq!(shell("sleep 10"), "sh -c exec sleep 10");
        assert_eq!(shell("PORT=1 server > out.log"), "sh -c exec PORT=1 server > out.log");
        assert_eq!(shell("exec sleep 1"), "sh -c exec sleep 1");
    }

    #[test]
    fn compound_commands_run_as_scripts() {
        assert_eq!(shell("a; b"), "sh -c a; b");
        assert_eq!(shell("a && b"), "sh -c a && b");
        assert_eq!(shell("a | b"), "sh -c a | b");
        assert_eq!(shell("while true; do x; done"), "sh -c while true; do x; done");
        assert_eq!(shell("cd web"), "sh -c cd web");
        assert_eq!(shell("(a)"), "sh -c (a)");
    }

    #[test]
    fn argv_is_kept() {
        assert_eq!(Command::Argv(vec!["a".into(), "b c".into()]).argv(), ["a", "b c"]);
    }
}
