//! Property tests: the parsers never panic on any text, `load` never panics on any procs.toml,
//! and the dependency graph's orders respect every edge (or name a real cycle).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::select;

use crate::graph::{Graph, GraphError};
use crate::manifest::{LoadOptions, Problem, dotenv, interpolate, load, procfile};

// ---------------------------------------------------------------------------------------------
// Text strategies

/// Arbitrary text, leaning on the characters the parsers care about.
fn tricky_text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => any::<char>(),
        3 => prop::char::range('a', 'z'),
        1 => prop::char::range('A', 'Z'),
        1 => prop::char::range('0', '9'),
        6 => select(vec![
            '\r', '\n', '\t', ' ', '$', '{', '}', '"', '\'', '\\', '#', '=', ':', '-', '_', '.',
            '\u{0}', '\u{a0}', '\u{2028}', 'é', '😀',
        ]),
    ];
    prop::collection::vec(ch, 0..80).prop_map(String::from_iter)
}

/// Text made of lines that look like Procfile, `.env` or `${}` syntax, glued with random line
/// endings, so the parsers get deep into their branches.
fn line_shaped_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("web: ./run".to_owned()),
        Just("web:cmd".to_owned()),
        Just("  indented: x".to_owned()),
        Just("# comment".to_owned()),
        Just(String::new()),
        Just("export FOO=bar".to_owned()),
        Just("FOO = bar # c".to_owned()),
        Just("A=\"multi".to_owned()),
        Just("line\"".to_owned()),
        Just("B='lit".to_owned()),
        Just("'".to_owned()),
        Just("C=\"esc \\\" \\n \\$ \\".to_owned()),
        Just("D=${HOME:-x}${".to_owned()),
        Just("E=$${NOPE}".to_owned()),
        Just("nonsense".to_owned()),
        Just("=".to_owned()),
        "[A-Za-z_][A-Za-z0-9_.-]{0,6}[=:][ -~]{0,12}",
        tricky_text(),
    ];
    let ending = select(vec!["\n", "\r\n", "\r", ""]);
    prop::collection::vec((fragment, ending), 0..12)
        .prop_map(|parts| parts.into_iter().map(|(line, end)| line + end).collect::<String>())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), tricky_text(), line_shaped_text()]
}

/// How many lines a `.env` has, each ending at `\n`, `\r\n` or a lone `\r` (a last line
/// without an ending counts too).
fn lines_of(text: &str) -> usize {
    let ends = text.replace("\r\n", "\n").matches(['\n', '\r']).count();
    ends + usize::from(!text.is_empty() && !text.ends_with(['\n', '\r']))
}

/// What an expansion may produce in these tests: far more than any case makes.
const LIMIT: usize = 1 << 20;

fn lookup(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/u".into()),
        "EMPTY" => Some(String::new()),
        "DOLLAR" => Some("$".into()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// (a) The parsers never panic, and what they return is consistent with the text.

proptest! {
    #[test]
    fn procfile_parse_never_panics(text in any_text()) {
        let parsed = procfile::parse(&text);
        let line_count = text.split_inclusive('\n').count();
        let mut last_line = 0;
        let mut names = BTreeSet::new();
        for entry in &parsed.entries {
            prop_assert!(entry.line > last_line && entry.line <= line_count);
            last_line = entry.line;
            prop_assert_eq!(&text[entry.name_span.clone()], entry.name.as_str());
            prop_assert!(!entry.command.is_empty());
            prop_assert!(!entry.command.contains('\n'));
            prop_assert!(names.insert(entry.name.clone()), "duplicate entry {}", entry.name);
        }
        for finding in &parsed.findings {
            match finding {
                procfile::Finding::Skipped { line, span } => {
                    prop_assert!(*line >= 1 && *line <= line_count);
                    prop_assert!(text.get(span.clone()).is_some());
                }
                procfile::Finding::Duplicate { name, line, first_line, span } => {
                    prop_assert!(first_line < line && *line <= line_count);
                    prop_assert_eq!(&text[span.clone()], name.as_str());
                    prop_assert!(names.contains(name));
                }
            }
        }
    }

    #[test]
    fn dotenv_parse_never_panics(text in any_text()) {
        let line_count = lines_of(&text).max(1);
        match dotenv::parse(&text) {
            Ok(entries) => {
                let mut last_line = 0;
                for e in entries {
                    prop_assert!(e.line > last_line && e.line <= line_count, "{e:?}");
                    last_line = e.line;
                    prop_assert!(!e.key.is_empty());
                }
            }
            Err(e) => prop_assert!(e.line >= 1 && e.line <= line_count, "{e:?}"),
        }
    }

    #[test]
    fn interpolate_expand_never_panics(text in any_text()) {
        match interpolate::expand(&text, lookup, LIMIT) {
            Ok(expanded) => {
                for name in &expanded.unset {
                    prop_assert!(lookup(name).is_none());
                }
            }
            Err(e) => {
                prop_assert!(text[e.offset..].starts_with("${"), "{e:?}");
            }
        }
    }

    /// Doubling every `$` is how a value is escaped: it always expands back to itself.
    #[test]
    fn interpolate_doubled_dollars_expand_to_the_original(text in any_text()) {
        let escaped = text.replace('$', "$$");
        let expanded = interpolate::expand(&escaped, lookup, LIMIT).unwrap();
        prop_assert_eq!(expanded.value, text);
        prop_assert!(expanded.unset.is_empty());
    }

    #[test]
    fn interpolate_text_without_braced_references_is_kept(
        text in "[^{]*",
    ) {
        let expanded = interpolate::expand(&text, lookup, LIMIT).unwrap();
        // With no `{`, only `$$` changes: to `$`, read from left to right.
        prop_assert_eq!(expanded.value, text.replace("$$", "$"));
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips through the parsers: what is written the documented way reads back exactly.

fn entry_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,12}"
}

/// A command as foreman keeps it: one line, not starting with whitespace, not ending in `\r`.
fn command() -> impl Strategy<Value = String> {
    "[^\\s][^\n]{0,30}".prop_filter("no trailing CR", |c| !c.ends_with('\r'))
}

fn env_key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,10}"
}

