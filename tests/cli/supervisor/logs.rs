//! `orch logs`: tail, prefixes, timestamps, merged order, following, and raw bytes kept.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use super::{SECOND, log_lines};
use crate::support::{Project, orch_std, wait_until};

fn logged(project: &Project, service: &str, text: &str) -> bool {
    let needle = text.as_bytes();
    project.log_file(service).windows(needle.len()).any(|w| w == needle)
}

#[test]
fn tail_prefix_and_timestamps() {
    let project = Project::toml(
        r#"
[services.talker]
cmd = "for i in 1 2 3 4 5; do echo l$i; done; sleep 0.05; echo oops >&2; exec sleep 1000"
ready = { log = "oops" }
"#,
    );
    project.up().expect_code(0);
    assert!(wait_until(2 * SECOND, || logged(&project, "talker", "oops")));
    let tail = project.run(&["logs", "-n", "2", "talker"]).expect_code(0);
    assert_eq!(tail.stdout(), "talker | l5\ntalker | oops\n");
    let bare = project.run(&["logs", "-n", "2", "--no-prefix", "talker"]).expect_code(0);
    assert_eq!(bare.stdout(), "l5\noops\n");
    let all = project.run(&["logs", "--no-prefix"]).expect_code(0);
    assert_eq!(all.stdout(), "l1\nl2\nl3\nl4\nl5\noops\n");

    let stamped = project.run(&["logs", "-n", "1", "--timestamps", "talker"]).expect_code(0).stdout();
    let rest = stamped.strip_prefix("talker | ").unwrap_or_else(|| panic!("{stamped}"));
    let (stamp, line) = rest.trim_end().split_once(' ').expect("a timestamp");
    assert_eq!(line, "oops");
    assert!(stamp.starts_with("20") && stamp.ends_with('Z') && stamp.contains('T'), "not a timestamp: {stamp}");

    // The file itself: `<rfc3339> out <line>`.
    let file = String::from_utf8(project.log_file("talker")).unwrap();
    let first = file.lines().next().unwrap();
    let fields: Vec<&str> = first.splitn(3, ' ').collect();
    assert_eq!(fields[1..], ["out", "l1"], "{first}");
    let last = file.lines().last().unwrap();
    assert_eq!(last.splitn(3, ' ').skip(1).collect::<Vec<_>>(), ["err", "oops"], "{last}");
}

#[test]
fn services_are_merged_in_time_order() {
    let project = Project::toml(
        r#"
[services.a]
cmd = "echo a1; while ! grep -qs ' b1$' .orch/logs/b.log; do sleep 0.01; done; echo a2; exec sleep 1000"
ready = { log = "a1" }

[services.b]
cmd = "echo b1; exec sleep 1000"
depends_on = ["a"]
"#,
    );
    // Lines are stamped when orch reads them, so `a2` is written only once `b1` was read (is in
    // b's log): lines of two services written within the same moment may come in either order.
    project.up().expect_code(0);
    assert!(wait_until(2 * SECOND, || logged(&project, "a", "a2")));
    let lines = log_lines(&project.run(&["logs"]).expect_code(0).stdout());
    let expected: Vec<(String, String)> =
        [("a", "a1"), ("b", "b1"), ("a", "a2")].iter().map(|(s, l)| (s.to_string(), l.to_string())).collect();
    assert_eq!(lines, expected);
}

/// `orch logs -f` running beside the test; killed by pid when dropped.
struct Follower {
    child: Child,
    lines: Receiver<String>,
}

impl Follower {
    fn start(project: &Project, args: &[&str]) -> Self {
        let mut child = orch_std()
            .current_dir(project.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn orch logs -f");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    fn next_line(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The next line of a service's, past orch's own (`orch | gate: started (pid 42)`).
    fn next_service_line(&self, within: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.next_line(left)?;
            if !line.starts_with("orch ") {
                return Some(line);
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn follow_shows_a_new_line_within_a_second() {
    let project = Project::toml(
        r#"
[services.gate]
cmd = "echo waiting; while [ ! -f go ]; do sleep 0.01; done; echo released; exec sleep 1000"
ready = { log = "waiting" }
"#,
    );
    project.up().expect_code(0);
    let follower = Follower::start(&project, &["logs", "-f", "gate"]);
    assert_eq!(follower.next_service_line(5 * SECOND).as_deref(), Some("gate | waiting"), "the history first");
    std::fs::write(project.path().join("go"), "").unwrap();
    let next = follower.next_service_line(SECOND);
    assert_eq!(next.as_deref(), Some("gate | released"), "the new line did not come within 1 s");
    // Still following: nothing ended the command.
    assert!(matches!(follower.lines.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)), "orch logs -f stopped");
}

#[test]
fn non_utf8_and_long_lines_are_kept_byte_for_byte() {
    let project = Project::toml(
        r#"
[services.raw]
cmd = "printf 'caf\\351 \\377\\376 end\\n'; head -c 200000 /dev/zero | tr '\\0' a; echo; echo done; exec sleep 1000"
ready = { log = "^done$" }
"#,
    );
    project.up().expect_code(0);
    let raw: &[u8] = b" out caf\xe9 \xff\xfe end\n";
    assert!(wait_until(2 * SECOND, || logged(&project, "raw", "done")), "no `done` in the log");
    let file = project.log_file("raw");
    assert!(file.windows(raw.len()).any(|w| w == raw), "the bytes were changed: {:?}", String::from_utf8_lossy(&file));
    let long = format!(" out {}\n", "a".repeat(200_000));
    assert!(logged(&project, "raw", &long), "the 200 kB line was not kept whole");

    let shown = project.run(&["logs", "--no-prefix", "raw"]).expect_code(0).output.stdout;
    let line: &[u8] = b"caf\xe9 \xff\xfe end\n";
    assert!(
        shown.starts_with(line),
        "orch logs changed the bytes: {:?}",
        String::from_utf8_lossy(&shown[..shown.len().min(40)])
    );
}
