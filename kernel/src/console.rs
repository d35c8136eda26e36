//! Console output where lines from different CPUs never interleave mid-line.
//!
//! `kprintln!` formats a whole line into a stack buffer, then writes it under one lock.
//! Before the MMU and caches are on (exclusives are unreliable there on real hardware), boot
//! code uses [`early_write`], which takes no lock: only the boot CPU runs then.

use crate::hal::hal;
use core::fmt::{self, Write};
use spin::Mutex;

/// Longest line `kprintln!` emits; longer output is cut and marked with `...`.
pub const LINE_MAX: usize = 1024;

static CONSOLE_LOCK: Mutex<()> = Mutex::new(());

/// A fixed buffer that truncates instead of failing.
pub struct LineBuf {
    buf: [u8; LINE_MAX],
    len: usize,
    cut: bool,
}

impl LineBuf {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            buf: [0; LINE_MAX],
            len: 0,
            cut: false,
        }
    }
    /// The bytes written so far (with the truncation mark if cut).
    pub fn as_bytes(&mut self) -> &[u8] {
        if self.cut {
            let end = LINE_MAX - 4;
            self.buf[end..LINE_MAX - 1].copy_from_slice(b"...");
            self.buf[LINE_MAX - 1] = b'\n';
            return &self.buf[..];
        }
        &self.buf[..self.len]
    }
}

impl Default for LineBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_MAX - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

/// Write complete line(s) atomically with respect to other CPUs.
pub fn write_locked(bytes: &[u8]) {
    let _g = CONSOLE_LOCK.lock();
    hal().console_write(bytes);
}

/// Write under the console lock if it can be had within a bounded wait (a few milliseconds),
/// else without it. For the fault and panic paths: other CPUs print whole lines under the
/// lock, so taking it keeps a fault record from being split mid-line, while the bound keeps a
/// lock held by the faulting CPU itself (or by a parked one) from deadlocking the report.
pub fn write_bounded(bytes: &[u8]) {
    for _ in 0..1_000_000 {
        if let Some(_g) = CONSOLE_LOCK.try_lock() {
            hal().console_write(bytes);
            return;
        }
        core::hint::spin_loop();
    }
    hal().console_write(bytes);
}

/// Write without the lock (single-CPU early boot, or the fault path which must not deadlock).
pub fn early_write(bytes: &[u8]) {
    hal().console_write(bytes);
}

#[doc(hidden)]
pub fn _print_line(args: fmt::Arguments) {
    let mut line = LineBuf::new();
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    write_locked(line.as_bytes());
}

/// Print one whole line to the console; lines from different CPUs never interleave.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::console::_print_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::console::_print_line(format_args!($($arg)*)) };
}
