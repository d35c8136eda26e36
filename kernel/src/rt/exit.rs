//! Leaving the machine exactly once: the `end` record, the exit code, and stopping the other
//! CPUs.
//!
//! Whoever ends the run first (the run's verdict on CPU 0, a fault, a panic, the deadline)
//! claims the exit; everyone else who polls [`crate::rt::deadline::check`] (run loops, barrier
//! waits) sees the stop flag and parks. Semihosting exit from any one CPU ends QEMU.
//!
//! These flags are run infrastructure outside every race window, so they are plain
//! `core` atomics (also statics under loom).

use crate::record::Record;
use core::sync::atomic::{AtomicBool, Ordering};

/// Exit codes (the brief's contract with xtask).
pub mod code {
    /// Run passed.
    pub const PASS: u32 = 0;
    /// Run failed (selftest mismatch, audit dirty, unexpected verdict).
    pub const FAILED: u32 = 1;
    /// Bad bootargs / usage.
    pub const USAGE: u32 = 2;
    /// Fault or panic on any CPU.
    pub const FAULT: u32 = 3;
    /// Kernel deadline exceeded.
    pub const DEADLINE: u32 = 4;
}

static EXITING: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// Ask every CPU that polls to park (set before a fault/deadline report so the report is not
/// interleaved with run output more than necessary).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
#[inline]
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Claim the right to end the run. True for exactly one caller.
pub fn claim() -> bool {
    request_stop();
    !EXITING.swap(true, Ordering::SeqCst)
}

/// Park this CPU for good (another CPU is ending the run).
pub fn park() -> ! {
    loop {
        super::relax();
    }
}

/// Emit `end` and leave with `code`, if nobody else is ending the run; otherwise park.
pub fn finish(passed: bool, code: u32) -> ! {
    if !claim() {
        park();
    }
    Record::new("end")
        .bool("passed", passed)
        .u64("exit_code", code as u64)
        .emit();
    crate::hal::hal().exit(code)
}

/// Refuse the command line: human line, `error` record, `end`, exit 2.
pub fn usage_error(kind: &str, message: &str) -> ! {
    crate::kprintln!("gupbed: error: {kind}: {message}");
    Record::new("error")
        .str("kind", kind)
        .str("message", message)
        .emit();
    finish(false, code::USAGE)
}
