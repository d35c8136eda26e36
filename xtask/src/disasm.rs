//! `cargo xtask disasm SYMBOL`: disassemble functions of the image, found by demangled name,
//! so the barriers (or their absence) in race-critical code can be checked.

use crate::cli::DisasmArgs;
use crate::image::{self, BuildOpts};
use crate::util;
use anyhow::{bail, Context, Result};
use object::{Object, ObjectSymbol, SymbolKind};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Most matches listed when a name is ambiguous.
const LIST_MAX: usize = 40;

/// Function symbols of an ELF: mangled name → demangled name (without the hash).
pub fn functions(data: &[u8]) -> Result<BTreeMap<String, String>> {
    let file = object::File::parse(data).context("parsing the ELF")?;
    let mut out = BTreeMap::new();
    for s in file.symbols() {
        if s.kind() != SymbolKind::Text || s.size() == 0 {
            continue;
        }
        let Ok(name) = s.name() else { continue };
        out.insert(
            name.to_string(),
            format!("{:#}", rustc_demangle::demangle(name)),
        );
    }
    Ok(out)
}

/// Symbols matching `query`: substring of the demangled or mangled name. An exact path match
/// (the whole demangled name, or its last `::` segments) wins over substring matches.
pub fn matches<'a>(syms: &'a BTreeMap<String, String>, query: &str) -> Vec<(&'a str, &'a str)> {
    let all: Vec<(&str, &str)> = syms
        .iter()
        .filter(|(m, d)| d.contains(query) || m.contains(query))
        .map(|(m, d)| (m.as_str(), d.as_str()))
        .collect();
    let exact: Vec<_> = all
        .iter()
        .copied()
        .filter(|(_, d)| *d == query || d.ends_with(&format!("::{query}")))
        .collect();
    if exact.is_empty() {
        all
    } else {
        exact
    }
}

pub fn objdump() -> Result<std::path::PathBuf> {
    if let Some(p) = util::which("llvm-objdump") {
        return Ok(p);
    }
    for v in (14..=22).rev() {
        if let Some(p) = util::which(&format!("llvm-objdump-{v}")) {
            return Ok(p);
        }
    }
    bail!("llvm-objdump not found (Debian: apt-get install llvm)")
}

pub fn command(a: &DisasmArgs) -> Result<i32> {
    let opts = BuildOpts {
        board: a.board,
        release: true,
        deny_warnings: false,
    };
    let elf = if a.no_build {
        image::elf_path(opts)
    } else {
        image::build(opts)?.elf
    };
    disasm(&elf, &a.symbol, a.all)
}

/// The instructions (mnemonic and operands, one per entry) of the one function matching
/// `query` in `elf`. Errors if none or several match.
pub fn instructions(elf: &Path, query: &str) -> Result<Vec<String>> {
    let data = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let syms = functions(&data)?;
    let found = matches(&syms, query);
    if found.len() != 1 {
        bail!(
            "{} functions match {query:?} (want exactly one)",
            found.len()
        );
    }
    let out = Command::new(objdump()?)
        .args(["-d", "--no-show-raw-insn"])
        .arg(format!("--disassemble-symbols={}", found[0].0))
        .arg(elf)
        .output()
        .context("running llvm-objdump")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (addr, rest) = l.split_once(':')?;
            if addr.trim().is_empty() || !addr.trim().chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let ins = rest.trim();
            (!ins.is_empty()).then(|| ins.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect())
}

/// Checks of the generated code the architecture asks for, on the image ELF:
/// - the fixed GUP-fast reader (`lockless_pages_from_mm`, the public API's variant) uses only
///   Linux-style fully ordered RMWs: every store-release-exclusive (`stlxr`) reaches a
///   `dmb ish` within 16 instructions (`ldxr; stlxr; dmb ish`, as arm64 Linux's LL/SC atomics);
/// - `free_pages_prepare` clears the tails' `compound_head` with plain stores (`str xzr`: the
///   Linux S_clr, no release) and carries the W2 fix as a `dmb ishst`.
pub fn barrier_checks(elf: &Path) -> std::result::Result<(), String> {
    let reader = instructions(elf, "kernel::gup::fast::lockless_pages_from_mm")
        .map_err(|e| format!("{e:#}"))?;
    let mut rmws = 0;
    for (i, ins) in reader.iter().enumerate() {
        if ins.starts_with("stlxr") {
            rmws += 1;
            let end = (i + 17).min(reader.len());
            if !reader[i + 1..end].iter().any(|x| x == "dmb ish") {
                return Err(format!(
                    "lockless_pages_from_mm: `{ins}` (instruction {i}) is not followed by `dmb ish` \
                     within 16 instructions: not a fully ordered RMW"
                ));
            }
        }
    }
    if rmws == 0 {
        return Err("lockless_pages_from_mm has no stlxr: the grab was not found".into());
    }
    let free = instructions(elf, "free_pages_prepare").map_err(|e| format!("{e:#}"))?;
    if !free.iter().any(|x| x.starts_with("str xzr")) {
        return Err("free_pages_prepare: no plain `str xzr` tail clear".into());
    }
    if !free.iter().any(|x| x == "dmb ishst") {
        return Err("free_pages_prepare: no `dmb ishst` (the W2 smp_wmb path)".into());
    }
    Ok(())
}

