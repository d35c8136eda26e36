//! What the loader tells the image about the machine, turned into one [`Platform`]
//! description: a flattened device tree ([`dtb`], QEMU virt and the Pi firmware), ARM Linux
//! ATAGs ([`atags`], QEMU raspi4b without `-dtb`), or nothing (the board's fixed facts,
//! `crate::bsp`).
//!
//! Pure code: no registers, no MMIO, no heap, no exclusives (it runs with the MMU off), and it
//! is unit-tested on the host (`cargo test -p boot`).

pub mod atags;
pub mod dtb;
pub mod ranges;

use ranges::{Range, Ranges};

/// Most CPUs described (more are counted, and refused by boot with a clear message).
pub const MAX_FW_CPUS: usize = 64;

/// How PSCI calls are made (the DTB's `/psci` `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// `hvc #0` (QEMU virt at EL1).
    Hvc,
    /// `smc #0` (QEMU virt with `virtualization=on`, firmware at EL3).
    Smc,
}

impl Conduit {
    /// The DTB spelling.
    pub fn name(self) -> &'static str {
        match self {
            Conduit::Hvc => "hvc",
            Conduit::Smc => "smc",
        }
    }
}

/// How a secondary CPU is started (a CPU node's `enable-method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// PSCI `CPU_ON`.
    Psci,
    /// The CPU waits in firmware for a non-zero entry address at this physical address
    /// (`cpu-release-addr`), re-read after each `sev`.
    SpinTable(u64),
    /// Not described (or a method boot does not know): the board decides.
    Unknown,
}

impl Release {
    /// Short name for records and messages.
    pub fn name(self) -> &'static str {
        match self {
            Release::Psci => "psci",
            Release::SpinTable(_) => "spin-table",
            Release::Unknown => "unknown",
        }
    }
}

/// One CPU as described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// MPIDR affinity (the CPU node's `reg`).
    pub mpidr: u64,
    /// How to start it.
    pub release: Release,
}

/// A GICv2 (or a GICv3 distributor, which boot does not drive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gic {
    /// Distributor base.
    pub dist: u64,
    /// CPU interface base (GICv2 only).
    pub cpu: Option<u64>,
    /// 2 or 3.
    pub version: u8,
}

/// Where the description came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A flattened device tree at this physical range.
    Dtb(Range),
    /// ATAGs at this physical address.
    Atags(u64),
    /// Neither: the board's fixed facts.
    Fixed,
}

impl Source {
    /// Short name for records.
    pub fn name(self) -> &'static str {
        match self {
            Source::Dtb(_) => "dtb",
            Source::Atags(_) => "atags",
            Source::Fixed => "board-facts",
        }
    }
}

/// The machine, as the loader (or the board's facts) describes it.
#[derive(Clone, Copy, Debug)]
pub struct Platform {
    /// Where this came from.
    pub source: Source,
    /// First root `compatible` string (e.g. "linux,dummy-virt", "raspberrypi,4-model-b").
    pub compatible: &'static str,
    /// Root `model`, if any.
    pub model: &'static str,
    /// RAM ranges, sorted.
    pub memory: Ranges,
    /// Memory that must never be handed out (`/memreserve/`, `/reserved-memory` with `reg`,
    /// the DTB itself, board holes).
    pub reserved: Ranges,
    /// CPUs in description order (the first [`MAX_FW_CPUS`]).
    pub cpus: [Cpu; MAX_FW_CPUS],
    /// Number of CPUs described (may exceed [`MAX_FW_CPUS`]).
    pub ncpus: usize,
    /// PSCI conduit, if the board has PSCI.
    pub psci: Option<Conduit>,
    /// PL011 console base, if described.
    pub uart: Option<u64>,
    /// Interrupt controller, if described.
    pub gic: Option<Gic>,
    /// The raw command line (`/chosen/bootargs` or `ATAG_CMDLINE`); see [`kernel_bootargs`].
    pub bootargs: &'static str,
}

impl Platform {
    /// An empty description from `source` (callers fill it in).
    pub const fn empty(source: Source) -> Self {
        Platform {
            source,
            compatible: "",
            model: "",
            memory: Ranges::new(),
            reserved: Ranges::new(),
            cpus: [Cpu {
                mpidr: 0,
                release: Release::Unknown,
            }; MAX_FW_CPUS],
            ncpus: 0,
            psci: None,
            uart: None,
            gic: None,
            bootargs: "",
        }
    }

    /// The described CPUs (at most [`MAX_FW_CPUS`]).
    pub fn cpus(&self) -> &[Cpu] {
        &self.cpus[..self.ncpus.min(MAX_FW_CPUS)]
    }

    /// Add a CPU (counted even beyond capacity).
    pub fn push_cpu(&mut self, cpu: Cpu) {
        if self.ncpus < MAX_FW_CPUS {
            self.cpus[self.ncpus] = cpu;
        }
        self.ncpus += 1;
    }
}

/// The part of a command line meant for gupbed: everything after the last `--` token if there
/// is one, else all of it.
///
/// The Raspberry Pi firmware puts `cmdline.txt` into `/chosen/bootargs` *after* ~150-200
/// characters of its own Linux parameters (`coherent_pool=1M 8250.nr_uarts=1 …`), which the
/// kernel's strict bootargs parser would refuse; `cargo xtask rpi4` therefore writes
/// `cmdline.txt` as `-- run=… …`.
pub fn kernel_bootargs(raw: &str) -> &str {
    let raw = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let mut start = 0;
    for tok in raw.split_ascii_whitespace() {
        if tok == "--" {
            // Offset of the token inside `raw` (a subslice of it).
            start = tok.as_ptr() as usize - raw.as_ptr() as usize + tok.len();
        }
    }
    raw[start..].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootargs_after_the_marker() {
        assert_eq!(
            kernel_bootargs("run=selftest seed=1"),
            "run=selftest seed=1"
        );
        assert_eq!(
            kernel_bootargs(
                "coherent_pool=1M 8250.nr_uarts=1 bcm2708_fb.fbwidth=0 console=ttyS0,115200 -- run=suite time_ms=5"
            ),
            "run=suite time_ms=5"
        );
        assert_eq!(kernel_bootargs("a=1 -- b=2\t--\nc=3\n"), "c=3");
        assert_eq!(kernel_bootargs("x --"), "");
        assert_eq!(kernel_bootargs("--"), "");
        assert_eq!(kernel_bootargs(""), "");
        assert_eq!(kernel_bootargs("  run=gup\0"), "run=gup");
        assert_eq!(
            kernel_bootargs("a--b=1"),
            "a--b=1",
            "only a whole token is a marker"
        );
    }
}
