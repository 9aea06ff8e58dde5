//! `${VAR}` expansion in env values, `cwd`, `env_file` and ready targets (never in `cmd`), as
//! docker compose does it:
//!
//! - `${VAR}`: the value, or empty (and VAR is reported as unset);
//! - `${VAR:-default}`: the default when VAR is unset or empty; `${VAR-default}` only when unset;
//! - `${VAR:+alt}`: alt when VAR is set and not empty, else empty; `${VAR+alt}` when VAR is set;
//! - `${VAR:?message}`: an error with the message when VAR is unset or empty; `${VAR?message}`
//!   only when unset;
//! - a default, alt or message may itself hold `${…}` and `$$`; it is expanded only when it is
//!   used, and braces in it pair up (`${JSON:-{"a":1}}`);
//! - `$$`: a literal `$`;
//! - a `$` followed by anything else is kept as it is, so `$HOME` reaches the shell untouched
//!   (compose expands `$VAR` too; orch leaves it to the shell, on purpose);
//! - anything else inside `${…}` (`${VAR:=x}`, `${VAR#x}`, `${#VAR}`) is an error, never a
//!   silently wrong value.
//!
//! What an expansion may produce is bounded by the caller (`max_len`), so that a chain of
//! values each doubling the one before fails at once instead of taking all the memory there is.

/// How deep `${…}` may nest inside defaults: enough for any real file, and a bound on the
/// recursion that a hostile one could ask for.
pub(super) const MAX_DEPTH: usize = 16;

/// Unset names kept per expansion: a warning each is useful, ten thousand are not.
const MAX_UNSET: usize = 16;

