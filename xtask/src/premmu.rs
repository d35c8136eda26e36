//! Static check of the image: nothing the boot CPU runs before its MMU is on may use an
//! exclusive or atomic read-modify-write instruction.
//!
//! Why: exclusives (`ldxr`/`stxr`, so every spin lock, `fetch_add` and the heap) and LSE
//! atomics need Normal cacheable memory. With the MMU off every access is Device-nGnRnE, and
//! on real hardware (a Cortex-A72 Pi 4) they fault or never succeed; QEMU hides this. boot
//! keeps the MMU-off phase in one function (`start::early_boot`); this check walks its call
//! graph in the disassembly and fails on any such instruction it reaches.
//!
//! Direct calls (`bl`, tail-call `b`) are followed. Indirect calls (`blr`) cannot be, so the
//! functions they reach before the MMU is on are roots too: the early console's
//! `core::fmt::Write` impl, `core::fmt` and the formatting impls of core's own types (what
//! early lines format through `&dyn Display`), and the early table allocator
//! (`&dyn PgtableAlloc`). The walk stops at the panic handler
//! (`rust_begin_unwind`), which checks `SCTLR_EL1.M` itself before touching anything that
//! locks. The secondaries' MMU-off path is assembly (`entry.rs`) and has no exclusives.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

/// Demangled names (substring) of the MMU-off entry points.
const ROOTS: &[&str] = &["start::early_boot"];
/// Demangled names (substring) of functions reached through indirect calls before the MMU
/// is on (besides [`core_fmt`]).
const INDIRECT_ROOTS: &[&str] = &["console::Early", "BumpTableAlloc"];

/// `core::fmt`'s functions and the formatting impls of core types (`<u64 as
/// core::fmt::LowerHex>::fmt`, `<&T as core::fmt::Display>::fmt`), but not those of other
/// crates' types (`<alloc::string::String as core::fmt::Write>`: nothing allocates early).
fn core_fmt(d: &str) -> bool {
    if d.starts_with("core::fmt::") {
        return true;
    }
    let Some(rest) = d.strip_prefix('<') else {
        return false;
    };
    let Some((ty, tr)) = rest.split_once(" as ") else {
        return false;
    };
    tr.starts_with("core::fmt::")
        && ty
            .split("::")
            .next()
            .is_some_and(|first| !ty.contains("::") || first.trim_start_matches('&') == "core")
}
/// Where the walk stops (checked at run time instead, see the module docs).
const STOP: &[&str] = &["rust_begin_unwind"];

/// Mnemonic prefixes of exclusives and LSE atomics.
const FORBIDDEN: &[&str] = &[
    "ldxr", "ldaxr", "stxr", "stlxr", "ldxp", "ldaxp", "stxp", "stlxp", "cas", "ldadd", "ldclr",
    "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "swp", "stadd", "stclr", "steor",
    "stset", "stsmax", "stsmin", "stumax", "stumin",
];

/// One function of the disassembly.
#[derive(Debug, Default)]
pub struct Func {
    /// `mnemonic operands` per instruction.
    pub insns: Vec<String>,
}

/// Parse `llvm-objdump -d --no-show-raw-insn` output: symbol (as printed) → instructions.
pub fn parse_objdump(text: &str) -> BTreeMap<String, Func> {
    let mut out: BTreeMap<String, Func> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_suffix(">:") {
            // "0000000040200000 <name>:"
            if let Some((addr, name)) = rest.split_once(" <") {
                if addr.chars().all(|c| c.is_ascii_hexdigit()) {
                    cur = Some(name.to_string());
                    out.entry(name.to_string()).or_default();
                    continue;
                }
            }
        }
        let Some(name) = &cur else { continue };
        let Some((addr, ins)) = t.split_once(':') else {
            continue;
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let ins = ins.split_whitespace().collect::<Vec<_>>().join(" ");
        if !ins.is_empty() {
            out.get_mut(name).expect("entry").insns.push(ins);
        }
    }
    out
}

/// The function a `bl`/`b` instruction calls, if it names one (`bl 0x4020 <sym+0x10>`).
fn call_target(ins: &str) -> Option<&str> {
    let (m, ops) = ins.split_once(' ')?;
    if m != "bl" && m != "b" {
        return None;
    }
    let sym = ops.split_once('<')?.1.strip_suffix('>')?;
    Some(sym.split_once('+').map_or(sym, |(s, _)| s))
}

fn forbidden(ins: &str) -> bool {
    let m = ins.split(' ').next().unwrap_or("");
    FORBIDDEN.iter().any(|f| m.starts_with(f))
}

/// What the walk saw.
#[derive(Debug, PartialEq, Eq)]
pub struct Walk {
    /// Functions reached.
    pub functions: usize,
    /// Instructions in them.
    pub instructions: usize,
    /// Indirect branches among them (`blr`), covered by the indirect roots.
    pub indirect: usize,
}

