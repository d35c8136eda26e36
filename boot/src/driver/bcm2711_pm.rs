//! The BCM2711 (and BCM2835) power-management block's watchdog: the Raspberry Pi's only way
//! to reset or power off the SoC without firmware calls (no PSCI on the Pi 4). Linux:
//! `drivers/watchdog/bcm2835_wdt.c`; QEMU models it (`hw/misc/bcm2835_powermgt.c`: a reset
//! request, or a shutdown request when RSTS holds the halt partition; with `-no-reboot` a
//! reset ends QEMU too, always with exit status 0).
//!
//! - reset: arm the watchdog with a short timeout and request a full reset (`PM_RSTC.WRCFG`).
//! - halt: the same, after setting the boot partition in `PM_RSTS` to 63, which the firmware
//!   reads on the way up as "halt" (Linux's `bcm2835_power_off`): the board stays off until it
//!   is power-cycled.
//!
//! Every write carries the PM password in bits 31:24.

/// PM block of the BCM2711 (`/soc/watchdog@7e100000` through the `/soc` ranges).
pub const BCM2711_PM_BASE: u64 = 0xfe10_0000;

const PM_RSTC: u64 = 0x1c;
const PM_RSTS: u64 = 0x20;
const PM_WDOG: u64 = 0x24;
const PM_PASSWORD: u32 = 0x5a00_0000;
const PM_RSTC_WRCFG_CLR: u32 = 0xffff_ffcf;
const PM_RSTC_WRCFG_FULL_RESET: u32 = 0x0000_0020;
const PM_WDOG_TIME_SET: u32 = 0x000f_ffff;
/// Partition 63 (its bits are spread over the even bits 0-10): "halt" for the firmware.
const PM_RSTS_PARTITION_HALT: u32 = 0x555;
/// Watchdog ticks before the reset (16 µs each): immediate for any purpose here.
const RESET_TICKS: u32 = 10;

/// The PM block at `base`.
pub struct Bcm2711Pm {
    base: u64,
}

impl Bcm2711Pm {
    /// The PM block at `base`.
    pub const fn new(base: u64) -> Self {
        Self { base }
    }

    fn read(&self, off: u64) -> u32 {
        // SAFETY: `base` is the PM block (identity-mapped Device memory); these are its 32-bit
        // reset/watchdog registers, whose reads have no side effects.
        unsafe { core::ptr::read_volatile((self.base + off) as *const u32) }
    }

    fn write(&self, off: u64, v: u32) {
        // SAFETY: as in `read`; the writes below only arm the watchdog / pick the partition.
        unsafe { core::ptr::write_volatile((self.base + off) as *mut u32, PM_PASSWORD | v) }
    }

    /// Full reset of the SoC (the firmware boots again).
    pub fn reset(&self) -> ! {
        self.write(PM_WDOG, RESET_TICKS & PM_WDOG_TIME_SET);
        let rstc = self.read(PM_RSTC) & PM_RSTC_WRCFG_CLR & !0xff00_0000;
        self.write(PM_RSTC, rstc | PM_RSTC_WRCFG_FULL_RESET);
        loop {
            aarch64_cpu::asm::wfe();
        }
    }

    /// Reset into the firmware's halt state (the board stays off).
    pub fn halt(&self) -> ! {
        let rsts = self.read(PM_RSTS) & !0xff00_0000;
        self.write(PM_RSTS, rsts | PM_RSTS_PARTITION_HALT);
        self.reset()
    }
}
