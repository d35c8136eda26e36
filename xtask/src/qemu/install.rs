//! Installing QEMU >= 9 on Debian 12 from bookworm-backports (Debian 12's own QEMU is 7.2),
//! and the one TrueType font that plots need.
//!
//! The backports source reuses the URI (and keyring) of the machine's existing Debian source,
//! so mirrors and snapshot setups keep working; no host name is hard-coded.
//!
//! When: as root on Debian, whether or not a terminal is attached. The README promises that
//! `cargo xtask qemu` alone does the main job on a fresh machine, and a fresh machine is often
//! reached without a TTY (`ssh host cmd`, `docker run`, a provisioning script); root asking for
//! a run that needs QEMU has asked for QEMU. The install is small and printed before it runs:
//! one APT source file (backports, from the machine's own mirror), `apt-get update`, and
//! `qemu-system-arm` without recommends. `GUPBED_NO_INSTALL=1` turns it off (xtask then stops
//! with the exact commands); not root, or not Debian, xtask stops with the commands too.

use super::discover::{self, Found, Qemu, MIN_VERSION};
use crate::util;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The source file we add.
pub const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/gupbed-backports.sources";
const PACKAGE: &str = "qemu-system-arm";
/// The TrueType font the plots lay out their text with (1.5 MB, no dependencies).
pub const FONT_PACKAGE: &str = "fonts-dejavu-core";
/// Set to `1` to forbid installing anything.
pub const ENV_NO_INSTALL: &str = "GUPBED_NO_INSTALL";

/// The bits of `/etc/os-release` we use.
#[derive(Debug, Default, PartialEq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: String,
    pub codename: String,
}

pub fn parse_os_release(text: &str) -> OsRelease {
    let mut r = OsRelease::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => r.id = v,
            "ID_LIKE" => r.id_like = v,
            "VERSION_CODENAME" => r.codename = v,
            _ => {}
        }
    }
    r
}

/// One APT source (a deb822 stanza or a one-line `deb` entry).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AptSource {
    pub types: Vec<String>,
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub signed_by: Option<String>,
    pub enabled: bool,
}

/// Parse a deb822 `.sources` file (stanzas separated by blank lines; `#` comments).
pub fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    let mut cur: Option<AptSource> = None;
    let mut last_key = String::new();
    let flush = |cur: &mut Option<AptSource>, out: &mut Vec<AptSource>| {
        if let Some(s) = cur.take() {
            if !s.uris.is_empty() {
                out.push(s);
            }
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let s = cur.get_or_insert_with(|| AptSource {
            enabled: true,
            ..Default::default()
        });
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation: only list-valued keys matter to us (inline keys are skipped).
            let words = line.split_whitespace().map(String::from);
            match last_key.as_str() {
                "uris" => s.uris.extend(words),
                "suites" => s.suites.extend(words),
                "components" => s.components.extend(words),
                _ => {}
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        last_key = k.trim().to_ascii_lowercase();
        let words: Vec<String> = v.split_whitespace().map(String::from).collect();
        match last_key.as_str() {
            "types" => s.types = words,
            "uris" => s.uris = words,
            "suites" => s.suites = words,
            "components" => s.components = words,
            "signed-by" if !v.trim().is_empty() => s.signed_by = Some(v.trim().to_string()),
            "enabled" => s.enabled = v.trim().eq_ignore_ascii_case("yes"),
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Parse one-line sources (`deb [opts] uri suite component...`).
pub fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut rest = line;
        let Some((ty, r)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        if ty != "deb" && ty != "deb-src" {
            continue;
        }
        rest = r.trim_start();
        let mut signed_by = None;
        if let Some(r) = rest.strip_prefix('[') {
            let Some((opts, r)) = r.split_once(']') else {
                continue;
            };
            for o in opts.split_whitespace() {
                if let Some(v) = o.strip_prefix("signed-by=") {
                    signed_by = Some(v.to_string());
                }
            }
            rest = r.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        out.push(AptSource {
            types: vec![ty.into()],
            uris: vec![uri.into()],
            suites: vec![suite.into()],
            components: words.map(String::from).collect(),
            signed_by,
            enabled: true,
        });
    }
    out
}

/// The machine's main Debian source for `codename`: its first URI and keyring.
pub fn debian_mirror(sources: &[AptSource], codename: &str) -> Option<(String, Option<String>)> {
    sources
        .iter()
        .filter(|s| s.enabled && s.types.iter().any(|t| t == "deb"))
        .find(|s| s.suites.iter().any(|x| x == codename))
        .and_then(|s| s.uris.first().map(|u| (u.clone(), s.signed_by.clone())))
}

/// Whether a `<codename>-backports` source is already enabled.
pub fn has_backports(sources: &[AptSource], codename: &str) -> bool {
    let want = format!("{codename}-backports");
    sources
        .iter()
        .any(|s| s.enabled && s.types.iter().any(|t| t == "deb") && s.suites.contains(&want))
}

/// The deb822 stanza we write.
pub fn backports_stanza(uri: &str, signed_by: Option<&str>, codename: &str) -> String {
    let mut s = format!(
        "# Added by `cargo xtask setup` (gupbed): QEMU >= 9 comes from backports on Debian 12.\n\
         Types: deb\nURIs: {uri}\nSuites: {codename}-backports\nComponents: main\n"
    );
    if let Some(k) = signed_by {
        s.push_str(&format!("Signed-By: {k}\n"));
    }
    s
}

/// Every APT source on this machine: `debian.sources` first (the usual Debian 12 layout).
pub fn read_sources(etc_apt: &Path) -> Vec<AptSource> {
    let mut out = Vec::new();
    let dir = etc_apt.join("sources.list.d");
    if let Ok(t) = std::fs::read_to_string(dir.join("debian.sources")) {
        out.extend(parse_deb822(&t));
    }
    if let Ok(t) = std::fs::read_to_string(etc_apt.join("sources.list")) {
        out.extend(parse_one_line(&t));
    }
    let mut others: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    others.sort();
    for p in others {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "debian.sources" {
            continue;
        }
        let Ok(t) = std::fs::read_to_string(&p) else {
            continue;
        };
        if name.ends_with(".sources") {
            out.extend(parse_deb822(&t));
        } else if name.ends_with(".list") {
            out.extend(parse_one_line(&t));
        }
    }
    out
}

/// One step of an installation plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    WriteFile { path: String, content: String },
    Run(Vec<String>),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::WriteFile { path, content } => {
                write!(f, "cat > {path} <<'EOF'\n{content}EOF")
            }
            Step::Run(argv) => write!(f, "{}", argv.join(" ")),
        }
    }
}

/// What to install.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Want {
    pub qemu: bool,
    pub font: bool,
}

