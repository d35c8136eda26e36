//! Running the image under QEMU with a kill timeout, streaming and parsing its console.

use super::accel::Accel;
use super::discover::Qemu;
use crate::board::Board;
use crate::progress::View;
use crate::records::{parse_line, Line, Typed};
use crate::report::Collector;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// TCG with one host thread per vCPU: real overlap between guest CPUs.
pub const ACCEL: &str = super::accel::TCG;

/// The emulated machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub board: Board,
    pub cpus: u32,
    pub memory_mib: u32,
    pub cpu: String,
    pub accel: Accel,
}

impl Machine {
    /// `cpus` CPUs of model `cpu` on `board` under TCG, with the board's default memory.
    pub fn new(board: Board, cpus: u32, cpu: &str) -> Self {
        Self {
            board,
            cpus,
            memory_mib: board.spec().default_memory_mib,
            cpu: cpu.to_string(),
            accel: Accel::Tcg,
        }
    }

    /// The bootargs xtask always passes for this machine: how the kernel leaves it. Under TCG
    /// QEMU runs with `-semihosting`, whose exit carries the kernel's code (every board's
    /// kernel can use it; the Pi's default, the PM watchdog halt, would make QEMU exit 0);
    /// under KVM there is no semihosting, so PSCI `SYSTEM_OFF`, and the code comes from the
    /// `end` record.
    pub fn exit_bootarg(&self) -> (&'static str, String) {
        let how = if self.accel.semihosting() {
            "semihosting"
        } else {
            "psci"
        };
        ("exit", how.to_string())
    }
}

/// QEMU's command line for `machine` booting `image` with `bootargs`.
pub fn qemu_args(m: &Machine, image: &Path, bootargs: &str) -> Vec<String> {
    let mut a: Vec<String> = match m.accel {
        Accel::Tcg => m.board.spec().machine_args(&m.cpu),
        // The host's cores and the host's GIC version (a GICv3 host without v2 compatibility
        // cannot give the guest a GICv2; the kernel then reports V1i's shootdown as `flag`).
        Accel::Kvm => ["-M", "virt,gic-version=host", "-cpu", "host"]
            .map(String::from)
            .to_vec(),
    };
    let mut push = |s: &[&str]| a.extend(s.iter().map(|x| x.to_string()));
    push(&["-accel", m.accel.qemu_value()]);
    push(&[
        "-smp",
        &m.cpus.to_string(),
        "-m",
        &format!("{}M", m.memory_mib),
    ]);
    // No NIC: the testbed has no network, and `virt`'s default virtio-net wants
    // `efi-virtio.rom`, which a minimal QEMU install (no `ipxe-qemu`) lacks.
    push(&["-nic", "none"]);
    push(&["-nographic", "-no-reboot"]);
    if m.accel.semihosting() {
        push(&["-semihosting"]);
    }
    push(&["-kernel", &image.to_string_lossy(), "-append", bootargs]);
    a
}

/// The kernel's own deadline for a host timeout: shorter, so the kernel can report and exit
/// (code 4) before the host kills QEMU (margin: 10 %, at least 2 s, at most 15 s).
pub fn kernel_deadline_ms(timeout_s: u64) -> u64 {
    let t = timeout_s.saturating_mul(1000);
    let margin = (t / 10).clamp(2000, 15_000);
    if t > margin {
        t - margin
    } else {
        t / 2
    }
}

