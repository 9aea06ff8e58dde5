//! A problem of a manifest as it crosses the socket: its place in words (file, line, column)
//! for any client, and the lines around it, so that a client shows it as `orch check` does —
//! the offending line, a caret, the hint — without reading the file again (which may have
//! changed since the supervisor read it).

use std::ops::Range;

use miette::Severity;
use serde::{Deserialize, Serialize};

use crate::manifest::{Problem, SourceFile};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProblemReport {
    pub(crate) severity: ReportedSeverity,
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) at: Option<ReportedPlace>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReportedSeverity {
    Error,
    Warning,
    Note,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportedPlace {
    /// As the supervisor showed it: relative to the project's root.
    pub(crate) file: String,
    /// 1-based; the column counted in characters.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// The words under the caret.
    pub(crate) label: String,
    /// The lines of the file around the problem (one before, one after), and the number of
    /// the first of them.
    pub(crate) excerpt: String,
    pub(crate) excerpt_line: usize,
    /// The bytes of `excerpt` the problem is about.
    pub(crate) span: Range<usize>,
}

/// How many lines around a problem are shown (miette's default).
const CONTEXT_LINES: usize = 1;

impl From<&Problem> for ProblemReport {
    fn from(problem: &Problem) -> Self {
        let severity = match problem.severity {
            Severity::Error => ReportedSeverity::Error,
            Severity::Warning => ReportedSeverity::Warning,
            Severity::Advice => ReportedSeverity::Note,
        };
        let at = problem.at.as_ref().map(|at| {
            let (line, column) = at.file.line_col(at.span.start);
            let (last, _) = at.file.line_col(at.span.end);
            let first = line.saturating_sub(CONTEXT_LINES).max(at.file.first_line());
            let start = at.file.line_span(first).start;
            let end = at.file.line_span(last + CONTEXT_LINES).end.max(at.span.end);
            let text = at.file.text();
            ReportedPlace {
                file: at.file.name().to_owned(),
                line,
                column,
                label: at.label.clone(),
                excerpt: text.get(start..end).unwrap_or_default().to_owned(),
                excerpt_line: first,
                span: at.span.start - start..at.span.end - start,
            }
        });
        Self { severity, message: problem.message.clone(), help: problem.help.clone(), at }
    }
}

impl ProblemReport {
    /// The problem again, to be shown as `orch check` shows it. What came over the socket is
    /// not taken on trust: a span that does not fit its excerpt keeps the place in words only.
    pub(crate) fn to_problem(&self) -> Problem {
        let mut problem = match self.severity {
            ReportedSeverity::Error => Problem::error(&self.message),
            ReportedSeverity::Warning => Problem::warning(&self.message),
            ReportedSeverity::Note => Problem::note(&self.message),
        };
        problem.help.clone_from(&self.help);
        let Some(at) = &self.at else { return problem };
        if at.excerpt.get(at.span.clone()).is_some() {
            let file = SourceFile::excerpt(&at.file, at.excerpt.as_str(), at.excerpt_line.max(1));
            problem.at(&file, at.span.clone(), &at.label)
        } else {
            problem.message = format!("{}:{}:{}: {}", at.file, at.line, at.column, problem.message);
            problem
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};

    /// The problems of a manifest, as `orch check` would show them.
    fn problems_of(manifest: &str, dotenv: &str) -> Vec<Problem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), dotenv).unwrap();
        let path = dir.path().join("procs.toml");
        std::fs::write(&path, manifest).unwrap();
        load(&path, &LoadOptions::new(crate::manifest::BaseEnv::default(), dir.path().to_path_buf()))
            .expect_err("refused")
            .0
    }

    #[test]
    fn a_problem_that_crossed_the_socket_shows_as_check_shows_it() {
        let padding = "# a comment\n".repeat(40);
        let manifest =
            format!("{padding}[services.web]\ncmd = \"x\"\ndepend_on = [\"db\"]\nstop_signal = \"SIGTREM\"\n");
        let problems = problems_of(&manifest, "GOOD=1\nthis is not a variable\nALSO=2\n");
        assert!(problems.len() >= 2, "{problems:#?}");
        for problem in &problems {
            let line = serde_json::to_string(&ProblemReport::from(problem)).unwrap();
            let back: ProblemReport = serde_json::from_str(&line).unwrap();
            let (shown, original) = (render_plain(&back.to_problem()), render_plain(problem));
            assert_eq!(shown, original);
            assert!(line.len() < 600, "only the lines around it cross: {line}");
        }
        let places: Vec<(String, usize, usize)> =
            problems.iter().filter_map(|p| ProblemReport::from(p).at).map(|at| (at.file, at.line, at.column)).collect();
        assert!(places.contains(&(".env".into(), 2, 1)), "{places:?}");
        assert!(places.contains(&("procs.toml".into(), 43, 1)), "{places:?}");
    }

    #[test]
    fn a_span_that_does_not_fit_its_excerpt_keeps_the_place_in_words() {
        let mut report = ProblemReport::from(&problems_of("[services.web]\ncmd = 5\n", "")[0]);
        let at = report.at.as_mut().unwrap();
        at.span = 3..4000;
        let problem = report.to_problem();
        assert!(problem.at.is_none());
        assert!(problem.message.starts_with("procs.toml:2:7: service `web`: "), "{}", problem.message);
    }

    fn render_plain(problem: &Problem) -> String {
        crate::terminal::problem(problem, false)
    }
}
