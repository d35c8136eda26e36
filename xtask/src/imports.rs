//! "No import loop spans more than one file" (issue 9), checked mechanically.
//!
//! Every `.rs` file under a crate's `src/` is a node; every path a file names that resolves to
//! another file's module is an arrow: `use` trees (`crate::…`, `super::…`, `self::…`, a child
//! module's name), paths in code and types (`crate::table::violations(r)`), and the same inside
//! macro calls (`format!("{}", crate::x::y())`). A path resolves to the longest prefix that is a
//! file module (`crate::qemu::run::Machine` → `qemu/run.rs`), so a re-export in `mod.rs` counts
//! as an arrow to `mod.rs`. `mod x;` declarations are not arrows, nor is anything under
//! `#[cfg(test)]` (a module's tests may reach anywhere). Loops are the strongly connected
//! components (Tarjan) with more than one file.
//!
//! `cargo xtask imports [SRC_DIR] [--under SUBDIR]` lists them (default: `xtask/src`) and
//! exits 1 if there is one; unit tests assert there is none in `xtask/src`, nor any touching
//! `stress/`, `run/` or `mm/` in `kernel/src` (`cargo xtask imports kernel/src --under stress
//! --under run --under mm`), so `cargo test` (and with it `cargo xtask test`) keeps both so.

use crate::cli::ImportsArgs;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

type ModPath = Vec<String>;

/// File modules of a crate: module path → file (relative to `src`).
fn module_files(src: &Path) -> Result<BTreeMap<ModPath, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let mut m: ModPath = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            let last = m.last().cloned().unwrap_or_default();
            if last == "mod" || (m.len() == 1 && (last == "main" || last == "lib")) {
                m.pop();
            }
            out.insert(m, rel.to_path_buf());
        }
    }
    Ok(out)
}

/// Paths named by one file, each as written (segments), with the module they were written in.
struct Collect {
    /// Module of the file plus any inline `mod x { … }` around the current item.
    here: ModPath,
    found: Vec<(ModPath, Vec<String>)>,
}

impl Collect {
    fn push(&mut self, segs: Vec<String>) {
        if !segs.is_empty() {
            self.found.push((self.here.clone(), segs));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => self.push(prefix.clone()),
            syn::UseTree::Name(n) => {
                let mut s = prefix.clone();
                s.push(n.ident.to_string());
                self.push(s);
            }
            syn::UseTree::Rename(r) => {
                let mut s = prefix.clone();
                s.push(r.ident.to_string());
                self.push(s);
            }
            syn::UseTree::Glob(_) => self.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

/// Whether a `cfg` predicate can hold only when `test` is set (`test`, `all(test, …)`,
/// `any(…)` of such), so the item is test code.
fn needs_test(m: &syn::Meta) -> bool {
    let args = |l: &syn::MetaList| {
        l.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        )
        .map(|p| p.into_iter().collect::<Vec<_>>())
        .unwrap_or_default()
    };
    match m {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::List(l) if l.path.is_ident("all") => args(l).iter().any(needs_test),
        syn::Meta::List(l) if l.path.is_ident("any") => {
            let a = args(l);
            !a.is_empty() && a.iter().all(needs_test)
        }
        _ => false,
    }
}

/// `#[cfg(test)]` (or a predicate that needs `test`) on an item: a module's tests may reach
/// anywhere; they are not part of the module map.
fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| needs_test(&m))
    })
}

/// The attributes of an item, for the kinds that carry code or imports.
fn item_attrs(i: &syn::Item) -> &[syn::Attribute] {
    match i {
        syn::Item::Const(x) => &x.attrs,
        syn::Item::Enum(x) => &x.attrs,
        syn::Item::Fn(x) => &x.attrs,
        syn::Item::Impl(x) => &x.attrs,
        syn::Item::Macro(x) => &x.attrs,
        syn::Item::Mod(x) => &x.attrs,
        syn::Item::Static(x) => &x.attrs,
        syn::Item::Struct(x) => &x.attrs,
        syn::Item::Trait(x) => &x.attrs,
        syn::Item::Type(x) => &x.attrs,
        syn::Item::Union(x) => &x.attrs,
        syn::Item::Use(x) => &x.attrs,
        _ => &[],
    }
}

