//! How orch's text looks on a terminal, whoever writes it (the supervisor's foreground lines,
//! every front end): colour only on a TTY (or with `CLICOLOR_FORCE`), never under `NO_COLOR`;
//! tones and line prefixes; problems drawn like a compiler's, with the offending line and a
//! caret. What the front ends say is `render`'s.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::manifest::Problem;
use crate::model::Phase;

/// Whether output to a stream may be coloured: `NO_COLOR` (set and not empty) says never,
/// `CLICOLOR_FORCE` (set and not `0`) says always, else only a terminal.
pub(crate) fn color(stream_is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if set("NO_COLOR").is_some() {
        return false;
    }
    if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    stream_is_terminal
}

/// Whether stderr (where problems and spinners go) may be coloured.
pub(crate) fn stderr_color() -> bool {
    color(std::io::stderr().is_terminal())
}

/// Whether stdout may be coloured.
pub(crate) fn stdout_color() -> bool {
    color(std::io::stdout().is_terminal())
}

/// What a piece of text says, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Up and fine: green.
    Good,
    /// On its way: yellow.
    Busy,
    /// Failed: red.
    Bad,
    /// Not up, and nothing wrong: dim.
    Quiet,
}

/// The tone of a service state, as `up`, `ps` and `down` colour it.
pub(crate) fn phase_tone(phase: Phase) -> Tone {
    match phase {
        Phase::Ready | Phase::Running | Phase::Completed => Tone::Good,
        Phase::Pending | Phase::Starting | Phase::Stopping | Phase::Backoff => Tone::Busy,
        Phase::Failed | Phase::Fatal | Phase::Blocked => Tone::Bad,
        Phase::Stopped => Tone::Quiet,
    }
}

/// The text in its tone's colour, when `on`.
pub(crate) fn paint(text: &str, tone: Tone, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Busy => "33",
        Tone::Bad => "31",
        Tone::Quiet => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// foreman's palette, less red (it reads as an error): cyan, yellow, green, magenta, blue,
/// then the bright ones.
const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// orch's own `orch | …` lines: grey, a colour no service gets.
const ORCH_COLOR: &str = "90";

/// Whose line a prefix is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Speaker {
    /// The `index`th service, in its colour.
    Service(usize),
    /// orch itself.
    Orch,
}

/// The `web    | ` in front of a line, padded to `width`, coloured for its speaker when `color`.
pub(crate) fn line_prefix(buf: &mut Vec<u8>, name: &str, width: usize, speaker: Speaker, color: bool) {
    if !color {
        buf.extend_from_slice(format!("{name:<width$} | ").as_bytes());
        return;
    }
    let code = match speaker {
        Speaker::Service(i) => PALETTE[i % PALETTE.len()],
        Speaker::Orch => ORCH_COLOR,
    };
    buf.extend_from_slice(format!("\x1b[{code}m{name:<width$} |\x1b[0m ").as_bytes());
}

pub(crate) fn problem(problem: &Problem, color: bool) -> String {
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
pub(crate) fn problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    let color = stderr_color();
    for p in problems {
        eprintln!("{}", problem(p, color));
    }
}

/// The width of the terminal on stdout, if it is one.
pub(crate) fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let size = nix::libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    let mut size = size;
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own, and reads nothing else.
    let ok = unsafe { nix::libc::ioctl(nix::libc::STDOUT_FILENO, nix::libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}
