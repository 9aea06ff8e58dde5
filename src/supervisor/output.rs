//! Where the supervisor's words go. In the background: notices to its own log
//! (`.orch/supervisor.log`, its stderr). In the foreground: every service's lines, merged and
//! colour-prefixed as foreman does (`web    | line`), and the notices as `orch` lines.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub enum Output {
    Background,
    Foreground(Arc<Foreground>),
}

pub struct Foreground {
    color: bool,
    inner: Mutex<Names>,
}

/// The names seen so far: each gets a colour in turn, and the prefix is as wide as the longest.
struct Names {
    width: usize,
    order: Vec<String>,
}

impl Output {
    pub fn foreground(names: &[String]) -> Self {
        let color = crate::render::color(std::io::stdout().is_terminal());
        let width = names.iter().map(String::len).max().unwrap_or(0).max("orch".len());
        let names = Names { width, order: names.to_vec() };
        Output::Foreground(Arc::new(Foreground { color, inner: Mutex::new(names) }))
    }

    /// A line of a service's output.
    pub fn line(&self, service: &str, line: &[u8]) {
        if let Output::Foreground(fg) = self {
            fg.print(service, line);
        }
    }

    /// Something orch has to say about a service.
    pub fn notice(&self, service: &str, text: &str) {
        match self {
            Output::Background => {
                let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
                say!("{now} {service}: {text}");
            }
            Output::Foreground(fg) => fg.print("orch", format!("{service}: {text}").as_bytes()),
        }
    }
}

impl Foreground {
    fn print(&self, service: &str, line: &[u8]) {
        let (width, index) = {
            let mut names = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let index = match names.order.iter().position(|n| n == service) {
                Some(i) => i,
                None => {
                    names.order.push(service.to_owned());
                    names.width = names.width.max(service.len());
                    names.order.len() - 1
                }
            };
            (names.width, index)
        };
        let mut out = Vec::with_capacity(line.len() + width + 16);
        // orch's own lines stay uncoloured, apart from the services'.
        let index = (service != crate::manifest::RESERVED_NAME).then_some(index);
        crate::render::line_prefix(&mut out, service, width, index, self.color);
        out.extend_from_slice(line);
        out.push(b'\n');
        // One write per line, so lines of different services never interleave mid-line.
        let _ = std::io::stdout().lock().write_all(&out);
    }
}
