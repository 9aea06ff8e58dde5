//! How orch talks to a terminal: colour only on a TTY and never under `NO_COLOR`; problems
//! rendered like a compiler's, with the offending line and a caret.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::manifest::Problem;

/// Whether output to a stream may be coloured: only a terminal, and never under `NO_COLOR`.
pub fn color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stderr (where problems go) may be coloured.
pub fn stderr_color() -> bool {
    color(std::io::stderr().is_terminal())
}

/// foreman's palette: cyan, yellow, green, magenta, red, blue, then the bright ones.
const PALETTE: [&str; 10] = ["36", "33", "32", "35", "31", "34", "96", "93", "92", "95"];

/// The `web    | ` in front of a service's line, padded to `width`, in the colour of the
/// `index`th service when `color`.
pub fn line_prefix(buf: &mut Vec<u8>, name: &str, width: usize, index: Option<usize>, color: bool) {
    match index.filter(|_| color) {
        Some(i) => {
            buf.extend_from_slice(format!("\x1b[{}m{name:<width$} |\x1b[0m ", PALETTE[i % PALETTE.len()]).as_bytes())
        }
        None => buf.extend_from_slice(format!("{name:<width$} | ").as_bytes()),
    }
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
