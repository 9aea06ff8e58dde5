//! The recorded state, `.orch/state.json`: what the supervisor wants and what runs, per
//! service, so that `ps` can answer without a supervisor and a new supervisor can reconcile
//! after a crash. Written atomically: a temp file in the same folder, fsync, rename, fsync of
//! the folder.

use std::io::{self, Write};
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::manifest::{Adhoc, Service};
use crate::model::{Identity, Phase, Pid, ProcessExit};
use crate::safe_fs::{self, Access, PrivateDir};

pub(crate) const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) version: u32,
    /// The supervisor that wrote this file.
    pub(crate) supervisor: Option<Identity>,
    /// The manifest the services came from, so that a supervisor that takes over after a crash
    /// watches it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) manifest: Option<std::path::PathBuf>,
    /// Whether `up` asked for reloads (not `--no-watch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) watch: Option<bool>,
    pub(crate) services: IndexMap<String, ServiceRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Desired {
    Up,
    Down,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ServiceRecord {
    pub(crate) desired: Desired,
    pub(crate) state: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// The running process (leader of its group: pgid == pid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) process: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pgid: Option<Pid>,
    /// Milliseconds since the Unix epoch of the last spawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ready_after_ms: Option<u64>,
    pub(crate) config_hash: String,
    pub(crate) restarts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_exit: Option<ProcessExit>,
    /// Set for an ad-hoc service: what it runs, since no manifest says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adhoc: Option<Adhoc>,
    /// The configuration the process was started with, so a new supervisor can manage it and
    /// tell what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<Service>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path} is not a state file orch can read ({detail})")]
    Corrupt { path: String, detail: String },
    #[error("{path} was written by a newer orch (state version {found}, this orch reads {STATE_VERSION})")]
    Newer { path: String, found: u32 },
}

impl State {
    pub(crate) fn new() -> Self {
        Self { version: STATE_VERSION, ..Self::default() }
    }

    /// The recorded state; `Ok(None)` when there is no file (nothing was ever recorded).
    pub(crate) fn load(path: &Path) -> Result<Option<State>, StateError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let shown = path.display().to_string();
        let text = match safe_fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io { path: shown, source });
            }
        };
        let version: Version = serde_json::from_slice(&text)
            .map_err(|e| StateError::Corrupt { path: shown.clone(), detail: e.to_string() })?;
        if version.version > STATE_VERSION {
            return Err(StateError::Newer { path: shown, found: version.version });
        }
        serde_json::from_slice(&text).map(Some).map_err(|e| StateError::Corrupt { path: shown, detail: e.to_string() })
    }

    /// Only the manifest the file records, for finding the project. It is written before the
    /// services, so only the file's head is read, and parsing stops at `services`: a thousand
    /// services' records are neither read nor scanned. None when there is none, or no
    /// readable head (a file written with the services first is found by its name instead).
    pub(crate) fn recorded_manifest(path: &Path) -> Option<std::path::PathBuf> {
        let mut head = Vec::with_capacity(RECORDED_HEAD_BYTES);
        io::Read::read_to_end(
            &mut io::Read::take(safe_fs::open_read(path).ok()?, RECORDED_HEAD_BYTES as u64),
            &mut head,
        )
        .ok()?;
        let mut found = None;
        // The parse ends early, and serde_json then says the map is not closed: what was
        // found before that is the answer.
        let _ = serde::Deserializer::deserialize_map(
            &mut serde_json::Deserializer::from_slice(&head),
            ManifestField(&mut found),
        );
        found
    }

    /// The file's text: serialised whole, so that it is written with one write(2) (a writer on
    /// the file would make one per JSON token, hundreds per service).
    pub(crate) fn encode(&self) -> io::Result<Vec<u8>> {
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        Ok(text)
    }

    /// Replaces the file with `text` (from [`State::encode`]) atomically: readers see the old
    /// state or the new one, never a mix. The folder must a private one of this user (see [`PrivateDir`]); a link or a FIFO
    /// left where the temp file goes is replaced, never written through.
    pub(crate) fn write(path: &Path, text: &[u8]) -> io::Result<()> {
        let dir = PrivateDir::create(path.parent().unwrap_or(Path::new(".")))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state.json");
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        match dir.remove(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = dir.open(&tmp, Access::CreateNew)?;
        file.write_all(text)?;
        file.sync_all()?;
        dir.rename(&tmp, name)?;
        dir.sync()
    }
}

/// How much of state.json is read for [`State::recorded_manifest`]: the version, the
/// supervisor and a manifest path (at most PATH_MAX) come before the services.
const RECORDED_HEAD_BYTES: usize = 16 * 1024;

