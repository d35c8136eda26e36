//! Command line: subcommands, flags and the checks made before anything is built or started.

use crate::board::{Board, CpuModel, DEFAULT_CPU};
use crate::qemu::accel::{Accel, Host};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Run names the kernel knows. Mirrors the static registry in `kernel/src/run/registry.rs`
/// (BOOT/MM/GUP engineers add entries there): keep both lists in step. `list` is the kernel's
/// built-in listing of runs and bootargs keys (kernel/src/run/dispatch.rs).
pub const KNOWN_RUNS: &[&str] = &[
    "selftest",
    "mm-stress",
    "gup",
    "suite",
    "litmus",
    "bench",
    "list",
];

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "gupbed host tooling: build the image, run it under QEMU, report, test",
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Build the aarch64 image (ELF and raw Image) and print their paths.
    Build(BuildArgs),
    /// Build the image and run it under QEMU: stream output, parse records, report.
    Qemu(QemuArgs),
    /// Parse a captured serial log (QEMU or real hardware) into the table / JSON report.
    Report(ReportArgs),
    /// Write an SD-card folder for a Raspberry Pi 4 (kernel8.img, config.txt, cmdline.txt).
    Rpi4(Rpi4Args),
    /// Everything CI checks: host tests, clippy, fmt, loom, image build, QEMU cases.
    Test(TestArgs),
    /// Run the loom models of the kernel's lockless code (kernel/tests/loom_models.rs).
    Loom,
    /// Run benchmarks (host and QEMU) and write target/bench.json.
    Bench(BenchArgs),
    /// Disassemble a function of the image ELF, found by (demangled) name substring.
    Disasm(DisasmArgs),
    /// Install QEMU >= 9.0 and the plot font (Debian, as root), then prove the install by
    /// booting the self-test at -smp 2.
    Setup(SetupArgs),
    /// The fresh-machine check (root, CI): debootstrap a clean Debian 12 root, run this xtask's
    /// `setup` inside it, boot the self-test with the QEMU it installed.
    Freshroot(FreshrootArgs),
    /// Fuzz the parsers that read outside input (bootargs, console records) for a bounded time.
    Fuzz(FuzzArgs),
    /// List import loops between the files of a crate (exit 1 if any): `use`s and paths as
    /// arrows, strongly connected components of more than one file.
    Imports(ImportsArgs),
}

/// `--memmodel`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemModelArg {
    Auto,
    Tso,
    Weak,
    Unknown,
    None,
}

/// Runs whose `result` records carry a `verdict` and an `expected` (what `--plot` draws and
/// `--expect` compares).
pub const VERDICT_RUNS: &[&str] = &["gup", "suite"];

/// The runs that read a bootargs key, from the kernel's own table (`kernel/src/bootargs.rs`).
pub fn key_readers(key: &str) -> Vec<&'static str> {
    use kernel::bootargs::Readers;
    match kernel::bootargs::key(key).map(|k| k.runs) {
        Some(Readers::Runs(r)) => r.to_vec(),
        Some(Readers::Every) => KNOWN_RUNS.to_vec(),
        None => Vec::new(),
    }
}

