//! Service names: the one rule for every name orch accepts, whether from procs.toml, a
//! Procfile, `orch start NAME -- …`, a process marker, the state file or a socket request.
//! A name becomes a log file name and a word on command lines, so it is short, plain, and
//! never reads as an option.

/// The longest name: log file names and `${NAME.port}` references stay readable.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// The name orch's own lines go under in `orch logs`.
pub(crate) const RESERVED_NAME: &str = "orch";

/// The most replicas one service may have (`scale`): each is a process, a log file and a port.
pub(crate) const MAX_SCALE: u32 = 1000;

/// Letters, digits, `-` and `_`, not starting with `-`, at most 64 characters: the names a
/// user gives (a manifest's services, ad-hoc ones, profiles).
pub(crate) fn is_valid_name(name: &str) -> bool {
    why_invalid(name).is_none()
}

/// A name a service can have: a valid name, or a replica's (`web.2`, foreman's naming).
pub(crate) fn is_service_name(name: &str) -> bool {
    is_valid_name(name) || split_replica(name).is_some()
}

/// The name of replica `index` (from 1) of `group`.
pub(crate) fn replica_name(group: &str, index: u32) -> String {
    format!("{group}.{index}")
}

/// A replica's group and index: `web.2` is (`web`, 2). The index is written as foreman writes
/// it (no sign, no leading zero), from 1 to [`MAX_SCALE`].
pub(crate) fn split_replica(name: &str) -> Option<(&str, u32)> {
    let (group, index) = name.rsplit_once('.')?;
    let plain = !index.is_empty() && !index.starts_with('0') && index.bytes().all(|b| b.is_ascii_digit());
    let index: u32 = index.parse().ok().filter(|i| plain && (1..=MAX_SCALE).contains(i))?;
    is_valid_name(group).then_some((group, index))
}

/// The group a replica's name is of: `web` for `web.2`; None for any other name.
pub(crate) fn group_of(name: &str) -> Option<&str> {
    split_replica(name).map(|(group, _)| group)
}

/// The names asked for, each group name (`web`) that is not itself a service replaced by its
/// replicas among `known` (`web.1`, `web.2`, in index order); anything else stays as asked,
/// to be found or refused as it is.
pub(crate) fn expand_groups<'a>(asked: &[String], known: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(asked.len());
    for name in asked {
        let mut replicas: Vec<(u32, &str)> = Vec::new();
        if !known.clone().any(|k| k == name) {
            replicas = known
                .clone()
                .filter_map(|k| split_replica(k).filter(|(g, _)| g == name).map(|(_, i)| (i, k)))
                .collect();
            replicas.sort_unstable();
            replicas.dedup();
        }
        if replicas.is_empty() {
            out.push(name.clone());
        }
        for (_, replica) in replicas {
            out.push(replica.to_owned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert(n.clone()));
    out
}

/// What is wrong with a name, in words, or None when it is valid.
pub(crate) fn why_invalid(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a service name cannot be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "a service name has at most {MAX_NAME_LEN} characters, this one has {}",
            name.chars().count()
        ));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        return Some(format!("a service name is letters, digits, `-` and `_`, not {c:?}"));
    }
    if name.starts_with('-') {
        return Some("a service name cannot start with `-` (it would read as an option)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for good in ["web", "web-2", "my_worker", "W3", "a", &"x".repeat(64), "_x", "9lives"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-rf", "--help", "a b", "x.y", "é", "../x", &"x".repeat(65), "a/b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn replica_names() {
        assert_eq!(split_replica("web.2"), Some(("web", 2)));
        assert_eq!(split_replica("my-web.1000"), Some(("my-web", 1000)));
        assert_eq!(split_replica(&replica_name("w", 7)), Some(("w", 7)));
        for bad in ["web", "web.0", "web.01", "web.+1", "web.1001", "web.", ".1", "a.b.1", "-x.1", "web.1x"] {
            assert_eq!(split_replica(bad), None, "{bad}");
        }
        assert!(is_service_name("web.3") && is_service_name("web") && !is_service_name("web.x"));
    }

    #[test]
    fn groups_expand_to_their_replicas_in_order() {
        let known = ["db", "web.10", "web.2", "web.1", "webby.1"];
        let asked = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            expand_groups(&names, known.iter().copied())
        };
        assert_eq!(asked(&["web"]), ["web.1", "web.2", "web.10"]);
        assert_eq!(asked(&["db", "web.2", "web"]), ["db", "web.2", "web.1", "web.10"]);
        assert_eq!(asked(&["nope"]), ["nope"]);
        assert!(asked(&[]).is_empty());
    }
}
