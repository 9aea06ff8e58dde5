//! `scale = N`: a service that runs as N processes, `NAME.1` … `NAME.N` (foreman's naming).
//! The loader makes each replica a service of its own, so everything past the manifest (the
//! plan, the supervisor, `ps`, the logs) sees ordinary services; what is particular to
//! replicas is here: how many each group has, and what the group's name stands for.

use indexmap::IndexMap;

use super::Context;
use super::problem::{Problem, SourceFile};
use super::service_table::ReadService;
use super::spec::Replica;
use crate::model::names::{MAX_SCALE, replica_name};

/// The scaled services and their number of replicas: `orch scale` or `up --scale` first, then
/// the manifest's `scale`. A service in neither is no group: it runs as one, under its name.
pub(super) fn groups(services: &[ReadService], file: &SourceFile, ctx: &mut Context) -> IndexMap<String, u32> {
    let mut groups = IndexMap::new();
    for read in services {
        let written = read.raw.as_ref().and_then(|raw| raw.scale.as_ref());
        if let Some(scale) = written.filter(|s| *s.get_ref() > MAX_SCALE) {
            ctx.problems.push(
                Problem::error(format!(
                    "service `{}`: scale = {} is more than {MAX_SCALE}",
                    read.name,
                    scale.get_ref()
                ))
                .at(file, scale.span(), "too many replicas")
                .help("each replica is a process, a log file and a port; run fewer"),
            );
        }
        let count = ctx.options.scale.get(&read.name).copied().or_else(|| written.map(|s| *s.get_ref()));
        if let Some(count) = count {
            groups.insert(read.name.clone(), count.min(MAX_SCALE));
        }
    }
    groups
}

/// The services a service of the manifest runs as: itself, or each of its replicas.
pub(super) fn instances(name: &str, groups: &IndexMap<String, u32>) -> Vec<(String, Option<Replica>)> {
    match groups.get(name) {
        None => vec![(name.to_owned(), None)],
        Some(&scale) => (1..=scale)
            .map(|index| {
                let replica = Replica { group: name.to_owned(), index, scale };
                (replica_name(name, index), Some(replica))
            })
            .collect(),
    }
}

/// What a dependency on `name` means: on the service, or on every replica of its group.
pub(super) fn dependency_targets(name: &str, groups: &IndexMap<String, u32>) -> Vec<String> {
    instances(name, groups).into_iter().map(|(name, _)| name).collect()
}

/// A fixed port for a replica: foreman's base + index, counting from the service's `port`.
pub(super) fn fixed_port(base: u16, replica: Option<&Replica>) -> Option<u16> {
    let offset = replica.map_or(0, |r| r.index - 1);
    u16::try_from(u32::from(base) + offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_of_a_group_and_of_a_plain_service() {
        let groups: IndexMap<String, u32> = [("web".to_owned(), 3), ("off".to_owned(), 0)].into_iter().collect();
        let names = |n: &str| dependency_targets(n, &groups);
        assert_eq!(names("web"), ["web.1", "web.2", "web.3"]);
        assert_eq!(names("db"), ["db"]);
        assert!(names("off").is_empty());
        let second = &instances("web", &groups)[1];
        assert_eq!(second.1, Some(Replica { group: "web".into(), index: 2, scale: 3 }));
    }

    #[test]
    fn fixed_ports_count_up_from_the_base() {
        let replica = |index| Replica { group: "web".into(), index, scale: 3 };
        assert_eq!(fixed_port(8000, None), Some(8000));
        assert_eq!(fixed_port(8000, Some(&replica(1))), Some(8000));
        assert_eq!(fixed_port(8000, Some(&replica(3))), Some(8002));
        assert_eq!(fixed_port(65535, Some(&replica(2))), None);
    }
}
