//! `--accel`: how QEMU runs the guest's instructions.
//!
//! - `tcg` (default): QEMU translates them, one host thread per vCPU. On an x86-64 host the
//!   guest sees the host's TSO-like ordering (platform notes): no store->store reordering.
//! - `kvm`: the guest runs on the host's own Arm cores (`-M virt,gic-version=host -cpu host
//!   -accel kvm`), so it reorders like the hardware does. Needs an arm64 Linux host with
//!   `/dev/kvm`; anywhere else xtask refuses before building or booting anything.
//!
//! Under KVM there is no semihosting: the kernel leaves through PSCI `SYSTEM_OFF`
//! (`exit=psci`), QEMU's exit status is 0 whatever the run found, and xtask takes the exit
//! code from the kernel's `end` record instead.

use clap::ValueEnum;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// QEMU's translator (multi-threaded TCG)
    Tcg,
    /// The host's Arm cores through KVM (arm64 Linux hosts only)
    Kvm,
}

/// TCG with one host thread per vCPU: real overlap between guest CPUs.
pub const TCG: &str = "tcg,thread=multi";

/// What the host is, for [`check_host`].
#[derive(Debug, Clone, Copy)]
pub struct Host<'a> {
    /// `std::env::consts::ARCH`.
    pub arch: &'a str,
    /// `std::env::consts::OS`.
    pub os: &'a str,
    /// Whether `/dev/kvm` exists.
    pub kvm_device: bool,
}

impl Host<'static> {
    /// This machine.
    pub fn this() -> Self {
        Host {
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
            kvm_device: std::path::Path::new("/dev/kvm").exists(),
        }
    }
}

impl Accel {
    /// The `-accel` value.
    pub fn qemu_value(self) -> &'static str {
        match self {
            Accel::Tcg => TCG,
            Accel::Kvm => "kvm",
        }
    }

    /// Whether the kernel can leave through semihosting (passing the exit code to QEMU).
    pub fn semihosting(self) -> bool {
        self == Accel::Tcg
    }

    /// `Ok` if this host can run the guest with this accelerator on `board`; otherwise the
    /// message to print before anything is built or started.
    pub fn check_host(self, board: &str, host: Host) -> Result<(), String> {
        if self == Accel::Tcg {
            return Ok(());
        }
        if host.arch != "aarch64" || host.os != "linux" {
            return Err(format!(
                "--accel kvm needs an arm64 Linux host with KVM (/dev/kvm): the guest runs on \
                 the host's own Arm cores, which is what makes its memory ordering real. This \
                 host is {} {}: QEMU here can only emulate (the default --accel tcg; on an \
                 x86-64 host TCG shows TSO-like ordering only). Weakly ordered hosts: a \
                 Raspberry Pi 4/5 or any arm64 server running 64-bit Linux.",
                host.os, host.arch
            ));
        }
        if !host.kvm_device {
            return Err(
                "--accel kvm: /dev/kvm does not exist on this arm64 host (KVM not enabled in \
                 the kernel, or running inside a VM without nested virtualisation)"
                    .into(),
            );
        }
        if board != "virt" {
            return Err(format!(
                "--accel kvm runs QEMU's `virt` machine on the host's cores; --board {board} is \
                 emulated only (use --accel tcg, or run the Pi image on a Pi: cargo xtask rpi4)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvm_is_refused_off_arm64_linux() {
        let x86 = Host {
            arch: "x86_64",
            os: "linux",
            kvm_device: true,
        };
        let e = Accel::Kvm.check_host("virt", x86).unwrap_err();
        assert!(
            e.contains("arm64 Linux host") && e.contains("linux x86_64"),
            "{e}"
        );
        let e = Accel::Kvm.check_host("rpi4", x86).unwrap_err();
        assert!(e.contains("arm64 Linux host"), "the host comes first: {e}");
        Accel::Tcg.check_host("virt", x86).unwrap();
        let arm = Host {
            arch: "aarch64",
            os: "linux",
            kvm_device: true,
        };
        Accel::Kvm.check_host("virt", arm).unwrap();
        assert!(Accel::Kvm
            .check_host("rpi4", arm)
            .unwrap_err()
            .contains("--board rpi4"));
        let no_dev = Host {
            kvm_device: false,
            ..arm
        };
        assert!(Accel::Kvm
            .check_host("virt", no_dev)
            .unwrap_err()
            .contains("/dev/kvm"));
        let mac = Host {
            arch: "aarch64",
            os: "macos",
            kvm_device: false,
        };
        assert!(Accel::Kvm.check_host("virt", mac).is_err());
        assert!(!Accel::Kvm.semihosting() && Accel::Tcg.semihosting());
        assert_eq!(Accel::Kvm.qemu_value(), "kvm");
    }
}