fn double_quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone)]
enum Quoting {
    Bare,
    Single,
    Double,
}

proptest! {
    #[test]
    fn procfile_entries_read_back(
        entries in prop::collection::vec((entry_name(), command(), any::<bool>()), 0..10),
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (name, command, spaced) in &entries {
            let sep = if *spaced { ": " } else { ":" };
            text.push_str(&format!("{name}{sep}{command}{end}"));
        }
        let parsed = procfile::parse(&text);
        let mut expected = Vec::new();
        let mut seen = HashMap::new();
        let mut duplicates = Vec::new();
        for (i, (name, command, _)) in entries.iter().enumerate() {
            match seen.get(name) {
                Some(&first) => duplicates.push((name.clone(), i + 1, first)),
                None => {
                    seen.insert(name.clone(), i + 1);
                    expected.push((name.clone(), command.clone(), i + 1));
                }
            }
        }
        let got: Vec<_> = parsed
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.command.clone(), e.line))
            .collect();
        prop_assert_eq!(got, expected);
        let got_duplicates: Vec<_> = parsed
            .findings
            .iter()
            .map(|f| match f {
                procfile::Finding::Duplicate { name, line, first_line, .. } => {
                    Ok((name.clone(), *line, *first_line))
                }
                other @ procfile::Finding::Skipped { .. } => Err(other.clone()),
            })
            .collect();
        prop_assert_eq!(got_duplicates, duplicates.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn dotenv_entries_read_back(
        entries in prop::collection::vec(
            (
                env_key(),
                prop_oneof![
                    Just(Quoting::Bare),
                    Just(Quoting::Single),
                    Just(Quoting::Double),
                ],
                any::<String>(),
                "[A-Za-z0-9_./:@+,-]{0,16}",
                any::<bool>(),
            ),
            0..8,
        ),
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut line = 1;
        for (key, quoting, free, bare, export) in &entries {
            let prefix = if *export { "export " } else { "" };
            let (written, value, literal) = match quoting {
                Quoting::Bare => (bare.clone(), bare.clone(), false),
                Quoting::Single => {
                    // Anything but a quote, and no `\r` that a CRLF normalisation could eat.
                    let v: String = free.chars().filter(|c| !matches!(c, '\'' | '\r')).collect();
                    (format!("'{v}'"), v, true)
                }
                Quoting::Double => {
                    // A raw CR before a raw LF reads as a CRLF line ending, so the value avoids it.
                    let mut v = free.clone();
                    while v.contains("\r\n") {
                        v = v.replace("\r\n", "\n");
                    }
                    (double_quote(&v), v, false)
                }
            };
            expected.push((key.clone(), value.clone(), literal, line));
            text.push_str(&format!("{prefix}{key}={written}{end}"));
            line += 1 + match quoting {
                Quoting::Single => value.matches('\n').count(),
                _ => 0,
            };
        }
        let got: Vec<_> = dotenv::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e:?}")))?
            .into_iter()
            .map(|e| (e.key, e.value, e.literal, e.line))
            .collect();
        prop_assert_eq!(got, expected, "{:?}", text);
    }

    #[test]
    fn interpolate_substitutes_set_names_and_defaults(
        name in "[A-Za-z_][A-Za-z0-9_]{0,8}",
        value in "[^$]{0,12}",
        // Braces in a default must pair up; an unpaired one is tested elsewhere.
        default in "[^{}$]{0,12}",
        set in any::<bool>(),
    ) {
        let env = |n: &str| (set && n == name).then(|| value.clone());
        let plain = interpolate::expand(&format!("<${{{name}}}>"), env, LIMIT).unwrap();
        let with_default = interpolate::expand(&format!("<${{{name}:-{default}}}>"), env, LIMIT).unwrap();
        if set {
            prop_assert_eq!(plain.value, format!("<{value}>"));
            prop_assert!(plain.unset.is_empty());
            let chosen = if value.is_empty() { &default } else { &value };
            prop_assert_eq!(with_default.value, format!("<{chosen}>"));
        } else {
            prop_assert_eq!(plain.value, "<>");
            prop_assert_eq!(plain.unset, vec![name.clone()]);
            prop_assert_eq!(with_default.value, format!("<{default}>"));
            prop_assert!(with_default.unset.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) `load` never panics on a procs.toml, random or plausible.

/// Service names: mostly valid ones, sometimes one that procs.toml refuses.
fn service_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        40 => select(&["db", "web", "api", "worker", "migrate", "cache", "web-2"][..]),
        1 => select(&["bad name", "x.y", "", "é"][..]),
    ]
}

