//! The dependency graph of a project's services (petgraph): cycle detection, the start order
//! in levels (each level's services depend only on earlier levels, so they can start together),
//! the stop order, and the closure of a set of services over dependencies or dependents.

use std::collections::HashSet;

use indexmap::IndexMap;
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef, Reversed};

/// What makes a set of services not a DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphError {
    UnknownDependency {
        service: String,
        dependency: String,
    },
    SelfDependency {
        service: String,
    },
    /// The services on a cycle, each depending on the next, the first repeated at the end.
    Cycle {
        path: Vec<String>,
    },
}

/// Services and their "depends on" edges (service → dependency), in manifest order.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    dag: DiGraph<String, ()>,
    nodes: IndexMap<String, NodeIndex>,
    levels: Vec<Vec<String>>,
}

impl Graph {
    /// Builds the graph from `(service, its dependencies)` pairs, reporting every problem.
    pub(crate) fn new<'a, I, D>(services: I) -> Result<Self, Vec<GraphError>>
    where
        I: IntoIterator<Item = (&'a str, D)>,
        D: IntoIterator<Item = &'a str>,
    {
        let services: Vec<(&str, Vec<&str>)> =
            services.into_iter().map(|(s, d)| (s, d.into_iter().collect())).collect();
        let mut dag = DiGraph::new();
        let mut nodes = IndexMap::new();
        for (name, _) in &services {
            nodes.insert((*name).to_owned(), dag.add_node((*name).to_owned()));
        }
        let mut errors = Vec::new();
        for (name, deps) in &services {
            for dep in deps {
                if dep == name {
                    errors.push(GraphError::SelfDependency { service: (*name).to_owned() });
                } else if let Some(&to) = nodes.get(*dep) {
                    dag.update_edge(nodes[*name], to, ());
                } else {
                    errors.push(GraphError::UnknownDependency {
                        service: (*name).to_owned(),
                        dependency: (*dep).to_owned(),
                    });
                }
            }
        }
        errors.extend(cycles(&dag, &nodes));
        if !errors.is_empty() {
            return Err(errors);
        }
        let levels = levels(&dag, &nodes);
        Ok(Self { dag, nodes, levels })
    }

    /// The start order by levels: level 0 depends on nothing; each later level only on
    /// earlier ones. Within a level, manifest order.
    pub(crate) fn levels(&self) -> &[Vec<String>] {
        &self.levels
    }

    /// Every service, dependencies before their dependents.
    pub(crate) fn start_order(&self) -> Vec<String> {
        self.start_order_iter().cloned().collect()
    }

    /// The same, without copying the names.
    pub(crate) fn start_order_iter(&self) -> impl Iterator<Item = &String> {
        self.levels.iter().flatten()
    }

    /// Every service, dependents before their dependencies.
    pub(crate) fn stop_order(&self) -> Vec<String> {
        let mut order = self.start_order();
        order.reverse();
        order
    }

    /// The named services and everything they depend on, transitively, in start order.
    pub(crate) fn with_dependencies<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let set = self.closure(names, &self.dag);
        self.start_order().into_iter().filter(|n| set.contains(n)).collect()
    }

    /// The named services and everything that depends on them, transitively, in stop order.
    pub(crate) fn with_dependents<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let set = self.closure(names, Reversed(&self.dag));
        self.stop_order().into_iter().filter(|n| set.contains(n)).collect()
    }

    /// The direct dependencies of a service.
    pub(crate) fn dependencies(&self, name: &str) -> Vec<String> {
        self.neighbours(name, Direction::Outgoing)
    }

    /// The services that depend directly on a service.
    pub(crate) fn dependents(&self, name: &str) -> Vec<String> {
        self.neighbours(name, Direction::Incoming)
    }

    fn neighbours(&self, name: &str, direction: Direction) -> Vec<String> {
        let Some(&node) = self.nodes.get(name) else {
            return Vec::new();
        };
        let mut found: Vec<NodeIndex> = self.dag.neighbors_directed(node, direction).collect();
        found.sort();
        found.into_iter().map(|n| self.dag[n].clone()).collect()
    }

    fn closure<'a, G>(&self, names: impl IntoIterator<Item = &'a str>, graph: G) -> HashSet<String>
    where
        G: petgraph::visit::IntoNeighbors<NodeId = NodeIndex> + petgraph::visit::Visitable,
        G::Map: petgraph::visit::VisitMap<NodeIndex>,
    {
        let mut set = HashSet::new();
        for name in names {
            let Some(&start) = self.nodes.get(name) else {
                continue;
            };
            let mut dfs = Dfs::new(graph, start);
            while let Some(node) = dfs.next(graph) {
                set.insert(self.dag[node].clone());
            }
        }
        set
    }
}

