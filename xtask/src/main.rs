//! `cargo xtask`: gupbed's host side. Builds the aarch64 image, runs it under QEMU, parses the
//! kernel's `@gupbed` records into tables, JSON reports and plots, and runs the test suite.

mod bench;
mod bench_gup;
mod board;
mod cli;
mod disasm;
mod freshroot;
mod fuzz;
mod image;
mod imports;
mod loom;
mod plot;
mod premmu;
mod progress;
mod qemu;
mod records;
mod report;
mod rpi4;
mod setup;
mod stats;
mod table;
mod testsuite;
mod toolchain;
mod util;

use clap::Parser;
use cli::{Cli, Cmd};

fn main() {
    let cli = Cli::parse();
    let code = match dispatch(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn dispatch(cmd: Cmd) -> anyhow::Result<i32> {
    match cmd {
        Cmd::Build(a) => {
            let img = image::build(image::BuildOpts {
                board: a.board,
                release: !a.debug,
                deny_warnings: false,
            })?;
            println!("elf:   {}", img.elf.display());
            println!("image: {}", img.raw.display());
            println!(
                "load address {:#x}, entry {:#x}, arm64 Image header: {}",
                img.load_addr,
                img.entry,
                if img.has_linux_header { "yes" } else { "no" }
            );
            Ok(0)
        }
        Cmd::Qemu(a) => qemu::command(&a),
        Cmd::Report(a) => qemu::report_command(&a),
        Cmd::Rpi4(a) => rpi4::command(&a),
        Cmd::Test(a) => testsuite::command(&a),
        Cmd::Loom => loom::command(),
        Cmd::Bench(a) => bench::command(&a),
        Cmd::Disasm(a) => disasm::command(&a),
        Cmd::Setup(a) => setup::command(&a),
        Cmd::Freshroot(a) => freshroot::command(&a),
        Cmd::Fuzz(a) => fuzz::command(&a),
        Cmd::Imports(a) => imports::command(&a),
    }
}
