//! Hot reload: the supervisor watches procs.toml, `.env` and every `env_file`; a save is planned
//! and applied with no command typed, once per save however the editor writes it; a broken
//! save changes nothing and `ps` says so until a later save fixes it; `--no-watch` and
//! `watch = false` turn it off. orch's lines are read from `.orch/logs/orch.log` directly, and
//! what runs from /proc, so that the test itself never reads the manifest while it waits.

use std::io::Write;
use std::time::Duration;

use super::{
    QUIET, TIMEOUT, down_leaves_nothing, env_of, only_pid, project, reloads, sleeper, snapshot, starts, wait_ps_pid,
    wait_reloads, wait_replaced,
};
use crate::procs::{is_alive, pids_of};
use crate::support::{ORCH_TIMEOUT, Project, wait_until};

/// db and web; web has `PORT` in its env.
fn two(port: u16) -> String {
    format!("{}{}", sleeper("db", ""), sleeper("web", &format!("env = {{ PORT = \"{port}\" }}")))
}

/// `orch ps`'s stderr once it mentions `text` (waits for it).
fn wait_ps_note(project: &Project, text: &str) -> String {
    let mut stderr = String::new();
    let seen = wait_until(TIMEOUT, || {
        stderr = project.run(&["ps"]).expect_code(0).stderr();
        stderr.contains(text)
    });
    assert!(seen, "`orch ps` never said `{text}`; its stderr: {stderr}\norch said: {:?}", project.orch_lines());
    stderr
}

#[test]
fn an_env_edit_is_applied_without_any_command() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));

    project.edit("procs.toml", "8001", "8002");
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    assert_eq!(only_pid(&project, "db"), db, "db was restarted though it did not change");
    assert_eq!(starts(&project, "db"), [db]);
    assert_eq!(starts(&project, "web"), [web, web2]);
    assert_eq!(wait_reloads(&project, 1), ["reload: ~ web (env PORT changed)"]);
    assert!(!wait_until(QUIET, || reloads(&project).len() > 1), "{:?}", reloads(&project));
    assert_eq!(starts(&project, "web").len(), 2, "web restarted more than once");

    // `orch logs` shows it as an orch line among the services'.
    let logs = project.run(&["logs"]).expect_code(0).stdout();
    assert!(logs.lines().any(|l| l == "orch | reload: ~ web (env PORT changed)"), "{logs}");
    let own = project.run(&["logs", "orch"]).expect_code(0).stdout();
    assert!(own.lines().all(|l| l.starts_with("orch | ")), "{own}");
    assert!(own.lines().any(|l| l == "orch | reload: ~ web (env PORT changed)"), "{own}");
    wait_ps_pid(&project, "web", web2);
    down_leaves_nothing(&project);
}

#[test]
fn a_service_added_by_a_save_starts_and_one_removed_stops() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("old", "")));
    let root = project.path();
    project.up().expect_code(0);
    let (db, old) = (only_pid(&project, "db"), only_pid(&project, "old"));

    project.write("procs.toml", &format!("{}{}", sleeper("db", ""), sleeper("api", "")));
    assert!(wait_until(TIMEOUT, || pids_of(&root, "api").len() == 1), "api did not start: {:?}", project.orch_lines());
    assert!(wait_until(TIMEOUT, || !is_alive(old)), "the removed service's process {old} still runs");
    assert_eq!(pids_of(&root, "old"), Vec::<i32>::new());
    let api = only_pid(&project, "api");
    assert_eq!(only_pid(&project, "db"), db);
    let lines = wait_reloads(&project, 2);
    assert_eq!(lines, ["reload: - old (removed)", "reload: + api (new)"]);
    wait_ps_pid(&project, "api", api);
    let again = || starts(&project, "api").len() > 1 || starts(&project, "old").len() > 1;
    assert!(!wait_until(QUIET, again), "{:?} {:?}", starts(&project, "api"), starts(&project, "old"));
    down_leaves_nothing(&project);
}