fn disasm(elf: &Path, query: &str, all: bool) -> Result<i32> {
    let data = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let syms = functions(&data)?;
    let found = matches(&syms, query);
    if found.is_empty() {
        eprintln!("error: no function in {} matches {query:?}", elf.display());
        eprintln!("(it may have been inlined: mark it #[inline(never)] to inspect it on its own)");
        return Ok(1);
    }
    if found.len() > 1 && !all {
        eprintln!(
            "error: {} functions match {query:?}; be more specific or pass --all:",
            found.len()
        );
        for (_, d) in found.iter().take(LIST_MAX) {
            eprintln!("  {d}");
        }
        if found.len() > LIST_MAX {
            eprintln!("  ... and {} more", found.len() - LIST_MAX);
        }
        return Ok(2);
    }
    let names: Vec<&str> = found.iter().map(|(m, _)| *m).collect();
    // llvm-objdump takes mangled names unless --demangle, and its demangler may not know Rust's
    // scheme: filter by mangled name, demangle the output here.
    let mut cmd = Command::new(objdump()?);
    cmd.args(["-d", "--no-show-raw-insn"])
        .arg(format!("--disassemble-symbols={}", names.join(",")))
        .arg(elf);
    util::echo(&cmd);
    let out = cmd.output().context("running llvm-objdump")?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        println!("{}", demangle_line(line));
    }
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    Ok(if out.status.success() { 0 } else { 1 })
}

/// Replace every mangled Rust symbol (`_ZN…E`, `_R…`) in a line by its demangled form.
pub fn demangle_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find("_ZN").or_else(|| rest.find("_R")) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
            .unwrap_or(tail.len());
        let sym = &tail[..end];
        match rustc_demangle::try_demangle(sym) {
            Ok(d) => out.push_str(&format!("{d:#}")),
            Err(_) => out.push_str(sym),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms() -> BTreeMap<String, String> {
        [
            (
                "_ZN6kernel3gup18gup_fast_pte_range17h0123456789abcdefE",
                "kernel::gup::gup_fast_pte_range",
            ),
            (
                "_ZN6kernel3gup22gup_fast_pte_range_dbg17h0123456789abcdefE",
                "kernel::gup::gup_fast_pte_range_dbg",
            ),
            (
                "_ZN6kernel2mm14try_grab_folio17h0123456789abcdefE",
                "kernel::mm::try_grab_folio",
            ),
        ]
        .into_iter()
        .map(|(m, d)| (m.to_string(), d.to_string()))
        .collect()
    }

    #[test]
    fn exact_names_win_over_substrings() {
        let s = syms();
        let m = matches(&s, "gup_fast_pte_range");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1, "kernel::gup::gup_fast_pte_range");
        assert_eq!(matches(&s, "gup_fast").len(), 2);
        assert_eq!(matches(&s, "mm::try_grab_folio").len(), 1);
        assert!(matches(&s, "nothing").is_empty());
    }

    #[test]
    fn demangles_objdump_lines() {
        assert_eq!(
            demangle_line("0000000040200000 <_ZN6kernel2mm14try_grab_folio17h0123456789abcdefE>:"),
            "0000000040200000 <kernel::mm::try_grab_folio>:"
        );
        assert_eq!(
            demangle_line("  bl 0x4020 <_ZN6kernel2mm14try_grab_folio17h0123456789abcdefE+0x10>"),
            "  bl 0x4020 <kernel::mm::try_grab_folio+0x10>"
        );
        assert_eq!(
            demangle_line("  ldr x0, [x1] // _Rx not a symbol"),
            "  ldr x0, [x1] // _Rx not a symbol"
        );
    }

    #[test]
    fn demangles_legacy_rust_names() {
        let d = format!(
            "{:#}",
            rustc_demangle::demangle("_ZN6kernel2mm14try_grab_folio17h0123456789abcdefE")
        );
        assert_eq!(d, "kernel::mm::try_grab_folio");
    }
}