/// Compose the bootargs: xtask's keys first, then the user's tokens; a user token whose key
/// xtask would also set replaces xtask's (the kernel refuses duplicate keys).
pub fn compose_bootargs(ours: &[(&str, String)], extra: &[String]) -> String {
    let key = |t: &str| t.split('=').next().unwrap_or("").to_string();
    let extra_keys: Vec<String> = extra.iter().map(|t| key(t)).collect();
    let mut out: Vec<String> = ours
        .iter()
        .filter(|(k, _)| !extra_keys.iter().any(|e| e == k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    out.extend(extra.iter().cloned());
    out.join(" ")
}

/// Boot `image` once on `machine` with `pairs` as bootargs (plus the kernel deadline derived
/// from `timeout_s`) and collect its records.
pub fn boot(
    qemu: &Qemu,
    machine: Machine,
    image: &Path,
    pairs: &[(&str, String)],
    timeout_s: u64,
    show: bool,
) -> Result<Outcome, String> {
    let mut all: Vec<(&str, String)> = pairs.to_vec();
    all.push(("deadline_ms", kernel_deadline_ms(timeout_s).to_string()));
    if !all.iter().any(|(k, _)| *k == "exit") {
        all.push(machine.exit_bootarg());
    }
    let spec = RunSpec {
        qemu,
        machine,
        image: image.to_path_buf(),
        bootargs: compose_bootargs(&all, &[]),
        timeout: Duration::from_secs(timeout_s),
        show,
        verbose: false,
    };
    run(&spec).map_err(|e| format!("{e:#}"))
}

/// One QEMU run.
pub struct RunSpec<'a> {
    pub qemu: &'a Qemu,
    pub machine: Machine,
    pub image: PathBuf,
    pub bootargs: String,
    pub timeout: Duration,
    /// Print human lines live (false: quiet, the caller shows the log on failure).
    pub show: bool,
    /// Also print raw record lines.
    pub verbose: bool,
}

/// What happened.
pub struct Outcome {
    pub collector: Collector,
    /// QEMU's exit code (None: killed by a signal, e.g. by our timeout).
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// Every console line, in order (for `--log` and failure diagnostics).
    pub lines: Vec<String>,
    /// QEMU's own stderr lines.
    pub stderr: Vec<String>,
    /// The bootargs the kernel was given.
    pub bootargs: String,
}

enum Event {
    Out(String),
    Eof,
}

/// Start QEMU, stream and parse its console, kill it at the timeout.
pub fn run(spec: &RunSpec) -> Result<Outcome> {
    let args = qemu_args(&spec.machine, &spec.image, &spec.bootargs);
    let mut cmd = Command::new(&spec.qemu.path);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if spec.show {
        crate::util::echo(&cmd);
    }
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", spec.qemu.path.display()))?;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().context("QEMU stdout")?;
    let out_thread = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let s = String::from_utf8_lossy(&buf);
                    let s = s.strip_suffix('\n').unwrap_or(&s).to_string();
                    if tx.send(Event::Out(s)).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(Event::Eof);
    });
    let mut stderr = child.stderr.take().context("QEMU stderr")?;
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut view = View::new(spec.show);
    let mut c = Collector::default();
    let mut lines = Vec::new();
    let deadline = start + spec.timeout;
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        let wait = (deadline - now).min(Duration::from_secs(1));
        match rx.recv_timeout(wait) {
            Ok(Event::Out(s)) => {
                let parsed = parse_line(&s);
                c.feed(&parsed);
                show_line(&mut view, &parsed, &s, spec.verbose);
                lines.push(s);
            }
            Ok(Event::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => view.tick(c.last_line.as_deref()),
        }
    }
    if timed_out {
        let _ = child.kill();
    }
    let status = child.wait().context("waiting for QEMU")?;
    // Lines that arrived between the deadline and the kill still count.
    let _ = out_thread.join();
    while let Ok(Event::Out(s)) = rx.try_recv() {
        let parsed = parse_line(&s);
        c.feed(&parsed);
        show_line(&mut view, &parsed, &s, spec.verbose);
        lines.push(s);
    }
    view.finish();
    let err_text = err_thread.join().unwrap_or_default();
    let stderr: Vec<String> = err_text.lines().map(String::from).collect();
    if spec.show {
        for l in &stderr {
            eprintln!("qemu: {l}");
        }
    }
    let duration = start.elapsed();
    if timed_out {
        eprintln!(
            "xtask: timeout after {} s: QEMU killed\nxtask: last line: {}\nxtask: last progress: {}",
            spec.timeout.as_secs(),
            c.last_line.as_deref().unwrap_or("(none)"),
            c.last_progress.as_deref().unwrap_or("(none)")
        );
    }
    Ok(Outcome {
        collector: c,
        exit: status.code(),
        timed_out,
        duration,
        lines,
        stderr,
        bootargs: spec.bootargs.clone(),
    })
}

/// When QEMU itself failed (it ended before the kernel printed a single record, without our
/// timeout), what it said and what that usually means; None when the kernel got to speak.
/// A broken QEMU install then reads as such, not as "no result records".
pub fn qemu_failure(out: &Outcome) -> Option<String> {
    if out.collector.records > 0 || out.timed_out {
        return None;
    }
    let said: Vec<&str> = out
        .stderr
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let code = match out.exit {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".into(),
    };
    let mut msg = if said.is_empty() {
        format!("QEMU ended ({code}) before the kernel printed any record, and said nothing")
    } else {
        format!(
            "QEMU failed ({code}) before the kernel printed any record: {}",
            said.join(" | ")
        )
    };
    let text = said.join("\n").to_ascii_lowercase();
    let hint = if text.contains("romfile") || text.contains("rom file") {
        Some(
            "a ROM file this QEMU wants is missing from its install (a minimal install has no \
             ipxe-qemu, which ships efi-*.rom). gupbed passes `-nic none` so that virt needs no \
             ROM: if the command line above has it, another device wants one - a gupbed bug",
        )
    } else if text.contains("could not load") || text.contains("bios") || text.contains("firmware")
    {
        Some("a firmware file is missing from this QEMU install: reinstall it with `cargo xtask setup`")
    } else if text.contains("accelerator") || text.contains("tcg") {
        Some("this QEMU cannot run TCG (-accel tcg,thread=multi): install a full qemu-system-arm")
    } else if text.contains("machine type") || text.contains("unsupported machine") {
        Some("this QEMU lacks the machine (virt, raspi4b): install QEMU >= 9.0 with `cargo xtask setup`")
    } else if text.contains("kernel") && (text.contains("could not") || text.contains("error")) {
        Some("QEMU could not load the image: rebuild it with `cargo xtask build`")
    } else if said.is_empty() && out.exit == Some(0) {
        Some("the kernel printed nothing at all: is the image a gupbed Image for this board?")
    } else {
        None
    };
    if let Some(h) = hint {
        msg.push_str("\n  hint: ");
        msg.push_str(h);
    }
    Some(msg)
}