fn apt_install(extra: &[&str], package: &str) -> Step {
    let mut argv: Vec<String> = ["apt-get", "install", "-y", "--no-install-recommends"]
        .map(String::from)
        .to_vec();
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.push(package.into());
    Step::Run(argv)
}

/// The plan that installs what `want` names (QEMU >= 9, the plot font) on this Debian release,
/// or why there is none.
pub fn plan(os: &OsRelease, sources: &[AptSource], want: Want) -> Result<Vec<Step>, String> {
    let debian = os.id == "debian";
    if !debian {
        return Err(format!(
            "this is not Debian (ID={:?}): install QEMU >= {MIN_VERSION} with `{}` from your distribution \
             (package usually qemu-system-arm or qemu-system-aarch64), or set GUPBED_QEMU=/path/to/{}; \
             plots need a TrueType font (e.g. DejaVu Sans) or GUPBED_FONT=file.ttf",
            os.id,
            discover::QEMU,
            discover::QEMU
        ));
    }
    let mut steps = Vec::new();
    if want.qemu && os.codename == "bookworm" && !has_backports(sources, "bookworm") {
        let Some((uri, key)) = debian_mirror(sources, "bookworm") else {
            return Err(
                "no enabled `deb` source for suite bookworm found in /etc/apt: \
                        cannot derive the bookworm-backports URI"
                    .into(),
            );
        };
        steps.push(Step::WriteFile {
            path: BACKPORTS_FILE.into(),
            content: backports_stanza(&uri, key.as_deref(), "bookworm"),
        });
    }
    if !want.qemu && !want.font {
        return Ok(steps);
    }
    steps.push(Step::Run(vec!["apt-get".into(), "update".into()]));
    if want.qemu {
        if os.codename == "bookworm" {
            // Without --no-install-recommends, `-t` gives every recommended package top
            // priority too: measured on a fresh bookworm, 366 packages and systemd upgraded
            // from backports; with it, 40 packages and nothing upgraded.
            steps.push(apt_install(&["-t", "bookworm-backports"], PACKAGE));
        } else {
            // Debian 13 and later ship QEMU >= 9 in the main suite.
            steps.push(apt_install(&[], PACKAGE));
        }
    }
    if want.font {
        steps.push(apt_install(&[], FONT_PACKAGE));
    }
    Ok(steps)
}

