//! Fatal exception and panic reports: human lines plus a `fault` / `error` record, then exit 3.
//!
//! The fault path must work whatever state the machine is in: it allocates nothing (the fault
//! may be inside the allocator, or before the heap exists), and it never waits unboundedly for
//! the console lock (the lock holder may be the faulting CPU, or parked). Lines are formatted
//! into stack buffers and written through a caller-given sink: `boot` passes its raw UART
//! writer before the [`crate::hal`] is installed, and [`fatal`] / [`panic`] use
//! [`crate::console::write_bounded`] afterwards, so a report line never splits another CPU's
//! line.

use super::esr;
use super::exit;
use crate::console::LineBuf;
use core::fmt::{self, Write};

/// What the exception vector saw.
#[derive(Clone, Copy, Debug)]
pub struct FaultInfo {
    /// CPU index of the faulting CPU.
    pub cpu: usize,
    /// Which of the 16 vectors was taken, e.g. "synchronous, current EL with SPx".
    pub vector: &'static str,
    /// `ESR_EL1`.
    pub esr: u64,
    /// `ELR_EL1` (the faulting instruction for synchronous aborts).
    pub elr: u64,
    /// `FAR_EL1`.
    pub far: u64,
    /// `SPSR_EL1`.
    pub spsr: u64,
    /// The stack pointer at the time of the exception.
    pub sp: u64,
    /// Link register (x30) at the time of the exception.
    pub lr: u64,
}

/// A JSON string value with escaping, written through `fmt`.
struct JsonStr<'a>(&'a str);

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

fn line(sink: &mut dyn FnMut(&[u8]), args: fmt::Arguments) {
    let mut buf = LineBuf::new();
    let _ = buf.write_fmt(args);
    let _ = buf.write_str("\n");
    sink(buf.as_bytes());
}

/// Write the human fault report and the `fault` record (no allocation, no lock).
pub fn write_report(info: &FaultInfo, sink: &mut dyn FnMut(&[u8])) {
    let ec = esr::ec(info.esr);
    let name = esr::ec_name(ec);
    let desc = esr::Describe(info.esr);
    line(
        sink,
        format_args!("\n*** gupbed: FATAL EXCEPTION on cpu {}: {desc}", info.cpu),
    );
    line(
        sink,
        format_args!(
            "***   vector {}; EC {ec:#04x} ESR {:#018x} ELR {:#018x} FAR {:#018x} SPSR {:#010x}",
            info.vector, info.esr, info.elr, info.far, info.spsr
        ),
    );
    line(
        sink,
        format_args!("***   SP {:#018x} LR {:#018x}", info.sp, info.lr),
    );
    let mut d = LineBuf::new();
    let _ = write!(d, "{desc}");
    let desc_bytes = d.as_bytes();
    let desc_str = core::str::from_utf8(desc_bytes).unwrap_or("(undecodable)");
    line(
        sink,
        format_args!(
            "{}{{\"rec\":\"fault\",\"v\":{},\"cpu\":{},\"ec\":{ec},\"ec_name\":{},\"esr\":{},\"elr\":{},\"far\":{},\"spsr\":{},\"vector\":{},\"description\":{}}}",
            crate::record::PREFIX,
            crate::record::SCHEMA_VERSION,
            info.cpu,
            JsonStr(name),
            info.esr,
            info.elr,
            info.far,
            info.spsr,
            JsonStr(info.vector),
            JsonStr(desc_str),
        ),
    );
}

/// Write the human panic report and an `error` record of kind `panic` (no allocation, no
/// lock).
pub fn write_panic(cpu: usize, info: &core::panic::PanicInfo, sink: &mut dyn FnMut(&[u8])) {
    let mut msg = LineBuf::new();
    let _ = write!(msg, "{}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(msg, " at {}:{}:{}", loc.file(), loc.line(), loc.column());
    }
    let bytes = msg.as_bytes();
    let text = core::str::from_utf8(bytes).unwrap_or("(panic message not UTF-8)");
    line(
        sink,
        format_args!("\n*** gupbed: PANIC on cpu {cpu}: {text}"),
    );
    line(
        sink,
        format_args!(
            "{}{{\"rec\":\"error\",\"v\":{},\"kind\":\"panic\",\"cpu\":{cpu},\"message\":{}}}",
            crate::record::PREFIX,
            crate::record::SCHEMA_VERSION,
            JsonStr(text)
        ),
    );
}

/// Write the `end` record of a fatal exit (no allocation, no lock).
pub fn write_end(code: u32, sink: &mut dyn FnMut(&[u8])) {
    line(
        sink,
        format_args!(
            "{}{{\"rec\":\"end\",\"v\":{},\"passed\":false,\"exit_code\":{code}}}",
            crate::record::PREFIX,
            crate::record::SCHEMA_VERSION
        ),
    );
}

fn stop_others_and_claim() -> bool {
    if !exit::claim() {
        return false;
    }
    // Give CPUs that poll a moment to park so the report is not interleaved with their output.
    let h = crate::hal::hal();
    let until = h.counter().saturating_add(h.counter_hz() / 1000);
    while h.counter() < until {
        super::relax();
    }
    true
}

/// Report a fatal exception and leave with exit code 3 (hal installed). If another CPU is
/// already ending the run, the report is still printed, then this CPU parks.
pub fn fatal(info: &FaultInfo) -> ! {
    let first = stop_others_and_claim();
    let mut sink = |b: &[u8]| crate::console::write_bounded(b);
    write_report(info, &mut sink);
    if !first {
        exit::park();
    }
    write_end(exit::code::FAULT, &mut sink);
    crate::hal::hal().exit(exit::code::FAULT)
}

/// Report a panic and leave with exit code 3 (hal installed).
pub fn panic(info: &core::panic::PanicInfo) -> ! {
    let first = stop_others_and_claim();
    let h = crate::hal::hal();
    let mut sink = |b: &[u8]| crate::console::write_bounded(b);
    write_panic(h.cpu_id(), info, &mut sink);
    if !first {
        exit::park();
    }
    write_end(exit::code::FAULT, &mut sink);
    h.exit(exit::code::FAULT)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    #[test]
    fn fault_report_has_human_lines_and_one_record() {
        let info = FaultInfo {
            cpu: 1,
            vector: "synchronous, current EL with SPx",
            esr: 0x9600_0004,
            elr: 0x4020_1234,
            far: 0xdead_0000_0000,
            spsr: 0x3c5,
            sp: 0x4100_0000,
            lr: 0x4020_1000,
        };
        let mut out: Vec<u8> = Vec::new();
        write_report(&info, &mut |b| out.extend_from_slice(b));
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains(
                "FATAL EXCEPTION on cpu 1: data abort, same EL, translation fault level 0, read"
            ),
            "{s}"
        );
        let rec: Vec<&str> = s
            .lines()
            .filter(|l| l.starts_with(crate::record::PREFIX))
            .collect();
        assert_eq!(rec.len(), 1);
        assert!(rec[0].contains("\"rec\":\"fault\""));
        assert!(rec[0].contains("\"ec\":37"));
        assert!(rec[0].contains("\"far\":244834610708480"));
        assert!(rec[0].contains("\"ec_name\":\"data abort, same EL\""));
        assert!(rec[0].ends_with('}'));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            alloc::format!("{}", JsonStr("a\"b\\c\nd\u{1}")),
            "\"a\\\"b\\\\c\\nd\\u0001\""
        );
    }
}
