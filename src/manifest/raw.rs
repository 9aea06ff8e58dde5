//! procs.toml as written, before anything is resolved: the serde shapes, with the spans that
//! later checks (unknown dependency, cycle, bad path) point at.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::command_line::CommandLine;
use super::duration::HumanDuration;
use super::port::PortSpec;
use super::signal::StopSignal;
use super::size::ByteSize;
use super::spec::{Condition, Ready, RestartPolicy};

/// The keys allowed at the top of procs.toml (checked by hand, so that each service can be
/// read on its own and every broken one reported).
pub(super) const TOP_LEVEL_KEYS: [&str; 6] = ["env", "log", "watch", "min_uptime", "mcp", "services"];

/// The keys of a service (checked by hand first, so that every unknown key is reported, not
/// only the first).
pub(super) const SERVICE_KEYS: [&str; 23] = [
    "cmd",
    "cwd",
    "env",
    "env_file",
    "depends_on",
    "ready",
    "ready_timeout",
    "min_uptime",
    "restart",
    "max_restarts",
    "stop_signal",
    "stop_timeout",
    "oneshot",
    "log",
    "port",
    "profiles",
    "watch",
    "watch_ignore",
    "healthcheck",
    "schedule",
    "scale",
    "rolling",
    "export",
];

pub(super) type RawEnv = IndexMap<Spanned<String>, Spanned<EnvValue>>;

/// The whole of procs.toml, for its JSON Schema (`orch schema`). The loader reads the top
/// level key by key (see `load_toml`), each value through the types below; a test keeps the
/// two in step.
#[derive(Debug, JsonSchema)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(deny_unknown_fields)]
#[schemars(title = "procs.toml", description = "The services of a project, for orch")]
#[allow(dead_code, reason = "read through its schema, and by a test that checks the examples against it")]
pub(super) struct RawManifest {
    /// Reload when this file, `.env` or an `env_file` changes (default true).
    pub(crate) watch: Option<bool>,
    /// Variables for every service, over orch's own environment and `.env`; `${VAR}` expands.
    #[schemars(with = "Option<IndexMap<String, EnvValue>>")]
    pub(crate) env: Option<RawEnv>,
    /// The default log rotation of every service.
    pub(crate) log: Option<RawLog>,
    /// The default `min_uptime` of every service (default "1s").
    pub(crate) min_uptime: Option<HumanDuration>,
    /// What an agent may do through `orch mcp`.
    pub(crate) mcp: Option<RawMcp>,
    /// One table per service; names are letters, digits, `-` and `_`.
    pub(crate) services: IndexMap<String, RawService>,
}

