//! Draws the TUI: the services pane, the logs pane, a status line, and the help over them.
//! A pure function of the [`App`], so frames can be rendered on a test backend and
//! snapshot-tested. Without colour (`NO_COLOR`) the selected row still stands out: a marker
//! and reverse video.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, LogLine, Overlay};
use super::overlays;
use crate::ipc::ServiceStatus;
use crate::model::Phase;
use crate::terminal::{Tone, phase_tone};

/// The keys, as the help shows them.
const KEYS: [(&str, &str); 17] = [
    ("↑/↓ j/k", "select a service"),
    ("enter", "its details: command, folder, env, checks, last exit"),
    ("d", "what each service depends on"),
    ("/", "search the logs (highlighted); f shows only what matches"),
    ("r", "restart it"),
    ("s", "stop it"),
    ("S", "start it"),
    ("+ / -", "one replica more / less"),
    ("tab", "logs of every service / of the selected one"),
    ("PgUp/PgDn", "scroll the logs back / forward"),
    ("Home/End", "the oldest line / follow the newest"),
    ("t", "timestamps on / off"),
    ("w", "wrap long lines / cut them"),
    ("?", "this help"),
    ("q", "quit (the services keep running)"),
    ("", ""),
    ("", "copy and paste work as in any terminal"),
];

/// foreman's palette (as `orch logs`), one colour per service in the order of the rows.
const PALETTE: [Color; 6] = [Color::Cyan, Color::Yellow, Color::Green, Color::Magenta, Color::Blue, Color::LightCyan];

