//! QEMU: discovery, installation, running; and the `qemu` / `report` commands.

pub mod accel;
pub mod discover;
pub mod install;
pub mod run;

use crate::cli::{QemuArgs, ReportArgs};
use crate::image::{self, BuildOpts};
use crate::report::{self, Collector, HostInfo, Source, Verdict};
use crate::{plot, table};
use anyhow::{Context, Result};
use discover::Qemu;
use run::{Machine, RunSpec};
use std::time::Duration;

/// Exit code for flags refused before anything starts (same as the kernel's "bad bootargs").
pub const EXIT_USAGE: i32 = 2;

/// A seed from the clock, for runs that were not given one.
fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // splitmix64 of the nanoseconds: nearby start times give unrelated seeds.
    let mut z = (t.as_nanos() as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) >> 1
}

/// Check `--cpu` against what this QEMU offers (cheap: `-cpu help`).
pub fn check_cpu_model(q: &Qemu, cpu: &str) -> Result<(), String> {
    match discover::cpu_models(q) {
        Ok(models) if !models.is_empty() && !models.iter().any(|m| m == cpu) => Err(format!(
            "--cpu {cpu}: QEMU {} has no such CPU model (e.g. cortex-a72, cortex-a53, max)",
            q.version
        )),
        _ => Ok(()),
    }
}

/// `cargo xtask qemu`.
pub fn command(a: &QemuArgs) -> Result<i32> {
    if let Err(e) = a.validate() {
        eprintln!("error: {e}");
        return Ok(EXIT_USAGE);
    }
    let q = install::ensure(false)?;
    if a.plot.is_some() {
        // Before the run, not after it: a missing font is installed (as QEMU is) or reported
        // while there is still time to fix it; the run goes on either way.
        if let Err(e) = install::ensure_font(false) {
            eprintln!("xtask: warning: the plot will not be written: {e:#}");
        }
    }
    if a.accel == accel::Accel::Tcg && a.board.spec().cpu_model == crate::board::CpuModel::Choice {
        if let Err(e) = check_cpu_model(&q, a.cpu_model()) {
            eprintln!("error: {e}");
            return Ok(EXIT_USAGE);
        }
    }
    let img = image::build(BuildOpts {
        board: a.board,
        release: true,
        deny_warnings: false,
    })?;
    if !img.has_linux_header {
        eprintln!(
            "xtask: warning: {} has no arm64 Image header: QEMU will not pass the DTB in x0",
            img.raw.display()
        );
    }
    let seed = a.seed.unwrap_or_else(clock_seed);
    if a.cpus.is_none() {
        eprintln!(
            "xtask: {} vCPUs (the default for {} host cores; --cpus N to choose)",
            a.cpus(),
            crate::cli::host_cores()
        );
    }
    let mut ours = vec![
        ("run", a.run.clone()),
        ("seed", seed.to_string()),
        (
            "deadline_ms",
            run::kernel_deadline_ms(a.timeout).to_string(),
        ),
    ];
    if let Some(v) = &a.variant {
        ours.push(("variant", v.clone()));
    }
    if let Some(m) = a.memmodel().bootarg(a.effective_run()) {
        ours.push(("memmodel", m.to_string()));
    }
    // QEMU's exit status carries the kernel's code only through semihosting (TCG); the Pi
    // image's own default (the PM watchdog halt) would make QEMU exit 0 whatever the run found.
    let machine = Machine {
        board: a.board,
        cpus: a.cpus(),
        memory_mib: a.memory_mib(),
        cpu: a.cpu_model().to_string(),
        accel: a.accel,
    };
    ours.push(machine.exit_bootarg());
    let bootargs = run::compose_bootargs(&ours, &a.bootargs);
    eprintln!("xtask: seed {seed} (replay with --seed {seed})");
    let spec = RunSpec {
        qemu: &q,
        machine,
        image: img.raw.clone(),
        bootargs: bootargs.clone(),
        timeout: Duration::from_secs(a.timeout),
        show: true,
        verbose: a.verbose,
    };
    let out = run::run(&spec)?;
    if let Some(p) = &a.log {
        let mut text = out.lines.join("\n");
        text.push('\n');
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    if out
        .collector
        .kernel_error_mentions("unknown key `memmodel`")
    {
        eprintln!("xtask: this kernel does not accept memmodel= yet: rerun with --memmodel none");
    }
    // Without semihosting (KVM) QEMU exits 0 after the kernel's PSCI SYSTEM_OFF whatever the
    // run found: the kernel's code is in its `end` record.
    let exit = match (a.accel.semihosting(), out.exit, out.collector.end) {
        (false, Some(0), Some((_, code))) => Some(code as i32),
        _ => out.exit,
    };
    let mut v = report::verdict(
        &out.collector,
        Source::Qemu {
            exit,
            timed_out: out.timed_out,
        },
        a.expect,
    );
    let qemu_failed = run::qemu_failure(&out);
    if let Some(m) = &qemu_failed {
        v.problems
            .insert(0, report::Problem::host("qemu_failed", m.clone()));
    }
    let host = HostInfo {
        qemu_version: Some(q.version.to_string()),
        accel: Some(a.accel.qemu_value().into()),
        bootargs,
        duration_s: out.duration.as_secs_f64(),
    };
    finish(
        &out.collector,
        &v,
        &host,
        a.json.as_deref(),
        a.plot.as_deref(),
        a.effective_run(),
    )?;
    eprintln!("xtask: QEMU ran {:.2} s", out.duration.as_secs_f64());
    if let Some(m) = qemu_failed {
        eprintln!("error: {m}");
    }
    Ok(v.exit_code)
}

/// Summary table, JSON report and plot, shared by `qemu` and `report`.
fn finish(
    c: &Collector,
    v: &Verdict,
    host: &HostInfo,
    json: Option<&std::path::Path>,
    plot_path: Option<&std::path::Path>,
    title: &str,
) -> Result<()> {
    println!();
    print!("{}", table::summary(c, v));
    if let Some(p) = json {
        report::write_json(p, &report::json_report(c, v, host))?;
        println!("report: {}", p.display());
    }
    if let Some(p) = plot_path {
        match plot::plot(p, &plot::points(&c.results), &format!("gupbed {title}")) {
            Ok(()) => println!("plot: {}", p.display()),
            // A missing plot must not hide the run's verdict.
            Err(e) => eprintln!("xtask: plot not written: {e:#}"),
        }
    }
    Ok(())
}

/// `cargo xtask report LOGFILE`.
pub fn report_command(a: &ReportArgs) -> Result<i32> {
    if let Some(p) = &a.plot {
        if let Err(e) = crate::cli::plot_format(p) {
            eprintln!("error: {e}");
            return Ok(EXIT_USAGE);
        }
    }
    let text =
        std::fs::read(&a.logfile).with_context(|| format!("reading {}", a.logfile.display()))?;
    let text = String::from_utf8_lossy(&text);
    let c = report::collect_log(&text);
    let v = report::verdict(&c, Source::Log, a.expect);
    let host = report::log_host_info(&c);
    finish(
        &c,
        &v,
        &host,
        a.json.as_deref(),
        a.plot.as_deref(),
        "report",
    )?;
    Ok(v.exit_code)
}
