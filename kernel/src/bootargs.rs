//! `/chosen/bootargs` parsing: what to run and how.
//!
//! Grammar: space-separated tokens, each `key=value` or a bare `key` (meaning `key=1`). Keys are
//! a fixed set (see [`KEYS`]); an unknown key, a malformed token (`=x`, `k=`, `a=b=c`), a
//! duplicate key or a bad value is an error ([`BootArgsError`]). The caller turns an error into
//! an `error` record, a human line and exit code 2 (see [`crate::run::setup`]).
//!
//! Every key belongs to named runs ([`Key::runs`]): a key that the chosen run does not read is
//! refused by [`check_run`] (exit 2, naming the runs that do read it), so nothing given on the
//! command line is silently ignored. The default run is `suite`.
//!
//! Pure: no hardware, no console. Runs read values through [`BootArgs`]. xtask links this module
//! too and refuses bad bootargs with the same words before it builds or boots anything.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Which runs read a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readers {
    /// Read by the boot path or the dispatcher, whatever the run.
    Every,
    /// Read only by these runs (`run=` names of [`crate::run::registry::RUNS`]).
    Runs(&'static [&'static str]),
}

impl Readers {
    /// Whether `run` reads the key.
    pub fn includes(self, run: &str) -> bool {
        match self {
            Readers::Every => true,
            Readers::Runs(r) => r.contains(&run),
        }
    }
}

/// One bootargs key: its name, the runs that read it, one line of help.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// The key as written on the command line.
    pub name: &'static str,
    /// Who reads it.
    pub runs: Readers,
    /// One line for `run=list` and the README.
    pub help: &'static str,
}

const RACE_RUNS: &[&str] = &["gup", "suite"];

/// Every key the kernel understands: the one table of who reads what (`run=list` prints it).
pub const KEYS: &[Key] = &[
    Key {
        name: "run",
        runs: Readers::Every,
        help: "name of the run to execute (default suite)",
    },
    Key {
        name: "seed",
        runs: Readers::Every,
        help: "seed of the run plan (u64; drawn from the counter and reported in run_start when absent)",
    },
    Key {
        name: "deadline_ms",
        runs: Readers::Every,
        help: "kernel deadline in ms: exceeded -> end record, exit 4",
    },
    Key {
        name: "exit",
        runs: Readers::Every,
        help: "semihosting|psci|halt|reset|park: how the machine is left (only semihosting passes \
               the exit code to QEMU; the end record always carries it)",
    },
    Key {
        name: "selftest",
        runs: Readers::Runs(&["selftest"]),
        help: "fault|panic: make a secondary CPU fault or panic (tests the fault path)",
    },
    Key {
        name: "iters",
        runs: Readers::Runs(&["selftest", "mm-stress", "gup", "suite", "litmus", "bench"]),
        help: "iterations (u64): per CPU (selftest, mm-stress), per row (gup, suite), per test (litmus), per bench",
    },
    Key {
        name: "time_ms",
        runs: Readers::Runs(RACE_RUNS),
        help: "time budget per experiment x variant in ms (u64)",
    },
    Key {
        name: "variant",
        runs: Readers::Runs(RACE_RUNS),
        help: "comma-separated variant list (default: all)",
    },
    Key {
        name: "experiment",
        runs: Readers::Runs(RACE_RUNS),
        help: "comma-separated experiment list (default: each variant's own)",
    },
    Key {
        name: "widen",
        runs: Readers::Runs(RACE_RUNS),
        help: "window-widening spin loops of free-running readers (u64; 0 = default)",
    },
    Key {
        name: "memmodel",
        runs: Readers::Runs(&["gup", "suite", "litmus"]),
        help: "tso|weak|unknown: what the platform's memory model can show (race verdicts)",
    },
    Key {
        name: "pcp",
        runs: Readers::Runs(&["mm-stress"]),
        help: "irqoff|spinlock: per-CPU page list protection",
    },
    Key {
        name: "init_order",
        runs: Readers::Runs(&["mm-stress"]),
        help: "linux|w7: struct page init order",
    },
];

