//! What the TUI shows and how keys change it: a pure state machine, fed the supervisor's
//! updates and the user's keys, drawn by `view`. No terminal, no socket: the tests drive it.

use std::collections::VecDeque;
use std::time::SystemTime;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use indexmap::IndexMap;

use crate::ipc::{ServiceStatus, Update};
use crate::manifest::Service;
use crate::model::names::group_of;

/// The lines kept in memory for the logs pane, all services together.
pub(crate) const KEPT_LINES: usize = 10_000;
/// How many more lines a scroll past the oldest one reads from the files at a time.
pub(crate) const OLDER_LINES: usize = 5_000;

/// One line of the logs pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogLine {
    pub(crate) service: String,
    pub(crate) text: String,
    /// orch's own line about the service (`web: ready`), not the service's output.
    pub(crate) orch: bool,
    pub(crate) at: SystemTime,
}

pub(crate) use crate::client::action::Action;

/// What is drawn over the panes, until a key closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overlay {
    None,
    Help,
    /// The selected service's command, folder, environment, checks and last exit.
    Details,
    /// What each service depends on.
    Tree,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "what the logs pane shows, quitting and redrawing are independent facts"
)]
pub(crate) struct App {
    pub(crate) rows: Vec<ServiceStatus>,
    /// The manifest's services as resolved (for the details and the dependency tree).
    pub(crate) configs: IndexMap<String, Service>,
    pub(crate) selected: usize,
    pub(crate) logs: VecDeque<LogLine>,
    /// The logs pane shows every service's lines, not only the selected one's.
    pub(crate) all: bool,
    /// Lines scrolled back from the newest; 0 follows the tail.
    pub(crate) scroll: usize,
    pub(crate) timestamps: bool,
    /// Long lines wrap (else they are cut at the pane's edge).
    pub(crate) wrap: bool,
    pub(crate) overlay: Overlay,
    /// The search the logs pane highlights (`/`), and whether it shows only the lines that
    /// match it (`f`).
    pub(crate) search: Option<String>,
    pub(crate) filter: bool,
    /// A search being typed.
    pub(crate) typing: Option<String>,
    /// The outcome of the last action, or what is under way.
    pub(crate) status: String,
    /// The project's problems (a manifest that does not load), as `ps` shows them.
    pub(crate) notes: Vec<String>,
    /// Scrolled back to the oldest line in memory: the next lines are to be read from the
    /// files (`Some(lines in memory)`), until the files have no more (`at_start`).
    pub(crate) wants_older: Option<usize>,
    pub(crate) at_start: bool,
    /// How many lines are kept: [`KEPT_LINES`], more once older ones were read back.
    limit: usize,
    /// The logs pane's height, as last drawn: what PgUp and PgDn move by.
    pub(crate) page: usize,
    /// Updates were dropped: the lines are to be read again from the files.
    pub(crate) wants_reload: bool,
    pub(crate) quit: bool,
    /// Something changed since the last frame.
    pub(crate) dirty: bool,
}

impl App {
    pub(crate) fn new(rows: Vec<ServiceStatus>) -> Self {
        Self {
            rows,
            configs: IndexMap::new(),
            selected: 0,
            logs: VecDeque::new(),
            all: false,
            scroll: 0,
            timestamps: false,
            wrap: false,
            overlay: Overlay::None,
            search: None,
            filter: false,
            typing: None,
            status: "? for help".to_owned(),
            notes: Vec::new(),
            wants_older: None,
            at_start: false,
            limit: KEPT_LINES,
            page: 10,
            wants_reload: false,
            quit: false,
            dirty: true,
        }
    }

    pub(crate) fn selected_name(&self) -> Option<&str> {
        self.rows.get(self.selected).map(|r| r.name.as_str())
    }

