//! `streams` and `connect` are applications of the public API (docs/design.md, "Who
//! may use what"): every `crate::` path in their sources names something `src/lib.rs`
//! re-exports with `pub use` (or a public module of the crate, or the other app
//! module's public items), no `super::` path climbs to the crate root to reach around
//! that, and they call no method of a crate-root type that the crate keeps `pub(crate)`
//! (or `pub` only under the unsupported `internals` feature).
//!
//! The allow-list is read from `src/lib.rs` each run, so moving a module inside the
//! crate changes nothing here as long as the crate root re-exports the same names.
//! What it cannot see: a `pub(crate)` field read or written (field names such as
//! `key` and `topic` are also public fields elsewhere), and a `pub(crate)` method whose
//! name some public item shares. The compiler's privacy rules keep the rest out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex_lite::Regex;

/// The app-layer modules the rule applies to.
const APPS: [&str; 2] = ["streams", "connect"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `text` with `//` comments (doc comments included) blanked out, line numbers kept.
/// Naive about `//` inside string literals, which only hides code from the rule.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The byte index just past the `}` matching the `{` at `open`.
fn matching_brace(s: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// Splits `s` at commas outside braces.
fn top_level_items(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|i| !i.trim().is_empty()).collect()
}

/// The leading identifier of `s` (after white space) and what follows it.
fn ident(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// The first segments a path or use tree starting at `s` names, each with the rest of
/// its path (after `::`, empty when none): `{Broker, connect::Worker}` gives
/// `[("Broker", ""), ("connect", "Worker")]`; a glob gives `("*", "")`.
fn first_segments(s: &str) -> Vec<(String, String)> {
    let t = s.trim_start();
    if t.starts_with('{') {
        let end = matching_brace(t, 0);
        return top_level_items(&t[1..end - 1])
            .into_iter()
            .flat_map(first_segments)
            .collect();
    }
    if t.starts_with('*') {
        return vec![("*".to_string(), String::new())];
    }
    let Some((name, rest)) = ident(t) else {
        return vec![(t.chars().take(20).collect(), String::new())];
    };
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix("::") {
        // The rest of one path: up to where the path or use tree ends.
        Some(r) if r.trim_start().starts_with('{') => {
            let r = r.trim_start();
            r[..matching_brace(r, 0)].to_string()
        }
        Some(r) => r
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '*'))
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    };
    vec![(name.to_string(), rest)]
}

/// The names a `use` tree brings in (`a::{B, c::D as E}` gives `B`, `E`).
fn leaf_names(tree: &str, out: &mut BTreeSet<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let end = matching_brace(tree, open);
        for item in top_level_items(&tree[open + 1..end - 1]) {
            leaf_names(item, out);
        }
        return;
    }
    let leaf = match tree.split_once(" as ") {
        Some((_, alias)) => alias.trim(),
        None => tree.rsplit("::").next().unwrap().trim(),
    };
    assert_ne!(
        leaf, "*",
        "a glob `pub use` in src/lib.rs: list the names instead"
    );
    out.insert(leaf.to_string());
}

