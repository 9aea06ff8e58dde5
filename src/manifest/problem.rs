//! A problem found in a manifest (or a file it names): what is wrong, where, and what would be
//! right. Rendered like a compiler's message by miette; also printable on one line
//! (`procs.toml:3:7: …`) for logs and JSON.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};

/// The text of one file, shared by every problem that points into it.
#[derive(Clone)]
pub struct SourceFile {
    named: Arc<NamedSource<Arc<str>>>,
}

impl SourceFile {
    pub fn new(name: impl AsRef<str>, text: impl Into<Arc<str>>) -> Self {
        let named = NamedSource::new(name, text.into()).with_language("toml");
        Self { named: Arc::new(named) }
    }

    pub fn name(&self) -> &str {
        self.named.name()
    }

    pub fn text(&self) -> &str {
        self.named.inner()
    }

    /// 1-based line and column of a byte offset, the column counted in characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// The byte range of a 1-based line, without its line ending.
    pub fn line_span(&self, line: usize) -> Range<usize> {
        let mut start = 0;
        for (i, l) in self.text().split_inclusive('\n').enumerate() {
            if i + 1 == line {
                let trimmed = l.trim_end_matches(['\n', '\r']);
                return start..start + trimmed.len();
            }
            start += l.len();
        }
        start..start
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SourceFile").field(&self.name()).finish()
    }
}

/// Where a problem is: a span of a file, with a short label under the caret.
#[derive(Clone, Debug)]
pub struct Location {
    pub file: SourceFile,
    pub span: Range<usize>,
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub at: Option<Location>,
}

impl Problem {
    pub fn error(message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, message: message.into(), help: None, at: None }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(message) }
    }

    pub fn at(mut self, file: &SourceFile, span: Range<usize>, label: impl Into<String>) -> Self {
        self.at = Some(Location { file: file.clone(), span, label: label.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the problem, when it has a place.
    pub fn position(&self) -> Option<String> {
        let at = self.at.as_ref()?;
        let (line, col) = at.file.line_col(at.span.start);
        Some(format!("{}:{line}:{col}", at.file.name()))
    }

    /// One line for logs: `procs.toml:3:7: unknown key `cmdd` (did you mean `cmd`?)`.
    pub fn one_line(&self) -> String {
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
        self.at.as_ref().map(|at| &*at.file.named as &dyn SourceCode)
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
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn has_errors(&self) -> bool {
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
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
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
