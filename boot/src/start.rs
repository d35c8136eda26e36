//! The boot CPU's path from `_start` to the run.

use crate::dtb::{self, Board, Ranges};
use crate::hal_impl::HAL;
use crate::{cpu, early_println, exit, gic, heap, layout, mmu, psci, smp_boot, uart};
use alloc::vec::Vec;
use kernel::bootargs::ExitMethod;
use kernel::mm::pgtable::{build_identity_map, BumpTableAlloc, PgtableAlloc};
use kernel::mm::types::PhysRange;
use kernel::record::Record;
use kernel::smp::MAX_CPUS;

/// Where to look for the DTB when x0 is 0 (ELF boot): QEMU virt puts it at the start of RAM.
#[cfg(not(feature = "board-rpi4"))]
const DTB_SCAN_START: u64 = 0x4000_0000;
#[cfg(feature = "board-rpi4")]
const DTB_SCAN_START: u64 = 0x0;

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
    let mut sink = |b: &[u8]| uart::write_bytes(b);
    kernel::rt::fault::write_end(kernel::rt::exit::code::FAULT, &mut sink);
    exit::leave(kernel::rt::exit::code::FAULT)
}

fn board_name(b: &Board) -> &'static str {
    match b.compatible {
        "linux,dummy-virt" => "qemu-virt",
        c if c.starts_with("raspberrypi,4") => "rpi4",
        c => c,
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// The RAM range that holds `addr`.
fn ram_around(b: &Board, addr: u64) -> Option<dtb::Range> {
    b.memory
        .as_slice()
        .iter()
        .copied()
        .find(|&(s, e)| s <= addr && addr < e)
}

/// Rust entry of the boot CPU (from `_start`: stack, TPIDR_EL1 = 0, VBAR set, .bss zeroed,
/// MMU off). `entry_el` is the exception level the loader entered the image at.
#[no_mangle]
extern "C" fn boot_primary_main(x0: u64, entry_el: u64) -> ! {
    // --- MMU off: plain loads and stores only (no exclusives, so no locks, no heap). ---
    let (img_start, img_end) = layout::image();
    let Some(dtb_pa) = dtb::locate(x0, DTB_SCAN_START, img_start) else {
        early_fatal("no devicetree: x0 holds none and none found below the image")
    };
    // SAFETY: `locate` found the FDT magic there; boot keeps the blob out of free memory.
    let board = match unsafe { dtb::parse(dtb_pa) } {
        Ok(b) => b,
        Err(dtb::DtbError::NoMemory) => early_fatal("devicetree has no memory node"),
        Err(dtb::DtbError::Bad(fdt::FdtError::BadMagic)) => early_fatal("devicetree: bad magic"),
        Err(dtb::DtbError::Bad(_)) => early_fatal("devicetree is malformed or truncated"),
    };
    if let Some(u) = board.uart {
        uart::set_base(u as usize);
    }
    psci::set_conduit(board.psci);
    early_println!(
        "gupbed: boot cpu entered at EL{entry_el}, running at EL{}; devicetree at {dtb_pa:#x} ({})",
        cpu::el(),
        board.compatible
    );

    // Identity map: RAM Normal WB, the rest of the low 4 GiB Device-nGnRE, built by
    // kernel::mm::pgtable into pages bump-allocated right after the image.
    let Some((_, ram_end)) = ram_around(&board, img_start) else {
        early_fatal("the image is not inside any RAM range of the devicetree")
    };
    let tables_end = (img_end + EARLY_TABLES_MAX).min(ram_end);
    // SAFETY: [img_end, tables_end) is RAM after the image (inside the RAM range holding the
    // image), unused by anything; identity-mapped once the MMU is on, and kept out of the free
    // ranges given to mm below.
    let bump = unsafe { BumpTableAlloc::new(img_end, tables_end) };
    let ram = board.memory;
    let device = layout::device_holes(ram.as_slice());
    let root = match build_identity_map(
        &bump as &dyn PgtableAlloc,
        ram.as_slice(),
        device.as_slice(),
    ) {
        Ok(root) => root,
        Err(_) => early_fatal("building the identity map failed"),
    };
    let (tables_start, tables_used_end) = bump.allocated_range();

    // Memory written with the MMU off must not be shadowed by stale cache lines (real
    // hardware; QEMU models no caches).
    let (bss, stacks_end) = layout::bss_and_stacks();
    mmu::invalidate_dcache_range(bss, stacks_end);
    mmu::invalidate_dcache_range(tables_start, tables_used_end);
    mmu::invalidate_dcache_range(board.dtb.0, board.dtb.1);
    mmu::enable(root);

    // --- MMU and caches on: exclusives, locks and the heap work from here. ---
    mmu::publish_root(root);
    kernel::mm::pgtable::set_swapper_pg_dir(root);
    kernel::hal::install(&HAL);
    let (heap_start, heap_end) = layout::heap();
    // SAFETY: the .heap region of the image, identity-mapped Normal memory, used by nothing
    // else.
    unsafe { heap::init(heap_start, heap_end) };
    // GICv2 for SGIs (PSTATE.I stays masked; runs unmask IRQs where they use SGIs).
    if let (Some((gicd, 2)), Some(gicc)) = (board.gic, board.gicc) {
        gic::init_distributor(gicd, gicc);
        gic::init_cpu(0);
    }

    let args = kernel::run::setup(board.bootargs);
    exit::use_psci(args.exit == Some(ExitMethod::Psci));

    if board.cpus > MAX_CPUS {
        let msg = alloc::format!(
            "the devicetree lists {} CPUs; gupbed supports at most {MAX_CPUS} (QEMU: -smp 1..{MAX_CPUS})",
            board.cpus
        );
        kernel::rt::exit::usage_error("platform", &msg);
    }

    // Free RAM for mm: everything but the image (with its early tables), the DTB and
    // /memreserve/ entries.
    let mut holes = Ranges::new();
    holes.push((img_start, tables_used_end));
    holes.push(board.dtb);
    for &r in board.reserved.as_slice() {
        holes.push(r);
    }
    let free = layout::subtract(ram.as_slice(), holes.as_slice());
    let free: Vec<PhysRange> = free
        .as_slice()
        .iter()
        .map(|&(start, end)| PhysRange { start, end })
        .collect();
    let free_bytes: u64 = free.iter().map(|r| r.end - r.start).sum();
    let mut line = kernel::console::LineBuf::new();
    for (i, r) in free.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = core::fmt::Write::write_fmt(
            &mut line,
            format_args!("{sep}{:#x}..{:#x}", r.start, r.end),
        );
    }
    kernel::kprintln!(
        "gupbed: image {img_start:#x}..{img_end:#x}, early tables {tables_start:#x}..{tables_used_end:#x}, devicetree {:#x}..{:#x}; free RAM {} MiB: {}",
        board.dtb.0,
        board.dtb.1,
        free_bytes >> 20,
        core::str::from_utf8(line.as_bytes()).unwrap_or("?")
    );
    kernel::mm::init(&free);

    // Secondaries.
    let expected = board.cpus.max(1);
    let mpidrs = &board.cpu_mpidr[..board.cpus.min(dtb::MAX_DTB_CPUS)];
    let brought = if expected > 1 && psci::conduit().is_none() {
        kernel::kprintln!("gupbed: no PSCI in the devicetree: only the boot CPU runs");
        smp_boot::Bringup {
            online: 1,
            failures: 1,
        }
    } else {
        smp_boot::bring_up(mpidrs, expected)
    };
    HAL.set_online(brought.online);

    report_platform(&board, expected, &brought, entry_el, free_bytes);
    smp_boot::release();
    kernel::run::dispatch::main(0, brought.online, cpu::info(entry_el))
}

