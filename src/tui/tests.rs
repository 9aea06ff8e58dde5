//! Frames of the TUI on ratatui's test backend, as a person would see them (without colour:
//! what stands out must do so with a marker and reverse video too).

use std::time::SystemTime;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::app::App;
use super::view::draw;
use crate::ipc::{ServiceStatus, Update};
use crate::logs::Stream;

fn row(name: &str, state: &str, pid: Option<i32>) -> ServiceStatus {
    ServiceStatus {
        name: name.into(),
        state: state.into(),
        pid: pid.and_then(crate::model::Pid::new),
        uptime_secs: pid.map(|_| 42.0),
        ..ServiceStatus::default()
    }
}

fn frame(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|f| draw(f, app, false)).expect("a frame");
    terminal.backend().to_string()
}

fn line(app: &mut App, service: &str, text: &str) {
    let update = Update::Line { service: service.into(), stream: Stream::Out, text: text.into() };
    app.update(update, SystemTime::UNIX_EPOCH);
}

fn mixed() -> App {
    let mut db = row("db", "ready", Some(4101));
    db.port = Some(5432);
    db.cpu_percent = Some(1.5);
    db.mem_bytes = Some(12 * 1_048_576);
    let mut web = row("web", "failed", None);
    web.restarts = 5;
    web.reason = Some("exited with 1 (address already in use)".into());
    let mut worker = row("worker.1", "unhealthy", Some(4103));
    worker.health = Some("unhealthy".into());
    let mut app = App::new(vec![db, web, worker, row("report", "stopped", None)]);
    line(&mut app, "db", "database system is ready to accept connections");
    line(&mut app, "web", "Error: listen EADDRINUSE :::8080");
    app
}

#[test]
fn an_empty_project() {
    insta::assert_snapshot!(frame(&App::new(Vec::new()), 80, 12));
}

#[test]
fn mixed_states_with_a_failure_and_its_reason_in_80_by_24() {
    insta::assert_snapshot!(frame(&mixed(), 80, 24));
}

#[test]
fn every_services_logs_after_tab_with_the_second_row_selected() {
    let mut app = mixed();
    app.key(KeyEvent::from(KeyCode::Down));
    app.key(KeyEvent::from(KeyCode::Tab));
    insta::assert_snapshot!(frame(&app, 80, 24));
}

#[test]
fn the_help_overlay() {
    let mut app = mixed();
    app.key(KeyEvent::from(KeyCode::Char('?')));
    insta::assert_snapshot!(frame(&app, 80, 24));
}

#[test]
fn a_small_terminal_does_not_break_the_frame() {
    // Nothing to assert but that it draws: a panic in ratatui's layout is the failure.
    let text = frame(&mixed(), 20, 6);
    assert!(text.contains("db"), "{text}");
}

#[test]
fn a_search_highlights_its_matches_in_reverse_video() {
    let mut app = mixed();
    app.search = Some("READY".into());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("a test terminal");
    terminal.draw(|f| draw(f, &app, false)).expect("a frame");
    let buffer = terminal.backend().buffer();
    let row =
        (0..24).find(|&y| (0..80).map(|x| buffer[(x, y)].symbol()).collect::<String>().contains("database")).unwrap();
    let text: String = (0..80).map(|x| buffer[(x, row)].symbol()).collect();
    let start = u16::try_from(text.find("ready").unwrap()).unwrap();
    let reversed = |x: u16| buffer[(x, row)].modifier.contains(ratatui::style::Modifier::REVERSED);
    assert!((start..start + 5).all(reversed), "the match is not highlighted: {text}");
    assert!(!reversed(start + 6), "more than the match is highlighted: {text}");
}

fn with_configs(mut app: App) -> App {
    let mut web = crate::manifest::Service::new(
        crate::manifest::CommandLine::Shell("node server.js".into()),
        std::path::PathBuf::from("/srv/app"),
    );
    web.env.insert("PORT".into(), "8080".into());
    web.env.insert("API_TOKEN".into(), "s3cret".into());
    let dependency = crate::manifest::Dependency { condition: crate::manifest::Condition::Ready, restart: true };
    web.depends_on.insert("db".into(), dependency);
    app.configs.insert("web".into(), web);
    app
}

#[test]
fn the_details_of_a_service_mask_its_secrets() {
    let mut app = with_configs(mixed());
    app.key(KeyEvent::from(KeyCode::Down));
    app.key(KeyEvent::from(KeyCode::Enter));
    let text = frame(&app, 80, 24);
    assert!(text.contains("API_TOKEN=••••••") && !text.contains("s3cret"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_dependency_tree() {
    let mut app = with_configs(mixed());
    app.key(KeyEvent::from(KeyCode::Char('d')));
    insta::assert_snapshot!(frame(&app, 80, 24));
}

#[test]
fn the_selected_row_stays_in_view_when_the_rows_do_not_fit() {
    let rows: Vec<ServiceStatus> = (0..30).map(|i| row(&format!("s{i}"), "running", Some(5000 + i))).collect();
    let mut app = App::new(rows);
    for _ in 0..29 {
        app.key(KeyEvent::from(KeyCode::Down));
    }
    let text = frame(&app, 80, 24);
    assert!(text.contains("▶ s29"), "{text}");
}

#[test]
fn a_refresh_keeps_the_scroll_esc_does_not_quit_and_dropped_lines_are_read_again() {
    let mut app = mixed();
    for i in 0..50 {
        line(&mut app, "db", &format!("line {i}"));
    }
    app.page = 5;
    app.key(KeyEvent::from(KeyCode::PageUp));
    assert_eq!(app.scroll, 5);
    let rows = app.rows.clone();
    app.set_rows(rows, Vec::new());
    assert_eq!(app.scroll, 5, "the ps refresh every 2 s must not snap the view back to the tail");
    line(&mut app, "web", "not shown");
    assert_eq!(app.scroll, 5, "a line the pane does not show does not move it");
    line(&mut app, "db", "shown");
    assert_eq!(app.scroll, 6);
    app.key(KeyEvent::from(KeyCode::Esc));
    assert!(!app.quit, "Esc closes and clears; q quits");
    app.update(Update::Lost { updates: 7 }, SystemTime::UNIX_EPOCH);
    assert!(app.wants_reload && app.status.contains("7 lines came faster"), "{}", app.status);
}