/// The forms orch understands, for error messages.
pub(super) const FORMS: &str =
    "${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}, ${VAR:?message}, ${VAR?message}, and $$ for a $";

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Expanded {
    pub(crate) value: String,
    /// Names looked up that had no value and no default (at most 16, each once).
    pub(crate) unset: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct ExpandError {
    /// Byte offset in the input where the `${` of the failing reference starts.
    pub(crate) offset: usize,
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorKind {
    /// Not a reference orch can expand.
    Syntax,
    /// `${VAR:?message}` or `${VAR?message}` with VAR missing.
    Required,
    /// The value would pass `max_len`.
    TooLong,
}

pub(super) fn expand(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
    max_len: usize,
) -> Result<Expanded, ExpandError> {
    let mut expander = Expander { lookup: &lookup, max_len, unset: Vec::new() };
    let mut value = String::with_capacity(input.len().min(max_len));
    expander.expand_into(input, 0, 0, &mut value)?;
    Ok(Expanded { value, unset: expander.unset })
}

struct Expander<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    max_len: usize,
    unset: Vec<String>,
}

impl Expander<'_> {
    /// Appends `text`, found at byte `base` of the input, to `out`, expanded.
    fn expand_into(&mut self, text: &str, base: usize, depth: usize, out: &mut String) -> Result<(), ExpandError> {
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let offset = base + (text.len() - rest.len()) + i;
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if after.starts_with('{') {
                let close = closing_brace(after).ok_or_else(|| syntax(offset, "`${` is not closed by `}`".into()))?;
                self.reference(&after[1..close], offset, depth, out)?;
                rest = &after[close + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(())
    }

    /// Expands the body of one `${…}` found at `offset` into `out`.
    fn reference(&mut self, body: &str, offset: usize, depth: usize, out: &mut String) -> Result<(), ExpandError> {
        if depth >= MAX_DEPTH {
            return Err(syntax(offset, format!("`${{…}}` is nested more than {MAX_DEPTH} deep")));
        }
        let (name, form, word) = split_reference(body).map_err(|message| syntax(offset, message))?;
        // Where the word starts in the input: after `${`, the name and the operator.
        let word_base = offset + 2 + (body.len() - word.len());
        let found = (self.lookup)(name);
        match form {
            None => match found {
                Some(value) => out.push_str(&value),
                None if self.unset.len() < MAX_UNSET && !self.unset.iter().any(|u| u == name) => {
                    self.unset.push(name.to_owned());
                }
                None => {}
            },
            Some((operator, colon)) => {
                // With `:`, an empty value counts as missing.
                let missing = found.as_deref().is_none_or(|v| colon && v.is_empty());
                match (operator, missing) {
                    (Operator::Default, true) | (Operator::Alternative, false) => {
                        self.expand_into(word, word_base, depth + 1, out)?;
                    }
                    (Operator::Default | Operator::Required, false) => {
                        out.push_str(found.as_deref().unwrap_or_default());
                    }
                    (Operator::Alternative, true) => {}
                    (Operator::Required, true) => {
                        return Err(self.required(name, found.is_some(), word, offset, word_base, depth));
                    }
                }
            }
        }
        if out.len() > self.max_len {
            return Err(ExpandError {
                offset,
                kind: ErrorKind::TooLong,
                message: format!("the value would be longer than {} bytes", self.max_len),
            });
        }
        Ok(())
    }

    /// The error of `${VAR:?message}` at `offset`, its message expanded as compose does.
    fn required(
        &mut self,
        name: &str,
        set: bool,
        word: &str,
        offset: usize,
        word_base: usize,
        depth: usize,
    ) -> ExpandError {
        let mut message = String::new();
        if let Err(e) = self.expand_into(word, word_base, depth + 1, &mut message) {
            return e;
        }
        let state = if set { "empty" } else { "not set" };
        let message = match message.trim() {
            "" => format!("required variable `{name}` is {state}"),
            text => format!("required variable `{name}` is {state}: {text}"),
        };
        ExpandError { offset, kind: ErrorKind::Required, message }
    }
}

fn syntax(offset: usize, message: String) -> ExpandError {
    ExpandError { offset, kind: ErrorKind::Syntax, message }
}

/// The index of the `}` that closes the `{` at the start of `text`: braces pair up inside
/// (`${JSON:-{"a":1}}`), and `$$` is an escaped `$`, never half of a `${`.
fn closing_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// What follows the name: a default, an alternative, or a required variable's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Default,
    Alternative,
    Required,
}

/// The operators, each with whether it has the `:` (an empty value counts as missing);
/// the two-character ones first, so `:-` is not read as `:` then `-`.
const OPERATORS: [(&str, Operator, bool); 6] = [
    (":-", Operator::Default, true),
    (":+", Operator::Alternative, true),
    (":?", Operator::Required, true),
    ("-", Operator::Default, false),
    ("+", Operator::Alternative, false),
    ("?", Operator::Required, false),
];

type Reference<'a> = (&'a str, Option<(Operator, bool)>, &'a str);

/// `NAME`, `NAME<op>word` or `service.port`, as (name, operator, word).
fn split_reference(body: &str) -> Result<Reference<'_>, String> {
    // `${web.port}` (a service's port, or `${web.2.port}` a replica's); service names may hold
    // `-`, which would otherwise read as `${VAR-default}`.
    let port_ref = body.strip_suffix(".port").is_some_and(|svc| {
        !svc.is_empty() && svc.split('.').all(|part| !part.is_empty() && part.chars().all(is_service_char))
    });
    if port_ref {
        return Ok((body, None, ""));
    }
    let name_end = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let (name, rest) = body.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`${{{}}}` does not start with a variable name", shown(body)));
    }
    if rest.is_empty() {
        return Ok((name, None, ""));
    }
    for (text, operator, colon) in OPERATORS {
        if let Some(word) = rest.strip_prefix(text) {
            return Ok((name, Some((operator, colon)), word));
        }
    }
    let what: String = rest.chars().take(2).collect();
    Err(format!("`${{{}}}`: `{what}` after the name is not something orch expands", shown(body)))
}

