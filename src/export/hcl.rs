//! A small HCL writer for `orch export nomad`: a tree of blocks and attributes, written the way
//! `nomad fmt` writes it (two spaces, `=` aligned in a run of attributes, a blank line around
//! each block of several lines), so the job file reads like one written by hand and its golden
//! snapshot stays stable.
//!
//! Every string from the manifest goes through [`quote`]: HCL reads `${…}` and `%{…}` in a
//! quoted string as a template, so a literal one must be written `$${…}` and `%%{…}`.

use std::fmt::Write as _;

/// The right-hand side of `key = …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// A literal string, quoted so that HCL interpolates nothing in it.
    Str(String),
    /// A quoted string whose `${…}` HCL (and Nomad) are meant to interpolate; the rest of it
    /// is escaped already (see [`template`]).
    Template(String),
    Int(u64),
    Bool(bool),
    List(Vec<Expr>),
    /// `{ "key" = value, … }`, for keys that are no HCL identifier (`env = { "a.b" = … }`).
    Object(Vec<(String, Expr)>),
}

impl From<&str> for Expr {
    fn from(text: &str) -> Self {
        Expr::Str(text.to_owned())
    }
}

impl From<String> for Expr {
    fn from(text: String) -> Self {
        Expr::Str(text)
    }
}

impl From<u64> for Expr {
    fn from(n: u64) -> Self {
        Expr::Int(n)
    }
}

impl From<u32> for Expr {
    fn from(n: u32) -> Self {
        Expr::Int(u64::from(n))
    }
}

impl From<usize> for Expr {
    fn from(n: usize) -> Self {
        Expr::Int(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Bool(b)
    }
}

impl From<Vec<String>> for Expr {
    fn from(words: Vec<String>) -> Self {
        Expr::List(words.into_iter().map(Expr::Str).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Attr(String, Expr),
    Block { kind: String, labels: Vec<String>, body: Body },
    Comment(String),
}

/// The inside of a block, or of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Body {
    items: Vec<Item>,
}

impl Body {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn attr(&mut self, key: &str, value: impl Into<Expr>) -> &mut Self {
        self.items.push(Item::Attr(key.to_owned(), value.into()));
        self
    }

    /// `kind "label" … { body }`.
    pub(crate) fn block(&mut self, kind: &str, labels: &[&str], body: Body) -> &mut Self {
        let labels = labels.iter().map(|l| (*l).to_owned()).collect();
        self.items.push(Item::Block { kind: kind.to_owned(), labels, body });
        self
    }

