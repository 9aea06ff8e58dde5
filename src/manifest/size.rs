//! Byte sizes for log rotation: `"50MB"`, `"512KiB"`, `1048576`. `KB`/`MB`/`GB` are powers of
//! 1000 and `KiB`/`MiB`/`GiB` powers of 1024, as their names say.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ByteSize(pub u64);

const UNITS: [(&str, u64); 7] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];

impl ByteSize {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let bad = || format!("invalid size `{text}`; write it like \"50MB\", \"512KiB\" or \"1GB\"");
        let number: u64 = t[..digits].parse().map_err(|_| bad())?;
        let unit = t[digits..].trim();
        let factor = if unit.is_empty() {
            1
        } else {
            UNITS.iter().find(|(name, _)| name.eq_ignore_ascii_case(unit)).map(|(_, f)| *f).ok_or_else(bad)?
        };
        let bytes = number.checked_mul(factor).ok_or_else(bad)?;
        if bytes == 0 {
            return Err(format!("size `{text}` must be more than zero"));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, factor) =
            UNITS.iter().find(|(_, factor)| self.0.is_multiple_of(*factor)).copied().unwrap_or(("B", 1));
        write!(f, "{}{name}", self.0 / factor)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"50MB\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "integer"], "description": "A size: \"50MB\" (10^6 bytes), \"512KiB\" (2^10), or a number of bytes", "examples": ["50MB", "512KiB"] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(ByteSize::parse("50MB"), Ok(ByteSize(50_000_000)));
        assert_eq!(ByteSize::parse("50 mb"), Ok(ByteSize(50_000_000)));
        assert_eq!(ByteSize::parse("1KiB"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("123"), Ok(ByteSize(123)));
        assert!(ByteSize::parse("0").is_err());
        assert!(ByteSize::parse("5XB").is_err());
        assert!(ByteSize::parse("MB").is_err());
    }

    #[test]
    fn prints_the_largest_exact_unit() {
        assert_eq!(ByteSize(50_000_000).to_string(), "50MB");
        assert_eq!(ByteSize(3 << 20).to_string(), "3MiB");
        assert_eq!(ByteSize(1001).to_string(), "1001B");
    }
}
