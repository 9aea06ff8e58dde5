//! The dependency graph as an SVG, laid out here from the graph's levels (no layout service,
//! nothing fetched): one column per start level, dependencies on the left, each service a box
//! the page colours by its state (`<g class="node" data-service="web">`), each dependency an
//! arrow to what is waited for, drawn as the condition says (dashed: only started; dotted:
//! completed).

use indexmap::IndexMap;

use crate::graph::Graph;
use crate::manifest::{Condition, Loaded};
use crate::model::names::group_of;

const NODE_HEIGHT: u32 = 28;
const ROW_GAP: u32 = 14;
const COLUMN_GAP: u32 = 64;
const MARGIN: u32 = 12;
/// About the width of a character of the page's 13px sans-serif.
const CHAR_WIDTH: u32 = 8;
const PADDING: u32 = 24;

/// One dependency: `from` waits for `to`.
#[derive(Debug)]
pub(crate) struct Edge<'a> {
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    pub(crate) condition: Condition,
}

/// The graph of a loaded manifest.
pub(crate) fn of_manifest(loaded: &Loaded) -> String {
    let edges: Vec<Edge> = loaded
        .spec
        .services
        .iter()
        .flat_map(|(from, service)| {
            service.depends_on.iter().map(move |(to, d)| Edge { from, to, condition: d.condition })
        })
        .collect();
    draw(loaded.graph.levels(), &edges)
}

/// The graph of the manifest with each group drawn as the replicas that run now, `rows` (an
/// `orch scale` since the manifest's `scale`): each service by the name the manifest writes it,
/// with what it waits for by those names, expanded again over the rows.
pub(crate) fn of_project(loaded: &Loaded, rows: &[String]) -> String {
    if rows.is_empty() {
        return of_manifest(loaded);
    }
    let mut waits: IndexMap<&str, IndexMap<&str, Condition>> = IndexMap::new();
    for (name, service) in &loaded.spec.services {
        let deps = waits.entry(loaded.spec.written_name(name)).or_default();
        for (dep, dependency) in &service.depends_on {
            deps.insert(loaded.spec.written_name(dep), dependency.condition);
        }
    }
    // A group is the replicas that run (none, scaled to 0); a service scaled since the manifest
    // was written has replicas among the rows only.
    let instances = |name: &str| -> Vec<String> {
        let replicas: Vec<String> = rows.iter().filter(|r| group_of(r) == Some(name)).cloned().collect();
        if replicas.is_empty() && !loaded.spec.groups.contains_key(name) { vec![name.to_owned()] } else { replicas }
    };
    let mut nodes: Vec<(String, Vec<(String, Condition)>)> = Vec::new();
    for (name, deps) in &waits {
        let targets: Vec<(String, Condition)> =
            deps.iter().flat_map(|(dep, condition)| instances(dep).into_iter().map(|d| (d, *condition))).collect();
        nodes.extend(instances(name).into_iter().map(|instance| (instance, targets.clone())));
    }
    let graph = Graph::new(nodes.iter().map(|(name, deps)| (name.as_str(), deps.iter().map(|(d, _)| d.as_str()))));
    let Ok(graph) = graph else { return of_manifest(loaded) };
    let edges: Vec<Edge> = nodes
        .iter()
        .flat_map(|(from, deps)| deps.iter().map(move |(to, condition)| Edge { from, to, condition: *condition }))
        .collect();
    draw(graph.levels(), &edges)
}

/// Where a box is.
#[derive(Clone, Copy)]
struct Place {
    x: u32,
    y: u32,
    width: u32,
}

pub(crate) fn draw(levels: &[Vec<String>], edges: &[Edge]) -> String {
    let mut places = std::collections::HashMap::new();
    let mut x = MARGIN;
    let mut height = MARGIN;
    for level in levels {
        let width = level.iter().map(|n| text_width(n)).max().unwrap_or(0) + PADDING;
        for (row, name) in (0u32..).zip(level) {
            let y = MARGIN + row * (NODE_HEIGHT + ROW_GAP);
            places.insert(name.as_str(), Place { x, y, width });
            height = height.max(y + NODE_HEIGHT + MARGIN);
        }
        x += width + COLUMN_GAP;
    }
    let width = x.saturating_sub(COLUMN_GAP) + MARGIN;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"dependency graph\">\n"
    );
    svg.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"arrowhead\"/>\
         </marker></defs>\n",
    );
    for edge in edges {
        let (Some(from), Some(to)) = (places.get(edge.from), places.get(edge.to)) else { continue };
        svg.push_str(&arrow(edge, *from, *to));
    }
    for level in levels {
        for name in level {
            svg.push_str(&node(name, places[name.as_str()]));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn text_width(name: &str) -> u32 {
    u32::try_from(name.chars().count()).unwrap_or(u32::MAX / CHAR_WIDTH).saturating_mul(CHAR_WIDTH)
}

fn node(name: &str, at: Place) -> String {
    let name = escape(name);
    let (text_x, text_y) = (at.x + at.width / 2, at.y + NODE_HEIGHT / 2);
    format!(
        "<g class=\"node\" data-service=\"{name}\"><title>{name}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" \
         height=\"{NODE_HEIGHT}\" rx=\"6\"/><text x=\"{text_x}\" y=\"{text_y}\" text-anchor=\"middle\" \
         dominant-baseline=\"central\">{name}</text></g>\n",
        at.x, at.y, at.width
    )
}

/// From the left side of the waiting service to the right side of what it waits for.
fn arrow(edge: &Edge, from: Place, to: Place) -> String {
    let (x1, y1) = (from.x, from.y + NODE_HEIGHT / 2);
    let (x2, y2) = (to.x + to.width, to.y + NODE_HEIGHT / 2);
    let bend = COLUMN_GAP / 2;
    let condition = match edge.condition {
        Condition::Started => "started",
        Condition::Ready => "ready",
        Condition::Completed => "completed",
    };
    format!(
        "<path class=\"edge {condition}\" data-from=\"{}\" data-to=\"{}\" d=\"M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}\" \
         marker-end=\"url(#arrow)\"/>\n",
        escape(edge.from),
        escape(edge.to),
        x1.saturating_sub(bend),
        x2 + bend
    )
}

/// Text and attribute values as XML, whatever they hold.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(names: &[&[&str]]) -> Vec<Vec<String>> {
        names.iter().map(|level| level.iter().map(|n| (*n).to_owned()).collect()).collect()
    }

    #[test]
    fn a_project_is_drawn_in_columns_by_level() {
        let edges = [
            Edge { from: "web", to: "db", condition: Condition::Ready },
            Edge { from: "web", to: "migrate", condition: Condition::Completed },
            Edge { from: "worker", to: "db", condition: Condition::Started },
        ];
        insta::assert_snapshot!(draw(&levels(&[&["db", "migrate"], &["web", "worker"]]), &edges));
    }

    #[test]
    fn names_are_escaped() {
        let svg = draw(&levels(&[&["<script>&\"'"]]), &[]);
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&#39;"), "{svg}");
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn no_services_is_an_empty_picture() {
        let svg = draw(&[], &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"), "{svg}");
    }
}