/// A value right for its key (mostly), or one wrong in some way.
fn pick(good: &'static [&'static str], bad: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop_oneof![24 => select(good), 1 => select(bad)].prop_map(str::to_owned)
}

fn duration_value() -> impl Strategy<Value = String> + Clone {
    pick(
        &["\"250ms\"", "\"10s\"", "\"2m\"", "\"1h 30m\"", "\"0s\"", "\" 5s \"", "\"1ns\""],
        &[
            "\"10\"",
            "\"10x\"",
            "\"\"",
            "\"-1s\"",
            "\"1e3s\"",
            "\"99999999999999999999999s\"",
            "\"18446744073709551615s\"",
            "\"584542046091y\"",
            "10",
            "-3",
            "1.5",
            "true",
            "[\"1s\"]",
        ],
    )
}

fn env_value() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        9 => pick(
            &[
                "\"x\"",
                "\"${HOME}\"",
                "\"${NOPE}\"",
                "\"${NOPE:-d}\"",
                "\"${HOST:-localhost}:${PORT-1}\"",
                "\"$$\"",
                "\"$HOME\"",
                "'${lit}'",
                "\"\"",
                "42",
                "1.5",
                "true",
                "\"\"\"multi\nline\"\"\"",
            ],
            &["\"${\"", "\"${1X}\"", "\"${A B}\"", "[]", "{}"],
        ),
        1 => "[ -~]{0,10}".prop_map(|s| format!("{s:?}")),
    ]
}

fn env_table() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((select(&["A", "B", "PORT", "HOST", "DIR", "F", "_X"][..]), env_value()), 0..4).prop_map(
        |kv| {
            let mut seen = BTreeSet::new();
            kv.into_iter().filter(|(k, _)| seen.insert(*k)).map(|(k, v)| format!("{k} = {v}")).collect()
        },
    )
}

fn condition() -> impl Strategy<Value = String> {
    pick(
        &[
            "\"ready\"",
            "\"started\"",
            "\"completed\"",
            "{ condition = \"ready\", restart = true }",
            "{ condition = \"started\" }",
            "{ restart = true }",
            "{}",
        ],
        &["\"healthy\"", "{ conditon = \"ready\" }", "{ restart = \"yes\" }", "1"],
    )
}

/// A dependency: mostly a service declared before (so most manifests are DAGs), sometimes
/// any of the manifest's services (itself, or one that closes a cycle), rarely any name.
#[derive(Debug, Clone)]
struct DepGen {
    target: prop::sample::Index,
    anywhere: bool,
    stranger: Option<&'static str>,
    condition: String,
}

fn dep_gen() -> impl Strategy<Value = DepGen> {
    (any::<prop::sample::Index>(), prop::bool::weighted(0.1), prop::option::weighted(0.05, service_name()), condition())
        .prop_map(|(target, anywhere, stranger, condition)| DepGen { target, anywhere, stranger, condition })
}