/// Reads the top-level keys of state.json until `manifest` (kept in the slot) or `services`.
struct ManifestField<'a>(&'a mut Option<std::path::PathBuf>);

impl<'de> serde::de::Visitor<'de> for ManifestField<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the state object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "manifest" => {
                    *self.0 = map.next_value()?;
                    return Ok(());
                }
                "services" => return Ok(()),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::manifest::Ready;

    fn pid(raw: i32) -> Pid {
        Pid::new(raw).unwrap()
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().is_none());
        let mut state = State::new();
        state.services.insert(
            "web".into(),
            ServiceRecord {
                desired: Desired::Up,
                state: Phase::Ready,
                reason: None,
                process: Some(Identity { pid: pid(42), start_time: 7, boot_id: "b".into() }),
                pgid: Some(pid(42)),
                started_at_ms: Some(1),
                ready_after_ms: Some(312),
                config_hash: "abc".into(),
                restarts: 0,
                last_exit: Some(ProcessExit::Code(1)),
                adhoc: None,
                config: None,
            },
        );
        State::write(&path, &state.encode().unwrap()).unwrap();
        let back = State::load(&path).unwrap().unwrap();
        assert_eq!(back.services["web"].process.as_ref().unwrap().pid, pid(42));
        assert_eq!(back.services["web"].state, Phase::Ready);
    }

    /// A file orch wrote before issue 11 (the first format): it must keep loading, field for
    /// field, whatever the types behind it became.
    #[test]
    fn the_first_format_keeps_loading() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1.json");
        let state = State::load(&path).expect("it loads").expect("it is there");
        assert_eq!((state.version, state.supervisor.map(|s| s.pid)), (1, Some(pid(4200))));
        assert_eq!(state.manifest.as_deref(), Some(Path::new("/home/dev/shop/procs.toml")));
        let names: Vec<&str> = state.services.keys().map(String::as_str).collect();
        assert_eq!(names, ["db", "migrate", "web", "api"]);
        let db = &state.services["db"];
        assert_eq!((db.state, db.pgid, db.ready_after_ms), (Phase::Ready, Some(pid(4211)), Some(103)));
        let config = db.config.as_ref().expect("db's configuration");
        assert_eq!((config.port_number(), config.ready.as_ref().map(Ready::kind)), (Some(37061), Some("delay")));
        let migrate = &state.services["migrate"];
        assert_eq!((migrate.state, migrate.last_exit), (Phase::Failed, Some(ProcessExit::Code(3))));
        assert!(migrate.process.is_none() && migrate.config.as_ref().is_some_and(|c| c.oneshot));
        let web = &state.services["web"];
        assert_eq!((web.restarts, web.last_exit), (1, Some(ProcessExit::Signal(9))));
        assert!(web.config.as_ref().is_some_and(|c| c.depends_on["db"].restart));
        let api = state.services["api"].adhoc.as_ref().expect("api is ad-hoc");
        assert_eq!(api.cmd.to_string(), "python3 -m http.server 0");
        assert_eq!((api.env.as_slice(), api.restart), (&[("MODE".to_owned(), "dev".to_owned())][..], None));
    }

    #[test]
    fn garbage_and_newer_files_are_errors_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"versi").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Corrupt { .. })));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Corrupt { .. })));
        std::fs::write(&path, "{\"version\": 99, \"services\": {}}").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Newer { found: 99, .. })));
    }

    #[test]
    fn the_recorded_manifest_is_read_from_the_head_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1.json");
        assert_eq!(State::recorded_manifest(&fixture).as_deref(), Some(Path::new("/home/dev/shop/procs.toml")));
        // A file far longer than the head (its end cut off, as a reader of the head sees it).
        let mut state = State::new();
        state.manifest = Some("/p/procs.toml".into());
        let record = State::load(&fixture).unwrap().unwrap().services["db"].clone();
        for i in 0..1000 {
            state.services.insert(format!("s{i}"), record.clone());
        }
        let text = state.encode().unwrap();
        assert!(text.len() > 20 * RECORDED_HEAD_BYTES);
        std::fs::write(&path, &text).unwrap();
        assert_eq!(State::recorded_manifest(&path).as_deref(), Some(Path::new("/p/procs.toml")));
        for (text, why) in [
            ("{\"version\": 2, \"services\": {}}", "no manifest"),
            ("{\"services\": {}, \"manifest\": \"/p/procs.toml\"}", "written with the services first"),
            ("{\"manifest\": 7}", "not a path"),
            ("[\"manifest\"]", "not an object"),
            ("", "empty"),
        ] {
            std::fs::write(&path, text).unwrap();
            assert_eq!(State::recorded_manifest(&path), None, "{why}");
        }
    }
}
