//! Leaving the machine. The kernel has already printed the `end` record, which carries the
//! exit code on every platform; this module then stops the machine the way `exit=` asks, or
//! the board's default ([`Board::DEFAULT_EXIT`]: semihosting on QEMU virt, the PM watchdog's
//! halt on the Raspberry Pi 4):
//!
//! - `semihosting`: `SYS_EXIT` with the code (QEMU `-semihosting`: QEMU's exit status is the
//!   code). Where semihosting is unavailable the trap comes back as an undefined instruction;
//!   the vector hands it to [`on_exception`], which halts the board instead.
//! - `psci`: PSCI `SYSTEM_OFF` (the board's halt where there is no PSCI).
//! - `halt` / `reset`: the board's power-off / reboot.
//! - `park`: this CPU waits in `wfe` for good (the others are parked by the kernel).
//!
//! Everything but semihosting loses the code on the way to QEMU's exit status (0), so a
//! non-zero code is printed once more before. The console is drained first: a reset cuts off
//! whatever is still in the UART's FIFO. All state is plain loads and stores: this runs on the
//! fault path and before the MMU is on.

use crate::arch::semihosting;
use crate::bsp::{Board, Current};
use crate::console;
use crate::driver::psci;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use kernel::bootargs::ExitMethod;

const UNSET: u8 = 0;
static METHOD: AtomicU8 = AtomicU8::new(UNSET);
static TRYING_SEMIHOSTING: AtomicBool = AtomicBool::new(false);
static CODE: AtomicU32 = AtomicU32::new(0);

fn encode(m: ExitMethod) -> u8 {
    match m {
        ExitMethod::Semihosting => 1,
        ExitMethod::Psci => 2,
        ExitMethod::Halt => 3,
        ExitMethod::Reset => 4,
        ExitMethod::Park => 5,
    }
}

/// The method in use (`exit=`, else the board's default).
pub fn method() -> ExitMethod {
    match METHOD.load(Ordering::Relaxed) {
        1 => ExitMethod::Semihosting,
        2 => ExitMethod::Psci,
        3 => ExitMethod::Halt,
        4 => ExitMethod::Reset,
        5 => ExitMethod::Park,
        _ => Current::DEFAULT_EXIT,
    }
}

/// The method's bootargs spelling (for the `platform` record).
pub fn method_name() -> &'static str {
    match method() {
        ExitMethod::Semihosting => "semihosting",
        ExitMethod::Psci => "psci",
        ExitMethod::Halt => "halt",
        ExitMethod::Reset => "reset",
        ExitMethod::Park => "park",
    }
}

/// Use `m` (`None`: the board's default).
pub fn configure(m: Option<ExitMethod>) {
    METHOD.store(m.map(encode).unwrap_or(UNSET), Ordering::Relaxed);
}

/// Take `exit=` from the raw command line before the rest is parsed, so that even a run
/// refused for bad bootargs leaves the way the host asked (xtask needs the exit code).
pub fn configure_from_cmdline(cmdline: &str) {
    let token = cmdline
        .split_ascii_whitespace()
        .rfind(|t| t.starts_with("exit="));
    if let Some(Ok(a)) = token.map(kernel::bootargs::parse) {
        configure(a.exit);
    }
}

fn say(msg: &[u8]) {
    console::write_bytes(msg);
}

fn say_code_lost(code: u32, how: &str) {
    if code != 0 {
        let mut line = kernel::console::LineBuf::new();
        let _ = core::fmt::Write::write_fmt(
            &mut line,
            format_args!(
                "gupbed: exit code {code} (in the end record); {how} does not pass it on\n"
            ),
        );
        say(line.as_bytes());
    }
}

fn halt(code: u32) -> ! {
    say_code_lost(code, "the board's halt");
    console::flush();
    Current::halt()
}

/// Stop the machine with `code`. Safe to call from any CPU, any time, MMU on or off.
pub fn leave(code: u32) -> ! {
    CODE.store(code, Ordering::Relaxed);
    console::flush();
    match method() {
        ExitMethod::Semihosting => {
            TRYING_SEMIHOSTING.store(true, Ordering::Relaxed);
            semihosting::exit(code)
        }
        ExitMethod::Psci => {
            if psci::conduit().is_none() {
                say(b"gupbed: exit=psci: this board has no PSCI: halting it instead\n");
                halt(code)
            }
            say_code_lost(code, "PSCI SYSTEM_OFF");
            console::flush();
            psci::system_off();
            halt(code)
        }
        ExitMethod::Halt => halt(code),
        ExitMethod::Reset => {
            say_code_lost(code, "the board's reset");
            console::flush();
            Current::reset()
        }
        ExitMethod::Park => {
            say_code_lost(code, "exit=park");
            loop {
                aarch64_cpu::asm::wfe();
            }
        }
    }
}

/// Called first by the exception vector for synchronous exceptions: if this is the
/// semihosting trap failing (QEMU without `-semihosting`, or real hardware), halt the board
/// instead of reporting a fault.
pub fn on_exception(elr: u64, esr: u64) {
    if TRYING_SEMIHOSTING.load(Ordering::Relaxed) && semihosting::is_semihosting_trap(elr, esr) {
        say(b"gupbed: semihosting is unavailable (QEMU without -semihosting, or hardware)\n");
        halt(CODE.load(Ordering::Relaxed))
    }
}