#[derive(Debug, Clone)]
struct ServiceGen {
    name: &'static str,
    cmd: Option<String>,
    /// `depends_on` as a list (`true`) or a table; `None` when absent or malformed.
    deps: Option<(bool, Vec<DepGen>)>,
    /// A malformed `depends_on` value, written as is.
    bad_deps: Option<&'static str>,
    lines: Vec<String>,
}

fn optional_lines() -> impl Strategy<Value = Vec<String>> {
    let line = |key: &'static str, value: BoxedStrategy<String>, weight: f64| {
        prop::option::weighted(weight, value).prop_map(move |v| v.map(|v| format!("{key} = {v}")))
    };
    (
        (
            line(
                "cwd",
                pick(&["\".\"", "\"sub\"", "\"${DIR:-.}\"", "\"/\""], &["\"missing\"", "3", "\"${\""]).boxed(),
                0.2,
            ),
            line("env", env_table().prop_map(|kv| format!("{{ {} }}", kv.join(", "))).boxed(), 0.3),
            line(
                "env_file",
                pick(&["\".env.a\"", "\"${F:-.env.a}\""], &["\".env.missing\"", "\"sub\"", "1"]).boxed(),
                0.2,
            ),
            line(
                "ready",
                pick(
                    &[
                        "{ tcp = \"127.0.0.1:5432\" }",
                        "{ tcp = \"${HOST:-localhost}:${PORT:-80}\" }",
                        "{ http = \"http://127.0.0.1:8080/health\" }",
                        "{ exec = \"pg_isready\" }",
                        "{ exec = [\"true\", \"x\"] }",
                        "{ log = \"listening on \\\\d+\" }",
                        "{ delay = \"2s\" }",
                    ],
                    &[
                        "{ tcp = \"nope\" }",
                        "{ tcp = \":99999\" }",
                        "{ http = \"ftp://x\" }",
                        "{ exec = [] }",
                        "{ log = \"(unclosed\" }",
                        "{ delay = 2 }",
                        "{ notify = true }",
                        "{ tcp = \"a:1\", http = \"http://b\" }",
                        "{ tpc = \"a:1\" }",
                        "{}",
                        "\"tcp\"",
                    ],
                )
                .boxed(),
                0.3,
            ),
            line("ready_timeout", duration_value().boxed(), 0.2),
            line("stop_timeout", duration_value().boxed(), 0.2),
        ),
        (
            line("restart", pick(&["\"no\"", "\"on-failure\"", "\"always\""], &["\"sometimes\"", "true"]).boxed(), 0.2),
            line("max_restarts", pick(&["0", "3"], &["-1", "4294967296", "\"x\""]).boxed(), 0.1),
            line(
                "stop_signal",
                pick(&["\"SIGINT\"", "\"INT\"", "\"sigterm\"", "\"KILL\""], &["\"SIGTREM\"", "\"\"", "9"]).boxed(),
                0.2,
            ),
            line("oneshot", pick(&["true", "false"], &["\"yes\""]).boxed(), 0.3),
            line(
                "log",
                pick(
                    &["{ max_size = \"50MB\", keep = 3 }", "{ max_size = 1048576 }", "{}"],
                    &[
                        "{ max_size = \"0\" }",
                        "{ max_size = \"99999999999999GiB\" }",
                        "{ max_size = \"12XB\" }",
                        "{ keep = -1 }",
                        "{ maxsize = \"1MB\" }",
                        "\"big\"",
                    ],
                )
                .boxed(),
                0.1,
            ),
            // Misspelled and unknown keys.
            prop::option::weighted(
                0.05,
                (
                    select(
                        &[
                            "cmdd",
                            "command",
                            "depend_on",
                            "dependson",
                            "env-file",
                            "readyy",
                            "stop_sigal",
                            "restat",
                            "port",
                            "CMD",
                            "",
                        ][..],
                    ),
                    env_value(),
                ),
            )
            .prop_map(|kv| kv.map(|(k, v)| format!("{k:?} = {v}"))),
        ),
    )
        .prop_map(|(a, b)| [a.0, a.1, a.2, a.3, a.4, a.5, b.0, b.1, b.2, b.3, b.4, b.5].into_iter().flatten().collect())
}