impl<'ast> Visit<'ast> for Collect {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        if !is_cfg_test(item_attrs(i)) {
            syn::visit::visit_item(self, i);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.here.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.here.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        if u.leading_colon.is_none() {
            self.use_tree(&mut prefix, &u.tree);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            self.push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Macro arguments are not parsed as Rust: scan their tokens for `a :: b :: c` runs.
        let text = m.tokens.to_string();
        let toks: Vec<&str> = text.split_whitespace().collect();
        let mut i = 0;
        while i < toks.len() {
            let mut segs = vec![toks[i].to_string()];
            let mut j = i;
            while j + 2 < toks.len()
                && toks[j + 1] == "::"
                && toks[j + 2].chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                segs.push(toks[j + 2].to_string());
                j += 2;
            }
            if segs.len() > 1 && segs[0].chars().all(|c| c.is_alphanumeric() || c == '_') {
                self.push(segs);
            }
            i = j + 1;
        }
        syn::visit::visit_macro(self, m);
    }
}

/// The file a path written in module `here` refers to, if it is one of `files`.
fn resolve(files: &BTreeMap<ModPath, PathBuf>, here: &ModPath, segs: &[String]) -> Option<PathBuf> {
    let mut abs: ModPath = match segs[0].as_str() {
        "crate" => segs[1..].to_vec(),
        "self" => here.iter().chain(&segs[1..]).cloned().collect(),
        "super" => {
            let mut m = here.clone();
            let mut rest = segs;
            while rest.first().is_some_and(|s| s == "super") {
                m.pop();
                rest = &rest[1..];
            }
            m.extend(rest.iter().cloned());
            m
        }
        first => {
            // A child module named without `self::` (2018 paths); anything else is an
            // external crate or a local item.
            let mut child = here.clone();
            child.push(first.to_string());
            if !files.contains_key(&child) {
                return None;
            }
            here.iter().chain(segs).cloned().collect()
        }
    };
    while !abs.is_empty() {
        if let Some(f) = files.get(&abs) {
            return Some(f.clone());
        }
        abs.pop();
    }
    files.get(&abs).cloned()
}

/// File → files it imports from (self-arrows dropped).
pub type Graph = BTreeMap<PathBuf, BTreeSet<PathBuf>>;

/// The import graph of the crate whose sources are under `src`.
pub fn graph(src: &Path) -> Result<Graph> {
    let files = module_files(src)?;
    let mut g = BTreeMap::new();
    for (m, rel) in &files {
        let path = src.join(rel);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let ast = match syn::parse_file(&text) {
            Ok(a) => a,
            Err(e) => bail!("{}: does not parse: {e}", path.display()),
        };
        let mut c = Collect {
            here: m.clone(),
            found: Vec::new(),
        };
        c.visit_file(&ast);
        let out: BTreeSet<PathBuf> = c
            .found
            .iter()
            .filter_map(|(here, segs)| resolve(&files, here, segs))
            .filter(|t| t != rel)
            .collect();
        g.insert(rel.clone(), out);
    }
    Ok(g)
}

/// Strongly connected components with more than one file (Tarjan).
pub fn loops(g: &Graph) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    fn strong<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                strong(t, w);
                let l = t.low[w].min(t.low[v]);
                t.low.insert(v, l);
            } else if t.on.contains(w) {
                let l = t.index[w].min(t.low[v]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            strong(&mut t, v);
        }
    }
    t.out
}

/// The arrows inside one loop, one per line.
pub fn describe(g: &Graph, comp: &[PathBuf]) -> String {
    let mut s = String::new();
    for a in comp {
        for b in &g[a] {
            if comp.contains(b) {
                s.push_str(&format!("\n    {} -> {}", a.display(), b.display()));
            }
        }
    }
    s
}

