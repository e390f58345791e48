//! The server's top-level modules (`auth`, `storage`, `config`, `sync`, ...)
//! form layers: a module may use the ones below it, never one that (through
//! others) uses it back. This test reads every file of `server/src` with
//! `syn`, collects which top-level module each one names (`use crate::…`,
//! paths such as `crate::storage::database_path(…)`, `super::…` that leave the
//! module, and `crate::…` inside macro calls) and fails on any cycle, naming
//! the files and lines of each edge in it. `make lint` runs it.
//!
//! Submodules count as their top-level module (`blobs/db.rs` is `blobs`), so
//! a parent and its own children may use each other; comments and doc
//! comments are not code and do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Where one module names another: file (relative to the source root) and line.
type Sites = BTreeSet<(String, usize)>;

/// The module graph: for each top-level module, the others it names, and where.
#[derive(Debug, Default)]
struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeMap<String, Sites>>,
}

/// The top-level modules declared in `lib.rs` (`mod x;`, `pub mod x;`, with
/// any attributes such as `#[cfg(feature = "testing")]`).
fn top_level_modules(lib: &syn::File) -> BTreeSet<String> {
    lib.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// The module path of a file below the source root: `auth/jwt.rs` is
/// `["auth", "jwt"]`, `edge/mod.rs` is `["edge"]`, `lib.rs` is `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Walks one file, keeping the module path of the scope it is in (inline
/// `mod tests { … }` blocks included) so `super::` resolves.
struct Collector<'a> {
    file: String,
    scope: Vec<String>,
    modules: &'a BTreeSet<String>,
    /// (named top-level module, line)
    found: Vec<(String, usize)>,
}