fn service_gen() -> impl Strategy<Value = ServiceGen> {
    (
        service_name(),
        prop::option::weighted(
            0.97,
            pick(
                &["\"./run\"", "\"python3 -m http.server $PORT\"", "[\"./bin/x\", \"--flag\"]"],
                &["\"\"", "\"   \"", "[]", "[\"\"]", "42", "{}"],
            ),
        ),
        prop::option::weighted(0.6, (any::<bool>(), prop::collection::vec(dep_gen(), 0..4))),
        prop::option::weighted(0.03, select(&["\"db\"", "[1, 2]", "true"][..])),
        optional_lines(),
    )
        .prop_map(|(name, cmd, deps, bad_deps, lines)| ServiceGen { name, cmd, deps, bad_deps, lines })
}

/// The `position`-th service of a manifest whose services are `names`.
fn render_service(service: &ServiceGen, position: usize, names: &[&str]) -> String {
    let mut out = format!("[services.{:?}]\n", service.name);
    if let Some(cmd) = &service.cmd {
        out.push_str(&format!("cmd = {cmd}\n"));
    }
    if let Some(bad) = service.bad_deps {
        out.push_str(&format!("depends_on = {bad}\n"));
    } else if let Some((as_list, deps)) = &service.deps {
        let dep_name = |d: &DepGen| match d.stranger {
            Some(name) => Some(name),
            None if d.anywhere => Some(names[d.target.index(names.len())]),
            None if position == 0 => None,
            None => Some(names[d.target.index(position)]),
        };
        let mut seen = BTreeSet::new();
        let body: Vec<String> = deps
            .iter()
            .filter_map(|d| Some((dep_name(d)?, &d.condition)))
            .filter(|(name, _)| *as_list || seen.insert(*name))
            .map(|(name, condition)| match as_list {
                true => format!("{name:?}"),
                false => format!("{name:?} = {condition}"),
            })
            .collect();
        if *as_list {
            out.push_str(&format!("depends_on = [{}]\n", body.join(", ")));
        } else {
            out.push_str(&format!("depends_on = {{ {} }}\n", body.join(", ")));
        }
    }
    for line in &service.lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn structured_manifest() -> impl Strategy<Value = String> {
    let top = (
        prop::option::weighted(0.2, pick(&["true", "false"], &["\"no\""])),
        prop::option::weighted(
            0.15,
            pick(&["{ max_size = \"10MB\", keep = 2 }", "{}"], &["{ max_size = \"0\" }", "{ kep = 1 }", "3"]),
        ),
        prop::option::weighted(0.05, select(&["servics = 1", "enviroment = 1", "version = 1", "services = 3"][..])),
        prop::option::weighted(0.4, env_table()),
    );
    (top, prop::collection::vec(service_gen(), 1..7)).prop_map(|((watch, log, bad, env), services)| {
        let mut out = String::new();
        if let Some(watch) = watch {
            out.push_str(&format!("watch = {watch}\n"));
        }
        if let Some(log) = log {
            out.push_str(&format!("log = {log}\n"));
        }
        if let Some(bad) = bad {
            out.push_str(bad);
            out.push('\n');
        }
        if let Some(env) = env {
            out.push_str("[env]\n");
            for line in env {
                out.push_str(&line);
                out.push('\n');
            }
        }
        // A name given twice is a TOML error, which the random text already covers.
        let mut seen = BTreeSet::new();
        let services: Vec<&ServiceGen> = services.iter().filter(|s| seen.insert(s.name)).collect();
        let names: Vec<&str> = services.iter().map(|s| s.name).collect();
        for (position, service) in services.iter().enumerate() {
            out.push_str(&render_service(service, position, &names));
        }
        out
    })
}

fn dotenv_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        2 => Just(Some("HOST=db.local\nPORT=5432\nDIR=sub\nF=.env.a\n".to_owned())),
        1 => line_shaped_text().prop_map(Some),
    ]
}

/// Every problem can be shown: its place is inside its file, and rendering does not panic.
fn check_problem(problem: &Problem) -> Result<(), TestCaseError> {
    if let Some(at) = &problem.at {
        let text = at.file.text();
        prop_assert!(
            at.span.start <= at.span.end && at.span.end <= text.len(),
            "span {:?} outside {} ({} bytes): {}",
            at.span,
            at.file.name(),
            text.len(),
            problem.message
        );
    }
    let _ = problem.one_line();
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut rendered, problem)
        .map_err(|e| TestCaseError::fail(format!("render: {e}")))?;
    Ok(())
}