/// A reference as quoted in a message: cut when long, so a huge value makes a short message.
fn shown(body: &str) -> String {
    const MAX: usize = 40;
    match body.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_service_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn ok(input: &str) -> String {
        expand(input, env, LIMIT).expect(input).value
    }

    #[test]
    fn expands_braced_names_only() {
        assert_eq!(ok("${HOST}:5432"), "db.local:5432");
        assert_eq!(ok("$HOST"), "$HOST");
        assert_eq!(ok("cost $5 and $"), "cost $5 and $");
        assert_eq!(ok("a$$b$${HOST}"), "a$b${HOST}");
    }

    #[test]
    fn defaults_follow_the_shell() {
        assert_eq!(ok("${NOPE:-x}"), "x");
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${EMPTY-x}"), "");
        assert_eq!(ok("${NOPE-x}"), "x");
        assert_eq!(ok("${HOST:-x}"), "db.local");
        assert_eq!(ok("${NOPE:-}"), "");
    }

    #[test]
    fn reports_unset_names_once_each() {
        let e = expand("${A}${HOST}${B}${A}", env, LIMIT).unwrap();
        assert_eq!(e.value, "db.local");
        assert_eq!(e.unset, ["A", "B"]);
        let many: String = (0..100).map(|i| format!("${{V{i}}}")).collect();
        assert_eq!(expand(&many, env, LIMIT).unwrap().unset.len(), MAX_UNSET);
    }

    #[test]
    fn service_port_references() {
        let ports = |name: &str| (name == "my-web.port").then(|| "4000".to_owned());
        assert_eq!(expand("http://127.0.0.1:${my-web.port}/", ports, LIMIT).unwrap().value, "http://127.0.0.1:4000/");
        assert_eq!(expand("${other.port}", ports, LIMIT).unwrap().unset, ["other.port"]);
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(expand("ab${HOST", env, LIMIT).unwrap_err().offset, 2);
        assert!(expand("${}", env, LIMIT).is_err());
        assert!(expand("${1X}", env, LIMIT).is_err());
        assert!(expand("${A B}", env, LIMIT).is_err());
    }

    /// The mapping of compose-go's template tests: FOO is "first", BAR is set and empty, JSON
    /// holds braces, everything else is unset.
    fn compose(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("first".into()),
            "BAR" => Some(String::new()),
            "JSON" => Some(r#"{"json":2}"#.into()),
            _ => None,
        }
    }

    /// compose-go's template cases that hold for orch, as (template, result). Its cases for
    /// `$FOO` without braces are left out: orch keeps those for the shell.
    #[test]
    fn compose_template_cases() {
        let cases = [
            // Escapes and text without references.
            ("$${foo}", "${foo}"),
            ("foo", "foo"),
            ("a $ string", "a $ string"),
            ("^REGEX$", "^REGEX$"),
            ("$}", "$}"),
            ("$", "$"),
            // Unset or empty, without a default: empty.
            ("This ${missing} var", "This  var"),
            ("This ${BAR} var", "This  var"),
            ("This ${FOO} var", "This first var"),
            // Defaults.
            ("ok ${missing:-def}", "ok def"),
            ("ok ${missing-def}", "ok def"),
            ("ok ${BAR:-def}", "ok def"),
            ("ok ${FOO:-def}", "ok first"),
            ("ok ${BAR-def}", "ok "),
            ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
            // Alternatives.
            ("ok ${UNSET_VAR:+presence_value}", "ok "),
            ("ok ${UNSET_VAR+presence_value}", "ok "),
            ("ok ${FOO:+presence_value}", "ok presence_value"),
            ("ok ${FOO+presence_value}", "ok presence_value"),
            ("ok ${BAR+presence_value}", "ok presence_value"),
            ("ok ${BAR:+presence_value}", "ok "),
            // Text around a reference is not part of it.
            ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
            ("-ok ${FOO:-defaultValue}", "-ok first"),
            (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            (":-ok ${BAR-defaultValue}", ":-ok "),
            (":?ok ${BAR-defaultValue}", ":?ok "),
            (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ("+ok ${BAR-defaultValue}", "+ok "),
            ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            // Nested references in defaults and alternatives.
            ("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR:-${FOO}}", "ok first"),
            ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR+${FOO} ${FOO:+second}}", "ok first second"),
            ("${A:+${A},}B", "B"),
            // Required variables that are there.
            ("ok ${FOO:?err}", "ok first"),
            ("ok ${FOO?err}", "ok first"),
            ("ok ${BAR?err}", "ok "),
            ("ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first"),
            // The first operator decides; the rest is the word.
            ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
            ("${FOO?bar-baz}", "first"),
            ("${BAR:-default_value_for_empty_var}", "default_value_for_empty_var"),
            ("${UNSET_VAR-default_value_for_unset_var}", "default_value_for_unset_var"),
            ("${UNSET:-va:?lu:-e}", "va:?lu:-e"),
            ("${FOO:+va:?lu:-e}", "va:?lu:-e"),
            ("${UNSET-va+lu?e}", "va+lu?e"),
            ("${FOO+va-lu?e}", "va-lu?e"),
            // Braces in a default pair up, whether the default is used or not.
            (r#"ok ${missing:-{"json":1}}"#, r#"ok {"json":1}"#),
            (r#"ok ${missing-{"json":1}}"#, r#"ok {"json":1}"#),
            (r#"ok ${JSON:-{"json":1}}"#, r#"ok {"json":2}"#),
            (r#"ok ${JSON-{"json":1}}"#, r#"ok {"json":2}"#),
        ];
        for (template, expected) in cases {
            let got = expand(template, compose, LIMIT).map(|e| e.value);
            assert_eq!(got.as_deref(), Ok(expected), "{template}");
        }
    }

    #[test]
    fn compose_required_cases() {
        let cases = [
            (
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                "required variable `UNSET_VAR` is not set: Mandatory Variable Unset",
            ),
            ("not ok ${BAR:?Mandatory Variable Empty}", "required variable `BAR` is empty: Mandatory Variable Empty"),
            ("not ok ${UNSET_VAR:?}", "required variable `UNSET_VAR` is not set"),
            (
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                "required variable `UNSET_VAR` is not set: Mandatory Variable Unset",
            ),
            ("not ok ${UNSET_VAR?}", "required variable `UNSET_VAR` is not set"),
            ("${UNSET_VAR?bar-baz}", "required variable `UNSET_VAR` is not set: bar-baz"),
            (
                "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
                "required variable `UNSET_VAR` is not set: Mandatory Variable first",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
                "required variable `UNSET_VAR` is not set: Mandatory Variable first",
            ),
        ];
        for (template, message) in cases {
            let e = expand(template, compose, LIMIT).unwrap_err();
            assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Required, message), "{template}");
            assert!(template[e.offset..].starts_with("${UNSET_VAR") || template[e.offset..].starts_with("${BAR"));
        }
    }

    #[test]
    fn compose_invalid_cases() {
        for template in ["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"] {
            let e = expand(template, compose, LIMIT).unwrap_err();
            assert_eq!((e.kind, e.offset), (ErrorKind::Syntax, 0), "{template}");
        }
    }

    /// Defaults, alternatives and messages are looked at only when used: what they would have
    /// said about unset names is not said.
    #[test]
    fn unused_words_are_not_expanded() {
        let e = expand("${A:+${A},}B", compose, LIMIT).unwrap();
        assert!(e.unset.is_empty());
        let e = expand("${A:-${B}}", compose, LIMIT).unwrap();
        assert_eq!(e.unset, ["B"]);
        let e = expand("${FOO?${B}}${FOO:-${C:?never}}", compose, LIMIT).unwrap();
        assert_eq!((e.value.as_str(), e.unset.len()), ("firstfirst", 0));
    }

    /// Issue 10's own inputs.
    #[test]
    fn nested_defaults_and_braces_in_defaults() {
        let env = |name: &str| (name == "JSON").then(|| "x".to_owned());
        let got = |t: &str| expand(t, env, LIMIT).unwrap().value;
        assert_eq!(got("${PORT:-${DEFAULT_PORT:-8080}}"), "8080");
        assert_eq!(got(r#"${JSON:-{"a":1}}"#), "x");
        assert_eq!(got(r#"${NOPE:-{"a":1}}"#), r#"{"a":1}"#);
        assert_eq!(got("${NOPE:-a$$b}"), "a$b");
        assert_eq!(got("${NOPE:-$${JSON}}"), "${JSON}");
        assert_eq!(got("${NOPE:-${JSON}$$}"), "x$");
    }

    #[test]
    fn what_orch_does_not_expand_is_an_error_at_the_reference() {
        for (template, says) in [
            ("a ${VAR:=x}", "`:=` after the name"),
            ("a ${VAR#prefix}", "`#p` after the name"),
            ("a ${VAR/x/y}", "`/x` after the name"),
            ("a ${VAR:1}", "`:1` after the name"),
            ("a ${#VAR}", "does not start with a variable name"),
            ("a ${NOPE:-${VAR^^}}", "`^^` after the name"),
        ] {
            let e = expand(template, compose, LIMIT).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Syntax, "{template}");
            assert!(e.message.contains(says), "{template}: {}", e.message);
            assert!(template[e.offset..].starts_with("${"), "{template}: {}", e.offset);
        }
    }

    #[test]
    fn output_is_bounded() {
        let big = |name: &str| (name == "A").then(|| "a".repeat(600));
        let e = expand("${A}${A}", big, 1000).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::TooLong, 4));
        assert_eq!(expand("${A}", big, 1000).unwrap().value.len(), 600);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "${N:-".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        assert_eq!(expand(&deep, compose, LIMIT).unwrap_err().kind, ErrorKind::Syntax);
        let fine = format!("{}x{}", "${N:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(expand(&fine, compose, LIMIT).unwrap().value, "x");
    }
}
