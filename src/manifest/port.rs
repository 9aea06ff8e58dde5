//! `port = "auto"` or `port = 8080` on a service.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PortSpec {
    /// A free port on 127.0.0.1, chosen by orch and kept while it stays free.
    Auto,
    /// This port; checked free before the service starts.
    Fixed(u16),
}

impl Serialize for PortSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PortSpec::Auto => s.serialize_str("auto"),
            PortSpec::Fixed(port) => s.serialize_u16(*port),
        }
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"auto\" or a port number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "auto" => Ok(PortSpec::Auto),
                    _ => Err(E::custom(format!(
                        "port `{v}` is not \"auto\" or a number; write port = \"auto\" or port = 8080"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u16::try_from(v) {
                    Ok(port) if port > 0 => Ok(PortSpec::Fixed(port)),
                    _ => Err(E::custom(format!("port {v} is out of range; use 1 to 65535, or \"auto\""))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for PortSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Port".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "\"auto\": a free port on 127.0.0.1, kept across restarts while it stays free, in $PORT and ${NAME.port}; or a fixed port number",
            "oneOf": [ { "const": "auto" }, { "type": "integer", "minimum": 1, "maximum": 65535 } ]
        })
    }
}