#[test]
fn a_broken_save_changes_nothing_and_ps_shows_it_until_a_save_fixes_it() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let before = snapshot(&project);
    let web = only_pid(&project, "web");

    // Line 6, column 1 is `bogus`.
    project.write("procs.toml", &format!("{}[services.web]\ncmd = \"x\"\nbogus = 1\n", sleeper("db", "")));
    let stderr = wait_ps_note(&project, "the manifest was edited but not applied: procs.toml:6:1:");
    assert!(stderr.contains("bogus"), "{stderr}");
    let ps = project.run(&["ps"]).expect_code(0);
    assert!(ps.stdout().starts_with("NAME"), "the table is still printed: {}", ps.stdout());
    assert_eq!(ps.stdout().lines().count(), 3, "{}", ps.stdout());
    let json = project.ps_json();
    assert_eq!(json.as_array().map(Vec::len), Some(2), "{json:#}");
    assert!(!wait_until(QUIET, || snapshot(&project) != before), "a broken save changed what runs");
    assert_eq!(starts(&project, "web"), [web]);
    let errors: Vec<String> = reloads(&project).into_iter().filter(|l| l.contains("procs.toml:6:1")).collect();
    assert!(!errors.is_empty() && errors[0].ends_with("(nothing changed)"), "{:?}", project.orch_lines());

    // Another broken save: the note follows the file.
    project.write("procs.toml", "[services.db\ncmd = \"x\"\n");
    wait_ps_note(&project, "not applied: procs.toml:1:");
    assert_eq!(snapshot(&project), before);

    // A save that fixes it is applied, and the note goes.
    project.write("procs.toml", &two(8002));
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    let ps = project.run(&["ps"]).expect_code(0);
    assert!(!ps.stderr().contains("not applied"), "{}", ps.stderr());
    assert_eq!(starts(&project, "web"), [web, web2]);
    assert_eq!(starts(&project, "db").len(), 1);
    down_leaves_nothing(&project);
}

#[test]
fn a_broken_save_is_reported_once_and_reading_the_manifest_is_not_an_edit() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    project.write("procs.toml", &format!("{}[services.web]\ncmd = \"x\"\nbogus = 1\n", sleeper("db", "")));
    let errors = wait_reloads(&project, 1);
    assert!(errors[0].contains("procs.toml:6:1"), "{errors:?}");
    assert!(!wait_until(QUIET, || reloads(&project).len() > 1), "one save, reloaded again: {:?}", reloads(&project));

    // Reading the manifest (an editor opening it, `cat`, `orch check`) is not an edit.
    for _ in 0..3 {
        let _ = std::fs::read(project.path().join("procs.toml")).unwrap();
    }
    assert!(!wait_until(QUIET, || reloads(&project).len() > 1), "a read caused a reload: {:?}", reloads(&project));
}

#[test]
fn a_save_by_rename_gives_one_reload() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));

    let root = project.path();
    std::fs::write(root.join("procs.toml.tmp"), two(8002)).unwrap();
    std::fs::rename(root.join("procs.toml.tmp"), root.join("procs.toml")).unwrap();
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    let again = || reloads(&project).len() > 1 || starts(&project, "web").len() > 2;
    assert!(!wait_until(QUIET, again), "web started {:?}; {:?}", starts(&project, "web"), reloads(&project));
    assert_eq!(reloads(&project), ["reload: ~ web (env PORT changed)"]);
    assert_eq!(starts(&project, "web"), [web, web2]);
    assert_eq!(only_pid(&project, "db"), db);

    // The watch survives the rename: the new file is watched too.
    project.edit("procs.toml", "8002", "8003");
    let web3 = wait_replaced(&project, "web", web2);
    assert_eq!(env_of(web3, "PORT").as_deref(), Some("8003"));
    down_leaves_nothing(&project);
}

/// Saves procs.toml ten times (PORT 8101 to 8110), `gap` apart; checks that web restarted once,
/// with the last save's env, and that orch logged one reload.
fn ten_saves_give_one_reload(gap: Duration) {
    let project = project(&two(8100));
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));

    for port in 8101..=8110 {
        project.write("procs.toml", &two(port));
        std::thread::sleep(gap);
    }
    let web2 = wait_replaced(&project, "web", web);
    let again = || reloads(&project).len() > 1 || starts(&project, "web").len() > 2;
    assert!(!wait_until(QUIET, again), "web started {:?}; {:?}", starts(&project, "web"), reloads(&project));
    assert_eq!(starts(&project, "web"), [web, web2], "web was restarted more than once");
    assert_eq!(reloads(&project), ["reload: ~ web (env PORT changed)"]);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8110"), "not the last save's env");
    assert_eq!(only_pid(&project, "db"), db);
    down_leaves_nothing(&project);
}

#[test]
fn a_burst_of_ten_saves_gives_one_reload() {
    ten_saves_give_one_reload(Duration::ZERO);
}

#[test]
fn ten_saves_each_within_the_debounce_window_give_one_reload() {
    ten_saves_give_one_reload(Duration::from_millis(20));
}

#[test]
fn a_truncate_then_write_save_gives_one_reload_of_the_whole_file() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let web = only_pid(&project, "web");

    // An empty procs.toml is invalid: it must never be what a reload sees.
    let mut file = std::fs::File::create(project.path().join("procs.toml")).unwrap();
    file.sync_all().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    file.write_all(two(8002).as_bytes()).unwrap();
    drop(file);
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    assert!(!wait_until(QUIET, || reloads(&project).len() > 1), "{:?}", reloads(&project));
    assert_eq!(reloads(&project), ["reload: ~ web (env PORT changed)"]);
    assert_eq!(starts(&project, "web"), [web, web2]);
    down_leaves_nothing(&project);
}

