//! The state file is written when it changes, not at every request: an `up` of a project that
//! is already up leaves `.orch/state.json` as it was (it is replaced by a rename when written,
//! so its inode tells).

use std::os::unix::fs::MetadataExt;

use crate::support::Project;

fn state_inode(project: &Project) -> u64 {
    std::fs::metadata(project.path().join(".orch/state.json")).expect("state.json").ino()
}

#[test]
fn an_up_that_changes_nothing_does_not_write_the_state() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    project.up().expect_code(0);
    // A request saves what is pending at once, so after this one nothing is left to write.
    project.up().expect_code(0);
    let before = state_inode(&project);
    project.up().expect_code(0);
    project.up().expect_code(0);
    assert_eq!(state_inode(&project), before, "an unchanged state was written again");
    // A change is still written.
    project.orch(&["stop", "web"]).expect_code(0);
    assert_ne!(state_inode(&project), before, "the stop was not written");
}
