//! PL011 UART transmit, lock-free and stateless.
//!
//! Why not the `arm-pl011-uart` crate: its `Uart` owns a `UniqueMmioPointer` and writes through
//! `&mut self`, i.e. it needs one owner (a lock) around every write. The console here must be
//! writable from any CPU without a lock: before the MMU is on (no exclusives, so no spin lock)
//! and on the fault path (the lock holder may be the faulting CPU). Transmitting is two
//! registers (poll `UARTFR.TXFF`, write `UARTDR`), so this module does exactly that with
//! volatile accesses. No initialisation: QEMU's PL011 and the Pi firmware (`enable_uart=1`)
//! leave it enabled at 115200 8N1. Whole-line serialisation is `kernel::console`'s job.

use core::sync::atomic::{AtomicUsize, Ordering};

/// PL011 on QEMU virt; replaced by the DTB's value once parsed.
#[cfg(not(feature = "board-rpi4"))]
pub const DEFAULT_BASE: usize = 0x0900_0000;
/// UART0 (PL011) on the Raspberry Pi 4.
#[cfg(feature = "board-rpi4")]
pub const DEFAULT_BASE: usize = 0xfe20_1000;

const UARTDR: usize = 0x00;
const UARTFR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;

/// Base address in use (plain load/store only: usable with the MMU off).
static BASE: AtomicUsize = AtomicUsize::new(DEFAULT_BASE);

/// Use the PL011 at `base` (from the DTB).
pub fn set_base(base: usize) {
    BASE.store(base, Ordering::Relaxed);
}

/// The PL011 base in use.
pub fn base() -> usize {
    BASE.load(Ordering::Relaxed)
}

fn put(base: usize, b: u8) {
    // SAFETY: `base` is the PL011 register block (board default or DTB), identity-mapped as
    // Device memory once the MMU is on; UARTFR and UARTDR are 32-bit registers at these
    // offsets, and reading FR / writing DR has no effect besides transmitting.
    unsafe {
        while core::ptr::read_volatile((base + UARTFR) as *const u32) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile((base + UARTDR) as *mut u32, b as u32);
    }
}

/// Transmit bytes; `\n` goes out as `\r\n` (serial-console convention).
pub fn write_bytes(bytes: &[u8]) {
    let base = base();
    for &b in bytes {
        if b == b'\n' {
            put(base, b'\r');
        }
        put(base, b);
    }
}

/// `core::fmt` adapter over [`write_bytes`], for early boot (before the hal is installed).
pub struct Early;

impl core::fmt::Write for Early {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// `println!`-like early output (no lock, no heap): only the boot CPU runs when it is used.
#[macro_export]
macro_rules! early_println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::uart::Early, $($arg)*);
    }};
}
