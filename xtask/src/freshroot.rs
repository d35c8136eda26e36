//! `cargo xtask freshroot`: the fresh-machine check a warm machine cannot fool.
//!
//! debootstrap a clean Debian 12 (bookworm, `minbase`) root, copy this very xtask binary and
//! the image into it, and run `xtask setup --image …` inside it with `chroot`: the same code
//! that installs QEMU on a user's machine installs it there (backports source derived from the
//! root's own APT source, `qemu-system-arm` without recommends, the plot font), and the proof
//! boot runs the self-test at `-smp 2` with that QEMU. A package or firmware file that a
//! minimal install lacks fails here, whatever this host has installed. The host is Debian 12
//! too, so the binary's glibc is the root's. Needs root, `debootstrap` and network access to
//! the Debian mirror; `.ci/run` runs it. Nothing is cached: CI machines are fresh.

use crate::board::Board;
use crate::cli::FreshrootArgs;
use crate::image::{self, BuildOpts};
use crate::qemu::install;
use crate::util;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The release the project promises to work on.
pub const SUITE: &str = "bookworm";

/// `/proc` mounted inside the root for as long as this lives (apt, QEMU and xtask's root check
/// read it).
struct ProcMount(PathBuf);

impl ProcMount {
    fn new(root: &Path) -> Result<Self> {
        let p = root.join("proc");
        std::fs::create_dir_all(&p)?;
        run(Command::new("mount").args(["-t", "proc", "proc"]).arg(&p))?;
        Ok(Self(p))
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        let st = Command::new("umount").arg(&self.0).status();
        if !matches!(st, Ok(s) if s.success()) {
            // Lazy detach: a process still inside must not leave the mount behind.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    util::echo(cmd);
    let st = cmd
        .status()
        .with_context(|| format!("running {}", cmd.get_program().to_string_lossy()))?;
    if !st.success() {
        bail!("`{}` failed ({st})", util::show(cmd));
    }
    Ok(())
}

/// The Debian mirror to bootstrap from: `--mirror`, else this machine's own bookworm source.
fn mirror(a: &FreshrootArgs) -> Result<String> {
    if let Some(m) = &a.mirror {
        return Ok(m.clone());
    }
    let sources = install::read_sources(Path::new("/etc/apt"));
    install::debian_mirror(&sources, SUITE)
        .map(|(uri, _)| uri)
        .with_context(|| {
            format!("no enabled `deb` source for {SUITE} in /etc/apt: pass --mirror URI")
        })
}

/// `cargo xtask freshroot`.
pub fn command(a: &FreshrootArgs) -> Result<i32> {
    let t0 = Instant::now();
    if !util::is_root() {
        bail!("freshroot needs root (debootstrap, mount, chroot)");
    }
    if util::which("debootstrap").is_none() && !Path::new("/usr/sbin/debootstrap").exists() {
        bail!(
            "debootstrap is not installed: apt-get install -y --no-install-recommends debootstrap"
        );
    }
    let mirror = mirror(a)?;
    let img = image::build(BuildOpts {
        board: Board::Virt,
        release: true,
        deny_warnings: false,
    })?;
    let xtask = std::env::current_exe().context("finding this xtask binary")?;
    let root = a
        .dir
        .clone()
        .unwrap_or_else(|| image::target_dir().join("freshroot"));
    if root.exists() {
        // A mount left by a killed run must go before the tree does.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(root.join("proc"))
            .status();
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("removing the old root {}", root.display()))?;
    }
    std::fs::create_dir_all(root.parent().unwrap_or(Path::new("/")))?;

    let t = Instant::now();
    let mut deb = Command::new("debootstrap");
    deb.args(["--variant=minbase", SUITE])
        .arg(&root)
        .arg(&mirror)
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
    run(&mut deb)?;
    let t_deboot = t.elapsed().as_secs_f64();
    println!("freshroot: debootstrap {SUITE} (minbase) from {mirror}: {t_deboot:.0} s");

    let bin = root.join("usr/local/bin/xtask");
    std::fs::copy(&xtask, &bin).with_context(|| format!("copying {}", xtask.display()))?;
    std::fs::create_dir_all(root.join("gupbed"))?;
    std::fs::copy(&img.raw, root.join("gupbed/Image"))?;

    let t = Instant::now();
    let code = {
        let _proc = ProcMount::new(&root)?;
        let mut setup = Command::new("chroot");
        setup
            .arg(&root)
            .args(["/usr/local/bin/xtask", "setup", "--image", "/gupbed/Image"])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null());
        util::echo(&setup);
        let st = setup.status().context("running chroot")?;
        st.code().unwrap_or(1)
    };
    let t_setup = t.elapsed().as_secs_f64();
    println!(
        "freshroot: `xtask setup` in the fresh root (install + self-test boot): {t_setup:.0} s, exit {code}"
    );
    if !a.keep {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!(
        "freshroot: {} in {:.0} s",
        if code == 0 { "PASSED" } else { "FAILED" },
        t0.elapsed().as_secs_f64()
    );
    Ok(if code == 0 { 0 } else { 1 })
}