/// Writes the manifest (and maybe a `.env`) into a fresh folder that also holds `sub/` and
/// `.env.a`, and loads it.
fn load_in_tempdir(manifest: &str, dotenv: Option<&str>) -> Result<bool, TestCaseError> {
    let fail = |e: std::io::Error| TestCaseError::fail(e.to_string());
    let dir = tempfile::tempdir().map_err(fail)?;
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).map_err(fail)?;
    std::fs::write(root.join(".env.a"), "A=1\nB=\"two\"\n").map_err(fail)?;
    if let Some(dotenv) = dotenv {
        std::fs::write(root.join(".env"), dotenv).map_err(fail)?;
    }
    let path = root.join("procs.toml");
    std::fs::write(&path, manifest).map_err(fail)?;
    let options = LoadOptions::new(
        [("HOME", "/home/u"), ("PATH", "/usr/bin")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        root.to_path_buf(),
    );
    check_load(&path, &options)
}

/// Loads, and checks what came back; `Ok(true)` when the manifest was accepted.
fn check_load(path: &Path, options: &LoadOptions) -> Result<bool, TestCaseError> {
    match load(path, options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                prop_assert!(!warning.is_error());
                check_problem(warning)?;
            }
            prop_assert!(!loaded.spec.services.is_empty());
            let order = loaded.graph.start_order();
            let names: BTreeSet<&String> = loaded.spec.services.keys().collect();
            prop_assert_eq!(order.iter().collect::<BTreeSet<_>>(), names);
            prop_assert_eq!(order.len(), loaded.spec.services.len());
            for (name, service) in &loaded.spec.services {
                let at = order.iter().position(|n| n == name).unwrap();
                for dep in service.depends_on.keys() {
                    let dep_at = order.iter().position(|n| n == dep);
                    prop_assert!(dep_at.is_some_and(|d| d < at), "{name} before {dep}");
                }
            }
            Ok(true)
        }
        Err(problems) => {
            prop_assert!(problems.has_errors(), "rejected without an error: {problems}");
            for problem in &problems.0 {
                check_problem(problem)?;
            }
            let _ = problems.to_string();
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn load_never_panics_on_random_text(
        text in any_text(),
        dotenv in dotenv_text(),
    ) {
        load_in_tempdir(&text, dotenv.as_deref())?;
    }

    #[test]
    fn load_never_panics_on_structured_manifests(
        manifest in structured_manifest(),
        dotenv in dotenv_text(),
    ) {
        load_in_tempdir(&manifest, dotenv.as_deref())?;
    }
}

/// The structured generator is only worth its time if both outcomes come up.
#[test]
fn structured_manifests_are_both_accepted_and_rejected() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (structured_manifest(), dotenv_text());
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..64 {
        let (manifest, dotenv) = strategy.new_tree(&mut runner).unwrap().current();
        match load_in_tempdir(&manifest, dotenv.as_deref()) {
            Ok(true) => accepted += 1,
            Ok(false) => rejected += 1,
            Err(e) => panic!("{e}\n{manifest}"),
        }
    }
    assert!(accepted >= 5, "only {accepted} of 64 accepted");
    assert!(rejected >= 5, "only {rejected} of 64 rejected");
}

/// Found by the structured generator: a service that is refused for its own reasons (here a
/// misspelled signal) makes every service that depends on it fail too, with "depends on `db`,
/// which is not a service" and the help "did you mean `db`?".
#[test]
fn a_broken_service_is_not_reported_as_unknown_by_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("procs.toml");
    std::fs::write(
        &path,
        "[services.db]\ncmd = \"postgres\"\nstop_signal = \"SIGTREM\"\n\n\
         [services.web]\ncmd = \"./web\"\ndepends_on = [\"db\"]\n",
    )
    .unwrap();
    let options = LoadOptions::new(crate::manifest::BaseEnv::default(), dir.path().to_path_buf());
    let problems = load(&path, &options).unwrap_err();
    let messages: Vec<&str> = problems.0.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages, ["service `db`: unknown signal `SIGTREM`"]);
}

// ---------------------------------------------------------------------------------------------
// (c) The graph: orders respect every edge; a cycle is a real one.

/// `n` services named `s0…`, in a shuffled manifest order, and each one's dependencies (as
/// indices, possibly repeated). With `dag_only`, edges only point at a lower rank, so the graph
/// is acyclic whatever the manifest order.
#[derive(Debug, Clone)]
struct RandomGraph {
    names: Vec<String>,
    deps: Vec<Vec<usize>>,
}