/// One service.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    /// What to run: a string runs under `sh -c` (never interpolated by orch), an array is argv.
    #[schemars(with = "CommandLine")]
    pub(crate) cmd: Spanned<CommandLine>,
    /// The working folder, relative to the manifest's folder (default: that folder).
    #[schemars(with = "Option<String>")]
    pub(crate) cwd: Option<Spanned<String>>,
    /// Variables for this service, over `[env]` and `env_file`; `${VAR}` expands.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, EnvValue>")]
    pub(crate) env: RawEnv,
    /// A `.env`-style file of variables, relative to the manifest's folder.
    #[schemars(with = "Option<String>")]
    pub(crate) env_file: Option<Spanned<String>>,
    /// What must be up first: a list of names (each waited for until ready), or a table of
    /// name = "started" | "ready" | "completed" | { condition, restart }.
    #[serde(default)]
    pub(crate) depends_on: DependsOn,
    /// When the service counts as ready (default: once spawned).
    #[schemars(with = "Option<Ready>")]
    pub(crate) ready: Option<Spanned<Ready>>,
    /// How long the readiness check may take (default "60s").
    pub(crate) ready_timeout: Option<HumanDuration>,
    /// Without a readiness check: how long the process must stay up to count as started
    /// (default: the top-level `min_uptime`, else "1s"; "0s" turns it off).
    pub(crate) min_uptime: Option<HumanDuration>,
    /// "no", "on-failure" (default; "no" for a oneshot) or "always".
    pub(crate) restart: Option<RestartPolicy>,
    /// Restarts in a row before the service is fatal (default 5).
    pub(crate) max_restarts: Option<u32>,
    /// The signal a stop sends to the process group (default "SIGTERM").
    pub(crate) stop_signal: Option<StopSignal>,
    /// How long a stop waits before SIGKILL (default "10s").
    pub(crate) stop_timeout: Option<HumanDuration>,
    /// A task: done when it exits 0.
    #[serde(default)]
    pub(crate) oneshot: bool,
    /// Log rotation (default: the top-level `[log]`).
    pub(crate) log: Option<RawLog>,
    /// "auto" for a free port kept across restarts, or a fixed number; given in `$PORT`, and to
    /// other services as `${NAME.port}`.
    #[schemars(with = "Option<PortSpec>")]
    pub(crate) port: Option<Spanned<PortSpec>>,
    /// Profiles the service belongs to: a plain `orch up` leaves it out unless one of them is
    /// active (`orch up --profile NAME`, `ORCH_PROFILES`), or something started needs it.
    #[schemars(with = "Option<Vec<String>>")]
    pub(crate) profiles: Option<Spanned<Vec<String>>>,
    /// Restart the service when a file matching one of these globs changes, e.g.
    /// `["src/**/*.py"]` (relative to its `cwd`; `.gitignore`d files and `.git/` never count).
    #[schemars(with = "Option<Vec<String>>")]
    pub(crate) watch: Option<Spanned<Vec<String>>>,
    /// Globs of files whose changes do not count, e.g. `["**/*.pyc", "tmp/**"]`.
    #[schemars(with = "Option<Vec<String>>")]
    pub(crate) watch_ignore: Option<Spanned<Vec<String>>>,
    /// A check while the service runs; `retries` failures in a row make it unhealthy, and
    /// restart it unless `restart` is "no".
    #[schemars(with = "Option<RawHealthcheck>")]
    pub(crate) healthcheck: Option<Spanned<RawHealthcheck>>,
    /// For a oneshot: run it on this cron schedule while the project is up, e.g. "*/5 * * * *"
    /// (local time; an optional sixth field first is seconds). `up` does not run it at once.
    #[schemars(with = "Option<String>")]
    pub(crate) schedule: Option<Spanned<String>>,
    /// Run this many processes of it, `NAME.1` … `NAME.N` (foreman's naming), each with its own
    /// `$PORT` and `$PS`; `orch scale NAME=N` changes it while the project is up. 0 runs none.
    #[schemars(with = "Option<u32>", range(max = 1000))]
    pub(crate) scale: Option<Spanned<u32>>,
    /// `orch restart NAME` of a scaled service restarts its replicas one at a time, each once
    /// the one before is ready again (default false: all at once).
    #[serde(default)]
    pub(crate) rolling: bool,
    /// What `orch export` needs beyond what orch itself runs.
    pub(crate) export: Option<RawExport>,
}

/// `[services.NAME.export]`: for the engines `orch export` writes files for.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExport {
    /// The container image that runs this service's `cmd` (`orch export kubernetes`), e.g.
    /// "ghcr.io/acme/web:1.4"; `--image NAME=IMAGE` overrides it.
    pub(crate) image: Option<String>,
}

/// Log rotation: the live file is renamed `.log.1` when it would pass `max_size`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    /// Default "50MB".
    pub(crate) max_size: Option<ByteSize>,
    /// Rotated files kept (default 5).
    pub(crate) keep: Option<u32>,
}

