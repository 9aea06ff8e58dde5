//! Point 6: `depends_on = { db = { condition = "ready", restart = true } }` restarts the
//! dependent whenever db runs anew — `orch restart db`, or db's own crash restart — once db is
//! ready again, and orch says so (`web: restarting (db restarted)`).

use crate::procs::sigkill;
use crate::reconcile::{TIMEOUT, only_pid, project, starts, wait_replaced};
use crate::supervisor::assert_outcome;
use crate::support::{Project, stamps, wait_until};

/// db takes a moment to be ready and stamps when it is (`db.ready`); web stamps each of its
/// starts (`web.started`) and restarts with db.
fn db_and_web() -> Project {
    project(
        r#"
[services.db]
cmd = "echo $$ >> starts/db; sleep 0.2; date +%s%N >> db.ready; echo accepting connections; exec sleep 1000"
ready = { log = "accepting connections" }
restart = "on-failure"

[services.web]
cmd = "echo $$ >> starts/web; date +%s%N >> web.started; exec sleep 1000"
depends_on = { db = { condition = "ready", restart = true } }
min_uptime = "0s"

[services.other]
cmd = "echo $$ >> starts/other; exec sleep 1000"
depends_on = ["db"]
min_uptime = "0s"
"#,
    )
}

/// web started again once db was ready again, and orch said why; `other` (a plain edge) did not.
fn assert_web_followed_db(project: &Project, web_before: i32) {
    let web = wait_replaced(project, "web", web_before);
    // The new web's pid shows before its shell has written its start and its stamp: wait for both.
    let stamped = |file: &str| stamps(&project.read(file).unwrap_or_default());
    wait_until(TIMEOUT, || starts(project, "web").len() >= 2 && stamped("web.started").len() >= 2);
    assert_eq!(starts(project, "web").len(), 2, "web restarted more than once: {:?}", starts(project, "web"));
    let (ready, started) = (stamped("db.ready"), stamped("web.started"));
    assert_eq!((ready.len(), started.len()), (2, 2), "db ready at {ready:?}, web started at {started:?}");
    assert!(started[1] > ready[1], "web started again before db was ready again: {started:?} {ready:?}");
    let said = wait_until(TIMEOUT, || project.orch_lines().iter().any(|l| l == "web: restarting (db restarted)"));
    assert!(said, "orch did not say why web restarted: {:?}", project.orch_lines());
    let row = crate::reconcile::wait_ps_pid(project, "web", web);
    assert_eq!(row["state"], "running", "{row:#}");
    assert_eq!(starts(project, "other").len(), 1, "a plain edge restarted `other` too");
}

#[test]
fn restart_of_db_restarts_web_through_its_restart_edge() {
    let project = db_and_web();
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    let restart = project.run(&["restart", "db"]).expect_code(0);
    assert_outcome(&restart.stdout(), "db", true, &["ready"]);
    wait_replaced(&project, "db", db);
    assert_web_followed_db(&project, web);
}

#[test]
fn a_crash_of_db_restarts_web_too() {
    let project = db_and_web();
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    sigkill(db);
    wait_replaced(&project, "db", db);
    assert_web_followed_db(&project, web);
    assert_eq!(project.service("db")["restarts"], 1);
}