    /// `# text`, one line each, before what comes next.
    pub(crate) fn comment(&mut self, text: &str) -> &mut Self {
        for line in text.lines() {
            self.items.push(Item::Comment(line.to_owned()));
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The file: the items at the top level.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        for (index, item) in self.items.iter().enumerate() {
            if index > 0 && needs_gap(&self.items[index - 1], item) {
                out.push('\n');
            }
            match item {
                Item::Attr(key, value) => {
                    let width = self.run_width(index);
                    let _ = writeln!(out, "{indent}{:width$} = {}", key_text(key), value.text(depth));
                }
                Item::Comment(line) if line.is_empty() => {
                    let _ = writeln!(out, "{indent}#");
                }
                Item::Comment(line) => {
                    let _ = writeln!(out, "{indent}# {line}");
                }
                Item::Block { kind, labels, body } => {
                    let head: String = labels.iter().map(|l| format!(" {}", quote(l))).collect();
                    if body.is_empty() {
                        let _ = writeln!(out, "{indent}{kind}{head} {{}}");
                    } else {
                        let _ = writeln!(out, "{indent}{kind}{head} {{");
                        body.write(out, depth + 1);
                        let _ = writeln!(out, "{indent}}}");
                    }
                }
            }
        }
    }

    /// The width of the widest key in the run of attributes `index` is in, so their `=` line up.
    fn run_width(&self, index: usize) -> usize {
        let is_attr = |item: &Item| matches!(item, Item::Attr(..));
        let start = self.items[..index].iter().rposition(|i| !is_attr(i)).map_or(0, |p| p + 1);
        let end = self.items[index..].iter().position(|i| !is_attr(i)).map_or(self.items.len(), |p| index + p);
        self.items[start..end]
            .iter()
            .map(|item| match item {
                Item::Attr(key, _) => key_text(key).chars().count(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// Whether a blank line goes between two items: around a block of several lines, and before a
/// comment (which belongs to what follows it).
fn needs_gap(before: &Item, item: &Item) -> bool {
    let long_block = |i: &Item| matches!(i, Item::Block { body, .. } if !body.is_empty());
    let comment = |i: &Item| matches!(i, Item::Comment(_));
    long_block(before) || (!comment(before) && (long_block(item) || comment(item)))
}

impl Expr {
    fn text(&self, depth: usize) -> String {
        match self {
            Expr::Str(text) => quote(text),
            Expr::Template(body) => format!("\"{body}\""),
            Expr::Int(n) => n.to_string(),
            Expr::Bool(b) => b.to_string(),
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(|i| i.text(depth)).collect();
                format!("[{}]", items.join(", "))
            }
            Expr::Object(entries) => {
                let inner = "  ".repeat(depth + 1);
                let width = entries.iter().map(|(k, _)| quote(k).chars().count()).max().unwrap_or(0);
                let mut text = String::from("{\n");
                for (key, value) in entries {
                    let _ = writeln!(text, "{inner}{:width$} = {}", quote(key), value.text(depth + 1));
                }
                text.push_str(&"  ".repeat(depth));
                text.push('}');
                text
            }
        }
    }
}

/// A key as an attribute name: bare when HCL reads it as an identifier.
fn key_text(key: &str) -> String {
    if is_identifier(key) { key.to_owned() } else { quote(key) }
}

/// Whether HCL reads `name` as an identifier (an attribute name in a block): a letter, then
/// letters, digits, `_` and `-`. Only these can be attribute names in a block; any other key
/// must go in an object (`env = { "a.b" = "…" }`).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `text` as an HCL quoted string that stands for exactly `text`.
pub(crate) fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// The inside of a quoted string: `\` and `"` escaped, control characters as escapes, and
/// `${` and `%{` doubled (`$${`, `%%{`) so that neither starts a template.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A quoted string of `literal` then an interpolation of `variable` (`worker.${NOMAD_ALLOC_INDEX}`).
pub(crate) fn template(literal: &str, variable: &str) -> Expr {
    Expr::Template(format!("{}${{{variable}}}", escape(literal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_hcl_reads() {
        assert_eq!(quote("plain"), r#""plain""#);
        assert_eq!(quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quote(r"C:\dir\"), r#""C:\\dir\\""#);
        assert_eq!(quote("one\ntwo\tthree\r"), r#""one\ntwo\tthree\r""#);
        assert_eq!(quote("\u{7}"), r#""\u0007""#);
    }

    #[test]
    fn templates_are_doubled_so_nothing_interpolates() {
        assert_eq!(quote("${HOME}"), r#""$${HOME}""#);
        assert_eq!(quote("%{ if x }"), r#""%%{ if x }""#);
        // A `$` or `%` alone is no template.
        assert_eq!(quote("$HOME 100% $ {x}"), r#""$HOME 100% $ {x}""#);
        // `$${` already: each `${` is doubled once more, so it still reads back as written.
        assert_eq!(quote("$${x}"), r#""$$${x}""#);
        assert_eq!(quote("echo \"${A}\" \\${B}"), r#""echo \"$${A}\" \\$${B}""#);
    }

    #[test]
    fn a_template_interpolates_only_its_variable() {
        assert_eq!(template("${x}.", "NOMAD_ALLOC_INDEX").text(0), r#""$${x}.${NOMAD_ALLOC_INDEX}""#);
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("PORT"));
        assert!(is_identifier("my-key_2"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier("_x"));
        assert!(!is_identifier("2x"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn blocks_align_and_breathe() {
        let mut port = Body::new();
        port.attr("static", 8080_u32);
        let mut network = Body::new();
        network.block("port", &["http"], port).block("port", &["dyn"], Body::new());
        let mut env = Body::new();
        env.attr("A", "1").attr("LONGER", "2");
        let mut group = Body::new();
        group.attr("count", 2_u32).block("network", &[], network).comment("the env").block("env", &[], env);
        let mut file = Body::new();
        file.block("group", &["web"], group);
        let expected = "group \"web\" {\n  count = 2\n\n  network {\n    port \"http\" {\n      static = 8080\n    }\n\n    port \"dyn\" {}\n  }\n\n  # the env\n  env {\n    A      = \"1\"\n    LONGER = \"2\"\n  }\n}\n";
        assert_eq!(file.render(), expected);
    }

    #[test]
    fn objects_quote_their_keys() {
        let object = Expr::Object(vec![("a.b".into(), "x".into()), ("C".into(), "y".into())]);
        assert_eq!(object.text(1), "{\n    \"a.b\" = \"x\"\n    \"C\"   = \"y\"\n  }");
    }
}
