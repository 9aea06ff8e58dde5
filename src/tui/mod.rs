//! `orch tui`: the project at a glance, in the terminal. A client like the CLI: it attaches to
//! the project's supervisor (starting it with `up` unless `--no-up`), follows its subscription
//! for states and lines, and asks it for restarts, stops, starts and scales through the client
//! library. Quitting leaves every service running.
//!
//! The mouse is not captured unless `--mouse`: selecting text to copy works as in any
//! terminal. A flood of lines is drawn at most ~30 times a second, one frame for all the
//! lines that came meanwhile.

mod app;
mod feed;
mod overlays;
mod view;

use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::{execute, terminal};

use self::app::App;
use self::feed::Msg;
use crate::client::{ClientError, Place, Session, ops};
use crate::exit::Exit;

/// The shortest time between two frames: ~30 a second at most.
const FRAME: Duration = Duration::from_millis(33);
/// The least time between two re-reads of the files after dropped updates.
const RELOAD_EVERY: Duration = Duration::from_secs(1);
/// How long a wait for a key lasts when nothing is to be drawn (the channel cannot wake it).
const IDLE_POLL: Duration = Duration::from_millis(50);

pub(crate) struct Options {
    /// Only watch: do not start the project when nothing runs.
    pub(crate) no_up: bool,
    /// Capture the mouse (scrolling with the wheel; no native text selection).
    pub(crate) mouse: bool,
    pub(crate) color: bool,
}

impl Options {
    /// Colour as `ps` has it: on a terminal, unless `NO_COLOR`.
    pub(crate) fn new(no_up: bool, mouse: bool) -> Self {
        Self { no_up, mouse, color: crate::terminal::stdout_color() }
    }
}

pub(crate) fn run(place: &Place, options: &Options) -> Result<Exit, ClientError> {
    let session = Session::open_lenient(place)?;
    if !options.no_up && session.connect()?.is_none() && session.loaded.is_some() {
        eprintln!("orch: starting the project…");
        ops::up(&session, &ops::Up::default(), crate::client::follow::Wait::default(), &mut |_| {})?;
    }
    let listing = ops::ps::status(&session, None)?;
    let mut app = App::new(listing.rows);
    app.notes = listing.notes;
    if let Some(loaded) = &session.loaded {
        app.configs.clone_from(&loaded.spec.services);
    }
    // What happened before, the scroll-back, is read from the files once the subscription
    // began (`Msg::Resubscribed`): no line falls between the two.
    if session.connect()?.is_none()
        && let Ok(history) = ops::logs::history(&session, &[], None, Some(app::KEPT_LINES))
    {
        app.history(history.records);
    }
    let (tx, rx) = mpsc::channel();
    feed::follow(place.clone(), tx.clone());
    feed::sample_usage(place.clone(), tx.clone());
    let mut screen = Screen::enter(options.mouse).map_err(|e| ClientError::Failed(format!("the terminal: {e}")))?;
    let result = event_loop(&mut screen, &mut app, &rx, &tx, place, options.color);
    drop(screen);
    result.map_err(|e| ClientError::Failed(format!("the terminal: {e}")))?;
    Ok(Exit::Success)
}

fn event_loop(
    screen: &mut Screen,
    app: &mut App,
    rx: &mpsc::Receiver<Msg>,
    tx: &mpsc::Sender<Msg>,
    place: &Place,
    color: bool,
) -> io::Result<()> {
    let mut drawn = Instant::now().checked_sub(FRAME).unwrap_or_else(Instant::now);
    // Older lines are being read back from the files.
    let mut reading = false;
    let mut reloaded = Instant::now().checked_sub(RELOAD_EVERY).unwrap_or_else(Instant::now);
    while !app.quit {
        if let Some(have) = app.wants_older.take()
            && !reading
        {
            reading = true;
            feed::older(place.clone(), have, tx.clone());
        }
        // Under a flood updates are dropped again and again: the files are read at most once
        // a second, not for each drop.
        if app.wants_reload && reloaded.elapsed() >= RELOAD_EVERY {
            app.wants_reload = false;
            reloaded = Instant::now();
            feed::reload(place.clone(), tx.clone());
        }
        if app.dirty && drawn.elapsed() >= FRAME {
            // About the logs pane's height: what a page is for PgUp and PgDn.
            app.page = usize::from(screen.terminal.size()?.height / 2).saturating_sub(2).max(1);
            screen.terminal.draw(|frame| view::draw(frame, app, color))?;
            app.dirty = false;
            drawn = Instant::now();
        }
        let wait = if app.dirty { FRAME.saturating_sub(drawn.elapsed()) } else { IDLE_POLL };
        if event::poll(wait)? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    if let Some(action) = app.key(key) {
                        app.status = action.doing();
                        feed::act(place.clone(), action, tx.clone());
                    }
                }
                Event::Resize(..) => app.dirty = true,
                Event::Mouse(mouse) => app.mouse(mouse.kind),
                _ => {}
            }
        }
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Msg::Update(update) => app.update(update, SystemTime::now()),
                Msg::Older(records) => {
                    app.older(records);
                    reading = false;
                }
                Msg::Reloaded(records) => app.reload(records),
                Msg::Resubscribed => app.wants_reload = true,
                Msg::Rows(listing) => app.set_rows(listing.rows, listing.notes),
                Msg::Said(said) => app.done(said),
            }
        }
    }
    Ok(())
}

/// The terminal in raw mode on the alternate screen, put back however the TUI ends (a panic
/// included: the hook restores it before the message is printed).
struct Screen {
    terminal: ratatui::DefaultTerminal,
    mouse: bool,
}

impl Screen {
    fn enter(mouse: bool) -> io::Result<Self> {
        let terminal = ratatui::try_init()?;
        if mouse {
            execute!(io::stdout(), event::EnableMouseCapture)?;
        }
        Ok(Self { terminal, mouse })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.mouse {
            let _ = execute!(io::stdout(), event::DisableMouseCapture);
        }
        ratatui::restore();
        let _ = terminal::disable_raw_mode();
    }
}
#[cfg(test)]
mod tests;
