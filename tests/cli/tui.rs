//! `orch tui` in a real terminal: tmux runs it on a temp project, keys go in with `send-keys`,
//! and `capture-pane` shows what a person would see.

use std::process::{Command, Output};
use std::time::Duration;

use crate::support::{ORCH_TIMEOUT, Project, wait_until};

/// A tmux server of this test's own (its own socket), killed however the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(project: &Project, args: &str) -> Option<Self> {
        let socket = format!("orch-test-{}", std::process::id());
        let orch = assert_cmd::cargo::cargo_bin!("orch");
        let command = format!(
            "cd {} && env -i PATH=\"$PATH\" HOME={} TERM=xterm-256color NO_COLOR=1 {} {args}",
            project.path().display(),
            std::env::temp_dir().display(),
            orch.display()
        );
        let started = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", "tui", "-x", "100", "-y", "30", &command])
            .output();
        match started {
            Ok(out) if out.status.success() => Some(Self { socket }),
            Ok(out) => panic!("tmux: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => {
                eprintln!("skipped: tmux is not installed");
                None
            }
        }
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux").args(["-L", &self.socket]).args(args).output().expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "tui"]).stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", "tui", keys]);
    }

    /// Waits (bounded) until the screen shows what `shows` looks for.
    fn wait_for(&self, what: &str, shows: impl Fn(&str) -> bool) -> String {
        let seen = wait_until(ORCH_TIMEOUT, || shows(&self.screen()));
        let screen = self.screen();
        assert!(seen, "the screen never showed {what}:\n{screen}");
        screen
    }

    fn running(&self) -> bool {
        self.tmux(&["has-session", "-t", "tui"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// The pid the services pane shows for `name`.
fn pid_on(screen: &str, name: &str) -> Option<i32> {
    let line = screen.lines().find(|l| l.trim_start_matches(['▶', ' ']).starts_with(&format!("{name} ")))?;
    line.split_whitespace().filter_map(|w| w.parse::<i32>().ok()).next()
}

#[test]
fn r_restarts_the_selected_service_and_q_leaves_everything_running() {
    let project = Project::toml(
        "[services.db]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n\n[services.web]\ncmd = \"sleep 1000\"\n\
         min_uptime = \"0s\"\ndepends_on = [\"db\"]\n",
    );
    let Some(tmux) = Tmux::start(&project, "tui") else { return };
    // Nothing ran: the TUI brought the project up, then showed it.
    let screen = tmux.wait_for("both services with a pid", |s| pid_on(s, "db").is_some() && pid_on(s, "web").is_some());
    let before = pid_on(&screen, "db").unwrap();
    assert_eq!(project.pid("db"), before, "the pane's pid is not the one ps shows");
    tmux.keys("r");
    let screen = tmux.wait_for("db restarted with a new pid", |s| pid_on(s, "db").is_some_and(|p| p != before));
    let after = pid_on(&screen, "db").unwrap();
    tmux.wait_for("the outcome in the status line", |s| s.contains("✓ db: running"));
    tmux.keys("q");
    assert!(wait_until(Duration::from_secs(10), || !tmux.running()), "q did not quit:\n{}", tmux.screen());
    // The services run on after the TUI.
    assert_eq!(project.pid("db"), after);
    assert!(project.pid("web") > 0);
    project.run(&["down"]).expect_code(0);
}