    /// A key: moves the selection or the view, or asks for an action.
    pub(crate) fn key(&mut self, key: KeyEvent) -> Option<Action> {
        self.dirty = true;
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return None;
        }
        if self.overlay != Overlay::None {
            self.overlay = Overlay::None;
            return None;
        }
        if self.typing.is_some() {
            self.type_search(key.code);
            return None;
        }
        let name = self.selected_name().map(str::to_owned);
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            // Esc closes and clears; only q quits (a second Esc must not end the TUI).
            KeyCode::Esc => {
                self.search = None;
                self.filter = false;
            }
            KeyCode::Char('?') => self.overlay = Overlay::Help,
            KeyCode::Enter => self.overlay = Overlay::Details,
            KeyCode::Char('d') => self.overlay = Overlay::Tree,
            KeyCode::Char('/') => self.typing = Some(String::new()),
            KeyCode::Char('f') if self.search.is_some() => {
                self.filter = !self.filter;
                self.scroll = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => self.select(self.selected + 1),
            KeyCode::Up | KeyCode::Char('k') => self.select(self.selected.saturating_sub(1)),
            KeyCode::Tab => {
                self.all = !self.all;
                self.scroll = 0;
            }
            KeyCode::Char('t') => self.timestamps = !self.timestamps,
            KeyCode::Char('w') => self.wrap = !self.wrap,
            KeyCode::PageUp => self.scroll_back(self.scroll + self.page),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(self.page),
            KeyCode::Home => self.scroll_back(usize::MAX),
            KeyCode::End => self.scroll = 0,
            KeyCode::Char('r') => return name.map(Action::Restart),
            KeyCode::Char('s') => return name.map(Action::Stop),
            KeyCode::Char('S') => return name.map(Action::Start),
            KeyCode::Char('+') => return self.scale_by(true),
            KeyCode::Char('-') => return self.scale_by(false),
            _ => self.dirty = false,
        }
        None
    }

    /// The wheel, with `--mouse`: three lines a notch.
    pub(crate) fn mouse(&mut self, kind: ratatui::crossterm::event::MouseEventKind) {
        use ratatui::crossterm::event::MouseEventKind;
        match kind {
            MouseEventKind::ScrollUp => self.scroll_back(self.scroll + 3),
            MouseEventKind::ScrollDown => self.scroll = self.scroll.saturating_sub(3),
            _ => return,
        }
        self.dirty = true;
    }

    /// Scrolls back to `to` lines from the newest, at most to the oldest in memory; there, the
    /// lines before it are wanted from the files.
    fn scroll_back(&mut self, to: usize) {
        // At most so far back that a whole page of the oldest lines shows.
        let oldest = self.shown_logs().len().saturating_sub(self.page.max(1));
        self.scroll = to.min(oldest);
        if to >= oldest && !self.at_start {
            self.wants_older = Some(self.logs.len());
        }
    }

    /// The newest lines again, from the files, after updates were dropped: in place of those
    /// in memory, so nothing the files have is missing from the pane.
    pub(crate) fn reload(&mut self, records: Vec<crate::logs::Record>) {
        self.logs.clear();
        self.limit = KEPT_LINES;
        self.at_start = false;
        self.history(records);
        self.dirty = true;
    }

    /// Lines read back from the files: the last `OLDER_LINES` more than were in memory when
    /// asked. Those older than the oldest kept go in front; none means the files start here.
    pub(crate) fn older(&mut self, records: Vec<crate::logs::Record>) {
        let oldest = self.logs.front().map(|l| l.at);
        let mut before: Vec<LogLine> =
            records.into_iter().filter(|r| oldest.is_none_or(|t| r.time < t)).map(log_line).collect();
        self.at_start = before.is_empty();
        if self.at_start {
            "the start of the logs".clone_into(&mut self.status);
        }
        // (The scroll counts from the newest line: the view stays where it was.)
        self.limit = self.limit.max(self.logs.len() + before.len());
        before.extend(self.logs.drain(..));
        self.logs = before.into();
        self.dirty = true;
    }

    /// A key while a search is typed: Enter searches (an empty search clears it), Esc leaves
    /// the search as it was.
    fn type_search(&mut self, code: KeyCode) {
        let Some(typed) = &mut self.typing else { return };
        match code {
            KeyCode::Char(c) => typed.push(c),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Enter => {
                let typed = self.typing.take().unwrap_or_default();
                self.filter &= !typed.is_empty();
                self.search = (!typed.is_empty()).then_some(typed);
                self.scroll = 0;
            }
            KeyCode::Esc => self.typing = None,
            _ => {}
        }
    }

    fn select(&mut self, index: usize) {
        self.selected = index.min(self.rows.len().saturating_sub(1));
        self.scroll = 0;
    }

    /// `+`/`-` on a replica (or an unscaled service, which `+` makes two): its group's number
    /// of replicas, one more or one less.
    fn scale_by(&self, more: bool) -> Option<Action> {
        let name = self.selected_name()?;
        let group = group_of(name).unwrap_or(name);
        let now = self.rows.iter().filter(|r| r.name == group || group_of(&r.name) == Some(group)).count();
        let next = if more { now + 1 } else { now.checked_sub(1)? };
        Some(Action::Scale(group.to_owned(), u32::try_from(next).ok()?))
    }

    /// An update from the subscription: a service's new state, or a line it wrote (orch's own
    /// lines, service `orch`'s, about the service their text names, as in the files).
    pub(crate) fn update(&mut self, update: Update, at: SystemTime) {
        self.dirty = true;
        match update {
            Update::Phase { service, phase, pid, reason } => match self.rows.iter_mut().find(|r| r.name == service) {
                Some(row) => {
                    phase.as_str().clone_into(&mut row.state);
                    row.pid = pid.or(row.pid.filter(|_| phase.has_process()));
                    row.reason = reason;
                }
                None => self.rows.push(ServiceStatus {
                    name: service,
                    state: phase.as_str().to_owned(),
                    pid,
                    reason,
                    ..ServiceStatus::default()
                }),
            },
            Update::Line { service, text, .. } => self.push(shown_line(service, text.as_bytes(), at)),
            Update::Lost { updates } => {
                self.status = format!("{updates} lines came faster than the screen: read again from the log files");
                self.wants_reload = true;
            }
        }
    }

    /// A fresh listing (`ps`): the rows as the supervisor has them, the selection kept on the
    /// same service where it still is.
    pub(crate) fn set_rows(&mut self, rows: Vec<ServiceStatus>, notes: Vec<String>) {
        let keep = self.selected_name().map(str::to_owned);
        self.rows = rows;
        self.notes = notes;
        match keep.and_then(|name| self.rows.iter().position(|r| r.name == name)) {
            // The same service: the logs pane stays where it was scrolled to.
            Some(index) => self.selected = index,
            None => self.select(self.selected),
        }
        self.dirty = true;
    }

    /// Lines from the log files, oldest first, before what the subscription brings: the
    /// scroll-back of what happened before the TUI started. orch's own lines (`orch`'s file)
    /// are about the service their text names.
    pub(crate) fn history(&mut self, records: Vec<crate::logs::Record>) {
        for record in records {
            self.push(log_line(record));
        }
    }

    fn push(&mut self, line: LogLine) {
        if self.logs.len() >= self.limit {
            self.logs.pop_front();
        }
        // Scrolled back: the view stays on the same lines as new ones come (those it shows).
        if self.scroll > 0 && self.shows(&line) {
            self.scroll += 1;
        }
        self.logs.push_back(line);
    }

    /// The lines of the logs pane: the selected service's (orch's lines about it included), or
    /// every service's with `all`.
    pub(crate) fn shown_logs(&self) -> Vec<&LogLine> {
        self.logs.iter().filter(|l| self.shows(l)).collect()
    }

    /// Whether the logs pane shows this line: the selected service's (or all, with `tab`),
    /// and with `f` only those the search finds.
    fn shows(&self, line: &LogLine) -> bool {
        let service = self.all || Some(line.service.as_str()) == self.selected_name();
        service && (!self.filter || self.search.as_deref().is_none_or(|q| contains(&line.text, q)))
    }

    /// Says how an action ended.
    pub(crate) fn done(&mut self, said: String) {
        self.status = said;
        self.dirty = true;
    }
}