fn show_line(view: &mut View, parsed: &Line, raw: &str, verbose: bool) {
    match parsed {
        Line::Human(s) => view.line(s),
        Line::Malformed { reason, .. } => {
            view.line(&format!("xtask: malformed record ({reason}): {raw}"))
        }
        Line::Record { before, record } => {
            if let Some(b) = before.as_ref().filter(|b| !b.trim().is_empty()) {
                view.line(b);
            }
            if verbose {
                view.line(raw);
            }
            if let Typed::Progress(p) = &record.typed {
                view.progress(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_command_line() {
        let m = Machine::new(Board::Virt, 2, "max");
        let a = qemu_args(&m, Path::new("/t/Image"), "run=selftest seed=1");
        assert_eq!(
            a.join(" "),
            "-M virt,gic-version=2 -cpu max -accel tcg,thread=multi -smp 2 -m 512M -nic none -nographic \
             -no-reboot -semihosting -kernel /t/Image -append run=selftest seed=1"
        );
        assert_eq!(m.exit_bootarg(), ("exit", "semihosting".to_string()));
        assert_eq!(
            a.last().unwrap(),
            "run=selftest seed=1",
            "bootargs are one argument"
        );
    }

    fn outcome(records: usize, stderr: &[&str], exit: Option<i32>) -> Outcome {
        Outcome {
            collector: Collector {
                records,
                ..Default::default()
            },
            exit,
            timed_out: false,
            duration: Duration::from_millis(10),
            lines: Vec::new(),
            stderr: stderr.iter().map(|s| s.to_string()).collect(),
            bootargs: String::new(),
        }
    }

    #[test]
    fn a_broken_qemu_is_named_as_such() {
        // Issue 7: the minimal install without -nic none.
        let out = outcome(
            0,
            &["qemu-system-aarch64: failed to find romfile \"efi-virtio.rom\""],
            Some(1),
        );
        let m = qemu_failure(&out).unwrap();
        assert!(m.starts_with("QEMU failed (exit code 1) before the kernel printed any record: qemu-system-aarch64: failed to find romfile"), "{m}");
        assert!(m.contains("ipxe-qemu"), "{m}");
        let m = qemu_failure(&outcome(0, &[], Some(0))).unwrap();
        assert!(
            m.contains("said nothing") && m.contains("printed nothing"),
            "{m}"
        );
        assert!(qemu_failure(&outcome(
            0,
            &["x: unsupported machine type 'raspi4b'"],
            Some(1)
        ))
        .unwrap()
        .contains("QEMU >= 9.0"));
        // Once the kernel spoke, the records tell what happened.
        assert_eq!(qemu_failure(&outcome(3, &["warning"], Some(1))), None);
        let mut t = outcome(0, &[], None);
        t.timed_out = true;
        assert_eq!(qemu_failure(&t), None);
    }

    #[test]
    fn raspi4b_and_kvm_command_lines() {
        let m = Machine::new(Board::Rpi4, 4, "cortex-a72");
        assert_eq!(
            qemu_args(&m, Path::new("/t/kernel8.img"), "run=selftest").join(" "),
            "-M raspi4b -accel tcg,thread=multi -smp 4 -m 2048M -nic none -nographic -no-reboot \
             -semihosting -kernel /t/kernel8.img -append run=selftest"
        );
        let k = Machine {
            accel: Accel::Kvm,
            ..Machine::new(Board::Virt, 2, "cortex-a72")
        };
        assert_eq!(
            qemu_args(&k, Path::new("/t/Image"), "run=selftest").join(" "),
            "-M virt,gic-version=host -cpu host -accel kvm -smp 2 -m 512M -nic none -nographic \
             -no-reboot -kernel /t/Image -append run=selftest"
        );
        assert_eq!(k.exit_bootarg(), ("exit", "psci".to_string()));
    }

    #[test]
    fn deadline_leaves_a_margin() {
        assert_eq!(kernel_deadline_ms(120), 108_000);
        assert_eq!(kernel_deadline_ms(10), 8_000);
        assert_eq!(kernel_deadline_ms(1000), 985_000);
        assert_eq!(kernel_deadline_ms(1), 500);
    }

    #[test]
    fn user_bootargs_replace_ours() {
        let ours = [
            ("run", "gup".to_string()),
            ("seed", "7".to_string()),
            ("deadline_ms", "5".to_string()),
        ];
        assert_eq!(compose_bootargs(&ours, &[]), "run=gup seed=7 deadline_ms=5");
        assert_eq!(
            compose_bootargs(&ours, &["seed=9".into(), "verbose".into()]),
            "run=gup deadline_ms=5 seed=9 verbose"
        );
    }
}