/// The table entry of `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// What `selftest=` asks a secondary CPU to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelftestMode {
    /// Take a data abort on an unmapped address.
    Fault,
    /// Panic.
    Panic,
}

/// `pcp=`: how the per-CPU page lists are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pcp {
    /// Interrupts masked (Linux before 5.14-ish).
    IrqOff,
    /// A spin lock (Linux's pcp->lock).
    Spinlock,
}

/// `init_order=`: order of `struct page` initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitOrder {
    /// Linux's order.
    Linux,
    /// The W7 order of the spec.
    W7,
}

/// `memmodel=`: what the host says the platform's memory model can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemModelArg {
    /// Total store order (QEMU TCG on an x86-64 host).
    Tso,
    /// Weakly ordered (bare-metal Arm, KVM or TCG on an arm64 host).
    Weak,
    /// Not known.
    Unknown,
}

/// `exit=`: how the machine is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitMethod {
    /// Semihosting `SYS_EXIT_EXTENDED`-style exit (passes the code through QEMU).
    Semihosting,
    /// PSCI `SYSTEM_OFF` (QEMU exits 0 whatever the code).
    Psci,
    /// The board's power-off (PSCI `SYSTEM_OFF`; Raspberry Pi: PM watchdog into the
    /// firmware's halt state).
    Halt,
    /// The board's reset (PSCI `SYSTEM_RESET`; Raspberry Pi: PM watchdog reset).
    Reset,
    /// Stop every CPU in place (`wfe`), the machine left running.
    Park,
}

/// Parsed bootargs. `None` / empty means "not given": the run picks its own default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootArgs {
    /// `run=` (default `suite`).
    pub run: String,
    /// `selftest=`.
    pub selftest: Option<SelftestMode>,
    /// `deadline_ms=`.
    pub deadline_ms: Option<u64>,
    /// `seed=`.
    pub seed: Option<u64>,
    /// `iters=`.
    pub iters: Option<u64>,
    /// `time_ms=`.
    pub time_ms: Option<u64>,
    /// `variant=` list (empty: not given).
    pub variant: Vec<String>,
    /// `experiment=` list (empty: not given).
    pub experiment: Vec<String>,
    /// `widen=` (0 when not given).
    pub widen: u64,
    /// `pcp=`.
    pub pcp: Option<Pcp>,
    /// `init_order=`.
    pub init_order: Option<InitOrder>,
    /// `exit=`.
    pub exit: Option<ExitMethod>,
    /// `memmodel=`.
    pub memmodel: Option<MemModelArg>,
    /// The keys given, in command-line order (for [`check_run`]).
    pub given: Vec<&'static str>,
}

impl Default for BootArgs {
    fn default() -> Self {
        Self {
            run: String::from("suite"),
            selftest: None,
            deadline_ms: None,
            seed: None,
            iters: None,
            time_ms: None,
            variant: Vec::new(),
            experiment: Vec::new(),
            widen: 0,
            pcp: None,
            init_order: None,
            exit: None,
            memmodel: None,
            given: Vec::new(),
        }
    }
}

/// Why bootargs were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootArgsError {
    /// A key not in [`KEYS`].
    UnknownKey(String),
    /// A token such as `=x`, `k=`, `a=b=c` or a list with an empty element.
    Malformed(String),
    /// The same key twice.
    Duplicate(String),
    /// A value that is not a u64 (decimal or `0x` hex) where one is needed.
    BadNumber { key: String, value: String },
    /// A value outside the key's vocabulary.
    BadValue {
        key: String,
        value: String,
        allowed: &'static str,
    },
    /// A key that the chosen run does not read.
    NotForRun {
        key: &'static str,
        run: String,
        readers: &'static [&'static str],
    },
}

