//! Durations written as people write them: `"250ms"`, `"10s"`, `"2m"`, `"1h 30m"`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct HumanDuration(pub(crate) Duration);

impl HumanDuration {
    pub(crate) const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// A duration as people write it; the error says what is wrong in words, then (after
    /// `; `) how to write it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        use humantime::DurationError;
        let what = match humantime::parse_duration(text.trim()) {
            Ok(duration) => return Ok(Self(duration)),
            Err(DurationError::Empty) => "a duration cannot be empty".to_owned(),
            Err(DurationError::UnknownUnit { unit, value, .. }) if unit.is_empty() => {
                format!("`{text}` is not a duration: it needs a unit, as in \"{value}s\" or \"{value}ms\"")
            }
            Err(DurationError::UnknownUnit { unit, .. }) => {
                format!("`{text}` is not a duration: `{unit}` is not a unit")
            }
            Err(DurationError::NumberOverflow) => format!("`{text}` is longer than any duration orch can wait"),
            Err(_) => format!("`{text}` is not a duration"),
        };
        Err(format!("{what}; write it like \"250ms\", \"10s\", \"2m\" or \"1h 30m\" (units: ms, s, m, h, d)"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        // humantime writes "1m 30s"; without spaces it reads back the same and fits a table.
        let text = humantime::format_duration(self.0).to_string();
        f.write_str(&text.replace(' ', ""))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"250ms\", \"10s\" or \"2m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                HumanDuration::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Err(E::custom(format!("a duration needs a unit: write \"{v}s\" or \"{v}ms\"")))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "A duration: \"250ms\", \"10s\", \"2m\", \"1h 30m\"", "examples": ["250ms", "10s", "2m"] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for (text, printed) in [("250ms", "250ms"), ("10s", "10s"), ("2m", "2m"), ("90s", "1m30s"), ("1h 30m", "1h30m")]
        {
            let d = HumanDuration::parse(text).expect(text);
            assert_eq!(d.to_string(), printed);
            assert_eq!(HumanDuration::parse(printed), Ok(d));
        }
    }

    #[test]
    fn rejects_missing_or_bad_units_in_words() {
        let says = |text: &str| HumanDuration::parse(text).unwrap_err().split("; ").next().unwrap().to_owned();
        assert_eq!(says("10"), "`10` is not a duration: it needs a unit, as in \"10s\" or \"10ms\"");
        assert_eq!(says("soon"), "`soon` is not a duration");
        assert_eq!(says("10 parsecs"), "`10 parsecs` is not a duration: `parsecs` is not a unit");
        assert_eq!(says(""), "a duration cannot be empty");
        assert_eq!(
            says("99999999999999999999999s"),
            "`99999999999999999999999s` is longer than any duration orch can wait"
        );
    }
}
