//! `orch up` on a project that already runs: what changed restarts, what is new starts, what
//! was removed stops, the rest keeps its pid; `--dry-run` only says so; `--force-recreate`
//! restarts regardless. The supervisors here do not watch (`--no-watch` or `watch = false`),
//! so every change is `up`'s doing, not a reload's.

use super::{
    QUIET, TIMEOUT, down_leaves_nothing, env_of, only_pid, project, sleeper, starts, wait_ps_pid, wait_replaced,
};
use crate::procs::{is_alive, pids_of, supervisor_pids};
use crate::support::wait_until;

#[test]
fn up_after_an_env_edit_restarts_only_that_service() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "env = { PORT = \"8001\" }")));
    project.run(&["up", "--no-watch"]).expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    assert_eq!(env_of(web, "PORT").as_deref(), Some("8001"));

    project.edit("procs.toml", "8001", "8002");
    assert!(!wait_until(QUIET, || !is_alive(web)), "web restarted before `up`, with --no-watch");
    project.up().expect_code(0);
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(env_of(web2, "PORT").as_deref(), Some("8002"), "the new web does not have the new env");
    assert_eq!(only_pid(&project, "db"), db, "db was restarted though it did not change");
    assert_eq!(starts(&project, "db"), [db]);
    assert_eq!(starts(&project, "web"), [web, web2]);
    wait_ps_pid(&project, "web", web2);
    wait_ps_pid(&project, "db", db);

    // A second `up` with nothing changed restarts nothing.
    project.up().expect_code(0);
    assert_eq!((only_pid(&project, "db"), only_pid(&project, "web")), (db, web2));
    assert_eq!(starts(&project, "web").len(), 2);
    down_leaves_nothing(&project);
}

#[test]
fn up_starts_an_added_service_and_stops_a_removed_one() {
    let project = project(&format!("watch = false\n{}{}{}", sleeper("db", ""), sleeper("web", ""), sleeper("old", "")));
    let root = project.path();
    project.up().expect_code(0);
    let (db, web, old) = (only_pid(&project, "db"), only_pid(&project, "web"), only_pid(&project, "old"));

    project.write(
        "procs.toml",
        &format!("watch = false\n{}{}{}", sleeper("db", ""), sleeper("web", ""), sleeper("api", "")),
    );
    project.up().expect_code(0);
    assert!(wait_until(TIMEOUT, || !is_alive(old)), "the removed service's process {old} still runs");
    assert_eq!(pids_of(&root, "old"), Vec::<i32>::new());
    let api = only_pid(&project, "api");
    assert_eq!(starts(&project, "api"), [api]);
    assert_eq!((only_pid(&project, "db"), only_pid(&project, "web")), (db, web), "kept services were restarted");
    assert_eq!(starts(&project, "old"), [old]);
    wait_ps_pid(&project, "api", api);
    let gone = wait_until(TIMEOUT, || {
        project.ps_json().as_array().is_some_and(|rows| rows.iter().all(|r| r["name"] != "old"))
    });
    assert!(gone, "ps still shows the removed service: {:#}", project.ps_json());
    down_leaves_nothing(&project);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let before = format!(
        "watch = false\n{}{}{}{}",
        sleeper("db", ""),
        sleeper("web", "env = { PORT = \"8001\" }\ndepends_on = [\"db\"]"),
        sleeper("old", ""),
        sleeper("x", "")
    );
    let project = project(&before);
    let root = project.path();
    project.up().expect_code(0);
    project.run(&["stop", "x"]).expect_code(0);
    let running = crate::procs::marked_pids(&root);

    // Start order by levels: db, x, api (manifest order), then web, which depends on db.
    project.write(
        "procs.toml",
        &format!(
            "watch = false\n{}{}{}{}",
            sleeper("db", ""),
            sleeper("web", "env = { PORT = \"8002\" }\ndepends_on = [\"db\"]"),
            sleeper("x", ""),
            sleeper("api", "")
        ),
    );
    let dry = project.run(&["up", "--dry-run"]).expect_code(0);
    let out = dry.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["- old  removed", "= db   unchanged", "+ x    not running", "+ api  new", "~ web  env PORT changed"],
        "{}",
        dry.stderr()
    );
    assert!(!wait_until(QUIET, || crate::procs::marked_pids(&root) != running), "--dry-run changed what runs");
    assert_eq!(starts(&project, "web").len(), 1);
    assert!(!project.exists("starts/api"), "--dry-run started api");
    assert_eq!(starts(&project, "x").len(), 1, "--dry-run started x again");

    // Planning again gives the same answer: nothing was applied.
    let again = project.run(&["up", "--dry-run"]).expect_code(0);
    assert_eq!(again.stdout(), dry.stdout());
    down_leaves_nothing(&project);
}

