//! `cargo xtask rpi4`: an SD-card folder for a Raspberry Pi 4 — the image (`kernel8.img`),
//! the firmware's `config.txt` and the command line (`cmdline.txt`), plus the firmware files
//! if `--firmware DIR` has them.
//!
//! Default command line: the hardware campaign, the whole GUP matrix (`run=suite`, every
//! variant on its own experiment) with a time budget per row (`--hours` over the rows), a
//! kernel deadline a little beyond it, and `memmodel=weak` (a Cortex-A72 is weakly ordered;
//! the run's litmus calibration measures it anyway). Each finished row is a `result` record
//! on the serial line, so a log cut short still reports every row before the cut.

use crate::board::Board;
use crate::cli::Rpi4Args;
use crate::image::{self, BuildOpts};
use crate::qemu::run::compose_bootargs;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Rows of `run=suite` (every variant on its own experiment). Mirrors the kernel's variant
/// table (`kernel/src/stress/variants.rs`); a unit test keeps the two equal.
pub const SUITE_ROWS: u64 = 15;

/// Share of the campaign's time given to the rows (the rest: boot, the litmus calibration,
/// audits, records).
const ROW_SHARE_PERCENT: u64 = 95;

/// Firmware files the Pi 4 needs on the card (from the Raspberry Pi firmware repository's
/// `boot/` directory), and the ones that help.
pub const FIRMWARE_REQUIRED: &[&str] = &["start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"];
pub const FIRMWARE_OPTIONAL: &[&str] = &["overlays/disable-bt.dtbo"];

/// The `config.txt` gupbed boots with.
pub const CONFIG_TXT: &str = "\
# gupbed on a Raspberry Pi 4 (written by `cargo xtask rpi4`).
# 64-bit kernel, loaded where it is linked (docs differ on the default load address).
arm_64bit=1
kernel=kernel8.img
kernel_address=0x80000
# The console: PL011 UART0 on GPIO 14 (TXD, header pin 8) / 15 (RXD, pin 10), 115200 8N1
# from a 48 MHz reference clock. gupbed routes the pins and programs the UART itself; these
# make the firmware agree (disable-bt gives UART0 back from Bluetooth; it needs
# overlays/disable-bt.dtbo on the card, and is harmless without it).
enable_uart=1
init_uart_clock=48000000
init_uart_baud=115200
dtoverlay=disable-bt
# The firmware's own boot messages on the same UART: if the log shows these but no gupbed
# line, the kernel did not start.
uart_2ndstage=1
# GIC-400 (the default on the Pi 4): gupbed uses its software-generated interrupts.
enable_gic=1
";

/// What goes on `cmdline.txt`'s one line: `-- ` then gupbed's bootargs (the firmware puts
/// ~200 characters of Linux parameters before the file's contents in `/chosen/bootargs`;
/// gupbed reads only what follows the last `--`).
pub fn cmdline(bootargs: &str) -> String {
    format!("-- {bootargs}\n")
}

/// The campaign's bootargs for `hours` of running, with the user's tokens on top (a user token
/// replaces the campaign's for the same key; race keys are added only for the race runs).
pub fn bootargs(hours: f64, user: &[String]) -> Result<String> {
    if !(hours > 0.0 && hours <= 24.0 * 14.0) {
        bail!("--hours {hours}: use a positive number of hours (at most two weeks)");
    }
    let run = user
        .iter()
        .rev()
        .find_map(|t| t.strip_prefix("run="))
        .unwrap_or("suite");
    let total_ms = (hours * 3_600_000.0) as u64;
    let mut ours: Vec<(&str, String)> = vec![("run", run.to_string())];
    if matches!(run, "suite" | "gup") {
        let row_ms = total_ms * ROW_SHARE_PERCENT / 100 / SUITE_ROWS;
        ours.push(("time_ms", row_ms.to_string()));
        // The kernel's deadline: a hung row still ends the run with a report (exit 4).
        ours.push((
            "deadline_ms",
            (total_ms + total_ms / 4 + 600_000).to_string(),
        ));
    }
    if matches!(run, "suite" | "gup" | "litmus") {
        ours.push(("memmodel", "weak".to_string()));
    }
    for t in user {
        crate::cli::validate_bootarg_token(t).map_err(anyhow::Error::msg)?;
    }
    Ok(compose_bootargs(&ours, user))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let p = dir.join(name);
    std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
}

/// Copy the firmware files from `fw` into `out`; missing required ones are an error.
fn copy_firmware(fw: &Path, out: &Path) -> Result<Vec<String>> {
    let mut copied = Vec::new();
    let missing: Vec<&str> = FIRMWARE_REQUIRED
        .iter()
        .copied()
        .filter(|f| !fw.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "--firmware {}: missing {} (from the `boot/` directory of \
             https://github.com/raspberrypi/firmware)",
            fw.display(),
            missing.join(", ")
        );
    }
    for f in FIRMWARE_REQUIRED.iter().chain(FIRMWARE_OPTIONAL) {
        let src = fw.join(f);
        if !src.is_file() {
            continue;
        }
        let dst = out.join(f);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&src, &dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        copied.push(f.to_string());
    }
    Ok(copied)
}

