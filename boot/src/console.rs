//! The console: the board's PL011, one instance shared by every CPU, usable from the first
//! instruction of Rust (MMU off) to the fault path. Its base starts as the board's early UART
//! and follows the machine description once that is read.

use crate::bsp::{Board, Current};
use crate::driver::pl011::Pl011;

/// The console UART.
pub static CONSOLE: Pl011 = Pl011::new(Current::EARLY_UART);

/// Transmit bytes (`\n` as `\r\n`), lock-free.
pub fn write_bytes(bytes: &[u8]) {
    CONSOLE.write_bytes(bytes);
}

/// Wait until everything written is on the wire (before a reset or power-off).
pub fn flush() {
    CONSOLE.flush();
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
        let _ = writeln!($crate::console::Early, $($arg)*);
    }};
}