/// Why installing is not allowed here (None: allowed).
pub fn install_refusal() -> Option<&'static str> {
    if std::env::var(ENV_NO_INSTALL).is_ok_and(|v| !v.is_empty() && v != "0") {
        Some("GUPBED_NO_INSTALL is set")
    } else if !util::is_root() {
        Some("not running as root")
    } else {
        None
    }
}

/// Install what `want` names, when allowed; otherwise an error with the exact commands to run.
fn install(want: Want, check_only: bool, what: &str) -> Result<()> {
    let os = parse_os_release(&std::fs::read_to_string("/etc/os-release").unwrap_or_default());
    let steps = match plan(&os, &read_sources(Path::new("/etc/apt")), want) {
        Ok(s) => s,
        Err(why) => bail!("{why}"),
    };
    let listing: Vec<String> = steps.iter().map(|s| format!("  {s}")).collect();
    let refusal = if check_only {
        Some("--check-only given")
    } else {
        install_refusal()
    };
    if let Some(why) = refusal {
        bail!(
            "{what} is needed ({why}). As root, run:\n{}\n(or run `cargo xtask setup` as root)",
            listing.join("\n")
        );
    }
    eprintln!(
        "xtask: installing {what} (Debian {}):\n{}",
        os.codename,
        listing.join("\n")
    );
    for s in &steps {
        run_step(s)?;
    }
    Ok(())
}

fn run_step(step: &Step) -> Result<()> {
    eprintln!("xtask: {step}");
    match step {
        Step::WriteFile { path, content } => {
            std::fs::write(path, content).with_context(|| format!("writing {path}"))
        }
        Step::Run(argv) => {
            let st = Command::new(&argv[0])
                .args(&argv[1..])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .with_context(|| format!("running {}", argv[0]))?;
            if !st.success() {
                bail!("`{}` failed ({st})", argv.join(" "));
            }
            Ok(())
        }
    }
}

fn describe(found: &Found) -> String {
    match found {
        Found::Ok(q) => format!("{} {} at {}", discover::QEMU, q.version, q.path.display()),
        Found::TooOld(q) => format!(
            "{} {} at {} is too old (need >= {MIN_VERSION}: the raspi4b machine arrived in 9.0)",
            discover::QEMU,
            q.version,
            q.path.display()
        ),
        Found::Missing => format!("{} not found on PATH", discover::QEMU),
    }
}

/// Return a QEMU >= 9, installing it when that is allowed here (Debian, root, not
/// `GUPBED_NO_INSTALL`); otherwise stop with the exact commands to run. `check_only` never
/// installs. The plot font comes along when it is missing too (one more small package).
pub fn ensure(check_only: bool) -> Result<Qemu> {
    let found = discover::discover()?;
    if let Found::Ok(q) = found {
        return Ok(q);
    }
    eprintln!("xtask: {}", describe(&found));
    if std::env::var_os(discover::ENV_OVERRIDE).is_some() {
        bail!(
            "{} names this QEMU: point it at a QEMU >= {MIN_VERSION} or unset it",
            discover::ENV_OVERRIDE
        );
    }
    let want = Want {
        qemu: true,
        font: crate::plot::font_path().is_none(),
    };
    install(want, check_only, &format!("QEMU >= {MIN_VERSION}"))?;
    match discover::discover()? {
        Found::Ok(q) => {
            eprintln!("xtask: installed {}", describe(&Found::Ok(q.clone())));
            Ok(q)
        }
        other => bail!("after installing: {}", describe(&other)),
    }
}

