//! A temp project with files in it, and the real `orch` binary run inside it.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

pub struct Project {
    dir: TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// A project whose procs.toml is `text`.
    pub fn toml(text: &str) -> Self {
        Self::new().file("procs.toml", text)
    }

    pub fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent folders");
        }
        std::fs::write(path, text).expect("write a project file");
        self
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical temp dir")
    }

    /// `orch ARGS…` run in the project's root.
    pub fn orch(&self, args: &[&str]) -> Run {
        self.orch_in(&self.path(), args)
    }

    /// `orch ARGS…` run in a folder of the project (created if needed).
    pub fn orch_in(&self, dir: &Path, args: &[&str]) -> Run {
        std::fs::create_dir_all(dir).expect("create the working folder");
        let output = orch()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run orch");
        Run { output }
    }
}

/// The binary under test, with an environment that does not leak the developer's own.
pub fn orch() -> Command {
    let mut cmd = Command::cargo_bin("orch").expect("the orch binary");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, showing both streams when it is not the one expected.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
