//! Point 7's last sentence: a state file of the first format (`tests/fixtures/state-v1.json`,
//! written by orch before issue 11: a ready service with `port = "auto"`, a failed oneshot, a
//! restarted one, an ad-hoc one) keeps loading, as pueue keeps a fixture per old version.

use crate::procs::supervisor_pids;
use crate::support::Project;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-v1.json");

#[test]
fn a_state_file_of_the_first_format_keeps_loading() {
    let project = Project::new();
    let dir = crate::safety::orch_dirs(&project);
    std::fs::copy(FIXTURE, dir.join("state.json")).expect("copy the fixture");
    // Its processes are of another boot: nothing runs, so ps shows the record, as it stands now.
    let run = project.run(&["ps"]).expect_code(0);
    insta::assert_snapshot!(run.stdout(), @r"
    NAME     STATE    PID  PORT   UPTIME  RESTARTS  READY  CPU  MEM
    db       stopped  -    37061  -       0                -    -
             ↳ ended while no supervisor was running
    migrate  failed   -    -      -       0         -      -    -
             ↳ exited with 3
    web      stopped  -    8080   -       1         -      -    -
             ↳ ended while no supervisor was running
    api      stopped  -    -      -       0                -    -
             ↳ ended while no supervisor was running
             ↳ ad-hoc: python3 -m http.server 0
    ");
    assert_eq!(run.stderr(), "orch: no supervisor is running here; this is what .orch/state.json last recorded\n");
    assert!(supervisor_pids(&project.path()).is_empty(), "ps started a supervisor for processes of another boot");
}