/// A health check: one of `tcp`, `http` or `exec`, as in `ready`, with how often and how
/// patiently it is tried.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealthcheck {
    /// Healthy while a TCP connect to HOST:PORT succeeds, e.g. "127.0.0.1:${PORT}".
    pub(crate) tcp: Option<String>,
    /// Healthy while a GET of this URL answers 2xx or 3xx.
    pub(crate) http: Option<String>,
    /// Healthy while this command exits 0.
    pub(crate) exec: Option<CommandLine>,
    /// Time between checks (default "10s").
    pub(crate) interval: Option<HumanDuration>,
    /// Failures in a row that make the service unhealthy (default 3).
    pub(crate) retries: Option<u32>,
    /// How long after the service is up the checks begin (default "0s").
    pub(crate) start_period: Option<HumanDuration>,
}

/// What an agent may do through `orch mcp`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMcp {
    /// Whether an agent may start ad-hoc services: commands of its own, not the manifest's (default true).
    pub(crate) adhoc: Option<bool>,
}

/// An env value: a string, or a number or boolean taken as its text (`PGPORT = 5432`).
#[derive(Debug, Clone)]
pub(super) struct EnvValue(pub(crate) String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EnvValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(EnvValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for EnvValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl schemars::JsonSchema for DependsOn {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DependsOn".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "oneOf": [
                { "type": "array", "items": { "type": "string" } },
                { "type": "object", "additionalProperties": { "oneOf": [
                    { "enum": ["started", "ready", "completed"] },
                    { "type": "object", "additionalProperties": false, "properties": {
                        "condition": { "enum": ["started", "ready", "completed"] },
                        "restart": { "type": "boolean", "description": "Restart this service whenever the dependency restarts" }
                    } }
                ] } }
            ]
        })
    }
}

/// One `depends_on` entry as written.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawDependency {
    pub(crate) condition: Condition,
    pub(crate) restart: bool,
}

/// `depends_on`: a list of names (each waits until ready), or a table of name → condition
/// (`"started"`, `"ready"`, `"completed"`) or name → `{ condition, restart }`.
#[derive(Debug, Clone, Default)]
pub(super) struct DependsOn(pub(crate) Vec<(Spanned<String>, RawDependency)>);

impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DependsOn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of service names, or a table of name = condition")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut deps = Vec::new();
                while let Some(name) = seq.next_element::<Spanned<String>>()? {
                    let dep = RawDependency { condition: Condition::Ready, restart: false };
                    deps.push((name, dep));
                }
                Ok(DependsOn(deps))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut deps = Vec::new();
                while let Some((name, dep)) = map.next_entry::<Spanned<String>, DependencyValue>()? {
                    deps.push((name, dep.0));
                }
                Ok(DependsOn(deps))
            }
        }
        d.deserialize_any(V)
    }
}

struct DependencyValue(RawDependency);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongDependency {
    #[serde(default = "ready")]
    condition: Condition,
    #[serde(default)]
    restart: bool,
}

fn ready() -> Condition {
    Condition::Ready
}

impl<'de> Deserialize<'de> for DependencyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DependencyValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"started\", \"ready\", \"completed\" or { condition, restart }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let condition = Condition::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(DependencyValue(RawDependency { condition, restart: false }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let long = LongDependency::deserialize(MapAccessDeserializer::new(map))?;
                Ok(DependencyValue(RawDependency { condition: long.condition, restart: long.restart }))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_exactly_the_top_level_keys_the_loader_reads() {
        let schema = crate::manifest::schema();
        let keys: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = TOP_LEVEL_KEYS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn the_service_keys_are_the_schemas() {
        let schema = crate::manifest::schema();
        let service = &schema["$defs"]["RawService"]["properties"];
        let keys: Vec<&str> = service.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, SERVICE_KEYS);
    }

    #[test]
    fn the_examples_read_as_the_schema_types() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in ["procs.toml.example", "examples/web/procs.toml"] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let parsed: Result<RawManifest, _> = toml::from_str(&text);
            assert!(parsed.is_ok(), "{file}: {:?}", parsed.err());
        }
    }
}
