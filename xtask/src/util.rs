//! Small helpers: paths, commands, environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// A `cargo` command (the same cargo that runs xtask, when known).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// Print a command the way a user would type it.
pub fn echo(cmd: &Command) {
    eprintln!("xtask: $ {}", show(cmd));
}

/// A command as one shell-like line (environment overrides first).
pub fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            v.map(|v| format!("{}={}", k.to_string_lossy(), quote(&v.to_string_lossy())))
        })
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Find an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Effective uid from `/proc/self/status` (`Uid: real effective saved fs`).
pub fn parse_euid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Whether we run as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_euid(&s))
        == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euid_is_the_second_uid_field() {
        assert_eq!(
            parse_euid("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\n"),
            Some(0)
        );
        assert_eq!(parse_euid("Uid:\t0\t1000\t0\t0\n"), Some(1000));
        assert_eq!(parse_euid("Name: x\n"), None);
    }

    #[test]
    fn shows_commands_quoted() {
        let mut c = Command::new("qemu");
        c.args(["-append", "run=x seed=1"]).env("A", "b c");
        assert_eq!(show(&c), "A='b c' qemu -append 'run=x seed=1'");
    }
}