impl Collector<'_> {
    /// Records the top-level module an absolute path starts with, if any.
    fn absolute(&mut self, path: &[String], line: usize) {
        if let Some(first) = path.first()
            && self.modules.contains(first)
        {
            self.found.push((first.clone(), line));
        }
    }

    /// Resolves a path's leading `crate`/`super`/`self` against the scope;
    /// `None` for paths that start elsewhere (an external crate, a local name).
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut base = match segments.first().map(String::as_str) {
            Some("crate") => return Some(segments[1..].to_vec()),
            Some("super") | Some("self") => self.scope.clone(),
            _ => return None,
        };
        let mut rest = segments;
        while let Some(first) = rest.first() {
            match first.as_str() {
                "super" => {
                    base.pop()?;
                }
                "self" => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn path(&mut self, segments: Vec<String>, line: usize) {
        if let Some(abs) = self.resolve(&segments) {
            self.absolute(&abs, line);
        }
    }

    /// Every path of a `use` tree: `use crate::{a::X, b::{self, Y}}`.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                full.push(n.ident.to_string());
                self.path(full, n.ident.span().start().line);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.path(full, r.ident.span().start().line);
            }
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                self.path(prefix.clone(), line);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// `crate :: name` inside a macro call's tokens (`assert!(crate::x::f())`).
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, t) in trees.iter().enumerate() {
            match t {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) if id == "crate" => {
                    let colons = matches!(
                        (trees.get(i + 1), trees.get(i + 2)),
                        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                            if a.as_char() == ':' && b.as_char() == ':'
                    );
                    if let (true, Some(TokenTree::Ident(name))) = (colons, trees.get(i + 3)) {
                        self.absolute(&[name.to_string()], id.span().start().line);
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        self.path(segments, line);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.scope.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.scope.pop();
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Reads the crate rooted at `src/lib.rs` and builds its module graph.
fn graph_of(src: &Path) -> Graph {
    let parse = |p: &Path| -> syn::File {
        let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
        syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", p.display()))
    };
    let modules = top_level_modules(&parse(&src.join("lib.rs")));
    let mut graph = Graph {
        modules: modules.clone(),
        ..Graph::default()
    };
    let mut files = Vec::new();
    rust_files(src, &mut files);
    for file in files {
        let rel = file.strip_prefix(src).expect("below the source root");
        let scope = module_path(rel);
        // lib.rs and main.rs are the crate root and the binary: above every layer.
        let Some(top) = scope.first().cloned() else {
            continue;
        };
        if !modules.contains(&top) {
            continue;
        }
        let mut c = Collector {
            file: rel.display().to_string(),
            scope,
            modules: &modules,
            found: Vec::new(),
        };
        c.visit_file(&parse(&file));
        for (to, line) in c.found {
            if to != top {
                graph
                    .edges
                    .entry(top.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert((c.file.clone(), line));
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan),
/// each sorted; every cycle lies inside one of them.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            let graph = self.graph;
            for w in graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for m in &graph.modules {
        if !t.index.contains_key(m.as_str()) {
            t.visit(m);
        }
    }
    t.out.sort();
    t.out
}

/// A readable account of each cycle: the edges inside it and where they are.
fn describe(graph: &Graph, cycles: &[Vec<String>]) -> String {
    let mut out = String::new();
    for c in cycles {
        out.push_str(&format!("import cycle between {}:\n", c.join(", ")));
        for from in c {
            for (to, sites) in graph.edges.get(from).into_iter().flatten() {
                if c.contains(to) {
                    let at: Vec<String> = sites
                        .iter()
                        .take(5)
                        .map(|(f, l)| format!("{f}:{l}"))
                        .collect();
                    out.push_str(&format!("  {from} -> {to}  ({})\n", at.join(", ")));
                }
            }
        }
    }
    out
}

#[test]
fn the_server_modules_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    // The walk saw the server's layers (a wrong root would find nothing).
    for m in [
        "domain", "config", "storage", "auth", "sync", "edge", "state",
    ] {
        assert!(graph.modules.contains(m), "module {m} not found in lib.rs");
    }
    assert!(
        graph
            .edges
            .get("storage")
            .is_some_and(|e| e.contains_key("domain")),
        "storage uses domain; the walk missed it"
    );
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "a module uses one that uses it back; move the shared part down into the lower \
         module (see docs/architecture.md, \"Layers\"):\n{}",
        describe(&graph, &found)
    );
}

/// Writes a small crate into a temporary directory.
fn crate_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
    dir
}

#[test]
fn a_cycle_through_a_grouped_use_is_found_with_its_lines() {
    let dir = crate_with(&[
        ("lib.rs", "pub mod a;\npub mod b;\n#[cfg(test)]\nmod c;\n"),
        ("a.rs", "use crate::{c::Z, b::X};\npub struct Y;\n"),
        ("b/mod.rs", "mod inner;\npub use inner::X;\n"),
        (
            "b/inner.rs",
            "pub struct X;\n\nfn f() -> crate::a::Y { todo!() }\n",
        ),
        ("c.rs", "pub struct Z;\n"),
    ]);
    let graph = graph_of(dir.path());
    let found = cycles(&graph);
    assert_eq!(found, vec![vec!["a".to_owned(), "b".to_owned()]]);
    let text = describe(&graph, &found);
    assert!(text.contains("a -> b  (a.rs:1)"), "{text}");
    assert!(text.contains("b -> a  (b/inner.rs:3)"), "{text}");
}

#[test]
fn super_leaving_the_module_and_crate_paths_in_macros_count() {
    let dir = crate_with(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        // `super::b` from the top of `a` is `crate::b`.
        ("a.rs", "fn f() { super::b::g(); }\n"),
        // An inline test module's `super::super` is the crate root.
        (
            "b.rs",
            "pub fn g() {}\n#[cfg(test)]\nmod tests {\n    use super::super::c::H;\n}\n",
        ),
        // Inside a macro call.
        (
            "c/mod.rs",
            "pub struct H;\nfn t() { assert!(crate::a::ok()); }\n",
        ),
    ]);
    let graph = graph_of(dir.path());
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}

#[test]
fn layers_comments_and_own_children_are_no_cycle() {
    let dir = crate_with(&[
        ("lib.rs", "mod low;\nmod high;\n"),
        // A doc comment that names the higher module is not an import.
        (
            "low/mod.rs",
            "//! Used by [`crate::high`].\nmod part;\npub use part::P;\npub struct Q;\n",
        ),
        // A child may use its parent.
        ("low/part.rs", "pub struct P(pub super::Q);\n"),
        ("high.rs", "use crate::low::{P, Q};\n// crate::low again\n"),
    ]);
    let graph = graph_of(dir.path());
    assert!(cycles(&graph).is_empty(), "{graph:?}");
    assert!(
        graph
            .edges
            .get("high")
            .is_some_and(|e| e.contains_key("low"))
    );
    assert!(!graph.edges.contains_key("low"), "{graph:?}");
}
