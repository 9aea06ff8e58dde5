//! How orch talks to a terminal: colour only on a TTY and never under `NO_COLOR`; problems
//! rendered like a compiler's, with the offending line and a caret.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::manifest::Problem;

/// Whether stderr (where problems go) may be coloured.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn problem(problem: &Problem, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, problem).is_err() {
        // Rendering into a String cannot fail short of a bug in the renderer; fall back.
        out = problem.one_line();
    }
    out
}

/// Prints problems to stderr.
pub fn problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    let color = stderr_color();
    for p in problems {
        eprintln!("{}", problem(p, color));
    }
}
