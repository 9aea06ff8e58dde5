//! A service's command line (`cmd`, and `exec` readiness checks): a string runs under `sh -c`,
//! an array is exec'd as argv. (Named so, not `Command`, to be told from std's and from clap's
//! verbs.)

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub(crate) enum CommandLine {
    Shell(String),
    Argv(Vec<String>),
}

/// First words after which `exec` would break the command or change its meaning.
/// (`exec` itself: the command already replaces the shell.)
const NOT_EXECABLE: [&str; 23] = [
    "exec", "if", "then", "case", "for", "while", "until", "do", "time", "{", "!", "(", "cd", "export", "set", "unset",
    ".", "source", "eval", "exit", "return", "alias", "read",
];

impl CommandLine {
    /// A string, run under `sh -c`.
    pub(crate) fn is_shell(&self) -> bool {
        matches!(self, CommandLine::Shell(_))
    }

    /// The argv to exec. A string runs as `sh -c "exec CMD"` when CMD is a simple command (no
    /// `;`, `&`, `|`, newline, subshell or backquote, and not a shell keyword or builtin), so
    /// the stop signal reaches the real program and not only the shell; else as `sh -c CMD`.
    /// Leading `VAR=value` words stay in front of `exec` (`PORT=3000 exec bundle …`), where the
    /// shell reads them as assignments for the program, as foreman and honcho run such lines.
    pub(crate) fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Argv(argv) => argv.clone(),
            CommandLine::Shell(script) => {
                vec!["sh".into(), "-c".into(), exec_form(script).unwrap_or_else(|| script.clone())]
            }
        }
    }
}

/// The script with `exec` in front of its program, when that keeps its meaning.
fn exec_form(script: &str) -> Option<String> {
    if script.contains([';', '&', '|', '\n', '(', ')', '`']) {
        return None;
    }
    let (assignments, command) = leading_assignments(script.trim());
    let program = command.split_whitespace().next()?;
    if NOT_EXECABLE.contains(&program) {
        return None;
    }
    Some(if assignments.is_empty() { format!("exec {command}") } else { format!("{assignments} exec {command}") })
}

/// Splits `A=1 B="x y" prog args` into `A=1 B="x y"` and `prog args`.
fn leading_assignments(script: &str) -> (&str, &str) {
    let (mut end, mut next) = (0, 0);
    while let Some(len) = assignment_word(&script[next..]) {
        end = next + len;
        next = script.len() - script[end..].trim_start_matches([' ', '\t']).len();
    }
    (&script[..end], &script[next..])
}

/// The length of the `NAME=value` word at the start of `text`, the value read as the shell
/// reads a word (quotes and backslashes), or None when the word is no assignment.
fn assignment_word(text: &str) -> Option<usize> {
    let name_len = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    if name_len == 0 || text.starts_with(|c: char| c.is_ascii_digit()) || !text[name_len..].starts_with('=') {
        return None;
    }
    let value_start = name_len + 1;
    let mut quote = None;
    let mut chars = text[value_start..].char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t') => return Some(value_start + i),
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            (None | Some('"'), '\\') => {
                chars.next();
            }
            _ => {}
        }
    }
    quote.is_none().then_some(text.len())
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandLine::Shell(s) => f.write_str(s),
            CommandLine::Argv(argv) => f.write_str(&argv.join(" ")),
        }
    }
}

/// A process's arguments end at their first NUL, so a command holding one could never run.
const NUL: &str = "the command holds a NUL character; remove it: a process's arguments end at their first NUL";

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CommandLine;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command: a string for `sh -c`, or an array of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                if v.contains('\0') {
                    return Err(E::custom(NUL));
                }
                Ok(CommandLine::Shell(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                match argv.first() {
                    _ if argv.iter().any(|a| a.contains('\0')) => Err(de::Error::custom(NUL)),
                    None => Err(de::Error::custom("the command is empty")),
                    Some(program) if program.trim().is_empty() => {
                        Err(de::Error::custom("the program (first element) is empty"))
                    }
                    Some(_) => Ok(CommandLine::Argv(argv)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for CommandLine {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        // The schema's name for it, as published in procs.schema.json.
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
        CommandLine::Shell(s.into()).argv().join(" ")
    }

    #[test]
    fn simple_commands_are_execed() {
        assert_eq!(shell("sleep 10"), "sh -c exec sleep 10");
        assert_eq!(shell("exec sleep 1"), "sh -c exec sleep 1");
    }

    #[test]
    fn leading_assignments_stay_in_front_of_exec() {
        assert_eq!(shell("PORT=3000 bundle exec puma"), "sh -c PORT=3000 exec bundle exec puma");
        assert_eq!(shell("PORT=1 server > out.log"), "sh -c PORT=1 exec server > out.log");
        assert_eq!(shell("A='x y' B=\"a \\\" b\" C=\\  prog -v"), "sh -c A='x y' B=\"a \\\" b\" C=\\  exec prog -v");
        assert_eq!(shell("  RAILS_ENV=dev\tx  "), "sh -c RAILS_ENV=dev exec x");
        assert_eq!(shell("A=1 exec prog"), "sh -c A=1 exec prog");
        // Only assignments, or a builtin after them: run as written.
        assert_eq!(shell("A=1 B=2"), "sh -c A=1 B=2");
        assert_eq!(shell("A=1 cd web"), "sh -c A=1 cd web");
        // Not assignments: `=` after a word that is no name, or in a later word.
        assert_eq!(shell("1A=x prog"), "sh -c exec 1A=x prog");
        assert_eq!(shell("prog A=1"), "sh -c exec prog A=1");
        assert_eq!(shell("A='open prog"), "sh -c exec A='open prog");
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
    fn a_nul_in_a_command_is_refused() {
        let read = |toml: &str| toml::from_str::<std::collections::HashMap<String, CommandLine>>(toml).map(drop);
        assert!(read("cmd = \"a\\u0000b\"").unwrap_err().message().contains("NUL"));
        assert!(read("cmd = [\"a\", \"\\u0000\"]").unwrap_err().message().contains("NUL"));
        assert!(read("cmd = \"ab\"").is_ok());
    }

    #[test]
    fn argv_is_kept() {
        assert_eq!(CommandLine::Argv(vec!["a".into(), "b c".into()]).argv(), ["a", "b c"]);
    }
}
