//! Building the aarch64 image and turning its ELF into a raw, bootable `Image`.

use crate::board::Board;
use crate::util;
use anyhow::{bail, Context, Result};
use object::elf::PT_LOAD;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::Endianness;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The image's target triple (no FP/SIMD state to manage, like Linux).
pub const TARGET: &str = "aarch64-unknown-none-softfloat";
/// Binary name of the `boot` crate.
pub const BIN: &str = "gupbed";

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct BuildOpts {
    pub board: Board,
    pub release: bool,
    /// `RUSTFLAGS=-D warnings` (used by `cargo xtask test`).
    pub deny_warnings: bool,
}

/// A built image.
#[derive(Debug, Clone)]
pub struct Image {
    pub elf: PathBuf,
    pub raw: PathBuf,
    /// Lowest load address (where the raw image must be loaded).
    pub load_addr: u64,
    pub entry: u64,
    /// Carries the arm64 Linux `Image` header (QEMU then passes the DTB in x0).
    pub has_linux_header: bool,
}

/// The image always goes to the workspace's own `target/` (not `$CARGO_TARGET_DIR`), so every
/// tool and engineer finds it at `target/aarch64-unknown-none-softfloat/<profile>/gupbed`.
pub fn target_dir() -> PathBuf {
    util::workspace_root().join("target")
}

/// Target dir of a build: `RUSTFLAGS=-D warnings` changes every crate's fingerprint, so the
/// strict build (`cargo xtask test`) lives in `target/strict` instead of rebuilding the normal
/// image each time the two alternate.
fn build_dir(opts: BuildOpts) -> PathBuf {
    if opts.deny_warnings {
        target_dir().join("strict")
    } else {
        target_dir()
    }
}

/// Where the build for `opts` leaves the ELF.
pub fn elf_path(opts: BuildOpts) -> PathBuf {
    let profile = if opts.release { "release" } else { "debug" };
    build_dir(opts).join(TARGET).join(profile).join(BIN)
}

/// Build the `boot` crate for the target and convert it.
pub fn build(opts: BuildOpts) -> Result<Image> {
    let t = Instant::now();
    crate::toolchain::ensure_target(TARGET)?;
    let root = util::workspace_root();
    let dir = build_dir(opts);
    let mut cmd = util::cargo();
    cmd.current_dir(&root)
        .args(["build", "-p", "boot", "--bin", BIN, "--target", TARGET])
        .arg("--target-dir")
        .arg(&dir)
        .env_remove("CARGO_TARGET_DIR");
    if opts.release {
        cmd.arg("--release");
    }
    let spec = opts.board.spec();
    if let Some(f) = spec.cargo_feature {
        cmd.args(["--features", f]);
    }
    if opts.deny_warnings {
        cmd.env("RUSTFLAGS", "-D warnings");
    } else {
        cmd.env_remove("RUSTFLAGS");
    }
    util::echo(&cmd);
    let st = cmd.status().context("running cargo")?;
    if !st.success() {
        bail!("building the image failed ({st})");
    }
    let elf = elf_path(opts);
    let raw = elf.with_file_name(spec.image_name);
    let img = elf_to_raw(&elf, &raw)?;
    if img.load_addr != spec.load_addr {
        bail!(
            "{} is linked at {:#x}, but --board {} loads images at {:#x} (boot/build.rs and \
             xtask/src/board.rs disagree)",
            elf.display(),
            img.load_addr,
            spec.name,
            spec.load_addr
        );
    }
    eprintln!("xtask: image built in {:.1} s", t.elapsed().as_secs_f64());
    Ok(img)
}

/// Offset and value of the arm64 Linux `Image` header magic ("ARM\x64").
const ARM64_MAGIC_OFFSET: usize = 0x38;
const ARM64_MAGIC: &[u8; 4] = b"ARM\x64";