fn runs_phrase(runs: &[&str]) -> String {
    runs.iter()
        .map(|r| format!("run={r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default `--cpus` for `virt`: as many vCPUs as the host runs at full speed (its available
/// cores), at least 2 (the race runs need a pair) and at most 4 (two scripted CPUs and two
/// free-running readers). More busy vCPUs than host cores starve TCG's vCPU threads, which
/// closes race windows and fails rows that need window hits (issue 7: -smp 4 on 2 cores).
pub fn default_cpus(host_cores: usize) -> u32 {
    host_cores.clamp(2, 4) as u32
}

/// The host's cores available to this process (affinity and cgroup quota included).
pub fn host_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The memory model QEMU TCG gives the guest on this host: MTTCG runs guest loads and stores in
/// program order under the host's model (platform notes), so an x86 host is TSO-like and an
/// arm64 host weak. Other hosts: unknown.
pub fn host_memmodel(host_arch: &str) -> &'static str {
    match host_arch {
        "x86_64" | "x86" => "tso",
        "aarch64" => "weak",
        _ => "unknown",
    }
}

impl MemModelArg {
    /// The `memmodel=` value to pass for `run`, if any (QEMU is TCG on every board).
    pub fn bootarg(self, run: &str) -> Option<&'static str> {
        if !key_readers("memmodel").contains(&run) {
            return None;
        }
        match self {
            MemModelArg::None => None,
            MemModelArg::Tso => Some("tso"),
            MemModelArg::Weak => Some("weak"),
            MemModelArg::Unknown => Some("unknown"),
            MemModelArg::Auto => Some(host_memmodel(std::env::consts::ARCH)),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct BuildArgs {
    /// Board to build for.
    #[arg(long, value_enum, default_value = "virt")]
    pub board: Board,
    /// Release profile (the default; accepted for clarity).
    #[arg(long, conflicts_with = "debug")]
    pub release: bool,
    /// Debug profile instead of release.
    #[arg(long)]
    pub debug: bool,
}

#[derive(Args, Debug, Clone)]
pub struct QemuArgs {
    /// Number of vCPUs (1..=8). Default for virt: the host's cores, at least 2 and at most 4
    /// (more busy vCPUs than host cores starve TCG); rpi4: 4.
    #[arg(long)]
    pub cpus: Option<u32>,
    /// Guest RAM in MiB (virt: 64..=8192, default 512; rpi4: must be 2048).
    #[arg(long)]
    pub memory: Option<u32>,
    /// QEMU CPU model for virt (cortex-a72, max, ...; default cortex-a72). raspi4b's is fixed.
    #[arg(long)]
    pub cpu: Option<String>,
    /// What the kernel runs (`run=` bootarg). Default: the GUP suite (the whole V0-V12
    /// matrix, about a minute).
    #[arg(long, default_value = "suite")]
    pub run: String,
    /// Host kill timeout in seconds; the kernel gets a slightly shorter `deadline_ms`.
    /// Generous by default: the suite is sized by time, but 4 vCPUs on a small host are slow.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Plot GUP results per experiment x variant (.svg, or .png; runs gup and suite).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Save the raw console output here (readable by `cargo xtask report`).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Variants to run (`variant=` bootarg; runs gup and suite), e.g. V0,V1,V3.
    #[arg(long)]
    pub variant: Option<String>,
    /// Memory model declared to race runs (`memmodel=` bootarg for gup/suite/litmus): `auto`
    /// derives it from the host (TCG on x86-64: tso; on arm64: weak), `none` omits the key.
    /// Default: auto for those runs.
    #[arg(long, value_enum)]
    pub memmodel: Option<MemModelArg>,
    /// Seed (`seed=` bootarg); chosen from the clock and printed when absent.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fail unless each result's verdict matches its `expected` ("ANY" matches all; runs gup
    /// and suite).
    #[arg(long)]
    pub expect: bool,
    /// Board / QEMU machine.
    #[arg(long, value_enum, default_value = "virt")]
    pub board: Board,
    /// How QEMU runs the guest: `tcg` (emulation, any host) or `kvm` (the host's own Arm cores:
    /// arm64 Linux hosts with /dev/kvm only; `virt` with `-cpu host`).
    #[arg(long, value_enum, default_value = "tcg")]
    pub accel: Accel,
    /// Also print the raw record lines.
    #[arg(long, short)]
    pub verbose: bool,
    /// Extra bootargs (`key=value` tokens), after `--`.
    #[arg(last = true)]
    pub bootargs: Vec<String>,
}

impl QemuArgs {
    /// Guest RAM in MiB after board defaults.
    pub fn memory_mib(&self) -> u32 {
        self.memory.unwrap_or(self.board.spec().default_memory_mib)
    }

    /// vCPUs after board and host defaults.
    pub fn cpus(&self) -> u32 {
        self.cpus
            .unwrap_or_else(|| self.board.spec().nearest_cpus(default_cpus(host_cores())))
    }

    /// QEMU CPU model (virt).
    pub fn cpu_model(&self) -> &str {
        self.cpu.as_deref().unwrap_or(DEFAULT_CPU)
    }

    /// `--memmodel` after its default.
    pub fn memmodel(&self) -> MemModelArg {
        self.memmodel.unwrap_or(MemModelArg::Auto)
    }

    /// The run the kernel gets: a `run=` token after `--` replaces `--run` (as every token
    /// there replaces xtask's own for its key).
    pub fn effective_run(&self) -> &str {
        self.bootargs
            .iter()
            .rev()
            .find_map(|t| t.strip_prefix("run="))
            .unwrap_or(&self.run)
    }

    /// Checks that need no QEMU and no image: made before anything is built or started.
    pub fn validate(&self) -> Result<(), String> {
        let spec = self.board.spec();
        // First: on a host that cannot run KVM nothing else matters.
        self.accel.check_host(spec.name, Host::this())?;
        if self.accel == Accel::Kvm && self.cpu.as_deref().is_some_and(|c| c != "host") {
            return Err(format!(
                "--cpu {}: with --accel kvm the guest runs on the host's CPU (-cpu host)",
                self.cpu_model()
            ));
        }
        let cpus = self.cpus();
        spec.check_cpus(cpus)?;
        spec.check_memory(self.memory_mib())?;
        if let (CpuModel::Fixed(m), Some(_)) = (spec.cpu_model, &self.cpu) {
            return Err(format!(
                "--cpu: QEMU {} has a fixed CPU model ({m}); --cpu is for --board virt",
                spec.machine
            ));
        }
        for t in &self.bootargs {
            validate_bootarg_token(t)?;
        }
        let run = self.effective_run();
        if !KNOWN_RUNS.contains(&run) {
            return Err(format!(
                "--run {run}: unknown run; known runs: {}",
                KNOWN_RUNS.join(", ")
            ));
        }
        if self.timeout == 0 {
            return Err("--timeout must be at least 1 second".into());
        }
        let cpu = self.cpu_model();
        if cpu.is_empty()
            || !cpu
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!("--cpu {cpu:?}: not a CPU model name"));
        }
        // Flags that only some runs read: refused for the others, like their bootargs keys.
        let only = |flag: &str, runs: &[&str]| -> Result<(), String> {
            if runs.contains(&run) {
                Ok(())
            } else {
                Err(format!(
                    "{flag} does not apply to run={run}: it is for {}",
                    runs_phrase(runs)
                ))
            }
        };
        if let Some(v) = &self.variant {
            only("--variant", &key_readers("variant"))?;
            if v.is_empty()
                || v.split(',')
                    .any(|t| t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                return Err(format!(
                    "--variant {v:?}: expected a comma list such as V0,V1,V3"
                ));
            }
        }
        if self.memmodel.is_some() {
            only("--memmodel", &key_readers("memmodel"))?;
        }
        if let Some(p) = &self.plot {
            only("--plot", VERDICT_RUNS)?;
            plot_format(p)?;
        }
        if self.expect {
            only("--expect", VERDICT_RUNS)?;
        }
        if VERDICT_RUNS.contains(&run) && cpus < 2 {
            return Err(format!(
                "--cpus {cpus}: run={run} needs at least 2 CPUs (a reader and a writer)"
            ));
        }
        // The kernel's own parser and key table: the same refusal the kernel would make after
        // a build and a boot, made now.
        let mut tokens = vec![format!("run={}", self.run)];
        if let Some(v) = &self.variant {
            tokens.push(format!("variant={v}"));
        }
        let line = crate::qemu::run::compose_bootargs(
            &tokens
                .iter()
                .map(|t| {
                    let (k, v) = t.split_once('=').unwrap_or((t, ""));
                    (k, v.to_string())
                })
                .collect::<Vec<_>>(),
            &self.bootargs,
        );
        kernel::bootargs::parse_for_run(&line).map_err(|e| {
            let mut msg = format!("bootargs: {e}");
            if let kernel::bootargs::BootArgsError::NotForRun { readers, .. } = &e {
                msg.push_str(&format!(" (choose it with --run {})", readers[0]));
            }
            msg
        })?;
        Ok(())
    }
}

/// Output format of a plot path, from its extension.
pub fn plot_format(p: &std::path::Path) -> Result<&'static str, String> {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => Ok("svg"),
        Some("png") => Ok("png"),
        _ => Err(format!(
            "--plot {}: use a .svg or .png file name",
            p.display()
        )),
    }
}

