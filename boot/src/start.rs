//! The boot CPU's path from `_start` to the run, the same for every board (the board's part
//! is behind [`crate::bsp::Current`]).
//!
//! [`early_boot`] is everything done with the MMU off: set up the console, describe the
//! machine, build the identity map, turn the MMU on. Nothing in it may use exclusives
//! (`ldxr`/`stxr`: locks, `fetch_add`, the heap): on real hardware they fault or fail on
//! non-cacheable memory (`cargo xtask test` checks its call graph in the image). Nor may it
//! access memory unaligned (Device memory faults on that): the `aarch64-unknown-none-softfloat`
//! target compiles everything, `core` and `compiler_builtins` included, with `+strict-align`.
//! [`boot_primary_main`] continues with the MMU and caches on.

use crate::arch::{cpu, mmu};
use crate::bsp::{Board, Current};
use crate::console::CONSOLE;
use crate::driver::{gicv2 as gic, psci};
use crate::firmware::ranges::{self, Range, Ranges};
use crate::firmware::{kernel_bootargs, Platform, Source};
use crate::hal_impl::HAL;
use crate::{early_println, exit, heap, layout, smp_boot};
use alloc::vec::Vec;
use kernel::mm::pgtable::{build_identity_map, BumpTableAlloc, PgtableAlloc};
use kernel::mm::types::PhysRange;
use kernel::record::Record;
use kernel::smp::MAX_CPUS;

/// Room for the early translation tables, right after the image.
const EARLY_TABLES_MAX: u64 = 2 << 20;

