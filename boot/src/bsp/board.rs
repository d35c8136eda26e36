//! The [`Board`] trait and the loader-handoff readers boards share (DTB, ATAGs at a
//! physical address, MMU off).

use crate::driver::pl011::Pl011;
use crate::firmware::dtb::{self, DtbError};
use crate::firmware::ranges::Range;
use crate::firmware::{atags, Platform};
use kernel::bootargs::ExitMethod;

/// What boot needs from a board.
pub trait Board {
    /// The board's name in the `platform` record.
    const NAME: &'static str;
    /// The console before the machine description is read.
    const EARLY_UART: usize;
    /// How the run ends when the bootargs name no `exit=`.
    const DEFAULT_EXIT: ExitMethod;
    /// The machine, from what the loader passed in x0 (MMU off: plain loads only), with the
    /// board's facts filling the gaps. `image` is the loaded image's range. `Err` refuses to
    /// boot with that message.
    fn describe(x0: u64, image: Range) -> Result<Platform, &'static str>;
    /// Device set-up for the console, first thing (MMU off: plain MMIO only), so that even a
    /// refused machine description is reported.
    fn early_devices(console: &Pl011);
    /// Power off / halt for good.
    fn halt() -> !;
    /// Reset (reboot) the machine.
    fn reset() -> !;
}

/// The first `len` bytes at physical `addr` (MMU off, or identity-mapped).
///
/// # Safety
/// `[addr, addr + len)` must be readable RAM that stays unchanged for the rest of the run.
unsafe fn phys_bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: per this function's contract.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// A DTB at `addr`, if the FDT magic is there. The blob's `FDT_NOP` tokens are stripped in
/// place first (see [`dtb::strip_nops`]).
///
/// # Safety
/// `addr` must be readable and writable RAM (at least 8 bytes, and the blob's `totalsize` if
/// it is an FDT) that nothing else uses, kept for the rest of the run (boot keeps the blob out
/// of free memory).
pub(super) unsafe fn dtb_at(addr: u64) -> Option<Result<Platform, &'static str>> {
    if addr == 0 || !addr.is_multiple_of(8) {
        return None;
    }
    // SAFETY: per the contract, 8 header bytes are readable.
    let size = dtb::total_size(unsafe { phys_bytes(addr, 8) })?;
    // SAFETY: per the contract, the blob's `totalsize` bytes are ours to read and write; this
    // is the only reference to them until the shared one below.
    let blob = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, size) };
    let parsed = dtb::strip_nops(blob).and_then(|()| dtb::parse(blob, addr));
    Some(parsed.map_err(|e| match e {
        DtbError::NoMemory => "the devicetree has no memory node",
        DtbError::Bad(fdt::FdtError::BadMagic) => "devicetree: bad magic",
        DtbError::Bad(_) => "the devicetree is malformed or truncated",
    }))
}

/// ATAGs at `addr`, if an `ATAG_CORE` is there (boards whose loader may pass them).
///
/// # Safety
/// `[addr, addr + atags::MAX_BYTES)` must be readable RAM, unchanged for the rest of the run.
#[allow(dead_code)]
pub(super) unsafe fn atags_at(addr: u64) -> Option<atags::Atags> {
    if addr == 0 || !addr.is_multiple_of(4) {
        return None;
    }
    // SAFETY: per the contract.
    atags::parse(unsafe { phys_bytes(addr, atags::MAX_BYTES) })
}