/// A writer slower than the quiet window (a loaded machine): the empty file in between is
/// still never what a reload takes; one left empty is told, once its grace is over.
#[test]
fn a_slow_truncate_then_write_save_is_one_reload_and_an_empty_file_is_told_later() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let web = only_pid(&project, "web");
    let mut file = std::fs::File::create(project.path().join("procs.toml")).unwrap();
    file.sync_all().unwrap();
    // The writer's pause is the case under test: longer than the 60 ms quiet window.
    std::thread::sleep(Duration::from_millis(300));
    file.write_all(two(8002).as_bytes()).unwrap();
    drop(file);
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    assert_eq!(reloads(&project), ["reload: ~ web (env PORT changed)"]);

    std::fs::write(project.path().join("procs.toml"), "").unwrap();
    let told = || reloads(&project).iter().any(|l| l.contains("defines no services"));
    assert!(wait_until(ORCH_TIMEOUT, told), "{:?}", reloads(&project));
    assert_eq!(only_pid(&project, "web"), web2, "an empty manifest changed what runs");
    std::fs::write(project.path().join("procs.toml"), two(8002)).unwrap();
    down_leaves_nothing(&project);
}

#[test]
fn an_env_file_or_dotenv_edit_restarts_the_services_that_read_it() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "env_file = \".env.web\"")))
        .file(".env", "GREETING=hi\n")
        .file(".env.web", "PORT=8001\n");
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    assert_eq!(env_of(web, "PORT").as_deref(), Some("8001"));
    assert_eq!(env_of(db, "GREETING").as_deref(), Some("hi"));

    // The env_file: only web reads it.
    project.write(".env.web", "PORT=8002\n");
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
    assert_eq!(only_pid(&project, "db"), db);
    assert_eq!(wait_reloads(&project, 1), ["reload: ~ web (env PORT changed)"]);

    // .env: every service reads it.
    project.write(".env", "GREETING=hello\n");
    let db2 = wait_replaced(&project, "db", db);
    let web3 = wait_replaced(&project, "web", web2);
    for pid in [db2, web3] {
        assert_eq!(env_of(pid, "GREETING").as_deref(), Some("hello"));
    }
    let lines = wait_reloads(&project, 3);
    assert!(lines.contains(&"reload: ~ db (env GREETING changed)".to_owned()), "{lines:?}");
    assert!(lines.contains(&"reload: ~ web (env GREETING changed)".to_owned()), "{lines:?}");
    let again = || starts(&project, "db").len() > 2 || starts(&project, "web").len() > 3;
    assert!(!wait_until(QUIET, again), "{:?} {:?}", starts(&project, "db"), starts(&project, "web"));
    down_leaves_nothing(&project);
}

/// With the watch off, an edit changes nothing until `up` is typed.
fn edit_is_not_applied(project: &Project, up_args: &[&str]) {
    let before = snapshot(project);
    let web = only_pid(project, "web");
    project.edit("procs.toml", "8001", "8002");
    assert!(!wait_until(QUIET, || snapshot(project) != before), "an edit was applied with the watch off");
    assert_eq!(reloads(project), Vec::<String>::new());
    assert_eq!(starts(project, "web"), [web]);
    // `up` applies it: the edit was a valid one.
    project.run(up_args).expect_code(0);
    let web2 = wait_replaced(project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"));
}

#[test]
fn no_watch_turns_reload_off() {
    let project = project(&two(8001));
    project.run(&["up", "--no-watch"]).expect_code(0);
    edit_is_not_applied(&project, &["up", "--no-watch"]);
    down_leaves_nothing(&project);
}

#[test]
fn watch_false_in_the_manifest_turns_reload_off() {
    let project = project(&format!("watch = false\n{}", two(8001)));
    project.up().expect_code(0);
    edit_is_not_applied(&project, &["up"]);
    down_leaves_nothing(&project);
}

#[test]
fn saving_watch_false_turns_reload_off_from_then_on() {
    let project = project(&two(8001));
    project.up().expect_code(0);
    let web = only_pid(&project, "web");
    project.write("procs.toml", &format!("watch = false\n{}", two(8001)));
    // That save changes no service; give the reload time to happen.
    assert!(!wait_until(QUIET, || !is_alive(web)), "{:?}", project.orch_lines());
    edit_is_not_applied(&project, &["up"]);
    down_leaves_nothing(&project);
}
