//! The head of a message: its version and its kind, read from its first keys without
//! scanning the rest. A `ps` of a thousand services is a 400 KB line; its head is 25 bytes.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};

/// A message's version, and the kind its tag names (`reply` or `request`), if it has one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) v: u32,
    pub(crate) kind: Option<String>,
}

impl Head {
    /// Reads the keys of `line`'s object until both the version and `tag` are found. orch
    /// writes both first; a message with them later is read further, so still right. An
    /// error when there is no object or no version.
    pub(crate) fn read(line: &[u8], tag: &str) -> Result<Head, serde_json::Error> {
        let mut slot = None;
        let parsed = de::Deserializer::deserialize_map(
            &mut serde_json::Deserializer::from_slice(line),
            Keys { tag, slot: &mut slot },
        );
        // Stopping early leaves the object open, which serde_json then reports: what was found
        // before that is the answer.
        match (slot, parsed) {
            (Some(head), _) => Ok(head),
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(de::Error::missing_field("v")),
        }
    }
}

struct Keys<'a> {
    tag: &'a str,
    slot: &'a mut Option<Head>,
}

impl<'de> Visitor<'de> for Keys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut v, mut kind) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "v" {
                v = Some(map.next_value::<u32>()?);
            } else if key == self.tag {
                kind = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            if v.is_some() && kind.is_some() {
                break;
            }
        }
        if let Some(v) = v {
            *self.slot = Some(Head { v, kind });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(line: &str) -> Option<Head> {
        Head::read(line.as_bytes(), "reply").ok()
    }

    #[test]
    fn the_version_and_kind_are_read_wherever_they_are() {
        let ps = Head { v: 3, kind: Some("ps".into()) };
        assert_eq!(head(r#"{"v":3,"reply":"ps","services":[{"name":"web"}]}"#), Some(ps));
        let later = Head { v: 3, kind: Some("ps".into()) };
        assert_eq!(head(r#"{"services":[],"reply":"ps","v":3}"#), Some(later));
        assert_eq!(head(r#"{"v":2}"#), Some(Head { v: 2, kind: None }));
    }

    #[test]
    fn the_rest_is_not_read() {
        // Cut off in the middle, as a reader of the head alone would see it.
        assert_eq!(head(r#"{"v":3,"reply":"ps","services":[{"na"#).map(|h| h.v), Some(3));
    }

    #[test]
    fn no_version_or_no_object_is_an_error() {
        for line in [r#"{"reply":"ps"}"#, r#"{"v":"3","reply":"ps"}"#, "[3]", "", "garbage", r#"{"v":-1}"#] {
            assert_eq!(head(line), None, "{line}");
        }
    }
}