/// A bootarg token is `key` or `key=value` with no whitespace or quotes (QEMU `-append` and
/// the kernel split on spaces). Keys and values are then checked by the kernel's parser.
pub fn validate_bootarg_token(t: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("bootarg {t:?}: {why}"));
    if t.is_empty() {
        return bad("empty token");
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\'')
    {
        return bad("tokens are space-separated key=value words without quotes");
    }
    let key = t.split('=').next().unwrap_or("");
    if key.is_empty() {
        return bad("missing key before '='");
    }
    Ok(())
}

#[derive(Args, Debug, Clone)]
pub struct Rpi4Args {
    /// Folder to write (default target/rpi4-sd).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Length of the campaign: the suite's rows share this time (per-row `time_ms=`).
    #[arg(long, default_value_t = 8.0)]
    pub hours: f64,
    /// Copy start4.elf, fixup4.dat, bcm2711-rpi-4-b.dtb (and overlays/disable-bt.dtbo) from
    /// this folder (the Raspberry Pi firmware repository's `boot/`).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// Bootargs (`key=value` tokens) after `--`, on top of the campaign's (e.g. `run=selftest`).
    #[arg(last = true)]
    pub bootargs: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Captured console output.
    pub logfile: PathBuf,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Plot GUP results per variant (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Fail unless each result's verdict matches its `expected`.
    #[arg(long)]
    pub expect: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// Only the QEMU integration cases whose name contains this.
    #[arg(long)]
    pub only: Option<String>,
    /// Skip the host steps (tests, clippy, fmt, loom); build the image and run QEMU cases.
    #[arg(long)]
    pub qemu_only: bool,
    /// Board whose image is built and booted (QEMU `virt`, or `raspi4b` for rpi4; cases the
    /// board's machine cannot run, such as -smp 2 on raspi4b, are listed as not applicable).
    #[arg(long, value_enum, default_value = "virt")]
    pub board: Board,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// vCPUs for the QEMU bench run. Default 1 (or the fewest the board has): the benches run
    /// on CPU 0, and idle vCPUs spinning at a barrier steal host cores from it under TCG
    /// (measured: 10-100x noise at -smp 4 on a 2-core host).
    #[arg(long)]
    pub cpus: Option<u32>,
    /// QEMU CPU model.
    #[arg(long, default_value = DEFAULT_CPU)]
    pub cpu: String,
    /// Board / QEMU machine for the QEMU side.
    #[arg(long, value_enum, default_value = "virt")]
    pub board: Board,
    /// Host kill timeout for the QEMU bench run, seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Where to write the results.
    #[arg(long, default_value = "target/bench.json")]
    pub json: PathBuf,
    /// Skip host benches.
    #[arg(long)]
    pub no_host: bool,
    /// Skip the QEMU bench run (and the GUP figures).
    #[arg(long)]
    pub no_qemu: bool,
    /// Skip the GUP experiment figures (throughput, V1 time to first violation).
    #[arg(long)]
    pub no_gup: bool,
    /// Time budget per experiment x variant for the GUP throughput figures, ms.
    #[arg(long, default_value_t = 1000)]
    pub gup_time_ms: u64,
}

impl BenchArgs {
    /// vCPUs of the `run=bench` boot after the board's limits.
    pub fn bench_cpus(&self) -> u32 {
        self.cpus
            .unwrap_or_else(|| self.board.spec().nearest_cpus(1))
    }
}

#[derive(Args, Debug, Clone)]
pub struct DisasmArgs {
    /// Substring of the demangled symbol name (e.g. `gup_fast_pte_range`).
    pub symbol: String,
    /// Disassemble every match instead of refusing an ambiguous name.
    #[arg(long)]
    pub all: bool,
    /// Use the ELF already built instead of building first.
    #[arg(long)]
    pub no_build: bool,
    /// Board whose image to disassemble (built first).
    #[arg(long, value_enum, default_value = "virt")]
    pub board: Board,
}

#[derive(Args, Debug, Clone)]
pub struct ImportsArgs {
    /// A crate's source directory (default: xtask/src; relative to the workspace root).
    pub src: Option<PathBuf>,
    /// Only loops touching files under these subdirectories of SRC (e.g. `stress`).
    #[arg(long)]
    pub under: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct SetupArgs {
    /// Install nothing: report what is present and what would be installed (still boots the
    /// self-test when QEMU is there).
    #[arg(long)]
    pub check_only: bool,
    /// Skip the proof boot (the self-test at -smp 2).
    #[arg(long)]
    pub no_boot: bool,
    /// Boot this Image for the proof instead of building one (a machine without Rust, e.g.
    /// the fresh Debian root of `cargo xtask freshroot`).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Host kill timeout of the proof boot, seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Only this target (bootargs, records).
    #[arg(long)]
    pub target: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct FreshrootArgs {
    /// Debian mirror URI (default: this machine's own bookworm source).
    #[arg(long)]
    pub mirror: Option<String>,
    /// Where to build the root (default target/freshroot; removed first).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the root afterwards (it is removed by default: ~0.5 GB).
    #[arg(long)]
    pub keep: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_runs_mirror_the_kernel_registry() {
        let mut kernel: Vec<&str> = kernel::run::registry::RUNS.iter().map(|r| r.name).collect();
        kernel.push("list"); // answered by the dispatcher itself
        kernel.sort_unstable();
        let mut ours = super::KNOWN_RUNS.to_vec();
        ours.sort_unstable();
        assert_eq!(
            ours, kernel,
            "xtask's KNOWN_RUNS drifted from kernel/src/run/registry.rs"
        );
    }

    use super::*;

    fn qemu(args: &[&str]) -> QemuArgs {
        let mut v = vec!["cargo xtask", "qemu"];
        v.extend_from_slice(args);
        match Cli::try_parse_from(v).expect("parses").cmd {
            Cmd::Qemu(q) => q,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let q = qemu(&[]);
        assert_eq!(
            (q.cpus(), q.memory_mib(), q.cpu_model(), q.run.as_str()),
            (default_cpus(host_cores()), 512, "cortex-a72", "suite")
        );
        assert_eq!(q.timeout, 300);
        q.validate().unwrap();
    }

    #[test]
    fn default_cpus_follow_the_host() {
        assert_eq!(default_cpus(1), 2);
        assert_eq!(default_cpus(2), 2);
        assert_eq!(default_cpus(3), 3);
        assert_eq!(default_cpus(4), 4);
        assert_eq!(default_cpus(64), 4);
        assert_eq!(qemu(&["--cpus", "3"]).cpus(), 3);
        assert_eq!(qemu(&["--board", "rpi4"]).cpus(), 4);
    }

    fn refused(args: &[&str]) -> String {
        qemu(args).validate().unwrap_err()
    }

    #[test]
    fn bootargs_keys_belong_to_runs() {
        // Issue 7: the suite does not read selftest=; it was silently dropped.
        let e = refused(&["--", "selftest=fault"]);
        assert!(
            e.contains("not read by run=suite") && e.contains("run=selftest"),
            "{e}"
        );
        assert!(e.contains("--run selftest"), "{e}");
        qemu(&["--run", "selftest", "--", "selftest=fault"])
            .validate()
            .unwrap();
        // A run= token after -- chooses the run, as the kernel would see it.
        qemu(&["--", "run=selftest", "selftest=panic"])
            .validate()
            .unwrap();
        assert!(refused(&["--run", "gup", "--", "pcp=irqoff"]).contains("run=mm-stress"));
        assert!(refused(&["--", "verbose"]).contains("unknown key `verbose`"));
        assert!(refused(&["--", "seed=x"]).contains("bad number"));
        assert!(refused(&["--", "iters=1", "iters=2"]).contains("duplicate"));
        qemu(&["--run", "mm-stress", "--", "pcp=spinlock", "init_order=w7"])
            .validate()
            .unwrap();
    }

    #[test]
    fn flags_that_cannot_apply_are_refused() {
        let e = refused(&["--run", "selftest", "--variant", "V0"]);
        assert!(
            e.contains("--variant") && e.contains("run=gup, run=suite"),
            "{e}"
        );
        let e = refused(&["--run", "selftest", "--plot", "x.svg"]);
        assert!(e.contains("--plot does not apply to run=selftest"), "{e}");
        assert!(refused(&["--run", "mm-stress", "--expect"]).contains("--expect"));
        assert!(refused(&["--run", "bench", "--memmodel", "tso"]).contains("--memmodel"));
        qemu(&["--run", "litmus", "--memmodel", "tso"])
            .validate()
            .unwrap();
        // --memmodel's default applies only where it is read: no refusal for other runs.
        qemu(&["--run", "selftest"]).validate().unwrap();
        let e = refused(&["--run", "gup", "--cpus", "1"]);
        assert!(e.contains("needs at least 2 CPUs"), "{e}");
        qemu(&["--run", "selftest", "--cpus", "1"])
            .validate()
            .unwrap();
        let e = refused(&["--board", "rpi4", "--cpu", "max"]);
        assert!(e.contains("raspi4b has a fixed CPU model"), "{e}");
    }

    #[test]
    fn cpu_count_is_bounded() {
        let e = qemu(&["--cpus", "0"]).validate().unwrap_err();
        assert!(e.contains("--cpus 0"), "{e}");
        assert!(qemu(&["--cpus", "9"]).validate().is_err());
        qemu(&["--cpus", "8"]).validate().unwrap();
        qemu(&["--cpus", "1", "--run", "selftest"])
            .validate()
            .unwrap();
    }

    #[test]
    fn unknown_run_is_refused_with_the_list() {
        let e = qemu(&["--run", "nope"]).validate().unwrap_err();
        assert!(
            e.contains("selftest, mm-stress, gup, suite, litmus, bench, list"),
            "{e}"
        );
        qemu(&["--run", "gup"]).validate().unwrap();
    }

    #[test]
    fn memory_variant_plot_and_bootargs_are_checked() {
        assert!(qemu(&["--memory", "32"]).validate().is_err());
        assert!(qemu(&["--variant", "V0,,V1"]).validate().is_err());
        assert!(
            qemu(&["--variant", "V99"]).validate().is_ok(),
            "variant names are the kernel's"
        );
        assert!(qemu(&["--variant", "V0;rm"]).validate().is_err());
        qemu(&["--variant", "V0,V1,V3l"]).validate().unwrap();
        assert!(qemu(&["--plot", "x.pdf"]).validate().is_err());
        qemu(&["--plot", "out/x.SVG"]).validate().unwrap();
        assert!(qemu(&["--", "a b"]).validate().is_err());
        assert!(qemu(&["--", "=3"]).validate().is_err());
        assert!(qemu(&["--cpu", "max -bios x"]).validate().is_err());
        assert!(qemu(&["--timeout", "0"]).validate().is_err());
        let q = qemu(&["--", "iters=5", "widen=3"]);
        assert_eq!(q.bootargs, ["iters=5", "widen=3"]);
        q.validate().unwrap();
    }

    #[test]
    fn memmodel_only_for_race_runs() {
        assert_eq!(host_memmodel("x86_64"), "tso");
        assert_eq!(host_memmodel("aarch64"), "weak");
        assert_eq!(host_memmodel("riscv64"), "unknown");
        let q = qemu(&["--run", "gup"]);
        assert_eq!(q.memmodel(), MemModelArg::Auto);
        assert_eq!(
            q.memmodel().bootarg("gup"),
            Some(host_memmodel(std::env::consts::ARCH))
        );
        assert_eq!(q.memmodel().bootarg("selftest"), None);
        assert_eq!(MemModelArg::None.bootarg("gup"), None);
        assert_eq!(MemModelArg::Weak.bootarg("suite"), Some("weak"));
        assert_eq!(MemModelArg::Tso.bootarg("litmus"), Some("tso"));
    }

    #[test]
    fn rpi4_is_fixed_size() {
        let q = qemu(&["--board", "rpi4"]);
        assert_eq!(q.memory_mib(), 2048);
        q.validate().unwrap();
        assert!(qemu(&["--board", "rpi4", "--cpus", "2"])
            .validate()
            .is_err());
        assert!(qemu(&["--board", "rpi4", "--memory", "512"])
            .validate()
            .is_err());
    }
}