/// A line of a log file as the logs pane shows it; orch's own (`orch.log`) are about the
/// service their text names.
fn log_line(record: crate::logs::Record) -> LogLine {
    shown_line(record.service, &record.line, record.time)
}

/// A line a service wrote, or orch's about the service its text names, controls stripped.
fn shown_line(service: String, line: &[u8], at: SystemTime) -> LogLine {
    let text = crate::sanitize::shown_text(line);
    let orch = service == crate::model::names::RESERVED_NAME;
    let service = if orch { text.split(':').next().unwrap_or_default().to_owned() } else { service };
    LogLine { service, text, orch, at }
}

/// Whether `text` has `query` in it, ignoring ASCII case (as a person searches a log).
pub(crate) fn contains(text: &str, query: &str) -> bool {
    text.to_ascii_lowercase().contains(&query.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Phase;
    use ratatui::crossterm::event::KeyEvent;

    fn row(name: &str, state: &str) -> ServiceStatus {
        ServiceStatus { name: name.into(), state: state.into(), ..ServiceStatus::default() }
    }

    fn press(app: &mut App, code: KeyCode) -> Option<Action> {
        app.key(KeyEvent::from(code))
    }

    #[test]
    fn keys_select_and_ask_for_actions_on_the_selected_service() {
        let mut app = App::new(vec![row("db", "ready"), row("web.1", "ready"), row("web.2", "ready")]);
        assert_eq!(press(&mut app, KeyCode::Char('r')), Some(Action::Restart("db".into())));
        press(&mut app, KeyCode::Down);
        assert_eq!(press(&mut app, KeyCode::Char('s')), Some(Action::Stop("web.1".into())));
        assert_eq!(press(&mut app, KeyCode::Char('+')), Some(Action::Scale("web".into(), 3)));
        assert_eq!(press(&mut app, KeyCode::Char('-')), Some(Action::Scale("web".into(), 1)));
        for _ in 0..5 {
            press(&mut app, KeyCode::Down);
        }
        assert_eq!(app.selected_name(), Some("web.2"), "the selection stops at the last row");
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(app.overlay, Overlay::Help);
        assert_eq!(press(&mut app, KeyCode::Char('r')), None, "a key closes the help, and does nothing else");
        press(&mut app, KeyCode::Char('q'));
        assert!(app.quit);
    }

    #[test]
    fn a_search_is_typed_then_filters_the_lines() {
        let mut app = App::new(vec![row("db", "ready")]);
        let at = SystemTime::UNIX_EPOCH;
        for text in ["connected", "ERROR: disk full", "still up"] {
            app.update(Update::Line { service: "db".into(), stream: crate::logs::Stream::Out, text: text.into() }, at);
        }
        press(&mut app, KeyCode::Char('/'));
        for c in "error".chars() {
            assert_eq!(press(&mut app, KeyCode::Char(c)), None, "a typed letter is no action");
        }
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.search.as_deref(), Some("error"));
        assert_eq!(app.shown_logs().len(), 3, "a search highlights, it does not hide");
        press(&mut app, KeyCode::Char('f'));
        let shown: Vec<&str> = app.shown_logs().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(shown, ["ERROR: disk full"]);
        press(&mut app, KeyCode::Char('/'));
        press(&mut app, KeyCode::Enter);
        assert_eq!((app.search.as_deref(), app.filter), (None, false), "an empty search clears it");
    }

    #[test]
    fn scrolling_past_the_oldest_line_reads_older_ones_from_the_files() {
        let at = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let record = |secs, text: &str| crate::logs::Record {
            service: "db".into(),
            time: at(secs),
            stream: crate::logs::Stream::Out,
            line: text.as_bytes().to_vec(),
        };
        let mut app = App::new(vec![row("db", "ready")]);
        app.page = 1;
        app.history(vec![record(10, "ten"), record(11, "eleven")]);
        press(&mut app, KeyCode::Home);
        assert_eq!(app.wants_older, Some(2), "the top of memory asks the files for more");
        app.wants_older = None;
        app.older(vec![record(8, "eight"), record(9, "nine"), record(10, "ten"), record(11, "eleven")]);
        let shown: Vec<&str> = app.shown_logs().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(shown, ["eight", "nine", "ten", "eleven"]);
        assert_eq!(app.scroll, 1, "the view stays on the lines it showed");
        press(&mut app, KeyCode::Home);
        app.older(vec![record(8, "eight")]);
        assert!(app.at_start && app.status == "the start of the logs");
        app.wants_older = None;
        press(&mut app, KeyCode::Home);
        assert_eq!(app.wants_older, None, "nothing more to read once at the start");
    }

    #[test]
    fn updates_change_the_rows_and_the_logs_pane() {
        let mut app = App::new(vec![row("db", "starting"), row("web", "pending")]);
        let at = SystemTime::UNIX_EPOCH;
        app.update(Update::Phase { service: "db".into(), phase: Phase::Ready, pid: None, reason: None }, at);
        let said =
            Update::Line { service: "orch".into(), stream: crate::logs::Stream::Out, text: "db: ready in 12ms".into() };
        app.update(said, at);
        let line = Update::Line { service: "db".into(), stream: crate::logs::Stream::Out, text: "up\u{1b}[2J!".into() };
        app.update(line, at);
        app.update(Update::Line { service: "web".into(), stream: crate::logs::Stream::Out, text: "w".into() }, at);
        assert_eq!(app.rows[0].state, "ready");
        let shown: Vec<&str> = app.shown_logs().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            shown,
            ["db: ready in 12ms", "up!"],
            "the selected service's lines and orch's about it, controls stripped"
        );
        assert!(app.shown_logs()[0].orch);
        app.all = true;
        assert_eq!(app.shown_logs().len(), 3);
    }
}
