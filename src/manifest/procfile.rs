//! Procfiles, read as foreman and honcho read them: `name: command` per line, matched by
//! `^([A-Za-z0-9_-]+):\s*(.+)$`; the command is kept verbatim (`web: echo a: b # c` runs
//! `echo a: b # c`). Blank lines and `#` comments are skipped; CRLF line endings and a leading
//! byte-order mark are accepted.
//!
//! Where foreman silently skips any other line, orch warns with its line number; where foreman
//! keeps the last of two entries with the same name, orch refuses the file.

use std::collections::HashMap;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(crate) name: String,
    pub(crate) command: String,
    /// 1-based line number.
    pub(crate) line: usize,
    /// Byte range of the name in the file.
    pub(crate) name_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    /// A line that is not `name: command`, skipped.
    Skipped { line: usize, span: Range<usize> },
    /// A name seen before, at `first_line`.
    Duplicate { name: String, line: usize, first_line: usize, span: Range<usize> },
}

#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(crate) entries: Vec<Entry>,
    pub(crate) findings: Vec<Finding>,
}

pub(super) fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    // A byte-order mark (as some editors write) is not part of the first name.
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut offset = bom;
    let mut first_lines = HashMap::new();
    for (index, raw_line) in text[bom..].split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let line = raw_line.trim_end_matches('\n').trim_end_matches('\r');
        let span = offset..offset + line.len();
        offset += raw_line.len();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, command)) = split_entry(line) else {
            parsed.findings.push(Finding::Skipped { line: line_no, span });
            continue;
        };
        let name_span = span.start..span.start + name.len();
        if let Some(&first_line) = first_lines.get(name) {
            parsed.findings.push(Finding::Duplicate {
                name: name.to_owned(),
                line: line_no,
                first_line,
                span: name_span,
            });
            continue;
        }
        first_lines.insert(name.to_owned(), line_no);
        parsed.entries.push(Entry { name: name.to_owned(), command: command.to_owned(), line: line_no, name_span });
    }
    parsed
}

/// `^([A-Za-z0-9_-]+):\s*(.+)$`, without a regex engine for seven lines of logic.
fn split_entry(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    let valid_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return None;
    }
    let command = line[colon + 1..].trim_start();
    // `\s*(.+)` backtracks to keep at least one character, so `web: ` is an entry whose
    // command is blank; orch leaves such a line out with a warning rather than run nothing.
    if command.is_empty() {
        return None;
    }
    Some((name, command))
}