/// Fatal error before the hal and heap exist: human line, `error` and `end` records by hand,
/// exit 3. `msg` must not contain `"` or `\`.
fn early_fatal(msg: &str) -> ! {
    early_println!("gupbed: FATAL during boot: {msg}");
    early_println!(
        "{}{{\"rec\":\"error\",\"v\":1,\"kind\":\"boot\",\"message\":\"{msg}\"}}",
        kernel::record::PREFIX
    );
    let mut sink = |b: &[u8]| crate::console::write_bytes(b);
    kernel::rt::fault::write_end(kernel::rt::exit::code::FAULT, &mut sink);
    exit::leave(kernel::rt::exit::code::FAULT)
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// What the MMU-off phase leaves for the rest.
struct Early {
    platform: Platform,
    root: u64,
    /// Pages the early tables use (kept out of mm).
    tables: Range,
}

/// Everything before the MMU is on (plain loads and stores only, see the module docs).
#[inline(never)]
fn early_boot(x0: u64, entry_el: u64) -> Early {
    let (img_start, img_end) = layout::image();
    Current::early_devices(&CONSOLE);
    let p = match Current::describe(x0, (img_start, img_end)) {
        Ok(p) => p,
        Err(msg) => early_fatal(msg),
    };
    if let Some(u) = p.uart.filter(|&u| u as usize != CONSOLE.base()) {
        CONSOLE.flush();
        CONSOLE.set_base(u as usize);
    }
    psci::set_conduit(p.psci);
    let at = match p.source {
        Source::Dtb((a, _)) | Source::Atags(a) => a,
        Source::Fixed => x0,
    };
    early_println!(
        "gupbed: {} board, entered at EL{entry_el}, running at EL{}; machine from {} at {at:#x} ({})",
        Current::NAME,
        cpu::el(),
        p.source.name(),
        if p.model.is_empty() { p.compatible } else { p.model }
    );

    // Identity map: RAM Normal WB, the rest of the low 4 GiB Device-nGnRE, built by
    // kernel::mm::pgtable into pages bump-allocated from free RAM: right after the image if
    // there is room (a loader may put the DTB there: the arm64 boot protocol only keeps it
    // out of the image's `image_size`), else the first free range big enough.
    if p.memory.around(img_start).is_none() {
        early_fatal("the image is not inside any RAM range of the machine description")
    }
    let mut taken = p.reserved;
    taken.push((img_start, img_end));
    let free = ranges::subtract(p.memory.as_slice(), taken.as_slice());
    let Some((t_start, t_end)) = free.first_fit_from(img_end, EARLY_TABLES_MAX) else {
        early_fatal("no free RAM range can hold the early translation tables")
    };
    // SAFETY: [t_start, t_start + EARLY_TABLES_MAX) is RAM outside the image and everything
    // the description reserves (DTB included), unused by anything; identity-mapped once the
    // MMU is on, and kept out of the free ranges given to mm.
    let bump =
        unsafe { BumpTableAlloc::new(t_start, t_start + EARLY_TABLES_MAX.min(t_end - t_start)) };
    let device = ranges::device_holes(p.memory.as_slice());
    let root = match build_identity_map(
        &bump as &dyn PgtableAlloc,
        p.memory.as_slice(),
        device.as_slice(),
    ) {
        Ok(root) => root,
        Err(_) => early_fatal("building the identity map failed"),
    };
    let tables = bump.allocated_range();

    // Memory written with the MMU off must not be shadowed by stale cache lines once the
    // caches are on (real hardware; QEMU models no caches). The loader cleaned the image to
    // the point of coherency (arm64 boot protocol), so nothing dirty is lost.
    mmu::invalidate_dcache_range(img_start, img_end);
    mmu::invalidate_dcache_range(tables.0, tables.1);
    match p.source {
        Source::Dtb((s, e)) => mmu::invalidate_dcache_range(s, e),
        Source::Atags(a) => mmu::invalidate_dcache_range(a, a + 4096),
        Source::Fixed => {}
    }
    mmu::enable_boot_cpu(root);
    Early {
        platform: p,
        root,
        tables,
    }
}

/// Rust entry of the boot CPU (from `_start`: stack, TPIDR_EL1 = 0, VBAR set, .bss zeroed,
/// MMU off). `entry_el` is the exception level the loader entered the image at.
#[no_mangle]
extern "C" fn boot_primary_main(x0: u64, entry_el: u64) -> ! {
    let Early {
        platform: p,
        root,
        tables,
    } = early_boot(x0, entry_el);

    // --- MMU and caches on: exclusives, locks and the heap work from here. ---
    mmu::publish_for_secondaries();
    kernel::mm::pgtable::set_swapper_pg_dir(root);
    kernel::hal::install(&HAL);
    let (heap_start, heap_end) = layout::heap();
    // SAFETY: the .heap region of the image, identity-mapped Normal memory, used by nothing
    // else.
    unsafe { heap::init(heap_start, heap_end) };
    // GICv2 for SGIs (PSTATE.I stays masked; runs unmask IRQs where they use SGIs).
    if let Some(g) = p.gic.filter(|g| g.version == 2) {
        if let Some(cpu_if) = g.cpu {
            gic::init_distributor(g.dist, cpu_if);
            gic::init_cpu(0);
        }
    }

    let cmdline = kernel_bootargs(p.bootargs);
    exit::configure_from_cmdline(cmdline);
    let args = kernel::run::setup(cmdline);
    exit::configure(args.exit);

    if p.ncpus > MAX_CPUS {
        let msg = alloc::format!(
            "the machine has {} CPUs; gupbed supports at most {MAX_CPUS} (QEMU: -smp 1..{MAX_CPUS})",
            p.ncpus
        );
        kernel::rt::exit::usage_error("platform", &msg);
    }

    // Free RAM for mm: everything but the image, its early tables and what the description
    // reserves (DTB, /memreserve/, reserved-memory, the board's low holes).
    let (img_start, img_end) = layout::image();
    let mut holes = p.reserved;
    holes.push((img_start, img_end));
    holes.push(tables);
    if let Source::Atags(a) = p.source {
        holes.push((a, a + 4096));
    }
    let free = ranges::subtract(p.memory.as_slice(), holes.as_slice());
    let free_bytes = free.bytes();
    print_memory(&p, &free, (img_start, img_end), tables);
    let free: Vec<PhysRange> = free
        .as_slice()
        .iter()
        .map(|&(start, end)| PhysRange { start, end })
        .collect();
    kernel::mm::init(&free);

    // Secondaries.
    let expected = p.ncpus.max(1);
    let brought = smp_boot::bring_up(&p, expected);
    HAL.set_online(brought.online);

    report_platform(&p, expected, &brought, entry_el, free_bytes);
    smp_boot::release();
    kernel::run::dispatch::main(0, brought.online, cpu::info(entry_el))
}

fn print_memory(p: &Platform, free: &Ranges, image: Range, tables: Range) {
    let mut line = kernel::console::LineBuf::new();
    for (i, r) in free.as_slice().iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!("{sep}{:#x}..{:#x}", r.0, r.1));
    }
    kernel::kprintln!(
        "gupbed: RAM {} MiB; image {:#x}..{:#x}, early tables {:#x}..{:#x}; {} reserved ranges; free {} MiB: {}",
        p.memory.bytes() >> 20,
        image.0,
        image.1,
        tables.0,
        tables.1,
        p.reserved.as_slice().len(),
        free.bytes() >> 20,
        core::str::from_utf8(line.as_bytes()).unwrap_or("?")
    );
}

