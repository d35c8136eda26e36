//! QEMU `virt`: everything comes from the devicetree QEMU generates (RAM from 0x4000_0000,
//! PL011 at 0x0900_0000, GICv2 at 0x0800_0000 / 0x0801_0000 with `gic-version=2`, PSCI over
//! HVC, or SMC with `virtualization=on`). A raw image gets the DTB's address in x0; an ELF
//! gets x0 = 0 and finds the DTB at the start of RAM.

use super::board::{dtb_at, Board};
use crate::driver::pl011::Pl011;
use crate::driver::psci;
use crate::firmware::ranges::Range;
use crate::firmware::{Platform, Release};
use kernel::bootargs::ExitMethod;

/// QEMU's virt machine.
pub struct Virt;

/// Start of RAM, where QEMU puts the DTB when it loads an ELF.
const RAM_BASE: u64 = 0x4000_0000;

impl Board for Virt {
    const NAME: &'static str = "qemu-virt";
    const EARLY_UART: usize = 0x0900_0000;
    const DEFAULT_EXIT: ExitMethod = ExitMethod::Semihosting;

    fn describe(x0: u64, image: Range) -> Result<Platform, &'static str> {
        // SAFETY: x0 comes from QEMU's loader: 0 or the DTB's address in RAM.
        let found = unsafe { dtb_at(x0) }.or_else(|| {
            (RAM_BASE..image.0).step_by(4096).find_map(|a| {
                // SAFETY: a page of RAM below the image, inside QEMU virt's RAM.
                unsafe { dtb_at(a) }
            })
        });
        let mut p =
            found.ok_or("no devicetree: x0 holds none and none found below the image")??;
        // A CPU node without an enable-method on a PSCI machine is started with PSCI.
        if p.psci.is_some() {
            let n = p.cpus().len();
            for c in &mut p.cpus[..n] {
                if c.release == Release::Unknown {
                    c.release = Release::Psci;
                }
            }
        }
        Ok(p)
    }

    fn early_devices(_console: &Pl011) {
        // QEMU's PL011 transmits without set-up; nothing else needs pins or clocks.
    }

    fn halt() -> ! {
        psci::system_off();
        park()
    }

    fn reset() -> ! {
        psci::system_reset();
        park()
    }
}

fn park() -> ! {
    loop {
        aarch64_cpu::asm::wfe();
    }
}
