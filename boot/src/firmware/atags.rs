//! ARM Linux ATAGs (Documentation/arch/arm/booting.rst, the pre-devicetree boot protocol):
//! what QEMU's `raspi4b` passes in x0 (0x100) when it is given no `-dtb`. Only three tags
//! matter here: `ATAG_CORE` (must come first), `ATAG_MEM` (a RAM range; QEMU reports the low
//! 1 GiB minus the VideoCore's share) and `ATAG_CMDLINE` (QEMU's `-append`).
//!
//! Layout: a sequence of tags, each `{u32 size_in_words, u32 tag, payload}`, little-endian,
//! ending with `ATAG_NONE` (size 0 or 2, tag 0).

use super::ranges::Ranges;

const ATAG_NONE: u32 = 0;
const ATAG_CORE: u32 = 0x5441_0001;
const ATAG_MEM: u32 = 0x5441_0002;
const ATAG_CMDLINE: u32 = 0x5441_0009;
/// Most tags walked (a corrupt list must not send the walk far away).
const MAX_TAGS: usize = 64;

/// Bytes [`parse`] may look at from the list's start: the list lives below the image, in the
/// first page(s) of RAM.
pub const MAX_BYTES: usize = 16 * 1024;

/// What the ATAGs say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Atags {
    /// `ATAG_MEM` ranges.
    pub memory: Ranges,
    /// `ATAG_CMDLINE` (empty if none).
    pub cmdline: &'static str,
    /// Bytes of the list up to and including its `ATAG_NONE` (to keep them out of free memory).
    pub len: usize,
}

fn word(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// Whether `b` starts with an `ATAG_CORE` tag.
pub fn looks_like_atags(b: &[u8]) -> bool {
    matches!((word(b, 0), word(b, 4)), (Some(2 | 5), Some(ATAG_CORE)))
}

/// Parse the ATAG list at the start of `b`. `None` if it does not start with `ATAG_CORE` or
/// runs off `b` before `ATAG_NONE`.
pub fn parse(b: &'static [u8]) -> Option<Atags> {
    if !looks_like_atags(b) {
        return None;
    }
    let mut out = Atags {
        memory: Ranges::new(),
        cmdline: "",
        len: 0,
    };
    let mut at = 0usize;
    for _ in 0..MAX_TAGS {
        let size = word(b, at)? as usize;
        let tag = word(b, at + 4)?;
        if tag == ATAG_NONE {
            out.len = at + 8;
            out.memory.sort();
            return Some(out);
        }
        if size < 2 {
            return None;
        }
        let bytes = size.checked_mul(4)?;
        let payload = b.get(at + 8..at.checked_add(bytes)?)?;
        match tag {
            ATAG_MEM if payload.len() >= 8 => {
                let len = word(payload, 0)? as u64;
                let start = word(payload, 4)? as u64;
                out.memory.push((start, start + len));
            }
            ATAG_CMDLINE => {
                let end = payload
                    .iter()
                    .position(|&c| c == 0)
                    .unwrap_or(payload.len());
                out.cmdline = core::str::from_utf8(&payload[..end]).unwrap_or("");
            }
            _ => {}
        }
        at += bytes;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(words: &[u32], cmdline: &[u8]) -> &'static [u8] {
        let mut v: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        v.extend_from_slice(cmdline);
        Box::leak(v.into_boxed_slice())
    }

    /// What QEMU 10 `-M raspi4b -append "run=selftest seed=5"` writes at 0x100 (read back
    /// with the monitor's `xp`).
    #[test]
    fn qemu_raspi4b_list() {
        let cmd = b"run=selftest seed=5\0";
        let cmd_words = cmd.len().div_ceil(4) as u32;
        let mut padded = cmd.to_vec();
        padded.resize(cmd_words as usize * 4, 0);
        let mut all: Vec<u8> = [5u32, ATAG_CORE, 1, 0x1000, 0, 4, ATAG_MEM, 0x3c00_0000, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        all.extend_from_slice(&(2 + cmd_words).to_le_bytes());
        all.extend_from_slice(&ATAG_CMDLINE.to_le_bytes());
        all.extend_from_slice(&padded);
        all.extend_from_slice(&[0u8; 8]);
        let b: &'static [u8] = Box::leak(all.into_boxed_slice());
        let a = parse(b).expect("parses");
        assert_eq!(a.memory.as_slice(), &[(0, 0x3c00_0000)]);
        assert_eq!(a.cmdline, "run=selftest seed=5");
        assert_eq!(a.len, b.len());
    }

    #[test]
    fn refuses_what_is_not_an_atag_list() {
        assert!(parse(leak(&[0xd00d_feed, 0], b"")).is_none(), "an FDT");
        assert!(parse(leak(&[0, 0], b"")).is_none());
        assert!(
            parse(leak(&[2, ATAG_CORE, 4, ATAG_MEM, 0x1000], b"")).is_none(),
            "runs off the end"
        );
        assert!(
            parse(leak(&[2, ATAG_CORE, 1, 0x1234, 0, 0], b"")).is_none(),
            "a tag of size 1"
        );
        let a = parse(leak(&[2, ATAG_CORE, 0, 0], b"")).unwrap();
        assert!(a.memory.is_empty());
        assert_eq!(a.cmdline, "");
    }
}
