//! `orch boot enable|disable|status`: start this project's supervisor with the user's systemd
//! (at login, or at boot with lingering), as pm2 `startup` and pitchfork `boot` do, so a dev
//! box or a small server keeps its services across reboots with all of orch's features.
//!
//! The unit runs `orch up --foreground`: the supervisor is the unit's main process, so systemd
//! sees it end and starts it again, and `systemctl --user stop` is an `orch down`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Subcommand};

use super::{ClientError, Global};
use crate::exit::Exit;
use crate::export::systemd::{environment, quote_path, quote_word};

#[derive(Debug, Args)]
pub(crate) struct BootArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Start this project's services at login (a systemd user unit running orch up)
    Enable {
        /// Print the unit and the commands instead of installing them
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop starting them at login (what runs now keeps running)
    Disable,
    /// Whether they start at login, and whether lingering makes that at boot
    Status,
}

/// The project's boot unit: where it goes and what it says.
struct BootUnit {
    name: String,
    path: PathBuf,
    text: String,
}

pub(super) fn run(global: &Global, args: BootArgs) -> Result<Exit, ClientError> {
    let found = crate::project::discover(
        &std::env::current_dir().unwrap_or_default(),
        global.directory.as_deref(),
        global.file.as_deref(),
    )?;
    let orch = std::env::current_exe().map_err(|e| ClientError::Failed(format!("cannot find this orch: {e}")))?;
    let unit = boot_unit(&found.path, &orch, &unit_dir()?, std::env::var("PATH").ok().as_deref());
    match args.action {
        Action::Enable { dry_run: true } => {
            println!("# {}\n{}", unit.path.display(), unit.text);
            println!("# then:\nsystemctl --user daemon-reload\nsystemctl --user enable {}", unit.name);
            println!("{}", linger_note());
            Ok(Exit::Success)
        }
        Action::Enable { dry_run: false } => enable(&unit),
        Action::Disable => disable(&unit),
        Action::Status => Ok(status(&unit)),
    }
}

/// The unit for the project whose manifest is `manifest`. Its name carries the folder's name
/// and a hash of its path, so two projects in folders of the same name each have their own.
fn boot_unit(manifest: &Path, orch: &Path, dir: &Path, path_var: Option<&str>) -> BootUnit {
    let root = manifest.parent().unwrap_or(Path::new("/"));
    let hash: String = crate::paths::project_hash(root).chars().take(8).collect();
    let name = format!("orch-boot-{}-{hash}.service", crate::export::project_name(root));
    let word = |p: &Path| quote_word(&p.display().to_string());
    let mut text = format!(
        "[Unit]\nDescription=orch: the services of {root}\n\n[Service]\nType=exec\nWorkingDirectory={dir}\n",
        root = root.display().to_string().replace('%', "%%"),
        dir = quote_path(&root.display().to_string())
    );
    // The services find their programs on the PATH they have in a shell, not systemd's own.
    if let Some(line) = path_var.filter(|p| !p.is_empty()).and_then(|path| environment("PATH", path)) {
        text.push_str(&line);
    }
    text.push_str(&format!(
        "ExecStart={} -f {} up --foreground\nRestart=on-failure\nRestartSec=5s\n\
         # The supervisor stops the services itself, dependents first, on SIGTERM.\n\
         KillMode=mixed\nTimeoutStopSec=2min\n\n[Install]\nWantedBy=default.target\n",
        word(orch),
        word(manifest)
    ));
    BootUnit { path: dir.join(&name), name, text }
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`: where systemd looks.
fn unit_dir() -> Result<PathBuf, ClientError> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| ClientError::Failed("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
    Ok(config.join("systemd").join("user"))
}

fn enable(unit: &BootUnit) -> Result<Exit, ClientError> {
    let failed = |e: std::io::Error| ClientError::Failed(format!("cannot write {}: {e}", unit.path.display()));
    if let Some(dir) = unit.path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(&unit.path, &unit.text).map_err(failed)?;
    println!("wrote {}", unit.path.display());
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", &unit.name])?;
    println!("enabled {}: the project's services start when you log in", unit.name);
    if !lingering() {
        println!("{}", linger_note());
    }
    Ok(Exit::Success)
}

fn disable(unit: &BootUnit) -> Result<Exit, ClientError> {
    if !unit.path.exists() {
        println!("{} is not installed: nothing to disable", unit.name);
        return Ok(Exit::Success);
    }
    systemctl(&["disable", &unit.name])?;
    std::fs::remove_file(&unit.path)
        .map_err(|e| ClientError::Failed(format!("cannot remove {}: {e}", unit.path.display())))?;
    systemctl(&["daemon-reload"])?;
    println!("disabled {}; what runs now keeps running (`orch down` stops it)", unit.name);
    Ok(Exit::Success)
}

fn status(unit: &BootUnit) -> Exit {
    if !unit.path.exists() {
        println!("not enabled: `orch boot enable` starts this project's services at login");
        return Exit::ServiceFailed;
    }
    let enabled = Command::new("systemctl").args(["--user", "is-enabled", &unit.name]).output();
    let said = enabled.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    let said = if said.is_empty() { "unknown (systemctl --user did not answer)".to_owned() } else { said };
    println!("{}: {said}", unit.name);
    println!("unit: {}", unit.path.display());
    let linger = if lingering() { "yes: they start at boot" } else { "no: they start at login, and stop at logout" };
    println!("lingering: {linger}");
    if said == "enabled" { Exit::Success } else { Exit::ServiceFailed }
}

fn systemctl(args: &[&str]) -> Result<(), ClientError> {
    let shown = format!("systemctl --user {}", args.join(" "));
    let output = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .output()
        .map_err(|e| ClientError::Failed(format!("cannot run {shown}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(ClientError::Failed(format!(
        "{shown} failed: {said} (is there a systemd user session? `orch boot enable --dry-run` prints what to install by hand)"
    )))
}

/// Whether the user's systemd runs from boot (`loginctl enable-linger`), as logind records it.
fn lingering() -> bool {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name);
    user.is_some_and(|u| Path::new("/var/lib/systemd/linger").join(u).exists())
}

fn linger_note() -> &'static str {
    "# Your user's systemd runs while you are logged in. To start the services at boot, without a login:\n\
     #   loginctl enable-linger \"$USER\""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_supervisor_in_the_foreground() {
        let unit = boot_unit(
            Path::new("/home/me/my app/procs.toml"),
            Path::new("/usr/local/bin/orch"),
            Path::new("/home/me/.config/systemd/user"),
            Some("/usr/bin:/home/me/.cargo/bin"),
        );
        assert!(unit.name.starts_with("orch-boot-my-app-") && unit.name.ends_with(".service"), "{}", unit.name);
        assert_eq!(unit.path, Path::new("/home/me/.config/systemd/user").join(&unit.name));
        insta::assert_snapshot!(unit.text);
    }
}
