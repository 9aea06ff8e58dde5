//! Point 10: `ps` columns mean what they say. READY is `-` for a service without a check and
//! empty for one that is not running; PORT shows the ports a Procfile's services get; a long
//! reason goes on a line of its own (cut to a terminal's width), never into a 300-column row.

use crate::support::{Project, python};

/// The cell of `column` in the table row of `service`, found under its header.
fn cell(table: &str, service: &str, column: &str) -> String {
    let header = table.lines().next().unwrap_or_default();
    let headers = ["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "READY", "CPU", "MEM"];
    let at = |h: &str| header.find(h).unwrap_or_else(|| panic!("no {h} column: {table}"));
    let start = at(column);
    let next = headers.iter().position(|h| *h == column).and_then(|i| headers.get(i + 1)).map(|h| at(h));
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(service))
        .unwrap_or_else(|| panic!("no row for {service}: {table}"));
    let end = next.unwrap_or(row.len()).min(row.len());
    row.get(start.min(end)..end).unwrap_or_default().trim().to_owned()
}

#[test]
fn ready_is_a_dash_without_a_check_and_empty_when_not_running() {
    let project = Project::toml(
        r#"
[services.plain]
cmd = "sleep 1000"
min_uptime = "0s"

[services.checked]
cmd = "echo up; exec sleep 1000"
ready = { log = "up" }

[services.halted]
cmd = "echo up; exec sleep 1000"
ready = { log = "up" }

[services.broken]
cmd = "exit 1"
ready = { log = "up" }
"#,
    );
    project.up().expect_code(1);
    project.run(&["stop", "halted"]).expect_code(0);
    let table = project.run(&["ps"]).expect_code(0).stdout();
    assert_eq!(cell(&table, "plain", "STATE"), "running", "{table}");
    assert_eq!(cell(&table, "plain", "READY"), "-", "{table}");
    let checked = cell(&table, "checked", "READY");
    assert!(checked.starts_with("log /up/ (") && checked.ends_with(')'), "{table}");
    for (name, state) in [("halted", "stopped"), ("broken", "failed")] {
        assert_eq!(cell(&table, name, "STATE"), state, "{table}");
        assert_eq!(cell(&table, name, "READY"), "", "{name}: {table}");
    }
}

#[test]
fn a_procfiles_services_show_the_port_they_get() {
    let project = Project::new().file("Procfile", "web: exec sleep 1000\nworker: exec sleep 1000\n");
    project.up().expect_code(0);
    for (name, port) in [("web", 5000), ("worker", 5100)] {
        let row = project.service(name);
        assert_eq!(row["port"], port, "{row:#}");
        let pid = row["pid"].as_i64().expect("a pid") as i32;
        assert_eq!(crate::reconcile::env_of(pid, "PORT"), Some(port.to_string()), "the PORT {name} runs with");
    }
    let table = project.run(&["ps"]).expect_code(0).stdout();
    assert_eq!(cell(&table, "web", "PORT"), "5000", "{table}");
    assert_eq!(cell(&table, "worker", "PORT"), "5100", "{table}");
}

/// `python3 tty.py COLS CMD…`: runs CMD on a pseudo-terminal COLS wide, prints what it wrote.
const ON_A_TTY: &str = r#"import fcntl, os, struct, subprocess, sys, termios
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, int(sys.argv[1]), 0, 0))
child = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
sys.stdout.buffer.write(out)
sys.exit(child.wait())
"#;

#[test]
fn a_long_reason_is_on_a_line_of_its_own() {
    let program = format!("/nonexistent/{}", "a".repeat(300));
    let project = Project::toml(&format!(
        "[services.long]\ncmd = [\"{program}\"]\n[services.short]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n"
    ))
    .file("tty.py", ON_A_TTY);
    project.up().expect_code(1);

    // Through a pipe: the rows stay narrow, and the whole reason is on its own line.
    let table = project.run(&["ps"]).expect_code(0).stdout();
    let reason = format!("command not found: {program}");
    let (details, rows): (Vec<&str>, Vec<&str>) = table.lines().partition(|l| l.contains('↳'));
    assert!(rows.iter().all(|l| l.chars().count() <= 120), "a row longer than 120 columns:\n{table}");
    assert!(details.iter().any(|l| l.trim_start() == format!("↳ {reason}")), "{table}");
    assert_eq!(cell(&table, "long", "STATE"), "failed", "{table}");

    // On a terminal 100 columns wide, nothing is wider than it.
    let out = std::process::Command::new(python())
        .arg("tty.py")
        .arg("100")
        .arg(env!("CARGO_BIN_EXE_orch"))
        .arg("ps")
        .current_dir(project.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1")
        .output()
        .expect("run orch ps on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.lines().all(|l| l.chars().count() <= 100), "a line wider than the terminal:\n{shown}");
    let cut = shown.lines().find(|l| l.contains("↳ command not found: /nonexistent/a"));
    assert!(cut.is_some_and(|l| l.ends_with('…')), "the reason is not cut to the terminal:\n{shown}");
}
