//! Point 3: every front end stands on the one client library. The MCP server imports nothing
//! of the command line's, and the client library prints nothing (it returns data).

use std::path::{Path, PathBuf};

fn sources(folder: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                files.push((path, text));
            }
        }
    }
    assert!(!files.is_empty(), "no sources in {}", root.display());
    files
}

/// The lines of these sources (comments aside) that match `pattern`, as `file:line: text`.
fn lines_with(folder: &str, pattern: &str) -> Vec<String> {
    let pattern = regex::Regex::new(pattern).expect("a pattern");
    let mut found = Vec::new();
    for (path, text) in sources(folder) {
        for (n, line) in text.lines().enumerate() {
            if pattern.is_match(line) && !line.trim_start().starts_with("//") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_mcp_server_imports_nothing_of_the_command_line() {
    let found = lines_with("mcp", r"\bcli\b");
    assert!(found.is_empty(), "src/mcp/ uses the CLI; use crate::client instead:\n{}", found.join("\n"));
}

#[test]
fn the_client_library_prints_nothing_and_knows_no_front_end() {
    let printing = lines_with("client", r"\be?print(ln)?!|\bstd(out|err)\(\)");
    assert!(printing.is_empty(), "src/client/ prints; return data instead:\n{}", printing.join("\n"));
    let front_ends = lines_with("client", r"\bcrate::(cli|mcp)\b");
    assert!(front_ends.is_empty(), "src/client/ uses a front end:\n{}", front_ends.join("\n"));
}
