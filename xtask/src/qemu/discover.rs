//! Finding `qemu-system-aarch64` and checking its version.

use crate::util;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Binary name.
pub const QEMU: &str = "qemu-system-aarch64";
/// Oldest QEMU we accept: 9.0 added the `raspi4b` machine (Debian 12's own 7.2 lacks it).
pub const MIN_VERSION: Version = Version(9, 0, 0);
/// Overrides the binary (an absolute path), e.g. for a QEMU built from source.
pub const ENV_OVERRIDE: &str = "GUPBED_QEMU";

/// A QEMU version (major, minor, micro).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A usable QEMU.
#[derive(Debug, Clone)]
pub struct Qemu {
    pub path: PathBuf,
    pub version: Version,
}

/// What we found.
#[derive(Debug)]
pub enum Found {
    Ok(Qemu),
    TooOld(Qemu),
    Missing,
}

/// Parse the first line of `qemu-system-aarch64 --version`, e.g.
/// `QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)`.
pub fn parse_version(out: &str) -> Option<Version> {
    let line = out.lines().find(|l| l.contains("version"))?;
    let rest = line.split("version").nth(1)?.trim_start();
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut it = token
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::parse::<u32>);
    let major = it.next()?.ok()?;
    let minor = it.next().and_then(|r| r.ok()).unwrap_or(0);
    let micro = it.next().and_then(|r| r.ok()).unwrap_or(0);
    Some(Version(major, minor, micro))
}

/// Look for QEMU (`$GUPBED_QEMU`, then `PATH`) and classify it.
pub fn discover() -> Result<Found> {
    let path = match std::env::var_os(ENV_OVERRIDE) {
        Some(p) => PathBuf::from(p),
        None => match util::which(QEMU) {
            Some(p) => p,
            None => return Ok(Found::Missing),
        },
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = parse_version(&text)
        .with_context(|| format!("cannot read the version in {:?}", text.trim()))?;
    let q = Qemu { path, version };
    Ok(if version >= MIN_VERSION {
        Found::Ok(q)
    } else {
        Found::TooOld(q)
    })
}

/// CPU models this QEMU offers for `-M virt` (`-cpu help`).
pub fn cpu_models(q: &Qemu) -> Result<Vec<String>> {
    let out = Command::new(&q.path)
        .args(["-M", "virt", "-cpu", "help"])
        .output()
        .context("running qemu -cpu help")?;
    Ok(parse_cpu_help(&String::from_utf8_lossy(&out.stdout)))
}

/// Names from `-cpu help` output (`Available CPUs:` then one indented name per line).
pub fn parse_cpu_help(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with(' ') || l.starts_with('\t'))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_version_lines() {
        for (line, v) in [
            (
                "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright",
                Version(10, 0, 2),
            ),
            (
                "QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)",
                Version(7, 2, 15),
            ),
            (
                "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)",
                Version(8, 2, 2),
            ),
            ("QEMU emulator version 9.0.0", Version(9, 0, 0)),
            (
                "QEMU emulator version 9.1.50 (v9.1.0-1234-gabcdef)",
                Version(9, 1, 50),
            ),
            ("QEMU emulator version 6.2", Version(6, 2, 0)),
        ] {
            assert_eq!(parse_version(line), Some(v), "{line}");
        }
        assert_eq!(
            parse_version("qemu-system-aarch64: command not found"),
            None
        );
        assert_eq!(parse_version("QEMU emulator version x.y"), None);
    }

    #[test]
    fn minimum_is_nine() {
        assert!(Version(10, 0, 2) >= MIN_VERSION);
        assert!(Version(9, 0, 0) >= MIN_VERSION);
        assert!(Version(8, 2, 99) < MIN_VERSION);
        assert!(Version(7, 2, 15) < MIN_VERSION);
    }

    #[test]
    fn parses_cpu_help() {
        let out = "Available CPUs:\n  a64fx\n  cortex-a72\n  max\n";
        assert_eq!(parse_cpu_help(out), ["a64fx", "cortex-a72", "max"]);
    }
}
