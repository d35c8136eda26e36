//! Raspberry Pi 4 Model B (BCM2711, four Cortex-A72), on real hardware (the VideoCore
//! firmware `start4.elf` loads `kernel8.img` at 0x80000 and enters it at EL2 with x0 = the
//! DTB it completed) and under QEMU `raspi4b` (same load address and EL; x0 = 0x100, ATAGs,
//! when QEMU gets no `-dtb`).
//!
//! Fixed facts (BCM2711 "low peripheral" mode, the firmware's default; BCM2711 ARM
//! peripherals datasheet, the Pi firmware's `bcm2711-rpi-4-b.dts`, its armstub8):
//! - RAM from 0; the VideoCore's share sits below 0x4000_0000 (default `gpu_mem`: RAM
//!   0..0x3B40_0000 on every Pi 4), more RAM from 0x4000_0000 on 2/4/8 GiB boards; the
//!   peripheral window is 0xFC00_0000..0x1_0000_0000 (mapped Device by the identity map, as is
//!   every non-RAM address below 4 GiB).
//! - Low-RAM holes: the armstub and its spin table at 0..0x1000 (CPU n waits on 0xd8 + 8n),
//!   ATAGs at 0x100, the image at 0x80000: everything below the image stays out of mm.
//! - No PSCI: secondaries wait in the spin table; the firmware's DTB says so per CPU
//!   (`enable-method = "spin-table"`, `cpu-release-addr`), the facts are the fallback.
//! - UART0 (PL011) at 0xFE20_1000 on GPIO 14/15 (header pins 8/10), 48 MHz reference clock
//!   (`init_uart_clock=48000000` in config.txt pins it): set to 115200 8N1 here, whatever the
//!   firmware did (its primary UART on those pins is the mini UART unless `disable-bt`).
//! - GIC-400 at 0xFF84_1000 (distributor) / 0xFF84_2000 (CPU interface); the armstub puts
//!   every interrupt in group 1.
//! - Exit: no semihosting on hardware; the PM watchdog halts (default) or resets the board.

use super::board::{atags_at, dtb_at, Board};
use crate::driver::bcm2711_gpio::{Bcm2711Gpio, BCM2711_GPIO_BASE};
use crate::driver::bcm2711_pm::{Bcm2711Pm, BCM2711_PM_BASE};
use crate::driver::pl011::Pl011;
use crate::firmware::ranges::Range;
use crate::firmware::{Cpu, Gic, Platform, Release, Source};
use kernel::bootargs::ExitMethod;

/// The Raspberry Pi 4.
pub struct Rpi4;

const UART0: u64 = 0xfe20_1000;
const UART_CLOCK_HZ: u32 = 48_000_000;
const BAUD: u32 = 115_200;
const GICD: u64 = 0xff84_1000;
const GICC: u64 = 0xff84_2000;
const NR_CPUS: u64 = 4;
/// Spin-table slot of core 0 (`cpu-release-addr` of core n: this + 8n).
const SPIN_TABLE: u64 = 0xd8;
/// RAM every Pi 4 has with the default `gpu_mem`: the fallback without DTB and ATAGs, and
/// the only place x0 is followed (a loader's pointer always lies there).
const LOW_RAM_END: u64 = 0x3b40_0000;

impl Board for Rpi4 {
    const NAME: &'static str = "rpi4";
    const EARLY_UART: usize = UART0 as usize;
    const DEFAULT_EXIT: ExitMethod = ExitMethod::Halt;

    fn describe(x0: u64, image: Range) -> Result<Platform, &'static str> {
        let probe = x0 < LOW_RAM_END;
        // SAFETY: x0 is below the end of the RAM every Pi 4 has, and it is what the loader
        // passed: the firmware's DTB (kept out of free memory by the parser's `reserved`).
        let mut p = match probe.then(|| unsafe { dtb_at(x0) }).flatten() {
            Some(p) => p?,
            None => facts(probe.then_some(x0)),
        };
        // Below the image: the armstub and spin table, ATAGs, firmware scratch.
        p.reserved.push((0, image.0));
        p.reserved.sort();
        // Our console is UART0 on GPIO 14/15 (routed in `early_devices`), whatever the DTB's
        // stdout-path names (by default the mini UART).
        p.uart = Some(UART0);
        if p.gic.is_none() {
            p.gic = Some(Gic {
                dist: GICD,
                cpu: Some(GICC),
                version: 2,
            });
        }
        if p.ncpus == 0 {
            for n in 0..NR_CPUS {
                p.push_cpu(Cpu {
                    mpidr: n,
                    release: Release::Unknown,
                });
            }
        }
        let n = p.cpus().len();
        for c in &mut p.cpus[..n] {
            if c.release == Release::Unknown {
                c.release = Release::SpinTable(SPIN_TABLE + 8 * (c.mpidr & 0xff));
            }
        }
        Ok(p)
    }

    fn early_devices(console: &Pl011) {
        Bcm2711Gpio::new(BCM2711_GPIO_BASE).route_uart0();
        console.init(UART_CLOCK_HZ, BAUD);
    }

    fn halt() -> ! {
        Bcm2711Pm::new(BCM2711_PM_BASE).halt()
    }

    fn reset() -> ! {
        Bcm2711Pm::new(BCM2711_PM_BASE).reset()
    }
}

/// The machine without a devicetree: ATAGs' memory and command line if `x0` (already checked
/// to lie in low RAM) points at them (QEMU raspi4b without `-dtb`), the fixed facts otherwise.
fn facts(x0: Option<u64>) -> Platform {
    // SAFETY: x0 lies in the low RAM every Pi 4 has; ATAGs live below the image, in memory
    // kept out of mm.
    let tags = x0.and_then(|a| unsafe { atags_at(a) });
    let mut p = Platform::empty(match (tags, x0) {
        (Some(_), Some(a)) => Source::Atags(a),
        _ => Source::Fixed,
    });
    p.compatible = "raspberrypi,4-model-b";
    p.model = "Raspberry Pi 4 Model B (no devicetree)";
    match tags {
        Some(t) if !t.memory.is_empty() => {
            p.memory = t.memory;
            p.bootargs = t.cmdline;
        }
        Some(t) => {
            p.memory.push((0, LOW_RAM_END));
            p.bootargs = t.cmdline;
        }
        None => {
            p.memory.push((0, LOW_RAM_END));
        }
    }
    p
}