/// `cargo xtask rpi4`.
pub fn command(a: &Rpi4Args) -> Result<i32> {
    let args = match bootargs(a.hours, &a.bootargs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(crate::qemu::EXIT_USAGE);
        }
    };
    let out: PathBuf = a
        .out
        .clone()
        .unwrap_or_else(|| image::target_dir().join("rpi4-sd"));
    let img = image::build(BuildOpts {
        board: Board::Rpi4,
        release: true,
        deny_warnings: false,
    })?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::copy(&img.raw, out.join("kernel8.img"))
        .with_context(|| format!("copying {}", img.raw.display()))?;
    write(&out, "config.txt", CONFIG_TXT.as_bytes())?;
    write(&out, "cmdline.txt", cmdline(&args).as_bytes())?;
    let firmware = match &a.firmware {
        Some(fw) => copy_firmware(fw, &out)?,
        None => Vec::new(),
    };
    println!("SD-card folder: {}", out.display());
    println!(
        "  kernel8.img  ({} bytes)",
        std::fs::metadata(out.join("kernel8.img"))?.len()
    );
    println!("  config.txt");
    println!("  cmdline.txt  -- {args}");
    for f in &firmware {
        println!("  {f}");
    }
    let missing: Vec<&str> = FIRMWARE_REQUIRED
        .iter()
        .copied()
        .filter(|f| !out.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        println!(
            "still needed on the card's FAT partition: {} (and optionally {}), from the `boot/` \
             directory of https://github.com/raspberrypi/firmware (or pass --firmware DIR)",
            missing.join(", "),
            FIRMWARE_OPTIONAL.join(", ")
        );
    }
    println!(
        "serial: GPIO 14 (pin 8) -> adapter RX, GPIO 15 (pin 10) -> adapter TX, GND (pin 6); \
         115200 8N1, e.g. `picocom -b 115200 --logfile pi.log /dev/ttyUSB0`"
    );
    println!("then: cargo xtask report pi.log --json pi.json --plot pi.svg");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_rows_mirror_the_kernel() {
        assert_eq!(
            SUITE_ROWS,
            kernel::stress::variants::VARIANTS.len() as u64,
            "xtask's SUITE_ROWS drifted from kernel/src/stress/variants.rs"
        );
    }

    #[test]
    fn campaign_bootargs() {
        let a = bootargs(8.0, &[]).unwrap();
        // 8 h * 95 % / 15 rows = 1 824 000 ms per row; deadline 8 h * 1.25 + 10 min.
        assert_eq!(
            a,
            "run=suite time_ms=1824000 deadline_ms=36600000 memmodel=weak"
        );
        let a = bootargs(1.0, &["time_ms=5000".into(), "seed=7".into()]).unwrap();
        assert_eq!(
            a,
            "run=suite deadline_ms=5100000 memmodel=weak time_ms=5000 seed=7"
        );
        // Runs that read no race keys get none (the kernel refuses keys a run does not read).
        assert_eq!(
            bootargs(8.0, &["run=selftest".into()]).unwrap(),
            "run=selftest"
        );
        assert_eq!(
            bootargs(8.0, &["run=litmus".into()]).unwrap(),
            "memmodel=weak run=litmus"
        );
        assert!(bootargs(0.0, &[]).is_err());
        assert!(bootargs(8.0, &["a b".into()]).is_err());
        assert_eq!(cmdline("run=selftest"), "-- run=selftest\n");
    }

    #[test]
    fn config_txt_has_what_the_pi_needs() {
        for line in [
            "arm_64bit=1",
            "enable_uart=1",
            "kernel_address=0x80000",
            "kernel=kernel8.img",
            "init_uart_clock=48000000",
        ] {
            assert!(CONFIG_TXT.lines().any(|l| l == line), "{line}");
        }
        assert!(
            !CONFIG_TXT.contains("armstub"),
            "the built-in armstub has the spin table"
        );
    }

    #[test]
    fn firmware_copy_needs_the_required_files() {
        let dir = std::env::temp_dir().join(format!("gupbed-fw-{}", std::process::id()));
        let (fw, out) = (dir.join("fw"), dir.join("out"));
        std::fs::create_dir_all(fw.join("overlays")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(fw.join("start4.elf"), b"x").unwrap();
        let e = copy_firmware(&fw, &out).unwrap_err().to_string();
        assert!(e.contains("fixup4.dat, bcm2711-rpi-4-b.dtb"), "{e}");
        std::fs::write(fw.join("fixup4.dat"), b"x").unwrap();
        std::fs::write(fw.join("bcm2711-rpi-4-b.dtb"), b"x").unwrap();
        std::fs::write(fw.join("overlays/disable-bt.dtbo"), b"x").unwrap();
        let got = copy_firmware(&fw, &out).unwrap();
        assert_eq!(got.len(), 4);
        assert!(out.join("overlays/disable-bt.dtbo").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
