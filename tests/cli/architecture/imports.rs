//! Point "the import graph of `src/` has no cycle between top-level modules", checked by reading
//! the source as a reviewer would: every `crate::NAME` a file of module A mentions (in a `use`
//! or a path) is an edge A → NAME. Comments and the items under `#[cfg(test)]` do not count:
//! a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the modules it uses, each with one file that shows the edge.
type Edges = BTreeMap<String, BTreeMap<String, PathBuf>>;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/cli/up.rs` and `src/cli.rs` are `cli`; the
/// crate root (`lib.rs`, `main.rs`) belongs to none.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The code of a file without its comments and its test items: an item under `#[cfg(test)]`
/// (a `mod tests;` line, or a block up to its closing brace) is left out.
fn code_without_tests(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().map(|l| l.split("//").next().unwrap_or_default());
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            kept.push(line);
            continue;
        }
        let mut depth = 0i64;
        for item in lines.by_ref() {
            depth += item.matches('{').count() as i64 - item.matches('}').count() as i64;
            let opened = item.contains('{');
            if depth <= 0 && (opened || item.trim_end().ends_with(';') || item.trim_end().ends_with('}')) {
                break;
            }
        }
    }
    kept.join("\n")
}

/// Each `crate::NAME` in the code, and each NAME of a grouped `use crate::{A, B::c}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            used.extend(group_items(group).iter().filter_map(|item| leading_ident(item.trim())));
        } else if let Some(name) = leading_ident(rest) {
            used.insert(name);
        }
    }
    used
}

/// The items of a `{…}` group up to its closing brace, split at its own commas only
/// (`a::{b, c}, d` is two items).
fn group_items(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

fn leading_ident(text: &str) -> Option<String> {
    let name: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && name != "self").then_some(name)
}

fn import_graph() -> Edges {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = Edges::new();
    for file in files {
        let Some(from) = top_module(&src, &file) else { continue };
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for to in crate_paths(&code_without_tests(&text)) {
            if to != from {
                edges.entry(from.clone()).or_default().entry(to).or_insert_with(|| file.clone());
            }
        }
    }
    edges
}

/// A cycle through `start`, as the modules along it, if there is one.
fn cycle_from(edges: &Edges, start: &str) -> Option<Vec<String>> {
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    fn walk(edges: &Edges, start: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        let here = path.last().cloned().unwrap_or_default();
        for next in edges.get(&here).into_iter().flat_map(BTreeMap::keys) {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(edges, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(edges, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn the_top_level_modules_of_src_import_each_other_without_a_cycle() {
    let edges = import_graph();
    assert!(edges.contains_key("cli") && edges.contains_key("supervisor"), "the graph was not read: {edges:?}");
    let mut cycles: BTreeMap<BTreeSet<String>, String> = BTreeMap::new();
    for module in edges.keys() {
        if let Some(cycle) = cycle_from(&edges, module) {
            let shown: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} (in {})", w[0], w[1], edges[&w[0]][&w[1]].display()))
                .collect();
            cycles.entry(cycle.into_iter().collect()).or_insert_with(|| shown.join("\n  "));
        }
    }
    let shown: Vec<&String> = cycles.values().collect();
    assert!(
        shown.is_empty(),
        "import cycles between top-level modules:\n  {}",
        shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n  ")
    );
}

#[test]
fn the_reader_sees_plain_and_grouped_paths_but_not_comments_or_tests() {
    let code = code_without_tests(
        "use crate::ipc::Reply;\n#[cfg(test)]\nmod tests;\nuse crate::{model::{Pid, Phase}, paths};\n// crate::cli\n\
         #[cfg(test)]\nmod more {\n    use crate::mcp;\n    fn f() {\n    }\n}\nlet x = crate::state::load();\n\
         #[cfg(test)]\nuse crate::client;\nuse crate::sys;",
    );
    let expected: BTreeSet<String> = ["ipc", "model", "paths", "state", "sys"].map(String::from).into();
    assert_eq!(crate_paths(&code), expected);
}