/// One cycle for every strongly connected component of more than one service, starting at
/// the service that comes first in the manifest.
fn cycles(dag: &DiGraph<String, ()>, nodes: &IndexMap<String, NodeIndex>) -> Vec<GraphError> {
    let mut found = Vec::new();
    for scc in tarjan_scc(dag) {
        if scc.len() < 2 {
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let Some(&start) = nodes.values().find(|n| members.contains(n)) else {
            continue;
        };
        let mut path = cycle_through(dag, start, &members);
        path.push(start);
        found.push(GraphError::Cycle { path: path.into_iter().map(|n| dag[n].clone()).collect() });
    }
    found
}

/// A path start → … → (an edge back to start) inside one strongly connected component,
/// through every member when such a cycle exists (so the message names them all), else the
/// first cycle found. Components are a handful of services; the search is bounded anyway.
fn cycle_through(dag: &DiGraph<String, ()>, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    const MAX_STEPS: usize = 100_000;
    let mut path = vec![start];
    let mut first_found: Option<Vec<NodeIndex>> = None;
    let mut stacks = vec![sorted_targets(dag, start, members)];
    for _ in 0..MAX_STEPS {
        let Some(stack) = stacks.last_mut() else {
            break;
        };
        let Some(next) = stack.pop() else {
            stacks.pop();
            path.pop();
            continue;
        };
        if next == start {
            if path.len() == members.len() {
                return path;
            }
            first_found.get_or_insert_with(|| path.clone());
        } else if !path.contains(&next) {
            path.push(next);
            stacks.push(sorted_targets(dag, next, members));
        }
    }
    first_found.unwrap_or_else(|| shortest_cycle(dag, start, members))
}

/// The shortest way from `start` back to itself (breadth-first), which a strongly connected
/// component always has: the answer when the search for a cycle through every member gives up.
fn shortest_cycle(dag: &DiGraph<String, ()>, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut came_from = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in sorted_targets(dag, node, members).into_iter().rev() {
            if next == start {
                let mut path = vec![node];
                while let Some(&prev) = came_from.get(path.last().unwrap_or(&start)) {
                    path.push(prev);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(next) {
                e.insert(node);
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

/// The targets of a node's edges within the component, the first in manifest order on top.
fn sorted_targets(dag: &DiGraph<String, ()>, node: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut targets: Vec<NodeIndex> = dag.edges(node).map(|e| e.target()).filter(|t| members.contains(t)).collect();
    targets.sort_by(|a, b| b.cmp(a));
    targets
}

/// Level of each service: 0 without dependencies, else one more than its deepest dependency.
fn levels(dag: &DiGraph<String, ()>, nodes: &IndexMap<String, NodeIndex>) -> Vec<Vec<String>> {
    let Ok(order) = petgraph::algo::toposort(dag, None) else { return Vec::new() };
    let mut level = vec![0usize; dag.node_count()];
    // toposort puts a service before its dependencies (edges point at dependencies).
    for &node in order.iter().rev() {
        level[node.index()] =
            dag.neighbors_directed(node, Direction::Outgoing).map(|dep| level[dep.index()] + 1).max().unwrap_or(0);
    }
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let mut levels = vec![Vec::new(); depth];
    for (name, node) in nodes {
        levels[level[node.index()]].push(name.clone());
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&'static str, &[&'static str])]) -> Result<Graph, Vec<GraphError>> {
        Graph::new(edges.iter().map(|(s, d)| (*s, d.iter().copied())))
    }

    #[test]
    fn levels_group_independent_services() {
        let g = graph(&[("web", &["db", "cache"]), ("db", &[]), ("cache", &[]), ("worker", &["web"])]).unwrap();
        assert_eq!(g.levels(), [vec!["db", "cache"], vec!["web"], vec!["worker"]]);
        assert_eq!(g.stop_order(), ["worker", "web", "cache", "db"]);
    }

    #[test]
    fn closures_over_dependencies_and_dependents() {
        let g = graph(&[("db", &[]), ("migrate", &["db"]), ("web", &["migrate"]), ("docs", &[])]).unwrap();
        assert_eq!(g.with_dependencies(["web"]), ["db", "migrate", "web"]);
        assert_eq!(g.with_dependents(["db"]), ["web", "migrate", "db"]);
        assert_eq!(g.with_dependents(["docs"]), ["docs"]);
        assert_eq!(g.dependencies("web"), ["migrate"]);
        assert_eq!(g.dependents("db"), ["migrate"]);
    }

    #[test]
    fn a_cycle_names_every_service_on_it_in_order() {
        let errors = graph(&[("db", &["worker"]), ("web", &["db"]), ("worker", &["web"]), ("x", &[])]).unwrap_err();
        assert_eq!(errors, [GraphError::Cycle { path: vec!["db".into(), "worker".into(), "web".into(), "db".into()] }]);
    }

    #[test]
    fn a_cycle_prefers_the_path_through_every_member() {
        // db → worker → db is a cycle too, but db → worker → web → db names all three.
        let errors = graph(&[("db", &["worker"]), ("web", &["db"]), ("worker", &["db", "web"])]).unwrap_err();
        assert_eq!(errors, [GraphError::Cycle { path: vec!["db".into(), "worker".into(), "web".into(), "db".into()] }]);
    }

    #[test]
    fn unknown_and_self_dependencies_are_errors() {
        let errors = graph(&[("web", &["web", "db"])]).unwrap_err();
        assert_eq!(
            errors,
            [
                GraphError::SelfDependency { service: "web".into() },
                GraphError::UnknownDependency { service: "web".into(), dependency: "db".into() },
            ]
        );
    }
}