/// The lines above item line `i` that belong to it: attributes and doc comments.
fn attributes(lines: &[&str], i: usize) -> String {
    lines[..i]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#[") || l.starts_with("///") || l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `crate::<name>` may name: each name `src/lib.rs` re-exports with `pub use`,
/// and each module it declares `pub mod` with no `#[cfg]` on it (`format` and
/// `storage` are public only under the unsupported `internals` feature).
fn root_allow_list(lib_rs: &str) -> BTreeSet<String> {
    let code = strip_comments(lib_rs);
    let mut names = BTreeSet::new();
    let use_re = Regex::new(r"(?m)^\s*pub use ([^;]+);").unwrap();
    for c in use_re.captures_iter(&code) {
        leaf_names(&c[1], &mut names);
    }
    let lines: Vec<&str> = code.lines().collect();
    let mod_re = Regex::new(r"^\s*pub mod (\w+);").unwrap();
    for (i, l) in lines.iter().enumerate() {
        if let Some(c) = mod_re.captures(l)
            && !attributes(&lines, i).contains("#[cfg")
        {
            names.insert(c[1].to_string());
        }
    }
    names
}

/// What another module may name inside app module `app`: its `pub use` names and its
/// `pub mod`s (from `src/<app>/mod.rs`).
fn app_exports(app: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(src().join(app).join("mod.rs")).unwrap();
    let mut names = root_allow_list(&text);
    names.remove("*");
    names
}

/// Methods the rest of the crate keeps from the app layer. The app layer holds only
/// values of crate-root types, so these are the methods of those types (in an
/// `impl <root name>` block anywhere outside `streams` and `connect`) declared
/// `pub(crate)` / `pub(super)` / `pub(in ...)`, or `pub` only under
/// `#[cfg(feature = "internals")]`, that share their name with no public method of a
/// crate-root type or with a method of the standard library listed in
/// [`STD_METHOD_NAMES`]. (A crate-private free function needs a crate-private path,
/// which the path rule catches.)
fn restricted_methods(files: &[(PathBuf, String)], root: &BTreeSet<String>) -> BTreeSet<String> {
    let impl_re = Regex::new(r"^impl(?:<[^{]*?>)?\s+(?:[\w:<>, ]+\s+for\s+)?(\w+)").unwrap();
    let restricted_re = Regex::new(
        r"^\s*pub\s*\((?:crate|super|self|in [^)]*)\)\s+(?:(?:const|async|unsafe)\s+)*fn\s+([A-Za-z_]\w*)",
    )
    .unwrap();
    let public_re =
        Regex::new(r"^\s*pub\s+(?:(?:const|async|unsafe)\s+)*fn\s+([A-Za-z_]\w*)").unwrap();
    let (mut restricted, mut public) = (BTreeSet::new(), BTreeSet::new());
    for (path, text) in files {
        if is_app(path) {
            continue;
        }
        let code = strip_comments(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut in_root_impl = false;
        for (i, line) in code.lines().enumerate() {
            if let Some(c) = impl_re.captures(line) {
                in_root_impl = root.contains(&c[1]);
            } else if line.starts_with('}') {
                in_root_impl = false;
            }
            if !in_root_impl {
                continue;
            }
            if let Some(c) = restricted_re.captures(line) {
                restricted.insert(c[1].to_string());
            } else if let Some(c) = public_re.captures(line) {
                if attributes(&lines, i).contains(r#"#[cfg(feature = "internals")]"#) {
                    restricted.insert(c[1].to_string());
                } else {
                    public.insert(c[1].to_string());
                }
            }
        }
    }
    &(&restricted - &public) - &STD_METHOD_NAMES.iter().map(|n| n.to_string()).collect()
}

/// Names of crate-private methods of crate-root types that are also methods of the
/// standard library the app layer calls all the time (`str::parse`, `String::as_str`):
/// a text rule cannot tell them apart, so they are left to review. Add a name here
/// only for such a clash.
const STD_METHOD_NAMES: [&str; 2] = ["as_str", "parse"];

fn app_of(path: &Path) -> Option<&'static str> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    APPS.into_iter().find(|a| *a == first)
}

fn is_app(path: &Path) -> bool {
    app_of(path).is_some()
}

/// The module path of a source file: `src/connect/mirror/syncs.rs` is
/// `connect::mirror::syncs`, `src/connect/mirror/mod.rs` is `connect::mirror`.
fn module_depth(path: &Path) -> usize {
    let rel = path.strip_prefix(src()).unwrap();
    let n = rel.components().count();
    if rel.file_name().is_some_and(|f| f == "mod.rs") {
        n - 1
    } else {
        n
    }
}

struct Rules {
    root: BTreeSet<String>,
    exports: Vec<(&'static str, BTreeSet<String>)>,
    restricted: BTreeSet<String>,
}

impl Rules {
    fn load() -> Rules {
        let mut files = Vec::new();
        rust_files(&src(), &mut files);
        let files: Vec<(PathBuf, String)> = files
            .into_iter()
            .map(|p| {
                let t = std::fs::read_to_string(&p).unwrap();
                (p, t)
            })
            .collect();
        let lib_rs = std::fs::read_to_string(src().join("lib.rs")).unwrap();
        let root = root_allow_list(&lib_rs);
        Rules {
            exports: APPS.iter().map(|a| (*a, app_exports(a))).collect(),
            restricted: restricted_methods(&files, &root),
            root,
        }
    }

    /// Why the path after `crate::` (or after `super::`s that reach the crate root)
    /// breaks the rule, for code of app module `app`.
    fn check_root_path(&self, app: &str, after: &str, out: &mut Vec<String>) {
        for (first, rest) in first_segments(after) {
            if let Some((other, exports)) = self.exports.iter().find(|(a, _)| *a == first) {
                if *other == app || rest.is_empty() {
                    continue;
                }
                for (second, _) in first_segments(&rest) {
                    if !exports.contains(&second) {
                        out.push(format!(
                            "`crate::{other}::{second}` is not a public item of `{other}`"
                        ));
                    }
                }
            } else if !self.root.contains(&first) {
                out.push(format!(
                    "`crate::{first}` is not re-exported at the crate root (src/lib.rs `pub use`): name a crate-root item, or make the public API offer what is needed"
                ));
            }
        }
    }

    /// Every breach of the rule in `code` (a file of app module `app`, `depth` modules
    /// below the crate root), as `line: what`.
    fn violations(&self, app: &str, depth: usize, text: &str) -> Vec<String> {
        let code = strip_comments(text);
        let mut out = Vec::new();
        let path_re = Regex::new(r"(?:^|[^\w$:])((?:super\s*::\s*)+|crate\s*::)").unwrap();
        let call_re = Regex::new(r"(?:\.|::)\s*([A-Za-z_]\w*)\s*(?:\(|::\s*<)").unwrap();
        for (n, line) in code.lines().enumerate() {
            let at = code.lines().take(n).map(|l| l.len() + 1).sum::<usize>();
            let mut found = Vec::new();
            for c in path_re.captures_iter(line) {
                let m = c.get(1).unwrap();
                let after = &code[at + m.end()..];
                let head = m.as_str();
                if head.starts_with("crate") {
                    self.check_root_path(app, after, &mut found);
                } else if head.matches("super").count() >= depth {
                    // Climbs to the crate root: the same rule as `crate::`.
                    self.check_root_path(app, after, &mut found);
                }
            }
            for c in call_re.captures_iter(line) {
                if self.restricted.contains(&c[1]) {
                    found.push(format!(
                        "calls `{}`, a method the crate keeps `pub(crate)` (or behind the `internals` feature)",
                        &c[1]
                    ));
                }
            }
            out.extend(found.into_iter().map(|f| format!("{}: {f}", n + 1)));
        }
        out
    }
}

#[test]
fn streams_and_connect_use_only_the_public_api() {
    let rules = Rules::load();
    // The allow-list must be the real one, not empty because parsing broke.
    for name in [
        "Broker", "Consumer", "Producer", "Error", "Result", "streams",
    ] {
        assert!(
            rules.root.contains(name),
            "`{name}` missing from {:?}",
            rules.root
        );
    }
    for internal in ["format", "storage", "broker", "group", "config", "error"] {
        assert!(!rules.root.contains(internal), "`{internal}` is allowed");
    }
    for private in ["create_topic_unchecked", "check_open", "partition_log"] {
        assert!(
            rules.restricted.contains(private),
            "`{private}` missing from {:?}",
            rules.restricted
        );
    }
    let mut files = Vec::new();
    for app in APPS {
        rust_files(&src().join(app), &mut files);
    }
    assert!(files.len() > 10, "found only {files:?}");
    let mut breaches = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let app = app_of(path).unwrap();
        for v in rules.violations(app, module_depth(path), &text) {
            let shown = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(path);
            breaches.push(format!("{}:{v}", shown.display()));
        }
    }
    assert!(
        breaches.is_empty(),
        "streams and connect may use only the public API (docs/design.md, \"Who may use what\"):\n{}",
        breaches.join("\n")
    );
}

/// The rule catches what it is there to catch, and lets through what is allowed.
#[test]
fn the_rule_catches_internals() {
    let rules = Rules::load();
    let bad = |app, depth, code: &str| !rules.violations(app, depth, code).is_empty();
    for code in [
        "use crate::storage::LogConfig;",
        "use crate::{Broker, storage::LogConfig};",
        "use crate::{\n    Broker,\n    format::Header,\n};",
        "let h = crate::format::Header::new(\"k\", \"v\");",
        "use crate::broker::meta::validate_name;",
        "use crate::config::TopicConfig;",
        "use crate::error::{Error, Result};",
        "broker.create_topic_unchecked(name, config)?;",
        "let log = broker.partition_log(\"t\", 0)?;",
        "broker.check_open()?;",
        "use super::super::storage::LogConfig;",
        "use crate::connect::internal::Reader;",
    ] {
        assert!(bad("streams", 2, code), "not caught: {code}");
    }
    assert!(bad("connect", 1, "use super::format::Header;"));
    for code in [
        "use crate::{Broker, Error, Result, TopicConfig};",
        "use crate::Broker;\nuse super::topology::Topology;",
        "/// See [`x`](crate::storage::LogConfig).",
        "use crate::connect::{ConnectorConfig, Worker};",
        "let p = brooklet::Broker::validate_topic_name(\"a\")?;",
        "broker.create_internal_topic(\"__x\", TopicConfig::new(1))?;",
    ] {
        assert!(!bad("streams", 2, code), "refused: {code}");
    }
    assert!(!bad("connect", 3, "use crate::connect::internal::Reader;"));
}
