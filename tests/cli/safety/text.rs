//! 9.9: what a service says and orch shows — its `STATUS=` in `ps`, its last log lines when
//! `up` fails — reaches the terminal without control sequences (a title, a clear screen).

use crate::support::{Project, python};

/// Escape sequences and controls a hostile service might send: a window title (OSC), a clear
/// screen and a colour (CSI), an 8-bit CSI, a bell, a carriage return.
const HOSTILE: &str = r"\x1b]0;pwned\x07\x1b[2J\x1b[31m\xc2\x9b1mhello\r\x07 world\x1b[0m";

fn assert_clean(text: &str, what: &str) {
    let bad: Vec<char> = text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
    assert!(bad.is_empty(), "{what}: control characters {bad:?} in:\n{text:?}");
    assert!(!text.contains("pwned") && !text.contains("[2J"), "{what}: a sequence was left half: {text:?}");
}

#[test]
fn a_status_with_control_sequences_is_shown_clean_by_ps() {
    let notifier = format!(
        "import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.sendto(b\"READY=1\\nSTATUS={HOSTILE}\", os.environ[\"NOTIFY_SOCKET\"])\ntime.sleep(1000)\n"
    );
    let project = Project::toml(&format!(
        "[services.n]\ncmd = [\"{}\", \"notify.py\"]\nready = {{ notify = true }}\nready_timeout = \"10s\"\n",
        python()
    ))
    .file("notify.py", &notifier);
    project.up().expect_code(0);
    let table = project.run(&["ps"]).expect_code(0).stdout();
    assert_clean(&table, "ps");
    assert!(table.contains("hello world"), "{table}");
    let json = project.run(&["ps", "--json"]).expect_code(0).stdout();
    assert_clean(&json, "ps --json");
    assert_eq!(project.service("n")["status"], "hello world");
}

#[test]
fn the_last_lines_up_prints_on_a_failure_are_clean() {
    let script = format!("import sys\nsys.stdout.buffer.write(b\"{HOSTILE}\\n\")\nsys.exit(3)\n");
    let project = Project::toml(&format!("[services.bad]\ncmd = [\"{}\", \"bad.py\"]\noneshot = true\n", python()))
        .file("bad.py", &script);
    let up = project.up().expect_code(1);
    assert_clean(&up.stdout(), "up");
    assert!(up.stdout().contains("hello world"), "{}", up.stdout());
    // The log file itself keeps the bytes as the service wrote them.
    assert!(project.log_file("bad").windows(3).any(|w| w == b"\x1b]0"), "the raw log lost its bytes");
}
