//! Every board xtask knows, in one table: its QEMU machine arguments, image file name, cargo
//! feature, link address and CPU / memory limits. This is the only place `Board` is matched;
//! everything else asks [`Board::spec`]. A new board is one enum variant and one [`BoardSpec`].

use clap::ValueEnum;
use std::ops::RangeInclusive;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Board {
    /// QEMU `virt` (GICv2, PL011, PSCI)
    Virt,
    /// Raspberry Pi 4 (QEMU `raspi4b` or real hardware)
    Rpi4,
}

/// What a board lets the user choose for `--cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuModel {
    /// Any model this QEMU offers (checked against `-cpu help`).
    Choice,
    /// The machine has one CPU model; `--cpu` must name it (or be left at the default).
    Fixed(&'static str),
}

/// One board's facts.
#[derive(Debug, Clone)]
pub struct BoardSpec {
    /// The `--board` value.
    pub name: &'static str,
    /// QEMU `-M` argument.
    pub machine: &'static str,
    pub cpu_model: CpuModel,
    /// `-smp` values the machine accepts.
    pub cpus: RangeInclusive<u32>,
    /// Guest RAM (MiB) the machine accepts, and the default.
    pub memory_mib: RangeInclusive<u32>,
    pub default_memory_mib: u32,
    /// File name of the raw image next to the ELF.
    pub image_name: &'static str,
    /// Cargo feature of the `boot` crate selecting the board (link address, drivers).
    pub cargo_feature: Option<&'static str>,
    /// Address the image is linked and loaded at (`boot/build.rs` sets it from the feature);
    /// xtask checks the built image against it.
    pub load_addr: u64,
    /// Why the CPU / memory limits are what they are (shown when a flag is refused).
    pub limits_note: &'static str,
}

/// Default `--cpu` of every command.
pub const DEFAULT_CPU: &str = "cortex-a72";

const VIRT: BoardSpec = BoardSpec {
    name: "virt",
    // gic-version=2 pinned: more than 8 CPUs would silently switch to GICv3.
    machine: "virt,gic-version=2",
    cpu_model: CpuModel::Choice,
    cpus: 1..=8,
    memory_mib: 64..=8192,
    default_memory_mib: 512,
    image_name: "Image",
    cargo_feature: None,
    // RAM base 0x4000_0000 + the Image header's text_offset 0x20_0000 (linker.ld).
    load_addr: 0x4020_0000,
    limits_note: "GICv2 serves at most 8 CPUs",
};

const RPI4: BoardSpec = BoardSpec {
    name: "rpi4",
    machine: "raspi4b",
    cpu_model: CpuModel::Fixed("cortex-a72"),
    cpus: 4..=4,
    memory_mib: 2048..=2048,
    default_memory_mib: 2048,
    // What the Pi firmware loads by default for a 64-bit kernel.
    image_name: "kernel8.img",
    cargo_feature: Some("board-rpi4"),
    // The firmware's `kernel_address=0x80000`.
    load_addr: 0x8_0000,
    limits_note: "QEMU raspi4b has exactly 4 CPUs and 2048 MiB",
};

impl Board {
    /// Every board.
    pub const ALL: [Board; 2] = [Board::Virt, Board::Rpi4];

    pub fn spec(self) -> &'static BoardSpec {
        match self {
            Board::Virt => &VIRT,
            Board::Rpi4 => &RPI4,
        }
    }
}

impl std::fmt::Display for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.spec().name)
    }
}

impl BoardSpec {
    /// Whether the machine can have `n` CPUs.
    pub fn allows_cpus(&self, n: u32) -> bool {
        self.cpus.contains(&n)
    }

    /// The CPU count closest to `n` that the machine can have (benches sized for `virt`).
    pub fn nearest_cpus(&self, n: u32) -> u32 {
        n.clamp(*self.cpus.start(), *self.cpus.end())
    }

    /// `--cpus n` for this board, or why not.
    pub fn check_cpus(&self, n: u32) -> Result<(), String> {
        if self.allows_cpus(n) {
            return Ok(());
        }
        let (lo, hi) = (self.cpus.start(), self.cpus.end());
        let want = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}..={hi}")
        };
        Err(format!(
            "--cpus {n} is out of range for --board {}: use {want} ({})",
            self.name, self.limits_note
        ))
    }

    /// `--memory m` (MiB) for this board, or why not.
    pub fn check_memory(&self, m: u32) -> Result<(), String> {
        if self.memory_mib.contains(&m) {
            return Ok(());
        }
        let (lo, hi) = (self.memory_mib.start(), self.memory_mib.end());
        Err(if lo == hi {
            format!(
                "--memory {m}: --board {} has exactly {lo} MiB ({})",
                self.name, self.limits_note
            )
        } else {
            format!(
                "--memory {m} is out of range for --board {}: use {lo}..={hi} MiB",
                self.name
            )
        })
    }

    /// `--cpu model` for this board, or why not (a choice is checked against QEMU later).
    pub fn check_cpu_model(&self, model: &str) -> Result<(), String> {
        match self.cpu_model {
            CpuModel::Fixed(m) if m != model => Err(format!(
                "--cpu {model}: --board {} has a fixed CPU model, {m}",
                self.name
            )),
            _ => Ok(()),
        }
    }

    /// QEMU's machine arguments (`-M`, and `-cpu` where the model is a choice).
    pub fn machine_args(&self, cpu: &str) -> Vec<String> {
        let mut a = vec!["-M".to_string(), self.machine.to_string()];
        if self.cpu_model == CpuModel::Choice {
            a.extend(["-cpu".to_string(), cpu.to_string()]);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_limits() {
        let v = Board::Virt.spec();
        v.check_cpus(1).unwrap();
        v.check_cpus(8).unwrap();
        let e = v.check_cpus(0).unwrap_err();
        assert!(e.contains("--cpus 0") && e.contains("1..=8"), "{e}");
        assert!(v.check_cpus(9).is_err());
        v.check_memory(512).unwrap();
        assert!(v.check_memory(32).is_err());
        v.check_cpu_model("max").unwrap();
        assert_eq!(
            v.machine_args("max"),
            ["-M", "virt,gic-version=2", "-cpu", "max"]
        );
    }

    #[test]
    fn rpi4_is_fixed() {
        let r = Board::Rpi4.spec();
        r.check_cpus(4).unwrap();
        assert_eq!((r.nearest_cpus(1), r.nearest_cpus(8)), (4, 4));
        assert_eq!(Board::Virt.spec().nearest_cpus(2), 2);
        let e = r.check_cpus(2).unwrap_err();
        assert!(e.contains("exactly 4 CPUs"), "{e}");
        r.check_memory(2048).unwrap();
        assert!(r.check_memory(512).unwrap_err().contains("2048"));
        r.check_cpu_model(DEFAULT_CPU).unwrap();
        assert!(r.check_cpu_model("max").is_err());
        assert_eq!(r.machine_args(DEFAULT_CPU), ["-M", "raspi4b"]);
        assert_eq!(r.image_name, "kernel8.img");
    }

    #[test]
    fn names_match_the_flag_values() {
        for b in Board::ALL {
            let v = b.to_possible_value().expect("a flag value");
            assert_eq!(v.get_name(), b.spec().name);
            assert!(b
                .spec()
                .cpus
                .contains(&b.spec().cpus.start().max(&1).to_owned()));
            b.spec().check_memory(b.spec().default_memory_mib).unwrap();
        }
    }
}
