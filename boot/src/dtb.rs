//! What the devicetree says about the board, parsed once with the `fdt` crate into fixed-size
//! arrays (no heap: this runs before the MMU and allocator are up).

use crate::psci::Conduit;
use fdt::Fdt;

/// Most memory ranges / reservations kept.
pub const MAX_RANGES: usize = 16;
/// Most CPUs listed (the DTB may list more than the image runs; those are refused clearly).
pub const MAX_DTB_CPUS: usize = 64;

/// A `[start, end)` physical range.
pub type Range = (u64, u64);

/// A small fixed-capacity list of ranges.
#[derive(Clone, Copy)]
pub struct Ranges {
    items: [Range; MAX_RANGES],
    len: usize,
}

impl Ranges {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            items: [(0, 0); MAX_RANGES],
            len: 0,
        }
    }
    /// Add a range (dropped, and `false` returned, if full or empty).
    pub fn push(&mut self, r: Range) -> bool {
        if self.len == MAX_RANGES || r.0 >= r.1 {
            return false;
        }
        self.items[self.len] = r;
        self.len += 1;
        true
    }
    /// The ranges.
    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len]
    }
    /// Sort by start address (insertion sort: tiny lists, no allocation).
    pub fn sort(&mut self) {
        let s = &mut self.items[..self.len];
        for i in 1..s.len() {
            let mut j = i;
            while j > 0 && s[j - 1].0 > s[j].0 {
                s.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}

/// The board, as the DTB describes it.
pub struct Board {
    /// Physical address and size of the DTB blob.
    pub dtb: Range,
    /// First root `compatible` string (e.g. "linux,dummy-virt").
    pub compatible: &'static str,
    /// Root `model`, if any.
    pub model: &'static str,
    /// RAM ranges (all `device_type = "memory"` nodes).
    pub memory: Ranges,
    /// `/memreserve/` entries.
    pub reserved: Ranges,
    /// MPIDR affinity (`reg`) of each CPU node, in DTB order.
    pub cpu_mpidr: [u64; MAX_DTB_CPUS],
    /// Number of CPU nodes (may exceed `MAX_DTB_CPUS`; then only the first are kept).
    pub cpus: usize,
    /// PSCI conduit from `/psci` `method`.
    pub psci: Option<Conduit>,
    /// PL011 base (`arm,pl011`, preferring `/chosen/stdout-path`).
    pub uart: Option<u64>,
    /// GIC distributor base and version (2 for `arm,cortex-a15-gic` / `arm,gic-400`, 3 for
    /// `arm,gic-v3`).
    pub gic: Option<(u64, u8)>,
    /// GICv2 CPU interface base (the GIC node's second `reg` range).
    pub gicc: Option<u64>,
    /// `/chosen/bootargs` (empty if none).
    pub bootargs: &'static str,
}

/// Why the DTB could not be used.
#[derive(Debug)]
pub enum DtbError {
    /// The blob is malformed.
    Bad(fdt::FdtError),
    /// No memory node.
    NoMemory,
}

const FDT_MAGIC: u32 = 0xd00d_feed;

fn be32_at(addr: u64) -> u32 {
    // SAFETY: callers pass 4-byte-aligned addresses inside RAM (x0 from the loader, or the
    // scanned window inside RAM below the image): readable physical memory with the MMU off.
    u32::from_be(unsafe { core::ptr::read_volatile(addr as *const u32) })
}

/// Find the DTB: x0 if it holds the FDT magic, else scan `[scan_start, scan_end)` page by page
/// (QEMU puts the DTB at the start of RAM when it loads an ELF, and passes x0 = 0).
pub fn locate(x0: u64, scan_start: u64, scan_end: u64) -> Option<u64> {
    if x0 != 0 && x0.is_multiple_of(4) && be32_at(x0) == FDT_MAGIC {
        return Some(x0);
    }
    let mut a = scan_start;
    while a < scan_end {
        if be32_at(a) == FDT_MAGIC {
            return Some(a);
        }
        a += 4096;
    }
    None
}

/// Parse the DTB at `addr`.
///
/// # Safety
/// `addr` must point to an FDT (magic checked by [`locate`]) that stays in memory, unmodified,
/// for the rest of the run (boot keeps it out of the free memory it hands to mm).
pub unsafe fn parse(addr: u64) -> Result<Board, DtbError> {
    let size = be32_at(addr + 4) as usize;
    // SAFETY: per this function's contract the blob of `totalsize` bytes lives forever.
    let blob: &'static [u8] = unsafe { core::slice::from_raw_parts(addr as *const u8, size) };
    let fdt: Fdt<'static> = Fdt::new(blob).map_err(DtbError::Bad)?;
    // Strings taken from the blob keep its 'static lifetime; everything else is copied out.
    let fdt = &fdt;

    let mut b = Board {
        dtb: (addr, addr + size as u64),
        compatible: "",
        model: "",
        memory: Ranges::new(),
        reserved: Ranges::new(),
        cpu_mpidr: [0; MAX_DTB_CPUS],
        cpus: 0,
        psci: None,
        uart: None,
        gic: None,
        gicc: None,
        bootargs: "",
    };

    if let Some(root) = fdt.find_node("/") {
        if let Some(c) = root.compatible() {
            b.compatible = c.first();
        }
        if let Some(m) = root.property("model").and_then(|p| p.as_str()) {
            b.model = m;
        }
    }

    for node in fdt.all_nodes() {
        let is_memory = node.property("device_type").and_then(|p| p.as_str()) == Some("memory");
        if !is_memory {
            continue;
        }
        if let Some(regs) = node.reg() {
            for r in regs {
                let start = r.starting_address as u64;
                let size = r.size.unwrap_or(0) as u64;
                b.memory.push((start, start + size));
            }
        }
    }
    if b.memory.as_slice().is_empty() {
        return Err(DtbError::NoMemory);
    }
    b.memory.sort();
    for r in fdt.memory_reservations() {
        let start = r.address() as u64;
        b.reserved.push((start, start + r.size() as u64));
    }

    if let Some(cpus) = fdt.find_node("/cpus") {
        for c in cpus.children() {
            let is_cpu = c.property("device_type").and_then(|p| p.as_str()) == Some("cpu")
                || c.name.split('@').next() == Some("cpu");
            if !is_cpu {
                continue;
            }
            let Some(reg) = c.property("reg") else {
                continue;
            };
            let mpidr = match reg.value.len() {
                4 => u32::from_be_bytes([reg.value[0], reg.value[1], reg.value[2], reg.value[3]])
                    as u64,
                8 => u64::from_be_bytes([
                    reg.value[0],
                    reg.value[1],
                    reg.value[2],
                    reg.value[3],
                    reg.value[4],
                    reg.value[5],
                    reg.value[6],
                    reg.value[7],
                ]),
                _ => continue,
            };
            if b.cpus < MAX_DTB_CPUS {
                b.cpu_mpidr[b.cpus] = mpidr;
            }
            b.cpus += 1;
        }
    }

    let psci = fdt
        .find_node("/psci")
        .or_else(|| fdt.find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]));
    if let Some(p) = psci {
        b.psci = match p.property("method").and_then(|m| m.as_str()) {
            Some("hvc") => Some(Conduit::Hvc),
            Some("smc") => Some(Conduit::Smc),
            _ => None,
        };
    }

    let stdout = fdt
        .find_node("/chosen")
        .and_then(|c| c.property("stdout-path"))
        .and_then(|p| p.as_str())
        .and_then(|path| fdt.find_node(path.split(':').next().unwrap_or(path)));
    let pl011 = stdout
        .filter(|n| {
            n.compatible()
                .is_some_and(|c| c.all().any(|s| s == "arm,pl011"))
        })
        .or_else(|| fdt.find_compatible(&["arm,pl011"]));
    b.uart = pl011
        .and_then(|n| n.reg())
        .and_then(|mut r| r.next())
        .map(|r| r.starting_address as u64);

    if let Some(g) = fdt.find_compatible(&["arm,cortex-a15-gic", "arm,gic-400", "arm,gic-v3"]) {
        let v3 = g
            .compatible()
            .is_some_and(|c| c.all().any(|s| s == "arm,gic-v3"));
        if let Some(mut regs) = g.reg() {
            if let Some(base) = regs.next() {
                b.gic = Some((base.starting_address as u64, if v3 { 3 } else { 2 }));
            }
            if !v3 {
                b.gicc = regs.next().map(|r| r.starting_address as u64);
            }
        }
    }

    b.bootargs = fdt
        .find_node("/chosen")
        .and_then(|c| c.property("bootargs"))
        .and_then(|p| p.as_str())
        .unwrap_or("");
    Ok(b)
}
