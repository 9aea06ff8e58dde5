//! Procfile cases on which foreman and honcho agree, with exact expectations.

use crate::manifest::procfile::{Entry, Finding, Parsed, parse};

/// `(name, command, line)` of every entry.
fn entries(parsed: &Parsed) -> Vec<(&str, &str, usize)> {
    parsed.entries.iter().map(|e| (e.name.as_str(), e.command.as_str(), e.line)).collect()
}

fn skipped_lines(parsed: &Parsed) -> Vec<usize> {
    parsed
        .findings
        .iter()
        .filter_map(|f| match f {
            Finding::Skipped { line, .. } => Some(*line),
            Finding::Duplicate { .. } => None,
        })
        .collect()
}

#[test]
fn entries_keep_file_order() {
    let p = parse("web: bundle exec puma\nworker: bundle exec sidekiq\nclock: ruby clock.rb\n");
    assert_eq!(
        entries(&p),
        [("web", "bundle exec puma", 1), ("worker", "bundle exec sidekiq", 2), ("clock", "ruby clock.rb", 3),]
    );
    assert_eq!(p.findings, []);
}

#[test]
fn order_is_the_file_order_not_alphabetical() {
    let p = parse("zeta: z\nalpha: a\nmid: m");
    assert_eq!(entries(&p), [("zeta", "z", 1), ("alpha", "a", 2), ("mid", "m", 3)]);
}

#[test]
fn comment_lines_are_skipped_silently() {
    let p = parse("# the web server\nweb: ./server\n# worker: disabled\n");
    assert_eq!(entries(&p), [("web", "./server", 2)]);
    assert_eq!(p.findings, []);
}

#[test]
fn blank_lines_are_skipped_and_lines_still_counted() {
    let p = parse("\n\nweb: a\n\n   \n\t\nworker: b\n\n");
    assert_eq!(entries(&p), [("web", "a", 3), ("worker", "b", 7)]);
    assert_eq!(p.findings, []);
}

#[test]
fn crlf_line_endings_are_accepted() {
    let text = "web: python3 -m http.server 8000\r\n\r\n# c\r\nworker: sleep 1\r\n";
    let p = parse(text);
    assert_eq!(entries(&p), [("web", "python3 -m http.server 8000", 1), ("worker", "sleep 1", 4)]);
    assert_eq!(p.findings, []);
    // The name span points at the name, not past a `\r`.
    let worker = &p.entries[1];
    assert_eq!(&text[worker.name_span.clone()], "worker");
}

#[test]
fn no_space_after_the_colon_is_accepted() {
    let p = parse("web:cmd --flag\n");
    assert_eq!(entries(&p), [("web", "cmd --flag", 1)]);
}

#[test]
fn whitespace_after_the_colon_is_dropped() {
    let p = parse("web:    ./a\nworker:\t./b\n");
    assert_eq!(entries(&p), [("web", "./a", 1), ("worker", "./b", 2)]);
}

#[test]
fn the_command_is_kept_verbatim() {
    let p = parse("web: echo a: b # c\n");
    assert_eq!(entries(&p), [("web", "echo a: b # c", 1)]);
}

#[test]
fn shell_syntax_in_the_command_is_untouched() {
    let p = parse("web: FOO=\"x y\" exec ./run --port $PORT 2>&1 | tee 'log'; echo ${HOME}\n");
    assert_eq!(p.entries[0].command, "FOO=\"x y\" exec ./run --port $PORT 2>&1 | tee 'log'; echo ${HOME}");
}

#[test]
fn names_with_dashes_underscores_and_digits() {
    let p = parse("web-1: a\nbg_worker: b\n2fa: c\nA-b_C9: d\n");
    assert_eq!(entries(&p), [("web-1", "a", 1), ("bg_worker", "b", 2), ("2fa", "c", 3), ("A-b_C9", "d", 4),]);
    assert_eq!(p.findings, []);
}

#[test]
fn a_line_with_leading_whitespace_is_skipped_with_its_line() {
    let text = "web: a\n  worker: b\n\tclock: c\nlast: d\n";
    let p = parse(text);
    assert_eq!(entries(&p), [("web", "a", 1), ("last", "d", 4)]);
    assert_eq!(p.findings, [Finding::Skipped { line: 2, span: 7..18 }, Finding::Skipped { line: 3, span: 19..28 },]);
    assert_eq!(&text[7..18], "  worker: b");
    assert_eq!(&text[19..28], "\tclock: c");
}

#[test]
fn bad_names_are_skipped_with_their_lines() {
    let p = parse("web.app: a\nmy web: b\nok: c\n: nameless\nno colon here\nwéb: d\nweb/1: e\n");
    assert_eq!(entries(&p), [("ok", "c", 3)]);
    assert_eq!(skipped_lines(&p), [1, 2, 4, 5, 6, 7]);
}

#[test]
fn skipped_span_excludes_a_crlf_ending() {
    let text = "web: a\r\nbad line\r\n";
    let p = parse(text);
    assert_eq!(p.findings, [Finding::Skipped { line: 2, span: 8..16 }]);
    assert_eq!(&text[8..16], "bad line");
}