fn report_platform(
    p: &Platform,
    expected: usize,
    brought: &smp_boot::Bringup,
    entry_el: u64,
    free_bytes: u64,
) {
    let online = brought.online;
    let info = cpu::info(entry_el);
    let (implementer, part, model) = cpu::model();
    let hz = kernel::hal::hal().counter_hz();
    let ram = p.memory.bytes();
    let conduit = psci::conduit().map(|c| c.name()).unwrap_or("none");
    kernel::kprintln!(
        "gupbed: {} ({}), {model} (implementer {implementer:#x} part {part:#x}), {online}/{expected} CPUs online ({} release), EL{} (entered at EL{entry_el}), MMU {}, D-cache {}, I-cache {}",
        Current::NAME,
        if p.model.is_empty() { p.compatible } else { p.model },
        brought.method,
        info.el,
        on_off(info.mmu),
        on_off(info.dcache),
        on_off(info.icache)
    );
    let psci_text = match psci::version() {
        Some((maj, min)) => alloc::format!("PSCI {maj}.{min} via {conduit}"),
        None => alloc::string::String::from("no PSCI"),
    };
    kernel::kprintln!(
        "gupbed: RAM {} MiB, heap {} MiB, counter {hz} Hz, {psci_text}, console PL011 at {:#x}, exit={}, bootargs \"{}\"",
        ram >> 20,
        heap::stats().1 >> 20,
        CONSOLE.base(),
        exit::method_name(),
        kernel_bootargs(p.bootargs)
    );
    Record::new("platform")
        .str("board", Current::NAME)
        .str("firmware", p.source.name())
        .str("cpu_model", model)
        .u64("midr_implementer", implementer as u64)
        .u64("midr_partnum", part as u64)
        .u64("cpus_expected", expected as u64)
        .u64("cpus_online", online as u64)
        .u64("cpus_failed", brought.failures as u64)
        .str("cpu_release", brought.method)
        .u64("el", info.el as u64)
        .u64("entry_el", info.entry_el as u64)
        .bool("mmu", info.mmu)
        .bool("dcache", info.dcache)
        .bool("icache", info.icache)
        .u64("counter_hz", hz)
        .u64("ram_bytes", ram)
        .u64("free_bytes", free_bytes)
        .str("psci", conduit)
        .u64("uart", CONSOLE.base() as u64)
        .str("exit", exit::method_name())
        .str("bootargs", kernel_bootargs(p.bootargs))
        .emit();
}