fn report_platform(
    board: &Board,
    expected: usize,
    brought: &smp_boot::Bringup,
    entry_el: u64,
    free_bytes: u64,
) {
    let online = brought.online;
    let info = cpu::info(entry_el);
    let (implementer, part, model) = cpu::model();
    let hz = kernel::hal::hal().counter_hz();
    let ram: u64 = board.memory.as_slice().iter().map(|(s, e)| e - s).sum();
    let psci_v = psci::version();
    let conduit = psci::conduit().map(|c| c.name()).unwrap_or("none");
    kernel::kprintln!(
        "gupbed: {} ({}), {model} (implementer {implementer:#x} part {part:#x}), {online}/{expected} CPUs online, EL{} (entered at EL{entry_el}), MMU {}, D-cache {}, I-cache {}",
        board_name(board),
        board.model,
        info.el,
        on_off(info.mmu),
        on_off(info.dcache),
        on_off(info.icache)
    );
    match psci_v {
        Some((maj, min)) => kernel::kprintln!(
            "gupbed: RAM {} MiB, heap {} MiB, counter {hz} Hz, PSCI {maj}.{min} via {conduit}, bootargs \"{}\"",
            ram >> 20,
            heap::stats().1 >> 20,
            board.bootargs
        ),
        None => kernel::kprintln!(
            "gupbed: RAM {} MiB, heap {} MiB, counter {hz} Hz, no PSCI, bootargs \"{}\"",
            ram >> 20,
            heap::stats().1 >> 20,
            board.bootargs
        ),
    }
    Record::new("platform")
        .str("board", board_name(board))
        .str("cpu_model", model)
        .u64("midr_implementer", implementer as u64)
        .u64("midr_partnum", part as u64)
        .u64("cpus_expected", expected as u64)
        .u64("cpus_online", online as u64)
        .u64("cpus_failed", brought.failures as u64)
        .u64("el", info.el as u64)
        .u64("entry_el", info.entry_el as u64)
        .bool("mmu", info.mmu)
        .bool("dcache", info.dcache)
        .bool("icache", info.icache)
        .u64("counter_hz", hz)
        .u64("ram_bytes", ram)
        .u64("free_bytes", free_bytes)
        .str("psci", conduit)
        .emit();
}