#[test]
fn dry_run_without_a_supervisor_plans_against_the_record() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    let root = project.path();
    let dry = project.run(&["up", "--dry-run"]).expect_code(0);
    assert_eq!(dry.stdout(), "+ db   new\n+ web  new\n");
    assert_eq!(supervisor_pids(&root), Vec::<i32>::new(), "--dry-run started a supervisor");
    assert!(!project.exists(".orch/state.json"));
    assert!(!project.exists("starts/db"));

    project.up().expect_code(0);
    project.run(&["down"]).expect_code(0);
    assert!(wait_until(TIMEOUT, || supervisor_pids(&root).is_empty()));
    let dry = project.run(&["up", "--dry-run"]).expect_code(0);
    assert_eq!(dry.stdout(), "+ db   not running\n+ web  not running\n");
    assert_eq!(supervisor_pids(&root), Vec::<i32>::new(), "--dry-run started a supervisor");
    assert_eq!(starts(&project, "db").len(), 1);
}

#[test]
fn force_recreate_restarts_the_named_services_or_all() {
    let project = project(&format!("watch = false\n{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));

    project.run(&["up", "--force-recreate", "web"]).expect_code(0);
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(only_pid(&project, "db"), db, "db was restarted though only web was named");

    project.run(&["up", "--force-recreate"]).expect_code(0);
    let db2 = wait_replaced(&project, "db", db);
    let web3 = wait_replaced(&project, "web", web2);
    assert_eq!(starts(&project, "db"), [db, db2]);
    assert_eq!(starts(&project, "web"), [web, web2, web3]);
    down_leaves_nothing(&project);
}

#[test]
fn restart_edges_cascade_and_a_depends_on_change_alone_restarts_nothing() {
    let manifest = |db_env: &str, worker_deps: &str| {
        format!(
            "watch = false\n{}{}{}{}",
            sleeper("db", &format!("env = {{ V = \"{db_env}\" }}")),
            sleeper("cache", ""),
            sleeper("web", "depends_on = { db = { condition = \"ready\", restart = true } }"),
            sleeper("worker", worker_deps)
        )
    };
    let project = project(&manifest("1", "depends_on = [\"db\"]"));
    project.up().expect_code(0);
    let pids = |p: &crate::support::Project| ["db", "cache", "web", "worker"].map(|s| only_pid(p, s));
    let [db, cache, web, worker] = pids(&project);

    // db changes: web follows it (restart = true), worker (a plain edge) and cache do not.
    project.write("procs.toml", &manifest("2", "depends_on = [\"db\"]"));
    let dry = project.run(&["up", "--dry-run"]).expect_code(0).stdout();
    assert!(dry.contains("~ db      env V changed\n"), "{dry}");
    assert!(dry.contains("~ web     db restarts\n"), "{dry}");
    assert!(dry.contains("= worker  unchanged\n"), "{dry}");
    project.up().expect_code(0);
    let db2 = wait_replaced(&project, "db", db);
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!((only_pid(&project, "cache"), only_pid(&project, "worker")), (cache, worker));

    // Only worker's depends_on changes: nothing restarts.
    project.write("procs.toml", &manifest("2", "depends_on = [\"db\", \"cache\"]"));
    project.up().expect_code(0);
    assert!(!wait_until(QUIET, || pids(&project) != [db2, cache, web2, worker]), "a depends_on change restarted");
    for name in ["db", "web"] {
        assert_eq!(starts(&project, name).len(), 2, "{name}");
    }
    for name in ["cache", "worker"] {
        assert_eq!(starts(&project, name).len(), 1, "{name}");
    }
    down_leaves_nothing(&project);
}
