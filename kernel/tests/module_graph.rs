//! The kernel's module map, read as arrows: every `use crate::…` / `use super::…` / `self::`
//! import and every inline `crate::a::b::…` path is an arrow from the file that writes it to
//! the file of the module it names. Strongly connected components of that graph are import
//! loops; issue 9 asks that none spans more than one file in `stress/`, `run/` or `mm/`
//! (callers above callees, as in Linux's mm/).
//!
//! The parser is deliberately small: comments, strings and `#[cfg(test)] mod tests { … }`
//! blocks are dropped, use-trees are expanded, and a path resolves to the deepest module file
//! its leading segments name (an item re-exported by a `mod.rs` is an arrow to that `mod.rs`).
//! Test-only files (`*_tests.rs`) are left out: they are the tests of their parent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source text without comments, string/char literals and test modules.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    drop_test_modules(&out)
}

/// Remove `#[cfg(…test…)] mod NAME { … }` blocks (unit tests import what they test).
fn drop_test_modules(src: &str) -> String {
    let mut s = src.to_string();
    loop {
        let Some(at) = find_test_attr(&s) else {
            return s;
        };
        let rest = &s[at..];
        let close_attr = rest.find(']').unwrap() + 1;
        let after = rest[close_attr..].trim_start();
        if !(after.starts_with("mod ") || after.starts_with("pub mod ")) {
            // cfg(test) on something else: keep it, blank the attribute so we move on.
            s.replace_range(at..at + close_attr, &" ".repeat(close_attr));
            continue;
        }
        let Some(open) = rest.find(['{', ';']) else {
            return s;
        };
        if rest.as_bytes()[open] == b';' {
            s.replace_range(at..at + open + 1, "");
            continue;
        }
        let mut depth = 0usize;
        let mut end = open;
        for (k, ch) in rest[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(at..at + end, "");
    }
}

fn find_test_attr(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = s[from..].find("#[cfg(") {
        let at = from + k;
        let end = at + s[at..].find(']')?;
        let attr = &s[at..end];
        if attr.contains("test") && !attr.contains("not(test") {
            return Some(at);
        }
        from = end;
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Path, // ::
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

fn tokens(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            v.push(Tok::Ident(s[st..i].to_string()));
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            v.push(Tok::Other);
            continue;
        }
        match c {
            b':' if b.get(i + 1) == Some(&b':') => {
                v.push(Tok::Path);
                i += 2;
                continue;
            }
            b'{' => v.push(Tok::Open),
            b'}' => v.push(Tok::Close),
            b',' => v.push(Tok::Comma),
            b';' => v.push(Tok::Semi),
            b'*' => v.push(Tok::Star),
            c if c.is_ascii_whitespace() => {}
            _ => v.push(Tok::Other),
        }
        i += 1;
    }
    v
}

/// Expand a use-tree starting at `toks[*i]` with `prefix`, pushing full paths.
fn use_tree(toks: &[Tok], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(id)) => {
                *i += 1;
                if id == "as" {
                    // `as name`: the alias does not change what is imported.
                    *i += 1;
                    out.push(path);
                    return;
                }
                path.push(id.clone());
                if toks.get(*i) == Some(&Tok::Path) {
                    *i += 1;
                    continue;
                }
                if matches!(toks.get(*i), Some(Tok::Ident(a)) if a == "as") {
                    *i += 2;
                }
                if path.last().map(String::as_str) == Some("self") {
                    path.pop();
                }
                out.push(path);
                return;
            }
            Some(Tok::Star) => {
                *i += 1;
                out.push(path);
                return;
            }
            Some(Tok::Open) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Comma) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, path.clone(), out),
                    }
                }
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every path a file names, as segments (use-trees expanded; inline paths up to their last
/// segment that is followed by `::`).
fn paths(src: &str) -> Vec<Vec<String>> {
    let toks = tokens(&strip(src));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == Tok::Ident("use".into()) {
            i += 1;
            use_tree(&toks, &mut i, Vec::new(), &mut out);
            continue;
        }
        if let Tok::Ident(id) = &toks[i] {
            let preceded_by_path = i > 0 && toks[i - 1] == Tok::Path;
            if !preceded_by_path && toks.get(i + 1) == Some(&Tok::Path) {
                let mut p = vec![id.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Tok::Path) {
                    match toks.get(j + 1) {
                        Some(Tok::Ident(s)) => {
                            p.push(s.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                // The last segment is followed by something other than `::`: an item.
                if toks.get(j) != Some(&Tok::Path) && p.len() > 1 {
                    p.pop();
                }
                out.push(p);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// One module file: its module path (`["mm", "zone"]`) and where it lives.
struct ModFile {
    module: Vec<String>,
    file: PathBuf,
}

fn collect(dir: &Path, module: Vec<String>, out: &mut Vec<ModFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            let mut m = module.clone();
            m.push(name);
            collect(&p, m, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            if name.ends_with("_tests") {
                continue;
            }
            let m = if name == "mod" || (module.is_empty() && name == "lib") {
                module.clone()
            } else {
                let mut m = module.clone();
                m.push(name);
                m
            };
            out.push(ModFile { module: m, file: p });
        }
    }
}

/// The module graph of the crate rooted at `src` (lib.rs or main.rs): file → files it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    collect(src, Vec::new(), &mut files);
    let by_module: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| {
            let rel = f
                .file
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            (f.module.clone(), rel)
        })
        .collect();
    let mut g = BTreeMap::new();
    for f in &files {
        let rel = f
            .file
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&f.file).unwrap();
        // The module a relative path starts from: a `mod.rs`/`lib.rs` is its own module.
        let here = f.module.clone();
        let mut edges = BTreeSet::new();
        for p in paths(&text) {
            let (mut m, skip): (Vec<String>, usize) = match p.first().map(String::as_str) {
                Some("crate") => (Vec::new(), 1),
                Some("self") => (here.clone(), 1),
                Some("super") => {
                    let mut m = here.clone();
                    m.pop();
                    (m, 1)
                }
                // 2018 paths: `child::item` names a child module of this one.
                Some(first) => {
                    let mut child = here.clone();
                    child.push(first.to_string());
                    if !by_module.contains_key(&child) {
                        continue;
                    }
                    (here.clone(), 0)
                }
                None => continue,
            };
            let mut segs = p[skip..].iter().peekable();
            while segs.peek().is_some_and(|s| s.as_str() == "super") {
                m.pop();
                segs.next();
            }
            for s in segs {
                let mut next = m.clone();
                next.push(s.clone());
                if by_module.contains_key(&next) {
                    m = next;
                } else {
                    break;
                }
            }
            if let Some(target) = by_module.get(&m) {
                if *target != rel {
                    edges.insert(target.clone());
                }
            }
        }
        g.insert(rel, edges);
    }
    g
}

/// Tarjan's strongly connected components.
fn sccs(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct St<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(st: &mut St<'a>, v: &'a str) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on.insert(v);
        for w in &st.g[v] {
            let w = w.as_str();
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            comp.sort();
            st.out.push(comp);
        }
    }
    let mut st = St {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.out
}

/// Loops of more than one file that touch one of `dirs`.
fn loops_in(src: &Path, dirs: &[&str]) -> Vec<Vec<String>> {
    sccs(&graph(src))
        .into_iter()
        .filter(|c| c.len() > 1)
        .filter(|c| c.iter().any(|f| dirs.iter().any(|d| f.starts_with(d))))
        .collect()
}

fn kernel_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_loop_spans_more_than_one_file_in_stress_run_mm() {
    let loops = loops_in(&kernel_src(), &["stress/", "run/", "mm/"]);
    assert!(
        loops.is_empty(),
        "import loops across files (each line one strongly connected component):\n{}",
        loops
            .iter()
            .map(|c| c.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `cargo test -p kernel --test module_graph -- --ignored --nocapture print_`: the whole
/// crate's loops and arrows, for reading.
#[test]
#[ignore]
fn print_module_graph() {
    let g = graph(&kernel_src());
    for (f, e) in &g {
        println!(
            "{f} -> {}",
            e.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    for c in sccs(&g).into_iter().filter(|c| c.len() > 1) {
        println!("LOOP ({}): {}", c.len(), c.join(" <-> "));
    }
}

#[test]
fn the_parser_sees_use_trees_inline_paths_and_skips_tests_and_comments() {
    let src = r#"
        use super::a::{b, c::{D, self}, e as f};
        use crate::x::y::*;
        // use crate::commented::out;
        fn g() { crate::p::q::r(); let s = "crate::in::string"; super::t::U::new(); }
        #[cfg(all(test, not(loom)))]
        mod tests { use crate::only::tests; }
    "#;
    let p = paths(src);
    let has = |v: &[&str]| p.iter().any(|q| q == v);
    assert!(has(&["super", "a", "b"]));
    assert!(has(&["super", "a", "c", "D"]));
    assert!(has(&["super", "a", "c"]));
    assert!(has(&["super", "a", "e"]));
    assert!(has(&["crate", "x", "y"]));
    assert!(has(&["crate", "p", "q"]));
    assert!(has(&["super", "t", "U"]));
    assert!(!p.iter().any(|q| q
        .iter()
        .any(|s| s == "commented" || s == "only" || s == "in")));
}

#[test]
fn a_two_file_loop_is_found() {
    let dir = std::env::temp_dir().join(format!("gupbed-modgraph-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod m;").unwrap();
    std::fs::write(dir.join("m/mod.rs"), "pub mod a; pub mod b; pub mod c;").unwrap();
    std::fs::write(dir.join("m/a.rs"), "use super::b::B; pub struct A;").unwrap();
    std::fs::write(
        dir.join("m/b.rs"),
        "pub struct B; fn f() { crate::m::a::A; }",
    )
    .unwrap();
    std::fs::write(dir.join("m/c.rs"), "use super::a::A;").unwrap();
    let loops = loops_in(&dir, &["m/"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        loops,
        vec![vec!["m/a.rs".to_string(), "m/b.rs".to_string()]]
    );
}