impl fmt::Display for BootArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKey(k) => write!(f, "unknown key `{k}`"),
            Self::Malformed(t) => write!(f, "malformed token `{t}` (expected key=value or key)"),
            Self::Duplicate(k) => write!(f, "duplicate key `{k}`"),
            Self::BadNumber { key, value } => {
                write!(
                    f,
                    "bad number `{value}` for `{key}` (expected u64, decimal or 0x hex)"
                )
            }
            Self::BadValue {
                key,
                value,
                allowed,
            } => {
                write!(f, "bad value `{value}` for `{key}` (allowed: {allowed})")
            }
            Self::NotForRun { key, run, readers } => {
                write!(f, "`{key}` is not read by run={run}: it belongs to ")?;
                for (i, r) in readers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "run={r}")?;
                }
                Ok(())
            }
        }
    }
}

/// Parse a u64: decimal, or hexadecimal with a `0x` prefix. No sign, no empty string.
pub fn parse_u64(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn number(key: &str, value: &str) -> Result<u64, BootArgsError> {
    parse_u64(value).ok_or_else(|| BootArgsError::BadNumber {
        key: key.into(),
        value: value.into(),
    })
}

fn list(token: &str, value: &str) -> Result<Vec<String>, BootArgsError> {
    let items: Vec<String> = value.split(',').map(ToString::to_string).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(BootArgsError::Malformed(token.into()));
    }
    Ok(items)
}

fn choice<T: Copy>(
    key: &str,
    value: &str,
    options: &[(&str, T)],
    allowed: &'static str,
) -> Result<T, BootArgsError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| BootArgsError::BadValue {
            key: key.into(),
            value: value.into(),
            allowed,
        })
}

/// Parse a bootargs string (see the module docs for the grammar).
pub fn parse(s: &str) -> Result<BootArgs, BootArgsError> {
    let mut args = BootArgs::default();
    for token in s.split_ascii_whitespace() {
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => {
                if k.is_empty() || v.is_empty() || v.contains('=') {
                    return Err(BootArgsError::Malformed(token.into()));
                }
                (k, v)
            }
            None => (token, "1"),
        };
        let Some(desc) = self::key(key) else {
            return Err(BootArgsError::UnknownKey(key.into()));
        };
        if args.given.contains(&desc.name) {
            return Err(BootArgsError::Duplicate(key.into()));
        }
        args.given.push(desc.name);
        match key {
            "run" => args.run = value.into(),
            "selftest" => {
                let opts = [
                    ("fault", SelftestMode::Fault),
                    ("panic", SelftestMode::Panic),
                ];
                args.selftest = Some(choice(key, value, &opts, "fault, panic")?);
            }
            "deadline_ms" => args.deadline_ms = Some(number(key, value)?),
            "seed" => args.seed = Some(number(key, value)?),
            "iters" => args.iters = Some(number(key, value)?),
            "time_ms" => args.time_ms = Some(number(key, value)?),
            "variant" => args.variant = list(token, value)?,
            "experiment" => args.experiment = list(token, value)?,
            "widen" => args.widen = number(key, value)?,
            "pcp" => {
                let opts = [("irqoff", Pcp::IrqOff), ("spinlock", Pcp::Spinlock)];
                args.pcp = Some(choice(key, value, &opts, "irqoff, spinlock")?);
            }
            "init_order" => {
                let opts = [("linux", InitOrder::Linux), ("w7", InitOrder::W7)];
                args.init_order = Some(choice(key, value, &opts, "linux, w7")?);
            }
            "exit" => {
                let opts = [
                    ("semihosting", ExitMethod::Semihosting),
                    ("psci", ExitMethod::Psci),
                    ("halt", ExitMethod::Halt),
                    ("reset", ExitMethod::Reset),
                    ("park", ExitMethod::Park),
                ];
                args.exit = Some(choice(
                    key,
                    value,
                    &opts,
                    "semihosting, psci, halt, reset, park",
                )?);
            }
            "memmodel" => {
                let opts = [
                    ("tso", MemModelArg::Tso),
                    ("weak", MemModelArg::Weak),
                    ("unknown", MemModelArg::Unknown),
                ];
                args.memmodel = Some(choice(key, value, &opts, "tso, weak, unknown")?);
            }
            // Every key of KEYS has an arm above; reaching this means KEYS and this match
            // disagree, which the `every_key_is_handled` test catches.
            other => return Err(BootArgsError::UnknownKey(other.into())),
        }
    }
    Ok(args)
}