/// Walk the call graph of `funcs` from the roots; `Err` names each forbidden instruction with
/// the call chain that reaches it. `demangle` maps a printed symbol to its demangled name.
pub fn walk(funcs: &BTreeMap<String, Func>, demangle: &dyn Fn(&str) -> String) -> Result<Walk> {
    let names: BTreeMap<&str, String> = funcs.keys().map(|k| (k.as_str(), demangle(k))).collect();
    let matching = |pats: &[&str]| -> Vec<&str> {
        names
            .iter()
            .filter(|(_, d)| pats.iter().any(|p| d.contains(p)))
            .map(|(k, _)| *k)
            .collect()
    };
    let fmt_roots: Vec<&str> = names
        .iter()
        .filter(|(_, d)| core_fmt(d))
        .map(|(k, _)| *k)
        .collect();
    let roots = matching(ROOTS);
    if roots.is_empty() {
        bail!("no MMU-off root ({}) in the image", ROOTS.join(", "));
    }
    let mut parent: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for r in roots
        .into_iter()
        .chain(matching(INDIRECT_ROOTS))
        .chain(fmt_roots)
    {
        if parent.insert(r, None).is_none() {
            queue.push_back(r);
        }
    }
    let stop: BTreeSet<&str> = matching(STOP).into_iter().collect();
    let mut w = Walk {
        functions: 0,
        instructions: 0,
        indirect: 0,
    };
    let mut bad = Vec::new();
    while let Some(f) = queue.pop_front() {
        let Some(func) = funcs.get(f) else { continue };
        w.functions += 1;
        w.instructions += func.insns.len();
        for ins in &func.insns {
            if ins.starts_with("blr ") {
                w.indirect += 1;
            }
            if forbidden(ins) {
                let mut chain = vec![names[f].clone()];
                let mut at = f;
                while let Some(Some(p)) = parent.get(at) {
                    chain.push(names[p].clone());
                    at = p;
                }
                chain.reverse();
                bad.push(format!("`{ins}` in {}", chain.join(" -> ")));
            }
            if let Some(t) = call_target(ins) {
                if t != f && funcs.contains_key(t) && !stop.contains(t) && !parent.contains_key(t) {
                    parent.insert(t, Some(f));
                    queue.push_back(t);
                }
            }
        }
    }
    if !bad.is_empty() {
        bail!(
            "exclusive or atomic instructions reachable with the MMU off (they fault on real \
             hardware):\n  {}",
            bad.join("\n  ")
        );
    }
    Ok(w)
}

/// Run the check on `elf`.
pub fn check(elf: &Path) -> std::result::Result<String, String> {
    let run = || -> Result<Walk> {
        let out = Command::new(crate::disasm::objdump()?)
            .args(["-d", "--no-show-raw-insn"])
            .arg(elf)
            .output()
            .context("running llvm-objdump")?;
        if !out.status.success() {
            bail!(
                "llvm-objdump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let funcs = parse_objdump(&String::from_utf8_lossy(&out.stdout));
        walk(&funcs, &|s| format!("{:#}", rustc_demangle::demangle(s)))
    };
    match run() {
        Ok(w) => Ok(format!(
            "{} functions, {} instructions reachable with the MMU off; no exclusives ({} indirect calls, covered by the indirect roots)",
            w.functions, w.instructions, w.indirect
        )),
        Err(e) => Err(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "
gupbed:	file format elf64-littleaarch64

Disassembly of section .text:

0000000040200000 <_start>:
40200000: 	b	0x40200040 <_start+0x40>

0000000040201000 <_ZN6gupbed5start10early_boot17h0000000000000001E>:
40201000: 	stp	x29, x30, [sp, #-0x10]!
40201004: 	bl	0x40202000 <helper>
40201008: 	b	0x40203000 <tail>

0000000040202000 <helper>:
40202000: 	blr	x8
40202004: 	bl	0x40205000 <rust_begin_unwind>
40202008: 	ret

0000000040203000 <tail>:
40203000: 	str	x0, [x1]
40203004: 	ret

0000000040204000 <unrelated_lock>:
40204000: 	ldaxr	w8, [x0]
40204004: 	stxr	w9, w10, [x0]

0000000040205000 <rust_begin_unwind>:
40205000: 	ldaxr	w8, [x0]
";

    fn demangle(s: &str) -> String {
        format!("{:#}", rustc_demangle::demangle(s))
    }

    #[test]
    fn parses_functions_and_calls() {
        let f = parse_objdump(DUMP);
        assert_eq!(f.len(), 6);
        assert_eq!(
            f["_ZN6gupbed5start10early_boot17h0000000000000001E"].insns[1],
            "bl 0x40202000 <helper>"
        );
        assert_eq!(call_target("bl 0x40202000 <helper+0x8>"), Some("helper"));
        assert_eq!(call_target("b.ne 0x40202000 <helper>"), None);
        assert!(forbidden("ldaxr w8, [x0]"));
        assert!(forbidden("casal x0, x1, [x2]"));
        assert!(!forbidden("ldar w8, [x0]"));
        assert!(!forbidden("stlr w8, [x0]"));
    }

    #[test]
    fn core_formatting_roots() {
        assert!(core_fmt("core::fmt::write"));
        assert!(core_fmt("<u64 as core::fmt::LowerHex>::fmt"));
        assert!(core_fmt("<&T as core::fmt::Display>::fmt"));
        assert!(core_fmt(
            "<core::panic::PanicInfo as core::fmt::Display>::fmt"
        ));
        assert!(!core_fmt(
            "<alloc::string::String as core::fmt::Write>::write_char"
        ));
        assert!(!core_fmt("<kernel::mm::Page as core::fmt::Debug>::fmt"));
        assert!(!core_fmt("kernel::console::write"));
    }

    #[test]
    fn clean_graph_passes_and_stops_at_the_panic_handler() {
        let w = walk(&parse_objdump(DUMP), &demangle).unwrap();
        assert_eq!(
            w,
            Walk {
                functions: 3,
                instructions: 8,
                indirect: 1
            }
        );
    }

    #[test]
    fn an_exclusive_reached_from_the_root_fails_with_its_chain() {
        let dump = DUMP.replace("40203000: \tstr\tx0, [x1]", "40203000: \tldxr\tx0, [x1]");
        let e = walk(&parse_objdump(&dump), &demangle)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`ldxr x0, [x1]` in gupbed::start::early_boot -> tail"),
            "{e}"
        );
        let e = walk(&parse_objdump("0 <x>:\n"), &demangle)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no MMU-off root"), "{e}");
    }
}
