//! The flattened device tree the loader passes in x0 (QEMU virt; the Raspberry Pi firmware's
//! `bcm2711-rpi-4-b.dtb`, completed by the firmware), parsed with the `fdt` crate into a
//! [`Platform`].
//!
//! Device addresses are translated to CPU physical addresses through every parent bus's
//! `ranges` (the Pi 4 describes its peripherals at VideoCore bus addresses: UART0 is
//! `serial@7e201000` under `/soc`, whose `ranges` put it at 0xFE20_1000; the GIC-400 is
//! `interrupt-controller@40041000`, at 0xFF84_1000). CPU nodes give each CPU's MPIDR and how
//! to start it (`enable-method` = "psci" or "spin-table" with `cpu-release-addr`).

use super::ranges::Range;
use super::{Conduit, Cpu, Gic, Platform, Release, Source};
use fdt::node::FdtNode;
use fdt::Fdt;

/// The FDT header magic (big-endian at offset 0).
pub const FDT_MAGIC: u32 = 0xd00d_feed;

/// Why the DTB could not be used.
#[derive(Debug)]
pub enum DtbError {
    /// The blob is malformed.
    Bad(fdt::FdtError),
    /// No memory node with a usable `reg`.
    NoMemory,
}

/// `totalsize` from an FDT header, if `head` starts with the FDT magic.
pub fn total_size(head: &[u8]) -> Option<usize> {
    let be = |at: usize| -> Option<u32> {
        let w = head.get(at..at + 4)?;
        Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    (be(0)? == FDT_MAGIC).then(|| be(4).map(|s| s as usize))?
}

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

/// Remove the `FDT_NOP` tokens from the structure block of the FDT in `blob`, in place
/// (shrinking `size_dt_struct`; the other blocks stay where they are).
///
/// Why: QEMU `raspi4b` disables the devices it does not model by NOP-ing their nodes
/// (`qemu_fdt_nop_node`), libfdt-based firmware may do the same, and the `fdt` crate (0.1.5)
/// asserts when a NOP sits between two sibling nodes (`skip_current_node`: "bad node").
/// Also checks that the header's blocks lie inside the blob: `Err` means a malformed FDT.
pub fn strip_nops(blob: &mut [u8]) -> Result<(), DtbError> {
    let word = |b: &[u8], at: usize| be32(b, at).ok_or_else(malformed);
    let total = word(blob, 4)? as usize;
    let off = word(blob, 8)? as usize;
    let (strings, strings_size) = (word(blob, 12)? as usize, word(blob, 32)? as usize);
    let size = word(blob, 36)? as usize;
    let inside = |start: usize, len: usize| start.checked_add(len).is_some_and(|e| e <= total);
    if total > blob.len() || !inside(off, size) || !inside(strings, strings_size) {
        return Err(malformed());
    }
    let end = off + size;
    let (mut r, mut w) = (off, off);
    while r < end {
        let tok = word(blob, r)?;
        let len = match tok {
            FDT_NOP => {
                r += 4;
                continue;
            }
            FDT_BEGIN_NODE => {
                let name = &blob[r + 4..end];
                let n = name.iter().position(|&c| c == 0).ok_or_else(malformed)?;
                4 + (n + 1).next_multiple_of(4)
            }
            FDT_PROP => 12 + (word(blob, r + 4)? as usize).next_multiple_of(4),
            FDT_END_NODE | FDT_END => 4,
            _ => return Err(malformed()),
        };
        if len > end - r {
            return Err(malformed());
        }
        blob.copy_within(r..r + len, w);
        r += len;
        w += len;
        if tok == FDT_END {
            break;
        }
    }
    blob[36..40].copy_from_slice(&((w - off) as u32).to_be_bytes());
    Ok(())
}

fn malformed() -> DtbError {
    DtbError::Bad(fdt::FdtError::BufferTooSmall)
}

/// Most address windows kept per bus.
const MAX_WINDOWS: usize = 8;

/// How addresses on one bus map to CPU physical addresses.
#[derive(Clone, Copy)]
struct Xlate {
    /// (bus address, CPU address, size).
    windows: [(u64, u64, u64); MAX_WINDOWS],
    len: usize,
    identity: bool,
}

impl Xlate {
    const IDENTITY: Xlate = Xlate {
        windows: [(0, 0, 0); MAX_WINDOWS],
        len: 0,
        identity: true,
    };
    const NONE: Xlate = Xlate {
        windows: [(0, 0, 0); MAX_WINDOWS],
        len: 0,
        identity: false,
    };

    fn map(&self, addr: u64) -> Option<u64> {
        if self.identity {
            return Some(addr);
        }
        self.windows[..self.len]
            .iter()
            .find(|&&(bus, _, size)| addr >= bus && addr - bus < size)
            .map(|&(bus, cpu, _)| cpu + (addr - bus))
    }
}

/// A big-endian number of `cells` 32-bit cells at the start of `b` (1 or 2 cells; more: the
/// low 64 bits).
fn cells(b: &[u8], cells: usize) -> Option<u64> {
    let bytes = b.get(..cells * 4)?;
    let mut v: u64 = 0;
    for c in bytes.chunks_exact(4) {
        v = (v << 32) | u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
    }
    Some(v)
}

fn enabled(n: &FdtNode) -> bool {
    !matches!(
        n.property("status").and_then(|p| p.as_str()),
        Some(s) if s != "okay" && s != "ok"
    )
}

fn compatible_with(n: &FdtNode, with: &[&str]) -> bool {
    n.compatible()
        .is_some_and(|c| c.all().any(|s| with.contains(&s)))
}

/// The translation for the children of `node`, whose own addresses are on the bus `xl`
/// (`parent_cells`: `#address-cells` of `node`'s parent).
fn child_xlate(node: &FdtNode, parent_cells: usize, xl: &Xlate) -> Xlate {
    let Some(ranges) = node.property("ranges") else {
        // No `ranges`: the children's addresses are not CPU addresses (e.g. /cpus, I2C).
        return Xlate::NONE;
    };
    if ranges.value.is_empty() {
        return *xl;
    }
    let own = node.cell_sizes();
    let entry = (own.address_cells + parent_cells + own.size_cells) * 4;
    let mut out = Xlate::NONE;
    for e in ranges.value.chunks_exact(entry.max(4)) {
        let bus = cells(e, own.address_cells);
        let parent = cells(&e[own.address_cells * 4..], parent_cells);
        let size = cells(&e[(own.address_cells + parent_cells) * 4..], own.size_cells);
        if let (Some(bus), Some(Some(cpu)), Some(size)) = (bus, parent.map(|p| xl.map(p)), size) {
            if out.len < MAX_WINDOWS {
                out.windows[out.len] = (bus, cpu, size);
                out.len += 1;
            }
        }
    }
    out
}

/// The `reg` ranges of `node` as CPU physical ranges (bus `xl`); untranslatable ones skipped.
fn regs<'a>(node: &FdtNode<'_, 'a>, xl: &'a Xlate) -> impl Iterator<Item = Range> + 'a {
    node.reg().into_iter().flatten().filter_map(move |r| {
        let start = xl.map(r.starting_address as u64)?;
        Some((start, start + r.size.unwrap_or(0) as u64))
    })
}