pub(crate) fn draw(frame: &mut Frame, app: &App, color: bool) {
    let area = frame.area();
    let reasons = app.rows.iter().filter(|r| r.reason.is_some()).count();
    let services_height = u16::try_from(app.rows.len() + reasons + 3).unwrap_or(u16::MAX).min(area.height / 2).max(4);
    let notes = u16::try_from(app.notes.len()).unwrap_or(0).min(3);
    let [notes_area, services, logs, status] = Layout::vertical([
        Constraint::Length(notes),
        Constraint::Length(services_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    if notes > 0 {
        let text: Vec<Line> = app.notes.iter().map(|n| Line::from(format!("! {n}"))).collect();
        frame.render_widget(Paragraph::new(text).style(tone_style(Tone::Bad, color)), notes_area);
    }
    frame.render_widget(services_pane(app, color, services.height), services);
    draw_logs(frame, app, logs, color);
    let said = match &app.typing {
        Some(typed) => format!("/{typed}▏ (enter searches, esc leaves it)"),
        None => app.status.clone(),
    };
    let tone = match said.chars().next() {
        Some('✓') => tone_style(Tone::Good, color),
        Some('✗') => tone_style(Tone::Bad, color),
        _ => Style::new().add_modifier(Modifier::DIM),
    };
    frame.render_widget(Paragraph::new(said).style(tone), status);
    match app.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let lines: Vec<String> = KEYS.iter().map(|(key, what)| format!(" {key:<10} {what}")).collect();
            draw_overlay(frame, area, " keys (any key closes) ", &lines);
        }
        Overlay::Details => draw_overlay(frame, area, " details (any key closes) ", &overlays::details(app)),
        Overlay::Tree => draw_overlay(frame, area, " depends on (any key closes) ", &overlays::tree(app)),
    }
}

/// The services pane: a row each, columns padded to their widest cell, the state coloured as
/// in `ps`; why a state is unhappy on a line of its own under its row, as `ps` shows it, so a
/// row never runs past 80 columns.
fn services_pane(app: &App, color: bool, height: u16) -> Paragraph<'_> {
    let health = app.rows.iter().any(|r| r.health.is_some());
    let mut header = vec!["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "CPU", "MEM"];
    if health {
        header.push("HEALTH");
    }
    let cells: Vec<Vec<String>> = app.rows.iter().map(|row| service_cells(row, health)).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| cells.iter().map(|c| c[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let pad = |text: &str, i: usize| format!("{text:<width$} ", width = widths[i]);
    let mut lines = vec![Line::styled(
        format!("  {}", header.iter().enumerate().map(|(i, h)| pad(h, i)).collect::<String>()),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if app.rows.is_empty() {
        lines.push(Line::from("  no services: `orch up` (or `orch start NAME -- CMD`) starts some"));
    }
    let mut selected_line = 0;
    for (index, (row, cells)) in app.rows.iter().zip(&cells).enumerate() {
        let selected = index == app.selected;
        if selected {
            selected_line = lines.len();
        }
        let tone = Phase::parse(&row.state).map_or(Tone::Quiet, phase_tone);
        let mut spans = vec![Span::raw(if selected { "▶ " } else { "  " })];
        for (i, cell) in cells.iter().enumerate() {
            let style = if i == 1 { tone_style(tone, color) } else { Style::new() };
            spans.push(Span::styled(pad(cell, i), style));
        }
        let style = if selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
        lines.push(Line::from(spans).style(style));
        if let Some(reason) = &row.reason {
            lines.push(Line::styled(format!("    ↳ {reason}"), tone_style(tone, color)));
        }
    }
    // More rows than fit: scrolled so that the selected one shows (the header scrolls too).
    let visible = usize::from(height.saturating_sub(1)).max(1);
    let offset = u16::try_from((selected_line + 2).saturating_sub(visible)).unwrap_or(0);
    Paragraph::new(lines).scroll((offset, 0)).block(Block::new().borders(Borders::TOP).title(" services "))
}

fn service_cells(row: &ServiceStatus, health: bool) -> Vec<String> {
    let dash = || "-".to_owned();
    let mut cells = vec![
        row.name.clone(),
        row.state.clone(),
        row.pid.map_or_else(dash, |p| p.to_string()),
        row.port.map_or_else(dash, |p| p.to_string()),
        row.uptime_secs.map_or_else(dash, short_duration),
        row.restarts.to_string(),
        row.cpu_percent.map_or_else(dash, |c| format!("{c:.1}%")),
        row.mem_bytes.map_or_else(dash, mebibytes),
    ];
    if health {
        cells.push(row.health.clone().unwrap_or_else(dash));
    }
    cells
}

fn draw_logs(frame: &mut Frame, app: &App, area: Rect, color: bool) {
    let shown = app.shown_logs();
    let height = usize::from(area.height.saturating_sub(1));
    // Scrolled to the oldest line: a whole page from it, not it alone at the bottom.
    let end = shown.len().saturating_sub(app.scroll).max(height.min(shown.len()));
    let start = end.saturating_sub(height);
    let width = app.rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let lines: Vec<Line> = shown[start..end].iter().map(|l| styled_line(app, l, width, color)).collect();
    let title = match (app.all, app.selected_name()) {
        (true, _) | (false, None) => " logs: every service ".to_owned(),
        (false, Some(name)) => format!(" logs: {name} "),
    };
    let title = match (&app.search, app.filter) {
        (Some(query), true) => format!("{title}/{query}, only matches "),
        (Some(query), false) => format!("{title}/{query} "),
        (None, _) => title,
    };
    let title = if app.scroll > 0 { format!("{title}(scrolled back {} lines) ", app.scroll) } else { title };
    let pane = Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(title));
    let pane = if app.wrap { pane.wrap(Wrap { trim: false }) } else { pane };
    frame.render_widget(pane, area);
}

/// A line of the logs pane as drawn: its time, its speaker's prefix, the text with the search
/// highlighted.
fn styled_line<'a>(app: &App, line: &'a LogLine, width: usize, color: bool) -> Line<'a> {
    let mut spans = Vec::new();
    if app.timestamps {
        let at = chrono::DateTime::<chrono::Local>::from(line.at).format("%H:%M:%S%.3f ").to_string();
        spans.push(Span::styled(at, Style::new().add_modifier(Modifier::DIM)));
    }
    let (speaker, style) = if line.orch {
        ("orch", if color { Style::new().fg(Color::DarkGray) } else { Style::new() })
    } else {
        let index = app.rows.iter().position(|r| r.name == line.service).unwrap_or(0);
        (line.service.as_str(), if color { Style::new().fg(PALETTE[index % PALETTE.len()]) } else { Style::new() })
    };
    spans.push(Span::styled(format!("{speaker:<width$} | "), style));
    spans.extend(highlighted(&line.text, app.search.as_deref()));
    Line::from(spans)
}

/// A box over the middle of the screen, as wide as its longest line allows.
fn draw_overlay(frame: &mut Frame, area: Rect, title: &str, lines: &[String]) {
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0).max(title.chars().count());
    let width = u16::try_from(longest + 4).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX).min(area.height);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    let text: Vec<Line> = lines.iter().map(|l| Line::from(format!(" {l}"))).collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(text).block(Block::bordered().title(title.to_owned())), popup);
}

/// The text with each match of the search in reverse video (plain where nothing matches).
fn highlighted<'a>(text: &'a str, search: Option<&str>) -> Vec<Span<'a>> {
    let Some(query) = search.filter(|q| !q.is_empty()) else { return vec![Span::raw(text)] };
    let lower = text.to_ascii_lowercase();
    let query = query.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find(&query).map(|i| i + at) {
        spans.push(Span::raw(&text[at..found]));
        let end = found + query.len();
        spans.push(Span::styled(&text[found..end], Style::new().add_modifier(Modifier::REVERSED)));
        at = end;
    }
    spans.push(Span::raw(&text[at..]));
    spans
}

fn tone_style(tone: Tone, color: bool) -> Style {
    if !color {
        return Style::new();
    }
    match tone {
        Tone::Good => Style::new().fg(Color::Green),
        Tone::Busy => Style::new().fg(Color::Yellow),
        Tone::Bad => Style::new().fg(Color::Red),
        Tone::Quiet => Style::new().add_modifier(Modifier::DIM),
    }
}

/// `42s`, `3m`, `2h`, `5d`: uptime at a glance.
fn short_duration(secs: f64) -> String {
    let secs = std::time::Duration::try_from_secs_f64(secs).map_or(0, |d| d.as_secs());
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1}M", bytes as f64 / 1_048_576.0)
}
