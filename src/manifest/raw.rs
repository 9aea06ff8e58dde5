//! procs.toml as written, before anything is resolved: the serde shapes, with the spans that
//! later checks (unknown dependency, cycle, bad path) point at.

use std::fmt;

use indexmap::IndexMap;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::command::Command;
use super::duration::HumanDuration;
use super::signal::StopSignal;
use super::size::ByteSize;
use super::spec::{Condition, Ready, RestartPolicy};

/// The keys allowed at the top of procs.toml (checked by hand, so that each service can be
/// read on its own and every broken one reported).
pub const TOP_LEVEL_KEYS: [&str; 4] = ["env", "log", "watch", "services"];

pub type RawEnv = IndexMap<Spanned<String>, Spanned<EnvValue>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub cmd: Spanned<Command>,
    pub cwd: Option<Spanned<String>>,
    #[serde(default)]
    pub env: RawEnv,
    pub env_file: Option<Spanned<String>>,
    #[serde(default)]
    pub depends_on: DependsOn,
    pub ready: Option<Spanned<Ready>>,
    pub ready_timeout: Option<HumanDuration>,
    pub restart: Option<RestartPolicy>,
    pub max_restarts: Option<u32>,
    pub stop_signal: Option<StopSignal>,
    pub stop_timeout: Option<HumanDuration>,
    #[serde(default)]
    pub oneshot: bool,
    pub log: Option<RawLog>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub max_size: Option<ByteSize>,
    pub keep: Option<u32>,
}

/// An env value: a string, or a number or boolean taken as its text (`PGPORT = 5432`).
#[derive(Debug, Clone)]
pub struct EnvValue(pub String);

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

/// One `depends_on` entry as written.
#[derive(Debug, Clone, Copy)]
pub struct RawDependency {
    pub condition: Condition,
    pub restart: bool,
}

/// `depends_on`: a list of names (each waits until ready), or a table of name → condition
/// (`"started"`, `"ready"`, `"completed"`) or name → `{ condition, restart }`.
#[derive(Debug, Default)]
pub struct DependsOn(pub Vec<(Spanned<String>, RawDependency)>);

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