/// Depth-first walk handing each node, its parent's name and its bus translation to `visit`.
fn walk<'a>(
    node: FdtNode<'_, 'a>,
    parent: &str,
    parent_cells: usize,
    xl: &Xlate,
    depth: usize,
    visit: &mut dyn FnMut(&FdtNode<'_, 'a>, &str, &Xlate),
) {
    visit(&node, parent, xl);
    if depth >= 16 {
        return;
    }
    let child_xl = if depth == 0 {
        Xlate::IDENTITY
    } else {
        child_xlate(&node, parent_cells, xl)
    };
    let cells = node.cell_sizes().address_cells;
    for c in node.children() {
        walk(c, node.name, cells, &child_xl, depth + 1, visit);
    }
}

fn parse_cpus(fdt: &Fdt<'static>, p: &mut Platform) {
    let Some(cpus) = fdt.find_node("/cpus") else {
        return;
    };
    let sizes = cpus.cell_sizes();
    for c in cpus.children() {
        let is_cpu = c.property("device_type").and_then(|p| p.as_str()) == Some("cpu")
            || c.name.split('@').next() == Some("cpu");
        if !is_cpu || !enabled(&c) {
            continue;
        }
        let Some(mpidr) = c
            .property("reg")
            .and_then(|r| cells(r.value, sizes.address_cells))
        else {
            continue;
        };
        let method = c.property("enable-method").and_then(|m| m.as_str());
        let release = match method {
            Some("psci") => Release::Psci,
            Some("spin-table") => match c.property("cpu-release-addr").map(|a| a.value) {
                Some(v) if v.len() == 8 => Release::SpinTable(cells(v, 2).unwrap_or(0)),
                Some(v) if v.len() == 4 => Release::SpinTable(cells(v, 1).unwrap_or(0)),
                _ => Release::Unknown,
            },
            _ => Release::Unknown,
        };
        p.push_cpu(Cpu { mpidr, release });
    }
}