/// Refuse a key that `args.run` does not read (the first one given), naming the runs that read
/// it. Call it once the run is known to exist; `run=list` reads only the keys of every run.
pub fn check_run(args: &BootArgs) -> Result<(), BootArgsError> {
    for name in &args.given {
        let Some(k) = key(name) else { continue };
        if let Readers::Runs(readers) = k.runs {
            if !readers.contains(&args.run.as_str()) {
                return Err(BootArgsError::NotForRun {
                    key: k.name,
                    run: args.run.clone(),
                    readers,
                });
            }
        }
    }
    Ok(())
}

/// [`parse`] then [`check_run`]: what a known run accepts.
pub fn parse_for_run(s: &str) -> Result<BootArgs, BootArgsError> {
    let a = parse(s)?;
    check_run(&a)?;
    Ok(a)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn empty_gives_defaults() {
        assert_eq!(parse("").unwrap(), BootArgs::default());
        assert_eq!(parse("   \t ").unwrap().run, "suite");
        check_run(&BootArgs::default()).unwrap();
    }

    #[test]
    fn known_keys_parse() {
        let a = parse(
            "run=gup seed=0x2a iters=100 time_ms=5 deadline_ms=60000 variant=V0,V3 \
             experiment=e1 widen=7 pcp=spinlock init_order=w7 exit=psci selftest=fault memmodel=weak",
        )
        .unwrap();
        assert_eq!(a.run, "gup");
        assert_eq!(a.seed, Some(42));
        assert_eq!(a.iters, Some(100));
        assert_eq!(a.time_ms, Some(5));
        assert_eq!(a.deadline_ms, Some(60000));
        assert_eq!(a.variant, ["V0", "V3"]);
        assert_eq!(a.experiment, ["e1"]);
        assert_eq!(a.widen, 7);
        assert_eq!(a.pcp, Some(Pcp::Spinlock));
        assert_eq!(a.init_order, Some(InitOrder::W7));
        assert_eq!(a.exit, Some(ExitMethod::Psci));
        assert_eq!(a.selftest, Some(SelftestMode::Fault));
        assert_eq!(a.memmodel, Some(MemModelArg::Weak));
        assert_eq!(
            a.given,
            [
                "run",
                "seed",
                "iters",
                "time_ms",
                "deadline_ms",
                "variant",
                "experiment",
                "widen",
                "pcp",
                "init_order",
                "exit",
                "selftest",
                "memmodel"
            ]
        );
    }

    fn sample(k: &str) -> &'static str {
        match k {
            "run" => "x",
            "selftest" => "panic",
            "variant" | "experiment" => "a,b",
            "pcp" => "irqoff",
            "init_order" => "linux",
            "exit" => "semihosting",
            "memmodel" => "tso",
            _ => "12",
        }
    }

    #[test]
    fn exit_methods() {
        for (v, m) in [
            ("semihosting", ExitMethod::Semihosting),
            ("psci", ExitMethod::Psci),
            ("halt", ExitMethod::Halt),
            ("reset", ExitMethod::Reset),
            ("park", ExitMethod::Park),
        ] {
            assert_eq!(parse(&alloc::format!("exit={v}")).unwrap().exit, Some(m));
        }
    }

    #[test]
    fn every_key_is_handled() {
        for k in KEYS {
            let tok = alloc::format!("{}={}", k.name, sample(k.name));
            assert!(parse(&tok).is_ok(), "{tok}");
        }
    }

    #[test]
    fn keys_are_unique_and_documented() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(!k.help.is_empty(), "{}", k.name);
            assert!(
                KEYS[i + 1..].iter().all(|o| o.name != k.name),
                "{} twice",
                k.name
            );
            if let Readers::Runs(r) = k.runs {
                assert!(!r.is_empty(), "{} is read by no run", k.name);
            }
        }
    }

    /// The runs a key names are real runs (and `list`, which reads only keys of every run, is
    /// never named).
    #[test]
    fn readers_name_registered_runs() {
        for k in KEYS {
            if let Readers::Runs(r) = k.runs {
                for run in r {
                    assert!(
                        crate::run::registry::RUNS.iter().any(|d| d.name == *run),
                        "key {} names unknown run {run}",
                        k.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_key_the_run_does_not_read_is_refused_naming_its_runs() {
        // The default run is the suite, which does not read selftest=.
        let e = parse_for_run("selftest=fault").unwrap_err();
        assert_eq!(
            e,
            BootArgsError::NotForRun {
                key: "selftest",
                run: "suite".into(),
                readers: &["selftest"]
            }
        );
        let msg = alloc::format!("{e}");
        assert_eq!(
            msg,
            "`selftest` is not read by run=suite: it belongs to run=selftest"
        );
        parse_for_run("run=selftest selftest=fault").unwrap();
        let msg = alloc::format!("{}", parse_for_run("run=selftest pcp=irqoff").unwrap_err());
        assert!(msg.contains("run=mm-stress"), "{msg}");
        let msg = alloc::format!("{}", parse_for_run("run=bench variant=V0").unwrap_err());
        assert!(msg.ends_with("run=gup, run=suite"), "{msg}");
        // Keys of every run go with any run, list included; list reads nothing else.
        parse_for_run("run=list seed=3 deadline_ms=10 exit=psci").unwrap();
        assert!(parse_for_run("run=list iters=3").is_err());
        parse_for_run("run=litmus memmodel=tso iters=5").unwrap();
        assert!(parse_for_run("run=mm-stress memmodel=tso").is_err());
        parse_for_run("run=suite variant=V0 experiment=split widen=3 time_ms=9 iters=4").unwrap();
    }

    #[test]
    fn every_reader_accepts_its_key() {
        for k in KEYS {
            let runs: &[&str] = match k.runs {
                Readers::Every => &["selftest", "suite", "list"],
                Readers::Runs(r) => r,
            };
            for run in runs {
                if k.name == "run" {
                    continue;
                }
                let s = alloc::format!("run={run} {}={}", k.name, sample(k.name));
                assert!(parse_for_run(&s).is_ok(), "{s}: {:?}", parse_for_run(&s));
            }
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "=x",
            "k=",
            "seed=",
            "=",
            "a=b=c",
            "variant=a,,b",
            "variant=a,",
            "run==x",
        ] {
            assert!(
                matches!(parse(bad), Err(BootArgsError::Malformed(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn unknown_and_duplicate_keys_are_refused() {
        assert_eq!(parse("foo=1"), Err(BootArgsError::UnknownKey("foo".into())));
        assert_eq!(parse("Run=x"), Err(BootArgsError::UnknownKey("Run".into())));
        // `verbose` was read by no run; it is gone rather than silently ignored.
        assert_eq!(
            parse("verbose"),
            Err(BootArgsError::UnknownKey("verbose".into()))
        );
        assert_eq!(
            parse("seed=1 seed=1"),
            Err(BootArgsError::Duplicate("seed".into()))
        );
        assert_eq!(
            parse("iters=1 iters"),
            Err(BootArgsError::Duplicate("iters".into()))
        );
    }

    #[test]
    fn bad_numbers_and_values_are_refused() {
        for bad in [
            "seed=-1",
            "iters=1e3",
            "seed=0x",
            "seed=0xg",
            "iters=18446744073709551616",
            "widen=+3",
            "time_ms=1_000",
        ] {
            assert!(
                matches!(parse(bad), Err(BootArgsError::BadNumber { .. })),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        assert_eq!(
            parse("iters=18446744073709551615").unwrap().iters,
            Some(u64::MAX)
        );
        for bad in [
            "memmodel=arm",
            "pcp=none",
            "init_order=x",
            "selftest",
            "exit=poweroff",
        ] {
            assert!(
                matches!(parse(bad), Err(BootArgsError::BadValue { .. })),
                "{bad}: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = parse("deadline_ms=soon").unwrap_err();
        let msg = alloc::format!("{e}");
        assert!(msg.contains("soon") && msg.contains("deadline_ms"), "{msg}");
        let msg = alloc::format!("{}", parse("k=").unwrap_err());
        assert!(msg.contains("malformed") && msg.contains("k="), "{msg}");
    }
}