#[test]
fn an_entry_without_a_command_is_skipped() {
    let p = parse("web:\nworker:   \nok: x\n");
    assert_eq!(entries(&p), [("ok", "x", 3)]);
    assert_eq!(skipped_lines(&p), [1, 2]);
}

#[test]
fn duplicate_names_are_reported_with_the_first_line() {
    let text = "web: a\nworker: b\n\nweb: c\n";
    let p = parse(text);
    // The first definition is the one kept; the second is a finding.
    assert_eq!(entries(&p), [("web", "a", 1), ("worker", "b", 2)]);
    assert_eq!(p.findings, [Finding::Duplicate { name: "web".into(), line: 4, first_line: 1, span: 18..21 }]);
    assert_eq!(&text[18..21], "web");
}

#[test]
fn names_are_case_sensitive() {
    let p = parse("web: a\nWeb: b\n");
    assert_eq!(entries(&p), [("web", "a", 1), ("Web", "b", 2)]);
    assert_eq!(p.findings, []);
}

#[test]
fn last_line_without_newline_and_name_spans() {
    let text = "web: a\nworker: b";
    let p = parse(text);
    assert_eq!(
        p.entries,
        [
            Entry { name: "web".into(), command: "a".into(), line: 1, name_span: 0..3 },
            Entry { name: "worker".into(), command: "b".into(), line: 2, name_span: 7..13 },
        ]
    );
}

#[test]
fn an_empty_file_has_nothing() {
    let p = parse("");
    assert_eq!(p.entries, []);
    assert_eq!(p.findings, []);
    let p = parse("# only a comment\n\n");
    assert_eq!(p.entries, []);
    assert_eq!(p.findings, []);
}

/// Loads `text` as a Procfile in a fresh folder, with `env` as orch's own environment.
fn load_procfile(text: &str, env: &[(&str, &str)]) -> Result<crate::manifest::Loaded, crate::manifest::Problems> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Procfile");
    std::fs::write(&path, text).unwrap();
    crate::manifest::load(
        &path,
        &crate::manifest::LoadOptions::new(
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            dir.path().to_path_buf(),
        ),
    )
}

fn ports(loaded: &crate::manifest::Loaded) -> Vec<(&str, &str)> {
    loaded.spec.services.iter().map(|(name, s)| (name.as_str(), s.env["PORT"].as_str())).collect()
}

#[test]
fn ports_are_assigned_as_foreman_does() {
    let loaded = load_procfile("web: a\nworker: b\n# x\nclock: c\n", &[]).unwrap();
    assert_eq!(ports(&loaded), [("web", "5000"), ("worker", "5100"), ("clock", "5200")]);
}

#[test]
fn ports_start_from_the_environment_port() {
    let loaded = load_procfile("web: a\nworker: b\n", &[("PORT", "3000")]).unwrap();
    assert_eq!(ports(&loaded), [("web", "3000"), ("worker", "3100")]);
}

#[test]
fn a_huge_port_is_an_error_not_a_panic() {
    let result = std::panic::catch_unwind(|| load_procfile("web: a\nworker: b\n", &[("PORT", "4294967295")]).is_err());
    assert_eq!(result.ok(), Some(true));
}

#[test]
fn each_process_gets_ps_as_foreman_sets_it() {
    let loaded = load_procfile("web: a\nworker: b\n", &[("PS", "outer")]).unwrap();
    let ps: Vec<&str> = loaded.spec.services.values().map(|s| s.env["PS"].as_str()).collect();
    assert_eq!(ps, ["web.1", "worker.1"]);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_name() {
    let p = parse("\u{feff}web: a\nworker: b\n");
    assert_eq!(entries(&p), [("web", "a", 1), ("worker", "b", 2)]);
    assert_eq!(p.entries[0].name_span, 3..6);
}

#[test]
fn names_that_pass_the_pattern_but_not_the_name_rule_are_errors() {
    let long = "n".repeat(300);
    for name in [long.as_str(), "-rf"] {
        let problems = load_procfile(&format!("{name}: x\nok: y\n"), &[]).unwrap_err();
        let messages: Vec<&str> = problems.0.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("is not a valid service name"), "{messages:?}");
        assert_eq!(problems.0[0].position().as_deref(), Some("Procfile:1:1"));
    }
}

#[test]
fn a_port_that_is_no_number_says_so() {
    for (port, says) in [("abc", "not a port number"), ("0", "not a port number"), ("65500", "leaves no room")] {
        let problems = load_procfile("web: a\nworker: b\n", &[("PORT", port)]).unwrap_err();
        let message = &problems.0[0].message;
        assert!(message.starts_with(&format!("PORT is `{port}` in orch's environment")), "{message}");
        assert!(message.contains(says), "{message}");
    }
    assert!(load_procfile("web: a\n", &[("PORT", "")]).is_ok(), "an empty PORT is no PORT");
}
