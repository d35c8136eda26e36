//! Arm PrimeCell UART (PL011): QEMU virt's console, and UART0 of the Raspberry Pi 4.
//!
//! A [`Pl011`] is a register block at a base address. Transmitting is lock-free and
//! stateless (poll `UARTFR.TXFF`, write `UARTDR`), so the console works from any CPU without a
//! lock: before the MMU is on (no exclusives, so no spin lock) and on the fault path (the lock
//! holder may be the faulting CPU). Whole-line serialisation is `kernel::console`'s job.
//!
//! Why not the `arm-pl011-uart` crate: its `Uart` owns a `UniqueMmioPointer` and writes
//! through `&mut self`, i.e. it needs one owner (a lock) around every write.
//!
//! [`Pl011::init`] programs the line (8N1, FIFOs on) and the baud divisors from the UART's
//! reference clock, following the PL011 TRM's sequence (disable, drain, divisors, `LCR_H`
//! last since it latches `IBRD`/`FBRD`, enable). [`Pl011::flush`] waits until the last bit is
//! on the wire, which matters before a reset.

use core::sync::atomic::{AtomicUsize, Ordering};

const UARTDR: usize = 0x00;
const UARTFR: usize = 0x18;
const UARTIBRD: usize = 0x24;
const UARTFBRD: usize = 0x28;
const UARTLCR_H: usize = 0x2c;
const UARTCR: usize = 0x30;
const UARTIMSC: usize = 0x38;
const UARTICR: usize = 0x44;

const FR_BUSY: u32 = 1 << 3;
const FR_TXFF: u32 = 1 << 5;
const FR_TXFE: u32 = 1 << 7;
const LCR_H_FEN: u32 = 1 << 4;
const LCR_H_WLEN_8: u32 = 0b11 << 5;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;

/// Bounded waits (polls of `UARTFR`): a UART that never drains (unclocked, or absent) must
/// not hang the fault path or the exit.
const MAX_POLLS: u32 = 10_000_000;

/// Integer and fractional baud divisors (`UARTIBRD`, `UARTFBRD`) for `baud` from a `clock_hz`
/// reference clock: divisor = clock / (16 * baud), the fraction in 1/64ths, rounded.
pub const fn divisors(clock_hz: u32, baud: u32) -> (u32, u32) {
    // 64 * clock / (16 * baud) = 4 * clock / baud, rounded to nearest.
    let div64 = (4 * clock_hz as u64 + baud as u64 / 2) / baud as u64;
    ((div64 >> 6) as u32, (div64 & 63) as u32)
}

/// A PL011 register block.
pub struct Pl011 {
    base: AtomicUsize,
}

impl Pl011 {
    /// The UART at `base`.
    pub const fn new(base: usize) -> Self {
        Self {
            base: AtomicUsize::new(base),
        }
    }

    /// Move to the UART at `base` (a plain store: usable with the MMU off).
    pub fn set_base(&self, base: usize) {
        self.base.store(base, Ordering::Relaxed);
    }

    /// The base in use.
    pub fn base(&self) -> usize {
        self.base.load(Ordering::Relaxed)
    }

    fn read(&self, off: usize) -> u32 {
        // SAFETY: `base` is a PL011 register block (board fact or firmware description),
        // Device memory (MMU off, or identity-mapped Device-nGnRE); the offsets are 32-bit
        // registers of the PL011 and reading FR has no side effect.
        unsafe { core::ptr::read_volatile((self.base() + off) as *const u32) }
    }

    fn write(&self, off: usize, v: u32) {
        // SAFETY: as in `read`; writes to these registers only transmit or configure the line.
        unsafe { core::ptr::write_volatile((self.base() + off) as *mut u32, v) }
    }

    fn wait_while(&self, mask: u32, set: bool) {
        let mut n = 0;
        while (self.read(UARTFR) & mask != 0) == set && n < MAX_POLLS {
            core::hint::spin_loop();
            n += 1;
        }
    }

    /// Program 8N1 at `baud` from a `clock_hz` reference clock, FIFOs on, interrupts masked,
    /// transmit and receive enabled.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        self.flush();
        self.write(UARTCR, 0);
        self.write(UARTIMSC, 0);
        self.write(UARTICR, 0x7ff);
        let (ibrd, fbrd) = divisors(clock_hz, baud);
        self.write(UARTIBRD, ibrd);
        self.write(UARTFBRD, fbrd);
        self.write(UARTLCR_H, LCR_H_WLEN_8 | LCR_H_FEN);
        self.write(UARTCR, CR_UARTEN | CR_TXE | CR_RXE);
    }

    fn put(&self, b: u8) {
        self.wait_while(FR_TXFF, true);
        self.write(UARTDR, b as u32);
    }

    /// Transmit bytes; `\n` goes out as `\r\n` (serial-console convention).
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
    }

    /// Wait until everything written has left the transmitter (FIFO empty, not busy).
    pub fn flush(&self) {
        self.wait_while(FR_TXFE, false);
        self.wait_while(FR_BUSY, true);
    }
}

// Checked at compile time: the Pi 4's UART0 (48 MHz reference clock, config.txt
// `init_uart_clock=48000000`) at 115200 baud is 26 + 3/64 (115 177 baud, 0.02 % slow); QEMU virt's 24 MHz
// clock gives 13 + 1/64; the rust-raspberrypi tutorials' 921600 baud at 48 MHz is 3 + 16/64.
const _: () = {
    let (i, f) = divisors(48_000_000, 115_200);
    assert!(i == 26 && f == 3);
    let (i, f) = divisors(24_000_000, 115_200);
    assert!(i == 13 && f == 1);
    let (i, f) = divisors(48_000_000, 921_600);
    assert!(i == 3 && f == 16);
};
