//! `.env` cases on which foreman and honcho agree, with exact expectations.

use crate::manifest::dotenv::{Entry, Error, parse};

/// `(key, value, literal, line)` of every entry, or the error.
fn parsed(text: &str) -> Vec<(String, String, bool, usize)> {
    parse(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
        .into_iter()
        .map(|e| (e.key, e.value, e.literal, e.line))
        .collect()
}

fn entry(key: &str, value: &str, literal: bool, line: usize) -> (String, String, bool, usize) {
    (key.to_owned(), value.to_owned(), literal, line)
}

fn error_line(text: &str) -> usize {
    match parse(text) {
        Ok(entries) => panic!("{text:?} parsed as {entries:?}"),
        Err(e) => e.line,
    }
}

#[test]
fn key_equals_value() {
    assert_eq!(
        parse("FOO=bar\n").unwrap(),
        [Entry { key: "FOO".into(), value: "bar".into(), literal: false, line: 1 }]
    );
}

#[test]
fn entries_keep_file_order_and_lines() {
    assert_eq!(
        parsed("ZED=1\nALPHA=2\nMID=3"),
        [entry("ZED", "1", false, 1), entry("ALPHA", "2", false, 2), entry("MID", "3", false, 3)]
    );
}

#[test]
fn export_prefix_is_accepted() {
    assert_eq!(
        parsed("export FOO=bar\nexport\tBAZ=qux\n"),
        [entry("FOO", "bar", false, 1), entry("BAZ", "qux", false, 2)]
    );
}

#[test]
fn a_key_named_like_export_is_just_a_key() {
    assert_eq!(parsed("export=1\nexporter=2\n"), [entry("export", "1", false, 1), entry("exporter", "2", false, 2)]);
}

#[test]
fn comment_and_blank_lines_are_skipped() {
    assert_eq!(
        parsed("# a comment\n\nFOO=1\n   # indented comment\n\t\nBAR=2\n#BAZ=3\n"),
        [entry("FOO", "1", false, 3), entry("BAR", "2", false, 6)]
    );
}

#[test]
fn inline_comment_ends_an_unquoted_value() {
    assert_eq!(
        parsed("FOO=bar # the bar\nBAZ=qux\t# tabbed\n"),
        [entry("FOO", "bar", false, 1), entry("BAZ", "qux", false, 2)]
    );
}

#[test]
fn a_hash_without_space_before_it_is_part_of_the_value() {
    assert_eq!(
        parsed("URL=http://x/#frag\nCOLOR=#fff\n"),
        [entry("URL", "http://x/#frag", false, 1), entry("COLOR", "#fff", false, 2)]
    );
}

#[test]
fn spaces_around_equals_and_value_are_trimmed() {
    assert_eq!(
        parsed("FOO = bar\nBAZ\t=\tqux  \n  INDENTED=yes\n"),
        [entry("FOO", "bar", false, 1), entry("BAZ", "qux", false, 2), entry("INDENTED", "yes", false, 3)]
    );
}

#[test]
fn unquoted_values_keep_inner_spaces_and_equals() {
    assert_eq!(
        parsed("MSG=hello big world\nDSN=postgres://u:p@h/db?sslmode=disable\n"),
        [entry("MSG", "hello big world", false, 1), entry("DSN", "postgres://u:p@h/db?sslmode=disable", false, 2)]
    );
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(
        parsed(r#"A='no \n escapes ${HOME} "here" # not a comment'"#),
        [entry("A", r#"no \n escapes ${HOME} "here" # not a comment"#, true, 1)]
    );
}

#[test]
fn single_quoted_values_may_span_lines() {
    assert_eq!(
        parsed("KEY='line one\nline two'\nNEXT=x\n"),
        [entry("KEY", "line one\nline two", true, 1), entry("NEXT", "x", false, 3)]
    );
}

#[test]
fn double_quotes_understand_escapes() {
    assert_eq!(parsed(r#"A="one\ntwo" "#), [entry("A", "one\ntwo", false, 1)]);
    assert_eq!(parsed(r#"B="say \"hi\"""#), [entry("B", "say \"hi\"", false, 1)]);
    assert_eq!(parsed(r#"C="tab\there\\back""#), [entry("C", "tab\there\\back", false, 1)]);
    // `\$` survives interpolation as `$$`, which expansion reads as one `$`.
    assert_eq!(parsed(r#"D="\$HOME""#), [entry("D", "$$HOME", false, 1)]);
    // An unknown escape is kept as written.
    assert_eq!(parsed(r#"E="a\qb""#), [entry("E", "a\\qb", false, 1)]);
}

#[test]
fn double_quotes_keep_hashes_and_spaces() {
    assert_eq!(
        parsed("A=\"  padded # not a comment  \" # a comment\n"),
        [entry("A", "  padded # not a comment  ", false, 1)]
    );
}

#[test]
fn empty_values() {
    assert_eq!(
        parsed("FOO=\nBAR=''\nBAZ=\"\"\nQUX= \n"),
        [entry("FOO", "", false, 1), entry("BAR", "", true, 2), entry("BAZ", "", false, 3), entry("QUX", "", false, 4)]
    );
}

#[test]
fn multi_line_double_quoted_values() {
    let text = "CERT=\"-----BEGIN-----\nabc\n-----END-----\"\nNEXT=1\n";
    assert_eq!(
        parsed(text),
        [entry("CERT", "-----BEGIN-----\nabc\n-----END-----", false, 1), entry("NEXT", "1", false, 4)]
    );
}

#[test]
fn crlf_files() {
    let text = "# c\r\nFOO=bar\r\n\r\nBAZ=\"q\"\r\nML=\"a\r\nb\"\r\nLIT='x'\r\nE=\r\n";
    assert_eq!(
        parsed(text),
        [
            entry("FOO", "bar", false, 2),
            entry("BAZ", "q", false, 4),
            entry("ML", "a\nb", false, 5),
            entry("LIT", "x", true, 7),
            entry("E", "", false, 8)
        ]
    );
}

#[test]
fn crlf_with_inline_comment() {
    assert_eq!(parsed("FOO=bar # c\r\nBAR=baz\r\n"), [entry("FOO", "bar", false, 1), entry("BAR", "baz", false, 2)]);
}

#[test]
fn keys_with_digits_underscores_and_dots() {
    assert_eq!(
        parsed("_X=1\nA1_B2=2\nlower=3\nspring.profile=4\n"),
        [
            entry("_X", "1", false, 1),
            entry("A1_B2", "2", false, 2),
            entry("lower", "3", false, 3),
            entry("spring.profile", "4", false, 4)
        ]
    );
}

#[test]
fn a_later_duplicate_is_kept_as_another_entry() {
    // The parser lists both; the environment layers let the later one win.
    assert_eq!(parsed("A=1\nA=2\n"), [entry("A", "1", false, 1), entry("A", "2", false, 2)]);
}

#[test]
fn an_unclosed_double_quote_names_the_line_where_it_opened() {
    let text = "A=1\n\nB=\"never\nclosed\nC=3\n";
    let err = parse(text).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("never closed"), "{}", err.message);
}

#[test]
fn an_unclosed_single_quote_names_the_line_where_it_opened() {
    assert_eq!(error_line("A=1\nB='open\n\n"), 2);
    assert_eq!(error_line("X='"), 1);
}

#[test]
fn an_unclosed_quote_after_a_multi_line_value_names_its_own_line() {
    assert_eq!(error_line("A=\"x\ny\"\nB=\"z\n"), 3);
}

#[test]
fn a_trailing_backslash_does_not_close_a_double_quote() {
    assert_eq!(error_line("A=1\nB=\"abc\\\""), 2);
}

#[test]
fn a_line_without_equals_is_an_error_naming_its_line() {
    let err = parse("A=1\n# ok\nJUST_A_WORD\nB=2\n").unwrap_err();
    assert_eq!(err, Error { line: 3, message: "expected KEY=value, found `JUST_A_WORD`".into() });
}

#[test]
fn a_line_without_equals_after_crlf_lines() {
    assert_eq!(error_line("A=1\r\nB=2\r\nnonsense here\r\n"), 3);
}

#[test]
fn a_bad_key_is_an_error_naming_its_line() {
    assert_eq!(error_line("A=1\n1ABC=2\n"), 2);
    assert_eq!(error_line("A=1\nB=2\n=3\n"), 3);
    assert_eq!(error_line("MY-KEY=1\n"), 1);
}

#[test]
fn text_after_a_closing_quote_is_an_error_on_that_line() {
    assert_eq!(error_line("A=1\nB=\"x\" y\n"), 2);
    assert_eq!(error_line("A=\"multi\nline\" junk\n"), 2);
}

#[test]
fn an_empty_file_has_no_entries() {
    assert_eq!(parse("").unwrap(), []);
    assert_eq!(parse("\n\n# x\n").unwrap(), []);
}

#[test]
fn a_backslash_newline_in_double_quotes_still_counts_the_line() {
    // Line 1: A="x\      Line 2: y"      Line 3: B=1
    assert_eq!(parsed("A=\"x\\\ny\"\nB=1\n"), [entry("A", "x\\\ny", false, 1), entry("B", "1", false, 3)]);
}

#[test]
fn a_backslash_newline_in_double_quotes_keeps_error_lines_right() {
    assert_eq!(error_line("A=\"x\\\ny\"\nnot an entry\n"), 3);
}

#[test]
fn an_escaped_carriage_return_before_a_line_feed_is_kept() {
    // Written on one line: A="x\r\ny" (four escape characters, no real line break).
    assert_eq!(parsed(r#"A="x\r\ny""#), [entry("A", "x\r\ny", false, 1)]);
    // Written: A="x\r<LF>y"; the `\r` is an escape the user typed, not a CRLF ending.
    assert_eq!(parsed("A=\"x\\r\ny\"\n"), [entry("A", "x\r\ny", false, 1)]);
}

/// `(key, value, literal, line)`, as a table row.
type Row = (&'static str, &'static str, bool, usize);

/// Files as editors write them (issue 10, point 4): a byte-order mark, old-Mac lone `\r` line
/// ends, CRLF, and mixtures; the cases python-dotenv and motdotla/dotenv cover, in our words.
#[test]
fn line_endings_and_byte_order_marks() {
    let cases: [(&str, &[Row]); 9] = [
        ("\u{feff}a=b\n", &[("a", "b", false, 1)]),
        ("\u{feff}\u{feff}a=b", &[]),
        ("a=b\rc=d", &[("a", "b", false, 1), ("c", "d", false, 2)]),
        ("a=b\r\rc=d\r", &[("a", "b", false, 1), ("c", "d", false, 3)]),
        ("a=b\r\nc=d\r\n", &[("a", "b", false, 1), ("c", "d", false, 2)]),
        (
            "a=b\nc=d\re=f\r\ng=h",
            &[("a", "b", false, 1), ("c", "d", false, 2), ("e", "f", false, 3), ("g", "h", false, 4)],
        ),
        ("\u{feff}# comment\ra=\"x\ry\"\rb='p\rq'\r", &[("a", "x\ny", false, 2), ("b", "p\nq", true, 4)]),
        ("a=b # c\rd=e", &[("a", "b", false, 1), ("d", "e", false, 2)]),
        ("export a=b\r", &[("a", "b", false, 1)]),
    ];
    for (text, expected) in cases {
        if expected.is_empty() {
            // A second mark is not a mark but text: the first line is no KEY=value.
            assert_eq!(error_line(text), 1, "{text:?}");
            continue;
        }
        let expected: Vec<_> = expected.iter().map(|&(k, v, lit, line)| entry(k, v, lit, line)).collect();
        assert_eq!(parsed(text), expected, "{text:?}");
    }
}

#[test]
fn errors_after_lone_cr_lines_name_the_right_line() {
    assert_eq!(error_line("a=1\rb=2\rnot a line\r"), 3);
    assert_eq!(error_line("\u{feff}nope\n"), 1);
}
