//! `/chosen/bootargs` parsing: what to run and how.
//!
//! Grammar: space-separated tokens, each `key=value` or a bare `key` (meaning `key=1`). Keys are
//! a fixed set (see [`KEYS`]); an unknown key, a malformed token (`=x`, `k=`, `a=b=c`), a
//! duplicate key or a bad value is an error ([`BootArgsError`]). The caller turns an error into
//! an `error` record, a human line and exit code 2 (see [`crate::run::setup`]).
//!
//! Pure: no hardware, no console. Runs read values through [`BootArgs`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Every key the kernel understands, with a one-line help text.
pub const KEYS: &[(&str, &str)] = &[
    ("run", "name of the run to execute (default suite)"),
    (
        "selftest",
        "fault|panic: make a secondary CPU fault or panic (tests the fault path)",
    ),
    (
        "deadline_ms",
        "kernel deadline in ms: exceeded -> end record, exit 4",
    ),
    ("seed", "seed of the run plan (u64)"),
    ("iters", "iterations per CPU (u64)"),
    ("time_ms", "run duration in ms (u64)"),
    ("variant", "comma-separated variant list"),
    ("experiment", "comma-separated experiment list"),
    ("verbose", "0|1"),
    ("widen", "window-widening delay loop count (u64)"),
    ("pcp", "irqoff|spinlock: per-CPU page list protection"),
    ("init_order", "linux|w7: struct page init order"),
    (
        "memmodel",
        "tso|weak|unknown: what the platform's memory model can show (race verdicts)",
    ),
    (
        "exit",
        "semihosting|psci: how the machine is left (psci loses the exit code)",
    ),
];

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
}

/// Parsed bootargs. `None` / empty means "not given": the run picks its own default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootArgs {
    /// `run=` (default `selftest`).
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
    /// `verbose=`.
    pub verbose: bool,
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
            verbose: false,
            widen: 0,
            pcp: None,
            init_order: None,
            exit: None,
            memmodel: None,
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
    let mut seen: Vec<&str> = Vec::new();
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
        if !KEYS.iter().any(|(k, _)| *k == key) {
            return Err(BootArgsError::UnknownKey(key.into()));
        }
        if seen.contains(&key) {
            return Err(BootArgsError::Duplicate(key.into()));
        }
        seen.push(key);
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
            "verbose" => args.verbose = choice(key, value, &[("0", false), ("1", true)], "0, 1")?,
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
                ];
                args.exit = Some(choice(key, value, &opts, "semihosting, psci")?);
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn empty_gives_defaults() {
        assert_eq!(parse("").unwrap(), BootArgs::default());
        assert_eq!(parse("   \t ").unwrap().run, "suite");
    }

    #[test]
    fn known_keys_parse() {
        let a = parse(
            "run=gup seed=0x2a iters=100 time_ms=5 deadline_ms=60000 variant=V0,V3 \
             experiment=e1 verbose widen=7 pcp=spinlock init_order=w7 exit=psci selftest=fault",
        )
        .unwrap();
        assert_eq!(a.run, "gup");
        assert_eq!(a.seed, Some(42));
        assert_eq!(a.iters, Some(100));
        assert_eq!(a.time_ms, Some(5));
        assert_eq!(a.deadline_ms, Some(60000));
        assert_eq!(a.variant, ["V0", "V3"]);
        assert_eq!(a.experiment, ["e1"]);
        assert!(a.verbose);
        assert_eq!(a.widen, 7);
        assert_eq!(a.pcp, Some(Pcp::Spinlock));
        assert_eq!(a.init_order, Some(InitOrder::W7));
        assert_eq!(a.exit, Some(ExitMethod::Psci));
        assert_eq!(a.selftest, Some(SelftestMode::Fault));
    }

    #[test]
    fn every_key_is_handled() {
        let sample = |k: &str| match k {
            "run" => "x",
            "selftest" => "panic",
            "variant" | "experiment" => "a,b",
            "pcp" => "irqoff",
            "init_order" => "linux",
            "exit" => "semihosting",
            "memmodel" => "tso",
            "verbose" => "0",
            _ => "12",
        };
        for (k, _) in KEYS {
            let tok = alloc::format!("{k}={}", sample(k));
            assert!(parse(&tok).is_ok(), "{tok}");
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
        assert_eq!(
            parse("seed=1 seed=1"),
            Err(BootArgsError::Duplicate("seed".into()))
        );
        assert_eq!(
            parse("verbose verbose=1"),
            Err(BootArgsError::Duplicate("verbose".into()))
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
            "verbose=2",
            "pcp=none",
            "init_order=x",
            "selftest",
            "exit=halt",
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
