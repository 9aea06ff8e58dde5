//! Signal names as written in a manifest: `"SIGINT"`, `"INT"`, `"sigint"` are the same signal.

use std::fmt;
use std::str::FromStr;

use nix::sys::signal::Signal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::problem::nearest;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StopSignal(pub(crate) Signal);

impl Default for StopSignal {
    fn default() -> Self {
        Self(Signal::SIGTERM)
    }
}

impl StopSignal {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let upper = text.trim().to_ascii_uppercase();
        let full = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
        if let Ok(sig) = Signal::from_str(&full) {
            return Ok(Self(sig));
        }
        let names: Vec<&str> = Signal::iterator().map(Signal::as_str).collect();
        let mut msg = format!("unknown signal `{text}`");
        if let Some(near) = nearest(&full, names.iter().copied()) {
            msg.push_str(&format!("; did you mean `{near}`?"));
        } else {
            msg.push_str("; use a name such as \"SIGTERM\", \"SIGINT\" or \"SIGQUIT\"");
        }
        Err(msg)
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Serialize for StopSignal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for StopSignal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StopSignal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a signal name such as \"SIGTERM\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                StopSignal::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl schemars::JsonSchema for StopSignal {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Signal".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "A signal name: \"SIGTERM\", \"SIGINT\", \"INT\"", "examples": ["SIGTERM", "SIGINT", "SIGQUIT"] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_long_and_lowercase_names() {
        for text in ["SIGINT", "INT", "sigint", "int"] {
            assert_eq!(StopSignal::parse(text), Ok(StopSignal(Signal::SIGINT)));
        }
    }

    #[test]
    fn suggests_the_nearest_name() {
        let err = StopSignal::parse("SIGTREM").unwrap_err();
        assert!(err.contains("SIGTERM"), "{err}");
    }
}