/// Copy the ELF's PT_LOAD segments (by physical address) into a flat binary that starts at the
/// lowest load address, zero-filling gaps, like `llvm-objcopy -O binary`.
pub fn elf_to_raw(elf_path: &Path, raw_path: &Path) -> Result<Image> {
    let data =
        std::fs::read(elf_path).with_context(|| format!("reading {}", elf_path.display()))?;
    let (bytes, load_addr, entry) =
        flatten(&data).with_context(|| format!("converting {}", elf_path.display()))?;
    let has_linux_header =
        bytes.get(ARM64_MAGIC_OFFSET..ARM64_MAGIC_OFFSET + 4) == Some(ARM64_MAGIC);
    std::fs::write(raw_path, &bytes).with_context(|| format!("writing {}", raw_path.display()))?;
    Ok(Image {
        elf: elf_path.into(),
        raw: raw_path.into(),
        load_addr,
        entry,
        has_linux_header,
    })
}

/// The flat image bytes, load address and entry point of an ELF64 file.
pub fn flatten(data: &[u8]) -> Result<(Vec<u8>, u64, u64)> {
    let elf = ElfFile64::<Endianness>::parse(data).context("not an ELF64 file")?;
    let e = elf.endian();
    let hdr = elf.elf_header();
    let mut segs = Vec::new();
    for ph in elf.elf_program_headers() {
        if ph.p_type(e) != PT_LOAD || ph.p_filesz(e) == 0 {
            continue;
        }
        let off = ph.p_offset(e) as usize;
        let len = ph.p_filesz(e) as usize;
        let bytes = data
            .get(off..off.checked_add(len).context("segment overflows")?)
            .context("segment lies outside the file")?;
        segs.push((ph.p_paddr(e), bytes));
    }
    let Some(base) = segs.iter().map(|(a, _)| *a).min() else {
        bail!("no loadable segment with file contents");
    };
    let end = segs
        .iter()
        .map(|(a, b)| a + b.len() as u64)
        .max()
        .unwrap_or(base);
    let size = usize::try_from(end - base).context("image too large")?;
    if size > 256 << 20 {
        bail!("flat image would be {size} bytes: segments are far apart (check linker.ld)");
    }
    let mut out = vec![0u8; size];
    for (addr, bytes) in segs {
        let at = (addr - base) as usize;
        out[at..at + bytes.len()].copy_from_slice(bytes);
    }
    Ok((out, base, hdr.e_entry(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 little-endian aarch64 file with the given (paddr, bytes) PT_LOAD segments.
    fn elf(segs: &[(u64, &[u8])], entry: u64) -> Vec<u8> {
        let phoff = 64u64;
        let data_off = phoff + 56 * segs.len() as u64;
        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        out.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&entry.to_le_bytes());
        out.extend_from_slice(&phoff.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // flags
        out.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        out.extend_from_slice(&56u16.to_le_bytes()); // phentsize
        out.extend_from_slice(&(segs.len() as u16).to_le_bytes());
        out.extend_from_slice(&64u16.to_le_bytes()); // shentsize
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let mut off = data_off;
        for (addr, bytes) in segs {
            out.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            out.extend_from_slice(&5u32.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&(addr + 0x1000_0000).to_le_bytes()); // vaddr differs
            out.extend_from_slice(&addr.to_le_bytes()); // paddr
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64 + 16).to_le_bytes()); // memsz > filesz
            out.extend_from_slice(&0x1000u64.to_le_bytes());
            off += bytes.len() as u64;
        }
        for (_, bytes) in segs {
            out.extend_from_slice(bytes);
        }
        out
    }

    #[test]
    fn flattens_by_physical_address_with_gaps_zeroed() {
        let f = elf(&[(0x4020_0010, b"BB"), (0x4020_0000, b"AAAA")], 0x4020_0000);
        let (bytes, base, entry) = flatten(&f).unwrap();
        assert_eq!(base, 0x4020_0000);
        assert_eq!(entry, 0x4020_0000);
        let mut want = b"AAAA".to_vec();
        want.resize(16, 0);
        want.extend_from_slice(b"BB");
        assert_eq!(bytes, want, "bss (memsz beyond filesz) is not written");
    }

    #[test]
    fn refuses_garbage_and_empty_images() {
        assert!(flatten(b"not an elf").is_err());
        assert!(flatten(&elf(&[], 0)).is_err());
    }
}