/// `cargo xtask imports`.
pub fn command(a: &ImportsArgs) -> Result<i32> {
    let root = crate::util::workspace_root();
    let src = match &a.src {
        Some(p) if p.is_relative() => root.join(p),
        Some(p) => p.clone(),
        None => root.join("xtask/src"),
    };
    let g = graph(&src)?;
    let found: Vec<Vec<PathBuf>> = loops(&g)
        .into_iter()
        .filter(|c| {
            a.under.is_empty() || c.iter().any(|f| a.under.iter().any(|u| f.starts_with(u)))
        })
        .collect();
    let arrows: usize = g.values().map(BTreeSet::len).sum();
    println!(
        "{}: {} files, {arrows} import arrows between files",
        src.display(),
        g.len()
    );
    for comp in &found {
        println!("import loop of {} files:{}", comp.len(), describe(&g, comp));
    }
    if found.is_empty() {
        println!("no import loop spans more than one file");
        Ok(0)
    } else {
        println!("{} import loops", found.len());
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_src(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join(name)
            .join("src")
    }

    #[test]
    fn xtask_has_no_import_loop_across_files() {
        let g = graph(&crate_src("xtask")).unwrap();
        assert!(g.len() > 10, "found only {} files", g.len());
        let found = loops(&g);
        let text: Vec<String> = found.iter().map(|c| describe(&g, c)).collect();
        assert!(found.is_empty(), "import loops:{}", text.join("\n  --"));
    }

    /// Issue 9's rule for the kernel: no loop across files touching `stress/`, `run/` or
    /// `mm/` (the rest of the kernel is listed by `cargo xtask imports kernel/src`).
    #[test]
    fn kernel_stress_run_mm_have_no_import_loop_across_files() {
        let g = graph(&crate_src("kernel")).unwrap();
        assert!(g.len() > 50, "found only {} files", g.len());
        let found: Vec<_> = loops(&g)
            .into_iter()
            .filter(|c| {
                c.iter()
                    .any(|f| ["stress", "run", "mm"].iter().any(|d| f.starts_with(d)))
            })
            .collect();
        let text: Vec<String> = found.iter().map(|c| describe(&g, c)).collect();
        assert!(found.is_empty(), "import loops:{}", text.join("\n  --"));
    }

    #[test]
    fn boot_has_no_import_loop_across_files() {
        let g = graph(&crate_src("boot")).unwrap();
        let found = loops(&g);
        let text: Vec<String> = found.iter().map(|c| describe(&g, c)).collect();
        assert!(found.is_empty(), "import loops:{}", text.join("\n  --"));
    }

    /// The graph of a throw-away crate made of `files` (path, text).
    fn graph_of(tag: &str, files: &[(&str, &str)]) -> Graph {
        let dir = std::env::temp_dir().join(format!("gupbed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, text) in files {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let g = graph(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        g
    }

    #[test]
    fn test_code_is_not_an_arrow() {
        let test_only = "#[cfg(all(test, not(loom)))] mod tests { use crate::a::A; }\n\
                         #[cfg(test)] fn t() { crate::a::A; }\n";
        let lib = ("lib.rs", "mod a; mod b;\n");
        let a = ("a.rs", "use crate::b::B;\npub struct A;\n");
        let g = graph_of("cfgtest", &[lib, a, ("b.rs", test_only)]);
        assert!(g[&PathBuf::from("b.rs")].is_empty(), "{g:?}");
        assert!(loops(&g).is_empty());
        // `cfg(not(test))` is real code: b -> a stays, so a <-> b is a loop.
        let real = format!("{test_only}#[cfg(not(test))] fn u() {{ crate::a::A; }}\n");
        let g = graph_of("cfgnottest", &[lib, a, ("b.rs", &real)]);
        assert!(
            g[&PathBuf::from("b.rs")].contains(&PathBuf::from("a.rs")),
            "{g:?}"
        );
        assert_eq!(loops(&g).len(), 1);
    }

    #[test]
    fn the_checker_sees_loops() {
        let g = graph_of(
            "loops",
            &[
                ("main.rs", "mod a; mod b; mod c;\nuse b::X;\n"),
                (
                    "a/mod.rs",
                    "pub mod inner;\npub fn f() { println!(\"{}\", crate::c::G); }\n",
                ),
                (
                    "a/inner.rs",
                    "use super::super::b::X;\n#[cfg(test)] mod tests { use super::*; }\n",
                ),
                (
                    "b.rs",
                    "pub struct X;\npub fn g() -> crate::a::inner::Y { loop {} }\n",
                ),
                ("c.rs", "pub const G: u8 = 1;\n"),
            ],
        );
        let found = loops(&g);
        // main -> b, a/mod.rs -> c (inside a macro), a/inner.rs -> b (super::super), b -> a/inner.rs.
        assert_eq!(
            found,
            vec![vec![PathBuf::from("a/inner.rs"), PathBuf::from("b.rs")]],
            "{g:?}"
        );
        assert!(g[&PathBuf::from("a/mod.rs")].contains(&PathBuf::from("c.rs")));
        assert!(g[&PathBuf::from("main.rs")].contains(&PathBuf::from("b.rs")));
    }
}