/// Return the TrueType font plots use, installing `fonts-dejavu-core` when none is found and
/// installing is allowed (as for QEMU).
pub fn ensure_font(check_only: bool) -> Result<std::path::PathBuf> {
    if let Some(p) = crate::plot::font_path() {
        return Ok(p);
    }
    eprintln!("xtask: no TrueType font found (plots lay out their text with one)");
    let want = Want {
        qemu: false,
        font: true,
    };
    install(
        want,
        check_only,
        &format!("a TrueType font ({FONT_PACKAGE})"),
    )?;
    crate::plot::font_path().with_context(|| {
        format!("{FONT_PACKAGE} installed, but no .ttf file was found under /usr/share/fonts")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_SOURCES: &str = "Types: deb\n\
# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
URIs: http://deb.debian.org/debian\n\
Suites: bookworm bookworm-updates\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
\n\
Types: deb\n\
URIs: http://deb.debian.org/debian-security\n\
Suites: bookworm-security\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

    const QEMU: Want = Want {
        qemu: true,
        font: false,
    };

    fn bookworm() -> OsRelease {
        parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
    }

    #[test]
    fn parses_deb822_stanzas() {
        let s = parse_deb822(DEBIAN_SOURCES);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(s[1].uris, ["http://deb.debian.org/debian-security"]);
        assert_eq!(
            debian_mirror(&s, "bookworm"),
            Some((
                "http://deb.debian.org/debian".into(),
                Some("/usr/share/keyrings/debian-archive-keyring.gpg".into())
            ))
        );
        assert!(!has_backports(&s, "bookworm"));
    }

    #[test]
    fn deb822_continuations_and_disabled_stanzas() {
        let s = parse_deb822(
            "Types: deb\nURIs:\n http://mirror.example/debian\nSuites: bookworm\nEnabled: no\n\n\
             Types: deb deb-src\nURIs: https://m2.example/deb\nSuites: bookworm\n",
        );
        assert_eq!(s.len(), 2);
        assert!(!s[0].enabled);
        assert_eq!(s[0].uris, ["http://mirror.example/debian"]);
        assert_eq!(
            debian_mirror(&s, "bookworm").unwrap().0,
            "https://m2.example/deb"
        );
    }

    #[test]
    fn parses_one_line_sources() {
        let s = parse_one_line(
            "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main contrib\n\
             deb-src http://x/debian bookworm main\ndeb http://x/debian bookworm-backports main # bp\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].signed_by.as_deref(), Some("/k.gpg"));
        assert_eq!(s[0].components, ["main", "contrib"]);
        assert_eq!(
            debian_mirror(&s, "bookworm"),
            Some((
                "http://ftp.de.debian.org/debian".into(),
                Some("/k.gpg".into())
            ))
        );
        assert!(has_backports(&s, "bookworm"));
    }

    #[test]
    fn plan_adds_backports_from_the_existing_uri() {
        let steps = plan(&bookworm(), &parse_deb822(DEBIAN_SOURCES), QEMU).unwrap();
        let Step::WriteFile { path, content } = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(path, BACKPORTS_FILE);
        assert!(
            content.contains("URIs: http://deb.debian.org/debian\n"),
            "{content}"
        );
        assert!(content.contains("Suites: bookworm-backports\n"));
        assert!(content.contains("Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        // What we write parses back as an enabled backports source.
        assert!(has_backports(&parse_deb822(content), "bookworm"));
        assert_eq!(steps[1], Step::Run(vec!["apt-get".into(), "update".into()]));
        assert_eq!(
            steps[2].to_string(),
            "apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-arm"
        );
    }

    #[test]
    fn plan_skips_the_file_when_backports_exist() {
        let mut s = parse_deb822(DEBIAN_SOURCES);
        s.extend(parse_deb822(
            "Types: deb\nURIs: http://m/debian\nSuites: bookworm-backports\n",
        ));
        let steps = plan(&bookworm(), &s, QEMU).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps[0], Step::Run(_)));
    }

    #[test]
    fn plan_refuses_without_a_debian_source_or_debian() {
        assert!(plan(&bookworm(), &[], QEMU)
            .unwrap_err()
            .contains("no enabled"));
        let ubuntu = parse_os_release("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        assert!(plan(&ubuntu, &[], QEMU).unwrap_err().contains("not Debian"));
        let trixie = parse_os_release("ID=debian\nVERSION_CODENAME=trixie\n");
        assert_eq!(
            plan(&trixie, &[], QEMU).unwrap()[1].to_string(),
            "apt-get install -y --no-install-recommends qemu-system-arm"
        );
    }

    #[test]
    fn plan_adds_the_font_without_backports_priority() {
        let both = Want {
            qemu: true,
            font: true,
        };
        let steps = plan(&bookworm(), &parse_deb822(DEBIAN_SOURCES), both).unwrap();
        assert_eq!(steps.len(), 4, "{steps:?}");
        assert_eq!(
            steps[3].to_string(),
            "apt-get install -y --no-install-recommends fonts-dejavu-core"
        );
        let font = Want {
            qemu: false,
            font: true,
        };
        // The font alone needs no backports source (a missing Debian source is no obstacle).
        let steps = plan(&bookworm(), &[], font).unwrap();
        assert_eq!(
            steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            [
                "apt-get update",
                "apt-get install -y --no-install-recommends fonts-dejavu-core"
            ]
        );
    }
}
