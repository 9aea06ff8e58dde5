//! A problem found in a manifest (or a file it names): what is wrong, where, and what would be
//! right. Rendered like a compiler's message by miette; also printable on one line
//! (`procs.toml:3:7: …`) for logs and JSON.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, Severity, SourceCode, SourceSpan,
    SpanContents,
};

/// The text of one file, shared by every problem that points into it.
#[derive(Clone)]
pub(crate) struct SourceFile {
    named: Arc<NamedSource<Arc<str>>>,
    /// The byte offset where each line starts, so that finding a line is a lookup rather than
    /// a scan of the file (a 50,000-line `.env` asks once per entry).
    line_starts: Arc<[usize]>,
    /// The lines of the file before `text`, when this is an excerpt of it (the lines around a
    /// problem that came over the socket), so that lines are numbered as in the file.
    lines_before: usize,
}

impl SourceFile {
    pub(crate) fn new(name: impl AsRef<str>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = line_starts(&text).into();
        let named = NamedSource::new(name, text).with_language("toml");
        Self { named: Arc::new(named), line_starts, lines_before: 0 }
    }

    /// Some lines of a file, the first of them its line `first_line` (1-based).
    pub(crate) fn excerpt(name: impl AsRef<str>, text: impl Into<Arc<str>>, first_line: usize) -> Self {
        Self { lines_before: first_line.saturating_sub(1), ..Self::new(name, text) }
    }

    /// The line of the file the text starts at (1-based).
    pub(crate) fn first_line(&self) -> usize {
        self.lines_before + 1
    }

    pub(crate) fn name(&self) -> &str {
        self.named.name()
    }

    pub(crate) fn text(&self) -> &str {
        self.named.inner()
    }

    /// 1-based line and column of a byte offset, the column counted in characters.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = offset.min(text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let col = text.get(line_start..offset).map_or(1, |before| before.chars().count() + 1);
        (line + self.lines_before, col)
    }

    /// The byte range of a 1-based line, without its line ending.
    pub(crate) fn line_span(&self, line: usize) -> Range<usize> {
        let text = self.text();
        let Some(&start) = line.checked_sub(self.first_line()).and_then(|i| self.line_starts.get(i)) else {
            return text.len()..text.len();
        };
        let next = self.line_starts.get(line).copied().unwrap_or(text.len());
        start..start + text[start..next].trim_end_matches(['\n', '\r']).len()
    }
}

/// Where each line starts. A line ends at `\n`, `\r\n` or a lone `\r` (old Mac files), as
/// miette counts them when it shows the line.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    starts
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.named.read_span(span, context_lines_before, context_lines_after)?;
        if self.lines_before == 0 {
            return Ok(contents);
        }
        let name = contents.name().unwrap_or_default().to_owned();
        let line = contents.line() + self.lines_before;
        let shifted = MietteSpanContents::new_named(
            name,
            contents.data(),
            *contents.span(),
            line,
            contents.column(),
            contents.line_count(),
        );
        Ok(Box::new(shifted.with_language("toml")))
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SourceFile").field(&self.name()).finish()
    }
}

/// Where a problem is: a span of a file, with a short label under the caret.
#[derive(Clone, Debug)]
pub(crate) struct Location {
    pub(crate) file: SourceFile,
    pub(crate) span: Range<usize>,
    pub(crate) label: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) severity: Severity,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) at: Option<Location>,
}

impl Problem {
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, message: message.into(), help: None, at: None }
    }

    pub(crate) fn warning(message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(message) }
    }

    /// Something to know that is not wrong: which manifest was chosen, and how to choose another.
    pub(crate) fn note(message: impl Into<String>) -> Self {
        Self { severity: Severity::Advice, ..Self::error(message) }
    }

    pub(crate) fn at(mut self, file: &SourceFile, span: Range<usize>, label: impl Into<String>) -> Self {
        self.at = Some(Location { file: file.clone(), span, label: label.into() });
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the problem, when it has a place.
    pub(crate) fn position(&self) -> Option<String> {
        let at = self.at.as_ref()?;
        let (line, col) = at.file.line_col(at.span.start);
        Some(format!("{}:{line}:{col}", at.file.name()))
    }

    /// One line for logs: `procs.toml:3:7: unknown key `cmdd` (did you mean `cmd`?)`.
    pub(crate) fn one_line(&self) -> String {
        let mut s = match self.position() {
            Some(pos) => format!("{pos}: {}", self.message),
            None => self.message.clone(),
        };
        if let Some(help) = &self.help {
            s.push_str(&format!(" ({help})"));
        }
        s
    }
}

impl Problem {
    /// The problem for a script: `{"severity", "message", "help", "file", "line", "column",
    /// "label"}`, the place left out when there is none.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "note",
        };
        let mut json = serde_json::json!({ "severity": severity, "message": self.message });
        if let Some(help) = &self.help {
            json["help"] = help.as_str().into();
        }
        if let Some(at) = &self.at {
            let (line, column) = at.file.line_col(at.span.start);
            json["file"] = at.file.name().into();
            json["line"] = line.into();
            json["column"] = column.into();
            json["label"] = at.label.as_str().into();
        }
        json
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at.as_ref().map(|at| &at.file as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let at = self.at.as_ref()?;
        let len = at.span.end.saturating_sub(at.span.start);
        let label = LabeledSpan::new(Some(at.label.clone()), at.span.start, len);
        Some(Box::new(std::iter::once(label)))
    }
}

/// Every problem of a manifest that could not be accepted (errors), plus the warnings seen on
/// the way, so a user fixes them all in one round.
#[derive(Debug, Clone)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    #[cfg(test)]
    pub(crate) fn has_errors(&self) -> bool {
        self.0.iter().any(Problem::is_error)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(Problem::one_line).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for Problems {}

/// The valid name nearest to `wrong`, when one is near enough to be a typo of it: at most one
/// edit (insert, delete, change, swap two neighbours) per three characters, and at least one.
pub(super) fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(1);
    let lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let f = SourceFile::new("x", "ab\ncdé\nf");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.line_span(2), 3..7);
        assert_eq!(f.line_span(4), 9..9);
        assert_eq!(f.line_span(0), 9..9);
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        let f = SourceFile::new("x", "a\r\nb\rc\nd");
        assert_eq!([f.line_span(1), f.line_span(2), f.line_span(3), f.line_span(4)], [0..1, 3..4, 5..6, 7..8]);
        assert_eq!(f.line_col(5), (3, 1));
        assert_eq!(f.line_col(2), (1, 3));
        assert_eq!(f.line_col(100), (4, 2));
    }

    #[test]
    fn an_excerpt_counts_lines_as_its_file_does() {
        let f = SourceFile::excerpt("x", "ab\ncd", 41);
        assert_eq!((f.line_col(0), f.line_col(4)), ((41, 1), (42, 2)));
        assert_eq!((f.line_span(42), f.line_span(40)), (3..5, 5..5));
        let shown = crate::terminal::problem(&Problem::error("bad").at(&f, 3..5, "here"), false);
        assert!(shown.contains("[x:42:1]") && shown.contains("42 │ cd"), "{shown}");
    }

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["cmd", "cwd", "env", "env_file", "depends_on"];
        assert_eq!(nearest("cmdd", keys), Some("cmd"));
        assert_eq!(nearest("depend_on", keys), Some("depends_on"));
        assert_eq!(nearest("zzzz", keys), None);
        assert_eq!(nearest("bd", ["db", "web"]), Some("db"));
        assert_eq!(nearest("sometimes", ["no", "on-failure", "always"]), None);
    }
}