fn random_graph() -> impl Strategy<Value = RandomGraph> {
    (1usize..10, any::<bool>())
        .prop_flat_map(|(n, dag_only)| {
            (
                Just(n),
                Just(dag_only),
                prop::collection::vec(prop::collection::vec(0..n, 0..4), n),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(|(n, dag_only, raw_deps, order)| {
            // `order[rank]` is the manifest position of the service of that rank.
            let mut names = vec![String::new(); n];
            let mut deps = vec![Vec::new(); n];
            for (rank, &position) in order.iter().enumerate() {
                names[position] = format!("s{rank}");
                deps[position] = raw_deps[rank]
                    .iter()
                    .filter(|&&d| !dag_only || d < rank)
                    .filter(|&&d| d != rank)
                    .map(|&d| order[d])
                    .collect();
            }
            RandomGraph { names, deps }
        })
}

fn build(g: &RandomGraph) -> Result<Graph, Vec<GraphError>> {
    Graph::new(
        g.names.iter().zip(&g.deps).map(|(name, deps)| (name.as_str(), deps.iter().map(|&d| g.names[d].as_str()))),
    )
}

/// `reach[a][b]`: b can be reached from a by one or more edges.
fn reachability(g: &RandomGraph) -> Vec<Vec<bool>> {
    let n = g.names.len();
    let mut reach = vec![vec![false; n]; n];
    for (a, deps) in g.deps.iter().enumerate() {
        for &b in deps {
            reach[a][b] = true;
        }
    }
    for k in 0..n {
        for a in 0..n {
            for b in 0..n {
                if reach[a][k] && reach[k][b] {
                    reach[a][b] = true;
                }
            }
        }
    }
    reach
}

fn has_edge(g: &RandomGraph, from: &str, to: &str) -> bool {
    let index = |name: &str| g.names.iter().position(|n| n == name);
    match (index(from), index(to)) {
        (Some(a), Some(b)) => g.deps[a].contains(&b),
        _ => false,
    }
}

proptest! {
    #[test]
    fn graph_orders_respect_dependencies_or_name_a_real_cycle(g in random_graph()) {
        let n = g.names.len();
        let reach = reachability(&g);
        let cyclic = (0..n).any(|a| reach[a][a]);
        match build(&g) {
            Ok(graph) => {
                prop_assert!(!cyclic, "a cyclic graph was accepted: {g:?}");
                let order = graph.start_order();
                prop_assert_eq!(order.len(), n);
                let position = |name: &str| order.iter().position(|o| o == name).unwrap();
                for (a, deps) in g.deps.iter().enumerate() {
                    for &b in deps {
                        prop_assert!(
                            position(&g.names[b]) < position(&g.names[a]),
                            "{} starts before its dependency {}", g.names[a], g.names[b]
                        );
                    }
                }
                // Levels: every service exactly once, none empty, each service one level
                // above its deepest dependency, and manifest order within a level.
                let levels = graph.levels();
                let mut level_of = HashMap::new();
                for (i, level) in levels.iter().enumerate() {
                    prop_assert!(!level.is_empty());
                    for name in level {
                        prop_assert!(level_of.insert(name.clone(), i).is_none(), "{name} twice");
                    }
                    let positions: Vec<usize> = level
                        .iter()
                        .map(|name| g.names.iter().position(|n| n == name).unwrap())
                        .collect();
                    prop_assert!(positions.windows(2).all(|w| w[0] < w[1]));
                }
                prop_assert_eq!(level_of.len(), n);
                for (a, deps) in g.deps.iter().enumerate() {
                    let expected = deps
                        .iter()
                        .map(|&b| level_of[&g.names[b]] + 1)
                        .max()
                        .unwrap_or(0);
                    prop_assert_eq!(level_of[&g.names[a]], expected);
                }
                prop_assert_eq!(
                    order.clone(),
                    levels.iter().flatten().cloned().collect::<Vec<_>>()
                );
                let mut reversed = graph.stop_order();
                reversed.reverse();
                prop_assert_eq!(reversed, order.clone());
                // Direct neighbours and transitive closures.
                for (a, name) in g.names.iter().enumerate() {
                    let deps: BTreeSet<String> =
                        g.deps[a].iter().map(|&b| g.names[b].clone()).collect();
                    let got: BTreeSet<String> = graph.dependencies(name).into_iter().collect();
                    prop_assert_eq!(got, deps);
                    let dependents: BTreeSet<String> = (0..n)
                        .filter(|&b| g.deps[b].contains(&a))
                        .map(|b| g.names[b].clone())
                        .collect();
                    let got: BTreeSet<String> = graph.dependents(name).into_iter().collect();
                    prop_assert_eq!(got, dependents);
                    let closure: Vec<String> = order
                        .iter()
                        .filter(|o| {
                            let b = g.names.iter().position(|n| n == *o).unwrap();
                            b == a || reach[a][b]
                        })
                        .cloned()
                        .collect();
                    prop_assert_eq!(graph.with_dependencies([name.as_str()]), closure);
                    let closure: Vec<String> = graph
                        .stop_order()
                        .into_iter()
                        .filter(|o| {
                            let b = g.names.iter().position(|n| n == o).unwrap();
                            b == a || reach[b][a]
                        })
                        .collect();
                    prop_assert_eq!(graph.with_dependents([name.as_str()]), closure);
                }
            }
            Err(errors) => {
                prop_assert!(cyclic, "an acyclic graph was rejected: {errors:?}");
                // One cycle per strongly connected component of two or more services.
                let components: BTreeSet<BTreeSet<usize>> = (0..n)
                    .filter(|&a| reach[a][a])
                    .map(|a| (0..n).filter(|&b| reach[a][b] && reach[b][a]).collect())
                    .collect();
                let mut cycles = 0;
                for error in &errors {
                    let GraphError::Cycle { path } = error else {
                        return Err(TestCaseError::fail(format!("not a cycle: {error:?}")));
                    };
                    cycles += 1;
                    prop_assert!(path.len() >= 3, "{path:?}");
                    prop_assert_eq!(path.first(), path.last());
                    for pair in path.windows(2) {
                        prop_assert!(
                            has_edge(&g, &pair[0], &pair[1]),
                            "{} → {} is not an edge; path {path:?}", pair[0], pair[1]
                        );
                    }
                    let inner: BTreeSet<&String> = path[..path.len() - 1].iter().collect();
                    prop_assert_eq!(inner.len(), path.len() - 1, "not a simple cycle: {:?}", path);
                    // It starts at its component's first service in manifest order.
                    let start = g.names.iter().position(|n| *n == path[0]).unwrap();
                    let component = components.iter().find(|c| c.contains(&start));
                    prop_assert_eq!(component.and_then(|c| c.first()), Some(&start));
                }
                prop_assert_eq!(cycles, components.len());
            }
        }
    }

    /// Self and unknown dependencies are reported each time, beside any cycle.
    #[test]
    fn graph_reports_self_and_unknown_dependencies(
        g in random_graph(),
        self_dep in any::<prop::sample::Index>(),
        unknown in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let n = g.names.len();
        let me = self_dep.index(n);
        let mut services: Vec<(&str, Vec<&str>)> = g
            .names
            .iter()
            .zip(&g.deps)
            .map(|(name, deps)| (name.as_str(), deps.iter().map(|&d| g.names[d].as_str()).collect()))
            .collect();
        services[me].1.push(g.names[me].as_str());
        if let Some(u) = unknown {
            services[u.index(n)].1.push("ghost");
        }
        let errors = Graph::new(services.iter().map(|(s, d)| (*s, d.iter().copied())))
            .expect_err("a self dependency is an error");
        let itself = GraphError::SelfDependency { service: g.names[me].clone() };
        prop_assert!(errors.contains(&itself), "{:?}", errors);
        if let Some(u) = unknown {
            let ghost = GraphError::UnknownDependency {
                service: g.names[u.index(n)].clone(),
                dependency: "ghost".into(),
            };
            prop_assert!(errors.contains(&ghost), "{:?}", errors);
        }
    }
}

/// A big strongly connected component where the only way back to the first service is through
/// the last dependency of the second: the bounded search runs out of steps before it finds any
/// cycle, and the fallback names `s → s`, which is not an edge.
#[test]
fn a_cycle_in_a_dense_component_is_still_a_real_cycle() {
    let clique: Vec<String> = (1..=10).map(|i| format!("c{i}")).collect();
    let mut services: Vec<(String, Vec<String>)> = vec![("s".into(), vec!["c1".into()])];
    for c in &clique {
        let mut deps: Vec<String> = clique.iter().filter(|d| *d != c).cloned().collect();
        if c == "c1" {
            deps.push("x".into());
        }
        services.push((c.clone(), deps));
    }
    services.push(("x".into(), vec!["s".into()]));
    let errors = Graph::new(services.iter().map(|(s, d)| (s.as_str(), d.iter().map(String::as_str)))).unwrap_err();
    let [GraphError::Cycle { path }] = &errors[..] else {
        panic!("expected one cycle, got {errors:?}");
    };
    assert_eq!(path.first(), path.last());
    assert!(path.len() >= 3, "{path:?}");
    for pair in path.windows(2) {
        let deps = &services.iter().find(|(s, _)| *s == pair[0]).unwrap().1;
        assert!(deps.contains(&pair[1]), "{} → {} is not an edge", pair[0], pair[1]);
    }
}
