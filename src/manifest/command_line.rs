//! A service's command line (`cmd`, and `exec` readiness checks): a string runs under `sh -c`,
//! an array is exec'd as argv. (Named so, not `Command`, to be told from std's and from clap's
//! verbs.)

use std::fmt;
use std::path::PathBuf;

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

/// The shell a string runs under, by its path: POSIX puts `sh` there, and a lookup along PATH
/// would cost a failed exec for each folder before it.
pub(crate) const SHELL: &str = "/bin/sh";

impl CommandLine {
    /// A string, run under `sh -c`.
    pub(crate) fn is_shell(&self) -> bool {
        matches!(self, CommandLine::Shell(_))
    }

    /// The words to exec with no shell at all: an array as it is, or a string with no shell
    /// syntax, split as `sh` would split it (see [`plain_words`]). None when only a shell can
    /// run it.
    pub(crate) fn words(&self) -> Option<Vec<String>> {
        match self {
            CommandLine::Argv(argv) => Some(argv.clone()),
            CommandLine::Shell(script) => {
                let words = plain_words(script)?;
                let first = words.first()?;
                (!NOT_EXECABLE.contains(&first.as_str()) && !first.contains('=')).then_some(words)
            }
        }
    }

    /// The file to exec and the argv it gets: the command's own words when it needs no shell
    /// and `find` finds its program (an array always runs so: std then looks for its program
    /// and tells it is missing), else `/bin/sh -c` with [`CommandLine::argv`]. A string whose
    /// program is not found runs under the shell, so it fails as it always did, with sh's own
    /// `not found` line and exit 127.
    pub(crate) fn exec_with(&self, find: impl FnOnce(&str) -> Option<PathBuf>) -> (PathBuf, Vec<String>) {
        if let Some(words) = self.words()
            && let Some(program) = words.first()
        {
            match (find(program), self) {
                (Some(found), _) => return (found, words),
                (None, CommandLine::Argv(_)) => return (PathBuf::from(program), words),
                (None, CommandLine::Shell(_)) => {}
            }
        }
        (PathBuf::from(SHELL), self.argv())
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

/// The words of a script that `sh` would run as one simple command with nothing expanded: blanks
/// between words, quotes that only quote (`'…'`, and `"…"` without `$`, backquote or backslash
/// inside), and outside quotes only characters with no meaning to the shell. None for anything
/// else: a variable, a glob, a redirection, a comment, a `~`, an escape, a list or a pipeline.
fn plain_words(script: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' | '"' => {
                let quoted = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        end if end == c => break,
                        '$' | '`' | '\\' if c == '"' => return None,
                        inner => quoted.push(inner),
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || "-_./:=@%+,^".contains(c) => word.get_or_insert_with(String::new).push(c),
            c if !c.is_ascii() && !c.is_whitespace() => word.get_or_insert_with(String::new).push(c),
            _ => return None,
        }
    }
    words.extend(word);
    (!words.is_empty()).then_some(words)
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

    fn words(s: &str) -> Option<Vec<String>> {
        CommandLine::Shell(s.into()).words()
    }

    #[test]
    fn a_string_with_no_shell_syntax_is_split_into_words() {
        assert_eq!(words("sleep 10").unwrap(), ["sleep", "10"]);
        assert_eq!(words("  ./bin/server\t--port=3000  -v ").unwrap(), ["./bin/server", "--port=3000", "-v"]);
        assert_eq!(words("echo 'a b' \"c d\" e'f'g \"\"").unwrap(), ["echo", "a b", "c d", "efg", ""]);
        assert_eq!(words("printf 'it costs $5; `x` \\n'").unwrap(), ["printf", "it costs $5; `x` \\n"]);
        assert_eq!(words("echo héllo").unwrap(), ["echo", "héllo"]);
    }

    #[test]
    fn anything_the_shell_would_expand_or_interpret_keeps_the_shell() {
        for script in [
            "echo $HOME",
            "echo \"$HOME\"",
            "echo \"a\\b\"",
            "ls *.rs",
            "cat x?",
            "ls [ab]",
            "echo ~",
            "server > out.log",
            "server < in",
            "a; b",
            "a && b",
            "a | b",
            "echo `date`",
            "(a)",
            "echo a\\ b",
            "echo 'open",
            "server # a comment",
            "echo {a,b}",
            "a\nb",
            "",
            "   ",
            // The first word: an assignment, a keyword or a builtin that exec would break.
            "PORT=3000 server",
            "cd web",
            "exec sleep 1",
            "if",
        ] {
            assert_eq!(words(script), None, "{script:?}");
        }
    }

    #[test]
    fn what_is_execed_is_the_words_when_found_else_the_shell() {
        let found = |name: &str| Some(PathBuf::from(format!("/usr/bin/{name}")));
        let none = |_: &str| None;
        let plain = CommandLine::Shell("sleep 10".into());
        assert_eq!(plain.exec_with(found), (PathBuf::from("/usr/bin/sleep"), vec!["sleep".into(), "10".into()]));
        let (program, argv) = plain.exec_with(none);
        assert_eq!((program.to_str(), argv.join(" ")), (Some("/bin/sh"), "sh -c exec sleep 10".into()));
        let script = CommandLine::Shell("sleep $T".into());
        assert_eq!(script.exec_with(found).0, PathBuf::from("/bin/sh"));
        let array = CommandLine::Argv(vec!["pg_ctlx".into(), "-D".into()]);
        assert_eq!(array.exec_with(none), (PathBuf::from("pg_ctlx"), vec!["pg_ctlx".into(), "-D".into()]));
    }

    #[test]
    fn an_array_is_its_own_words() {
        let argv = CommandLine::Argv(vec!["a".into(), "$b c".into()]);
        assert_eq!(argv.words().unwrap(), ["a", "$b c"]);
    }

    #[test]
    fn argv_is_kept() {
        assert_eq!(CommandLine::Argv(vec!["a".into(), "b c".into()]).argv(), ["a", "b c"]);
    }
}