/// Parse the DTB in `blob` (which lives at physical `addr`).
///
/// `blob` must stay in memory, unmodified, for the rest of the run (boot keeps it out of the
/// free memory it hands to mm): strings of the description point into it.
pub fn parse(blob: &'static [u8], addr: u64) -> Result<Platform, DtbError> {
    let fdt = Fdt::new(blob).map_err(DtbError::Bad)?;
    let fdt = &fdt;
    let mut p = Platform::empty(Source::Dtb((addr, addr + fdt.total_size() as u64)));
    p.reserved.push((addr, addr + fdt.total_size() as u64));

    let root = fdt
        .find_node("/")
        .ok_or(DtbError::Bad(fdt::FdtError::BadPtr))?;
    if let Some(c) = root.compatible() {
        p.compatible = c.first();
    }
    if let Some(m) = root.property("model").and_then(|p| p.as_str()) {
        p.model = m;
    }
    for r in fdt.memory_reservations() {
        let start = r.address() as u64;
        p.reserved.push((start, start + r.size() as u64));
    }

    // The console: `/chosen/stdout-path` if it is a PL011 (identified by its name's address
    // in the blob), else the first enabled PL011.
    let stdout = fdt
        .find_node("/chosen")
        .and_then(|c| c.property("stdout-path"))
        .and_then(|p| p.as_str())
        .and_then(|path| fdt.find_node(path.split(':').next().unwrap_or(path)))
        .filter(|n| compatible_with(n, &["arm,pl011"]))
        .map(|n| n.name.as_ptr());
    let mut first_pl011 = None;
    let mut stdout_pl011 = None;
    let mut gic = None;
    let mut memory_regs = 0usize;

    walk(root, "", 2, &Xlate::IDENTITY, 0, &mut |n, parent, xl| {
        if n.property("device_type").and_then(|p| p.as_str()) == Some("memory") && enabled(n) {
            for r in regs(n, xl) {
                p.memory.push(r);
                memory_regs += 1;
            }
            return;
        }
        if parent == "reserved-memory" {
            for r in regs(n, xl) {
                p.reserved.push(r);
            }
            return;
        }
        if !enabled(n) {
            return;
        }
        if compatible_with(n, &["arm,pl011"]) {
            let base = regs(n, xl).next().map(|r| r.0);
            if Some(n.name.as_ptr()) == stdout {
                stdout_pl011 = base;
            }
            if first_pl011.is_none() {
                first_pl011 = base;
            }
        }
        if gic.is_none() && compatible_with(n, &["arm,cortex-a15-gic", "arm,gic-400", "arm,gic-v3"])
        {
            let v3 = compatible_with(n, &["arm,gic-v3"]);
            let mut r = regs(n, xl);
            if let Some((dist, _)) = r.next() {
                gic = Some(Gic {
                    dist,
                    cpu: if v3 { None } else { r.next().map(|c| c.0) },
                    version: if v3 { 3 } else { 2 },
                });
            }
        }
    });
    if memory_regs == 0 {
        return Err(DtbError::NoMemory);
    }
    p.memory.sort();
    p.reserved.sort();
    p.uart = stdout_pl011.or(first_pl011);
    p.gic = gic;

    parse_cpus(fdt, &mut p);
    let psci = fdt
        .find_node("/psci")
        .or_else(|| fdt.find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]));
    p.psci = psci.and_then(|n| match n.property("method").and_then(|m| m.as_str()) {
        Some("hvc") => Some(Conduit::Hvc),
        Some("smc") => Some(Conduit::Smc),
        _ => None,
    });
    p.bootargs = fdt
        .find_node("/chosen")
        .and_then(|c| c.property("bootargs"))
        .and_then(|p| p.as_str())
        .unwrap_or("");
    Ok(p)
}

#[cfg(test)]
mod tests;
